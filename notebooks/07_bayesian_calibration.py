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
# # 07 · Bayesian calibration of Q10 respiration with NUTS
#
# A hybrid model gives point estimates; `hybridflux calibrate` gives **posteriors**: priors on
# the process parameters, a likelihood of the observed fluxes, and Hamiltonian Monte Carlo
# (numpyro's NUTS) with several chains, reported with R-hat, effective sample sizes and 94 %
# credible intervals.
#
# The problem of `configs/calibrate_q10.yaml`: `RECO = R_b · Q10^((TA_F − 15)/10)` with two
# scalars R_b and Q10, on two years (2006–2007) of **real** daily air temperature of FR-Pue and
# a respiration series generated from it with known R_b and Q10 and 10 % multiplicative noise
# (`configs/data/make_q10_synthetic_daily.py`). Because the truth is known, we can check that
# the posterior contains it. The noise model is learned: `σ_i = σ · RECO_i`.
#
# At the tiny size (tests) the chains are short, R-hat is unreliable and a warning about it
# is expected.

# %%
import importlib.util
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.calibrate import run_calibration

SIZE = os.environ.get("HYBRIDFLUX_NOTEBOOK_SIZE", "full")
if SIZE not in ("tiny", "full"):
    raise ValueError(f"HYBRIDFLUX_NOTEBOOK_SIZE must be 'tiny' or 'full', got {SIZE!r}")
TINY = SIZE == "tiny"
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "pyproject.toml").is_file())
OUT = Path(tempfile.mkdtemp(prefix="hybridflux_nb07_")) / "calibrate_q10"

# The true values are those of the script that generated the data.
spec = importlib.util.spec_from_file_location(
    "make_q10", ROOT / "configs" / "data" / "make_q10_synthetic_daily.py"
)
generator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generator)
TRUTH = {"Rb": generator.RB_TRUE, "Q10": generator.Q10_TRUE}
print("true values:", TRUTH)

# %% [markdown]
# ## Run the calibration
#
# `run_calibration` is `hybridflux calibrate configs/calibrate_q10.yaml --out DIR`. It writes
# `posterior.nc` (draws, dims `chain, draw`), `summary.csv`, `predictive.nc` (credible and
# posterior-predictive bands) and `diagnostics.json`, and returns the printed summary.

# %%
size = ["inference.chains=2", "inference.samples=150", "inference.warmup=150"] if TINY else []
overrides = ["output.figures=false", *size]
print(run_calibration(ROOT / "configs" / "calibrate_q10.yaml", OUT, overrides))

# %% [markdown]
# ## Posterior summary and intervals
#
# `hdi_3%`–`hdi_97%` is the 94 % highest-density interval. R-hat compares the chains
# (≤ 1.01 is the usual criterion of convergence); `ess_bulk` is the effective number of
# independent draws.

# %%
summary = pd.read_csv(OUT / "summary.csv", index_col="parameter")
print(summary.round(4).to_string())
for name, truth in TRUTH.items():
    lo, hi = summary.loc[name, "hdi_3%"], summary.loc[name, "hdi_97%"]
    inside = "contains" if lo <= truth <= hi else "does NOT contain"
    print(
        f"{name}: 94 % HDI [{lo:.4f}, {hi:.4f}] {inside} the true {truth}; "
        f"r_hat {summary.loc[name, 'r_hat']:.3f}"
    )

# %% [markdown]
# ## Chains and marginal posteriors

# %%
posterior = xr.open_dataset(OUT / "posterior.nc")
names = ["Q10", "Rb", "sigma_RECO"]
units = {"Q10": "–", "Rb": "gC m⁻² d⁻¹", "sigma_RECO": "relative"}
fig, axes = plt.subplots(len(names), 2, figsize=(12, 7.5), gridspec_kw={"width_ratios": [2, 1]})
for row, name in zip(axes, names, strict=True):
    for chain in posterior["chain"].values:
        draws = posterior[name].sel(chain=chain).values
        row[0].plot(draws, lw=0.6, label=f"chain {chain}")
        row[1].hist(draws, bins=30, histtype="step", density=True)
    row[0].set(xlabel="draw", ylabel=f"{name} ({units[name]})")
    row[1].set(xlabel=f"{name} ({units[name]})", ylabel="density")
    if name in TRUTH:
        row[0].axhline(TRUTH[name], color="k", ls="--", lw=1)
        row[1].axvline(TRUTH[name], color="k", ls="--", lw=1, label="truth")
        row[1].axvspan(
            summary.loc[name, "hdi_3%"], summary.loc[name, "hdi_97%"], alpha=0.15, label="94 % HDI"
        )
        row[1].legend(fontsize=8)
axes[0, 0].legend(fontsize=8, ncol=4)
fig.tight_layout()

# %% [markdown]
# ## The joint posterior of R_b and Q10
#
# How much can a higher Q10 be traded against a lower R_b? R_b is the respiration at
# T_ref = 15 °C, inside the range of the data, so the two are only weakly correlated; with a
# reference temperature far outside the data they would be strongly correlated (the same
# curve, parametrised badly). The printed correlation measures it.

# %%
q10 = posterior["Q10"].values.ravel()
rb = posterior["Rb"].values.ravel()
print(f"posterior correlation of Q10 and Rb: {np.corrcoef(q10, rb)[0, 1]:.2f}")
fig, ax = plt.subplots(figsize=(5, 4.5))
ax.scatter(q10, rb, s=3, alpha=0.3)
ax.plot(TRUTH["Q10"], TRUTH["Rb"], "r*", ms=14, label="truth")
ax.set(xlabel="Q10 (–)", ylabel="R_b (gC m⁻² d⁻¹)", title="joint posterior draws")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## Posterior predictive
#
# The band of the *mean* respiration (parameter uncertainty only) is narrow; the
# posterior-predictive band adds the learned 10 %-noise and should hold about 94 % of the
# observations.

# %%
pred = xr.open_dataset(OUT / "predictive.nc").isel(site=0)
obs = pred["RECO_observed"].values
q = pred["quantile"].values
lo, hi = q.min(), q.max()
band = pred["RECO_predictive"]
inside = (obs >= band.sel(quantile=lo).values) & (obs <= band.sel(quantile=hi).values)
coverage = np.mean(inside[np.isfinite(obs)])
print(f"observations inside the {hi - lo:.0%} posterior-predictive band: {coverage:.1%}")

fig, ax = plt.subplots(figsize=(12, 4))
t = pred["time"].values
ax.fill_between(
    t,
    band.sel(quantile=lo),
    band.sel(quantile=hi),
    alpha=0.25,
    label=f"posterior predictive {lo:.0%}–{hi:.0%}",
)
mean_band = pred["RECO"]
ax.fill_between(
    t,
    mean_band.sel(quantile=lo),
    mean_band.sel(quantile=hi),
    alpha=0.6,
    label="credible band of the mean",
)
ax.plot(t, obs, ".", ms=3, color="k", label="RECO_syn (data)")
ax.set(xlabel="date", ylabel="RECO (gC m⁻² d⁻¹)", title="FR-Pue temperature, synthetic RECO")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# What to look for: with the full-size run (4 chains × 1000 draws after 1000 warm-up steps),
# R-hat should be at 1.00–1.01 with thousands of effective draws, both 94 % intervals should
# contain the true values, and about 94 % of the observations should fall in the predictive
# band. On real data, replace the synthetic target by an observed flux (e.g.
# `targets: {RECO: RECO_NT_VUT_REF}` with `data.paths: [sample:fr-pue-daily]`), or calibrate
# the global parameters of a trained hybrid model (`model: {type: hybrid, run: RUN}`).
