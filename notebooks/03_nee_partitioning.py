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
# # 03 · Partitioning NEE into GPP and RECO at a real site
#
# Eddy covariance measures the net flux NEE; GPP and ecosystem respiration RECO are not
# measured but *partitioned* by models. FLUXNET provides two: the night-time method (NT,
# Reichstein et al. 2005: respiration fitted on night-time NEE, extrapolated to the day) and
# the day-time method (DT, Lasslop et al. 2010: a light-response curve fitted on day-time NEE).
#
# Here a hybrid model does the partitioning, trained on **NEE alone**:
#
# - `GPP = ε(TA_F, VPD_F, P_ANT_30, SW_IN_F) · FPAR · PAR(SW_IN_F)` — light-use efficiency
#   from a network;
# - `RECO = R_b(SW_POT_sm, SW_POT_sm_diff, P_ANT_30, VPD_F) · Q10^((TA_F − 15)/10)`;
# - `NEE = RECO − GPP` (the carbon balance is built in).
#
# Site: FR-Pue (Puéchabon, evergreen Mediterranean holm-oak forest), daily, the bundled
# FluxDataKit sample. This is the demo (`hybridflux demo`, `configs/demo.yaml`): 2000–2010 are
# trained on (2010 validates), 2011–2012 are held out. The model never sees GPP or RECO; we
# compare its partition with the FLUXNET ones afterwards.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hybridflux.config import load_config
from hybridflux.runs import format_metrics, load_dataset, scores, train_from_config

SIZE = os.environ.get("HYBRIDFLUX_NOTEBOOK_SIZE", "full")
if SIZE not in ("tiny", "full"):
    raise ValueError(f"HYBRIDFLUX_NOTEBOOK_SIZE must be 'tiny' or 'full', got {SIZE!r}")
TINY = SIZE == "tiny"
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "pyproject.toml").is_file())
OUT = Path(tempfile.mkdtemp(prefix="hybridflux_nb03_"))

# %% [markdown]
# ## Train
#
# `train_from_config` is what `hybridflux train` runs: it reads and QC-filters the data (NEE of
# days with ≥ 50 % good half-hours), splits, trains with early stopping, predicts every day and
# writes a run directory (`config.yaml`, `metrics.json`, `predictions.nc`, `checkpoints/`).
# At the tiny size it trains a few epochs only, and the partition is then not meaningful.

# %%
overrides = ["output.figures=false"] + (["train.epochs=8"] if TINY else [])
cfg = load_config(ROOT / "configs" / "demo.yaml", overrides)
result = train_from_config(cfg, OUT / "run")
print(format_metrics(result.metrics, ("val", "test")))
training = result.metrics["training"]
print(f"epochs run: {training['epochs_run']} (best {training['best_epoch']}); run: {OUT / 'run'}")

# %% [markdown]
# The table scores NEE (the training target) and GPP/RECO against the FLUXNET night-time
# partition, which the model never saw. `q10` is the learned global temperature sensitivity.
#
# ## Compare with the FLUXNET partitions
#
# The observations come from the same data pipeline (QC applied to the compared columns).
# Besides NT we use the day-time GPP (`GPP_DT_VUT_REF`); this sample carries no DT RECO.
# As a yardstick, the table also scores the two FLUXNET methods against each other: they
# disagree too, since both are models.

# %%
refs = ["NEE_VUT_REF", "GPP_NT_VUT_REF", "GPP_DT_VUT_REF", "RECO_NT_VUT_REF"]
pred = result.predictions.isel(site=0)
obs = load_dataset(cfg.data, observed=refs).isel(site=0).sel(time=pred["time"])
test = (pred["split"] == 2).values  # 0 train, 1 validation, 2 test
pairs = [
    ("NEE", pred["NEE"], "NEE_VUT_REF"),
    ("GPP", pred["GPP"], "GPP_NT_VUT_REF"),
    ("GPP", pred["GPP"], "GPP_DT_VUT_REF"),
    ("RECO", pred["RECO"], "RECO_NT_VUT_REF"),
    ("GPP_NT (FLUXNET)", obs["GPP_NT_VUT_REF"], "GPP_DT_VUT_REF"),
]
rows = []
for name, values, column in pairs:
    s = scores(values.values[test], obs[column].values[test])
    rows.append({"predicted": name, "against": column, **s})
