# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Extrapolation benchmark and TAM-RL at unseen sites
#
# How well does a model predict where it was not trained? `hybridflux.benchmark` answers this
# in the form of FLUXtrapolation (Fries et al. 2026): models are trained on part of the
# (site, time) grid and scored where they must extrapolate — here **unseen sites** — per site
# and at several temporal scales (monthly, mean seasonal cycle, anomalies, inter-annual, site
# mean), summarised across sites by the median and the 90th percentile.
#
# TAM-RL (task-aware modulation with representation learning) treats each site as a task: a
# set encoder turns the site's months into an embedding that modulates (FiLM) the decoder.
# At a new site it works **zero-shot** from the site's covariates and plant functional type
# alone, or **few-shot** when a few months of fluxes were observed there.
#
# Data: the 13-site FLUXNET2015 monthly sample bundled with the package (`sample:monthly`).
# The benchmark setup is `configs/benchmark_monthly.yaml` (there: 189 sites, 5 scenarios) cut
# down to one scenario — 30 % of the sites held out at random — and a few models. At the tiny
# size (tests) the models train for a few epochs only and the numbers mean nothing.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from hybridflux.benchmark import benchmark, load_benchmark_config
from hybridflux.config import load_config
from hybridflux.data.sample import sample_paths
from hybridflux.runs import evaluate_from_run, train_from_config

SIZE = os.environ.get("HYBRIDFLUX_NOTEBOOK_SIZE", "full")
if SIZE not in ("tiny", "full"):
    raise ValueError(f"HYBRIDFLUX_NOTEBOOK_SIZE must be 'tiny' or 'full', got {SIZE!r}")
TINY = SIZE == "tiny"
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "pyproject.toml").is_file())
OUT = Path(tempfile.mkdtemp(prefix="hybridflux_nb04_"))

# %% [markdown]
# ## The benchmark
#
# Every model gets the same inputs (monthly TA_F, SW_IN_F, VPD_F, P_F, MODIS LAI and EVI, and
# the plant functional type as one-hot columns) and is scored on the same held-out site-months.
# `linear` is the reference of the skill score `1 − RMSE_model / RMSE_linear`. The hybrid
# model is `GPP = ε(x)·fAPAR(LAI)·PAR`, `RECO = R_b(x)·Q10^((T − 15)/10)`, `NEE = RECO − GPP`;
# `tamrl` predicts the held-out sites zero-shot. (At the tiny size only `linear` runs here.)

# %%
HYBRID = (
    "{type: hybrid, model: {type: lue_q10_nee, gpp_covariates: [TA_F, VPD_F, SW_IN_F, P_F, LAI,"
    " EVI, PFT], rb_covariates: [SW_IN_F, VPD_F, P_F, LAI, EVI, PFT], lai: LAI, hidden: [32, 32]}}"
)
TAMRL = "{type: tamrl, k_support: 6, zero_shot: 0.5, pretrain_epochs: %d}"
if TINY:  # the reference only: TAM-RL is trained below, each training costs compile time
    models = "{linear: {type: linear}}"
    train = ["train.epochs=3", "train.patience=0", "train.ensemble=1"]
else:
    models = f"{{linear: {{type: linear}}, hybrid_lue_q10: {HYBRID}, tamrl: {TAMRL % 20}}}"
    train = ["train.epochs=400", "train.patience=40", "train.ensemble=1"]
overrides = [
    "data.paths=[sample:monthly]",
    "scenarios={spatial: {kind: spatial, by: random, test_fraction: 0.3}}",
    f"models={models}",
    "output.figures=false",
    *train,
]
bcfg = load_benchmark_config(ROOT / "configs" / "benchmark_monthly.yaml", overrides)
bench = benchmark(bcfg, OUT / "benchmark", progress=False, log=print)
print(bench.timing.round(1).to_string())

# %% [markdown]
# Skill against linear regression, per target (median site RMSE, averaged over the scales):

# %%
skill = bench.results.query("statistic == 'skill' and scenario == 'all'")
print(skill.pivot_table(index="model", columns="target", values="value").round(3).to_string())

# %% [markdown]
# ## Per-site RMSE at the held-out sites
#
# `sites.csv` (here `bench.sites`) holds every model's score at every held-out site, target
# and scale. The monthly RMSE of GPP and NEE (gC m⁻² d⁻¹):

