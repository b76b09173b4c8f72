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
# # 06 · Knowledge-guided pretraining: an emulator of a detailed process model
#
# After KGML-ag-Carbon (Liu et al. 2024): a detailed process model is too slow to run over large
# regions, so we run it over many synthetic cells, pretrain a neural emulator on its output,
# fine-tune on a few real observations and run the emulator instead.
#
# The detailed model (`hybridflux.process.detailed`) steps every hour, resolves ten soil layers
# with nonlinear microbial kinetics and must be **spun up by simulation** (cycling the driver
# years until the pools change by less than 1 % per century). The emulator is two networks: an
# *equilibrium emulator* (long-term climate and parameters → spun-up pools) and a *windowed
# emulator* (each day's drivers, trailing means, parameters and initial pools → daily GPP, Ra,
# Rh, NEE and pools).
#
# `hybridflux emulator CONFIG --out DIR` runs the whole workflow. Here:
# `HYBRIDFLUX_NOTEBOOK_SIZE=tiny` runs `configs/emulator_tiny.yaml` (a few cells, one year,
# seconds of training: the numbers mean nothing); the full size reads `runs/emulator` if
# `hybridflux emulator configs/emulator.yaml --out runs/emulator` has been run (15 min
# on two idle CPU cores), and otherwise runs it.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from hybridflux.emulator import load_run, run_emulator
from hybridflux.emulator.speedup import emulator_args, make_emulate

SIZE = os.environ.get("HYBRIDFLUX_NOTEBOOK_SIZE", "full")
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists())

if SIZE == "tiny":
    out = Path(tempfile.mkdtemp()) / "emulator"
    print(run_emulator(ROOT / "configs" / "emulator_tiny.yaml", out, ["finetune.sizes=[1]"]))
else:
    out = ROOT / "runs" / "emulator"
    if not (out / "sample_efficiency.csv").exists():
        print(run_emulator(ROOT / "configs" / "emulator.yaml", out, resume=True))
run = load_run(out)
bench, test = run["benchmark"], run["test"]

# %% [markdown]
# ## Spin-up: why the process model is expensive
#
# Every held-out cell starts cold and cycles its own driver years until every pool kind changes
# by less than the tolerance per century. The number of simulated years per cell:

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.hist(test.spinup_years, bins=20, color="tab:brown")
ax.set_xlabel("spin-up length (simulated years)")
ax.set_ylabel("held-out cells")
ax.set_title(f"converged: {np.mean(test.converged):.0%} of {test.spinup_years.size} cells")
plt.show()

# %% [markdown]
# ## The speed-up, and what is timed
#
# Wall-clock seconds on this machine for the same held-out cells and years: the process model's
# spin-up plus simulation (compiled beforehand, `jit(vmap(...))` in chunks) against one jitted
# call of the equilibrium and windowed emulators (after compilation). No processor-time scaling.

# %%
b = bench
print(
    f"process model: {b['process_model_seconds']:.2f} s, of which spin-up "
    f"{b['process_model_spinup_seconds']:.2f} s ({b['spinup_years']:.0f} years on average)"
)
print(f"emulator:      {b['emulator_seconds'] * 1e3:.2f} ms")
print(f"speed-up:      {b['speedup']:.0f}x for {b['cells']} cells x {b['years']:.0f} years")
print(bench["timed"])

# %% [markdown]
# ## Accuracy against the process model on held-out cells
#
# r² per output over all held-out cell-days (fluxes in gC m⁻² d⁻¹, pools in gC m⁻²).

# %%
r2 = bench["r2"]
fig, ax = plt.subplots(figsize=(7, 3))
ax.bar(list(r2), [max(v, -0.5) for v in r2.values()], color="tab:green")
ax.axhline(0.95, color="k", lw=0.8, ls="--", label="0.95")
ax.set_ylabel("r² (emulator vs process model)")
ax.set_ylim(-0.5, 1.02)
ax.legend()
plt.xticks(rotation=45)
plt.show()

# %% [markdown]
# One held-out cell, day by day: the emulator starts from the equilibrium emulator's pools, not
# from the spun-up state.

# %%
emulate = make_emulate(run["equilibrium"], run["emulator"], run["model"])
pred = emulate(*emulator_args(test))
cell, days = 0, np.arange(test.drivers.shape[1])
soil = [test.names["pool"].index(k) for k in ("pom", "maom")]
fig, axes = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
axes[0].plot(days, test.fluxes[cell, :, 3], lw=0.8, label="process model")
axes[0].plot(days, np.asarray(pred["NEE"][cell]), lw=0.8, label="emulator")
axes[0].set_ylabel("NEE (gC m⁻² d⁻¹)")
axes[0].legend()
axes[1].plot(days, test.pools[cell][:, soil].sum(-1), label="process model")
axes[1].plot(days, np.asarray(pred["POOLS"][cell])[:, soil].sum(-1), label="emulator")
axes[1].set_ylabel("POM + MAOM (gC m⁻²)")
axes[1].set_xlabel("day of the held-out run")
plt.show()

# %% [markdown]
# ## Sample efficiency on real observations
#
# NEE RMSE on held-out real site-years against the number of real site-years used for
# training: the pretrained emulator fine-tuned (hidden layers frozen), the same architecture
# trained from scratch, and a pure ML baseline. `n_train = 0` is the pretrained emulator with
# no real data at all.

# %%
eff = run["efficiency"]
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, part in eff[eff.n_train > 0].groupby("model", sort=False):
    ax.plot(part.n_train, part.rmse, marker="o", label=name)
zero = eff[eff.n_train == 0]
if len(zero):
    ax.axhline(float(zero.rmse.iloc[0]), color="grey", ls=":", label="pretrained, zero-shot")
ax.set_xscale("log", base=2)
ax.set_xlabel("real training site-years")
ax.set_ylabel("NEE RMSE (gC m⁻² d⁻¹)")
ax.legend(fontsize=8)
plt.show()
print(eff.to_string(index=False))