table = pd.DataFrame(rows).set_index(["predicted", "against"])
print(f"test years {cfg.split.test_years} (gC m-2 d-1):")
print(table.to_string(float_format="{:.3f}".format))

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
for ax, (name, column) in zip(
    axes,
    [("NEE", "NEE_VUT_REF"), ("GPP", "GPP_NT_VUT_REF"), ("RECO", "RECO_NT_VUT_REF")],
    strict=True,
):
    o, p = obs[column].values[test], pred[name].values[test]
    ok = np.isfinite(o) & np.isfinite(p)
    ax.scatter(o[ok], p[ok], s=5, alpha=0.5)
    lo, hi = np.nanmin([o[ok].min(), p[ok].min()]), np.nanmax([o[ok].max(), p[ok].max()])
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    r2 = scores(p, o)["r2"]
    ax.set(
        xlabel=f"{column} (gC m⁻² d⁻¹)",
        ylabel=f"hybrid {name} (gC m⁻² d⁻¹)",
        title=f"{name}, test years: r² = {r2:.2f}",
    )
fig.tight_layout()

# %% [markdown]
# ## Time series of the held-out years
#
# Seven-day running means of the model and the FLUXNET partitions.

# %%
frame = pd.DataFrame(
    {
        "NEE hybrid": pred["NEE"].values,
        "NEE_VUT_REF": obs["NEE_VUT_REF"].values,
        "GPP hybrid": pred["GPP"].values,
        "GPP_NT": obs["GPP_NT_VUT_REF"].values,
        "GPP_DT": obs["GPP_DT_VUT_REF"].values,
        "RECO hybrid": pred["RECO"].values,
        "RECO_NT": obs["RECO_NT_VUT_REF"].values,
    },
    index=pd.DatetimeIndex(pred["time"].values),
)[test]
weekly = frame.rolling(7, center=True, min_periods=4).mean()
fig, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=True)
for ax, flux in zip(axes, ("NEE", "GPP", "RECO"), strict=True):
    for column in [c for c in weekly if c.startswith(flux) or c == f"{flux}_VUT_REF"]:
        style = "-" if "hybrid" in column else "--"
        ax.plot(weekly.index, weekly[column], style, label=column)
    ax.set(ylabel=f"{flux} (gC m⁻² d⁻¹)")
    ax.legend(loc="upper right", ncol=3, fontsize=8)
axes[-1].set(xlabel="date")
fig.suptitle("FR-Pue, held-out years, 7-day running means")
fig.tight_layout()

# %% [markdown]
# ## What the model learned
#
# The parameters that the networks predict are outputs too: ε (gC MJ⁻¹) and R_b
# (gC m⁻² d⁻¹) per day. Their seasonal course is the part of the physiology the equations do
# not describe.

# %%
params = pd.DataFrame(
    {"eps": pred["eps"].values, "Rb": pred["Rb"].values},
    index=pd.DatetimeIndex(pred["time"].values),
)
climatology = params.groupby(params.index.day_of_year).median()
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
axes[0].plot(climatology.index, climatology["eps"])
axes[0].set(xlabel="day of year", ylabel="ε (gC MJ⁻¹)", title="light-use efficiency (median)")
axes[1].plot(climatology.index, climatology["Rb"], color="tab:brown")
axes[1].set(xlabel="day of year", ylabel="R_b (gC m⁻² d⁻¹)", title="base respiration at 15 °C")
fig.tight_layout()
q10_start = float(cfg.model.build(cfg.train.seed).sources["Q10"].value)  # an untrained model
print(f"learned Q10 = {float(pred['Q10']):.3f} (training started from {q10_start:.3f})")

# %% [markdown]
# Reading the results: the model is judged on held-out NEE, which it was trained to predict,
# and on GPP and RECO, which it never saw. RECO is the hardest of the three: with
# RECO = NEE + GPP every error of GPP moves into RECO, and at this Mediterranean site
# respiration follows rain pulses and drought more than temperature. Compare the learned Q10
# with its starting value: if it hardly moved, NEE alone constrained it little — the R_b
# network sees smoothed potential radiation, which follows the seasonal course of
# temperature, so only the day-to-day temperature variations inform Q10 (a milder form of the
# equifinality of notebook 02). The row of NT against DT GPP shows how far two established
# partitioning methods differ at this site: the FLUXNET partitions are references, not truth.