# %%
monthly = bench.sites.query("scale == 'monthly'")
per_site = monthly.pivot_table(index=["site", "igbp"], columns=["target", "model"], values="rmse")
per_site = per_site[["GPP", "NEE"]]
print(per_site.round(2).to_string())
test_sites = sorted(monthly["site"].unique())

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, target in zip(axes, ("GPP", "NEE"), strict=True):
    per_site[target].droplevel("igbp").plot.bar(ax=ax, rot=0)
    ax.set(xlabel="held-out site", ylabel=f"{target} RMSE (gC m⁻² d⁻¹)", title=target)
fig.tight_layout()

# %% [markdown]
# ## TAM-RL: zero-shot against few-shot
#
# TAM-RL is also a model type of `hybridflux train` (`configs/monthly_multisite.yaml`): train it
# on the files of the training sites, then score it on the files of the held-out sites with
# `hybridflux evaluate RUN --data ... --k-shot K` (`evaluate_from_run`). With `k_shot = K`,
# K observed months of each new site are given to the encoder as its support set; those
# months are left out of the scores. The held-out sites are the benchmark's.

# %%
files = {Path(p).name.split("_")[0]: str(p) for p in sample_paths("monthly")}
train_files = [f for site, f in sorted(files.items()) if site not in test_sites]
held_out = [files[site] for site in test_sites]
if TINY:
    run_overrides = [
        "train.epochs=3",
        "train.patience=0",
        "split.val_fraction=0.0",
        "train.episodes={batch_sites: 4, k_support: 6, zero_shot: 0.5, pretrain_epochs: 1}",
    ]
else:
    run_overrides = [
        "train.episodes={batch_sites: 4, k_support: 6, zero_shot: 0.5, pretrain_epochs: 20}",
        "split.val_fraction=0.2",
    ]
cfg = load_config(
    ROOT / "configs" / "monthly_multisite.yaml",
    [
        f"data.paths=[{', '.join(train_files)}]",
        "train.ensemble=1",
        "output.figures=false",
        *run_overrides,
    ],
)
run = train_from_config(cfg, OUT / "tamrl")
epochs = run.metrics["training"]["epochs_run"]
print(f"trained on {len(train_files)} sites for {epochs} epochs; held out: {', '.join(test_sites)}")

# %%
K_SHOTS = (0, 3, 6, 12)
SEEDS = (0,) if TINY else (0, 1, 2, 3, 4)
rows = []
for k in K_SHOTS:
    for seed in SEEDS if k else (0,):
        metrics = evaluate_from_run(run.run_dir, held_out, k_shot=k, seed=seed)
        for site, parts in metrics["sites"].items():
            for target in ("GPP", "NEE"):
                rows.append(
                    {
                        "k_shot": k,
                        "seed": seed,
                        "site": site,
                        "target": target,
                        "rmse": parts["all"][target]["rmse"],
                    }
                )
shots = pd.DataFrame(rows).groupby(["target", "site", "k_shot"])["rmse"].mean().unstack("k_shot")
print("RMSE (gC m-2 d-1) at the held-out sites by number of support months K")
print(f"(K > 0: mean over {len(SEEDS)} random draws of the support months):")
print(shots.round(3).to_string())

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharex=True)
for ax, target in zip(axes, ("GPP", "NEE"), strict=True):
    table = shots.loc[target]
    for site, values in table.iterrows():
        ax.plot(table.columns, values, "o-", label=site)
    ax.plot(table.columns, table.mean(), "k--", lw=2, label="mean")
    ax.set(
        xlabel="support months K (0 = zero-shot)",
        ylabel=f"{target} RMSE (gC m⁻² d⁻¹)",
        title=f"TAM-RL {target} at held-out sites",
        xticks=list(K_SHOTS),
    )
    ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# How to read this: the benchmark table says which model extrapolates best to sites it never
# saw, site by site (13 sites make a small, noisy benchmark — the full one in
# `configs/benchmark_monthly.yaml` uses 189). The last figure shows whether a few observed
# months at a new site help TAM-RL: a falling curve means the encoder turns the support
# months into a better site embedding; a flat one that it has not learned to use them. With
# nine training sites the encoder has seen few tasks: run the same cells on the 189-site
# collection (the default `data.paths` of both configs) for a comparison that means more.
# Zero-shot is scored on every month, few-shot on the months outside the support, so the
# curves compare the same sites but not quite the same months; the differences between draws
# of the support months are averaged out.
