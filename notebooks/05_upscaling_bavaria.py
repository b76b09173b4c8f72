# ---
# jupyter:
#   hybridflux:
#     requires_shared_data: true
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: hybridflux
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
# # 05 · Upscaling: from flux towers to a map of Bavaria
#
# A model trained at flux towers can be applied wherever its inputs are known. Here:
#
# 1. train the daily GPP model of `configs/upscale_daily.yaml` on 26 PLUMBER/FluxDataKit
#    towers (2019–2021), with only inputs a reanalysis has: air temperature `TA_F` (°C),
#    shortwave radiation `SW_IN_F` (W m⁻²) and vapour-pressure deficit `VPD_F` (hPa),
#    `GPP = ε(TA_F, VPD_F, SW_IN_F) · PAR(SW_IN_F)`; whole sites are held out for the test;
# 2. turn hourly ERA5 2022 over Bavaria and the northern Alps (14 × 20 cells of 0.28°,
#    46.2–49.9° N, 9.0–14.3° E) into a daily grid with the same variables and units
#    (`hybridflux.upscale.era5`);
# 3. run `hybridflux upscale` (`run_upscale`): the trained model over every cell and day,
#    written as a CF zarr store;
# 4. map the annual-mean GPP and compute the regional total.
#
# Data: `../shared/data` beside the repository (`sites/plumber_daily_26sites`,
# `gridded/era5_modis_bavaria_2022`; ERA5: contains modified Copernicus Climate Change
# Service information 2022). Outputs go to a temporary folder. At the tiny size (tests) the
# model trains for a few epochs and its map means nothing.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from rich.console import Console

from hybridflux.config import load_config
from hybridflux.runs import format_metrics, train_from_config
from hybridflux.upscale import (
    ChunkProgress,
    annual_mean,
    annual_totals,
    cell_areas,
    era5_daily,
    open_era5,
    run_upscale,
    save_grid,
)

SIZE = os.environ.get("HYBRIDFLUX_NOTEBOOK_SIZE", "full")
if SIZE not in ("tiny", "full"):
    raise ValueError(f"HYBRIDFLUX_NOTEBOOK_SIZE must be 'tiny' or 'full', got {SIZE!r}")
TINY = SIZE == "tiny"
ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "pyproject.toml").is_file())
SHARED = ROOT.parent / "shared" / "data"
OUT = Path(tempfile.mkdtemp(prefix="hybridflux_nb05_"))

# %% [markdown]
# ## 1 · Train the tower model
#
# `train_from_config` is `hybridflux train configs/upscale_daily.yaml --out RUN`; the config's
# data paths are relative to the config file and point into `../shared/data`.

# %%
tiny = ["train.epochs=3", "train.patience=0", "split.val_fraction=0.0"]
cfg = load_config(
    ROOT / "configs" / "upscale_daily.yaml", ["output.figures=false", *(tiny if TINY else [])]
)
run = train_from_config(cfg, OUT / "run")
print(format_metrics(run.metrics, ("test",)).split("\nlearned")[0])
print(f"sites: {len(run.metrics['sites'])}; run directory: {run.run_dir}")

# %% [markdown]
# The score is GPP at held-out towers (20 % of the sites), against the night-time partitioned
# `GPP_NT_VUT_REF`. (The model also has a respiration half, which is untrained here: only GPP
# is a target, so only GPP is upscaled.)
#
# ## 2 · A daily covariate grid from hourly ERA5
#
# `era5_daily` averages `t2m` to `TA_F`, sums `ssrd` to a daily mean `SW_IN_F`, and estimates
# `VPD_F` from the daily temperature range (FAO-56: dew point ≈ daily minimum temperature —
# these ERA5 files carry no humidity). Days are local standard time (UTC+1), as at the towers.

# %%
hourly = open_era5(str(SHARED / "gridded" / "era5_modis_bavaria_2022" / "era5" / "*.nc"))
daily = era5_daily(hourly, utc_offset=1.0)
grid_path = save_grid(daily, OUT / "bavaria_daily_2022.zarr")
print(daily)

fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for ax, name in zip(axes, ("TA_F", "SW_IN_F", "VPD_F"), strict=True):
    mean = daily[name].mean("time")
    mesh = ax.pcolormesh(daily["lon"], daily["lat"], mean, shading="nearest")
    fig.colorbar(mesh, ax=ax, label=f"{name} ({daily[name].attrs['units']})")
    ax.set(xlabel="longitude (° E)", ylabel="latitude (° N)", title=f"2022 mean {name}")
fig.tight_layout()

# %% [markdown]
# ## 3 · Upscale
#
# `run_upscale` checks that the grid has the model's inputs in the units it was trained with,
# then predicts chunk by chunk with one compiled function and writes `gpp.zarr` (resumable;
# `scheduler=` takes a `dask.distributed` address for a cluster). The same from a shell:
# `hybridflux upscale RUN --grid bavaria_daily_2022.zarr --out gpp.zarr`.

# %%
# No live progress bar here: rich's live display in Jupyter needs ipywidgets.
progress = ChunkProgress(Console(force_jupyter=False, force_terminal=False))
summary = run_upscale(run.run_dir, grid_path, OUT / "gpp.zarr", figures=False, progress=progress)
print(summary)
gpp = xr.open_zarr(OUT / "gpp.zarr")["GPP"]
print(gpp.attrs["units"], gpp.sizes)

# %% [markdown]
# ## 4 · Annual-mean map and the regional total
#
# `annual_mean` turns the daily GPP (gC m⁻² d⁻¹) into gC m⁻² yr⁻¹ per cell; `annual_totals`
# weights by cell area (spherical Earth) and returns PgC yr⁻¹.

# %%
gpp_map = annual_mean(gpp)
area = cell_areas(gpp_map["lat"].values, gpp_map["lon"].values)  # m2
total_pg = annual_totals(gpp_map)["grid"]
land = np.isfinite(gpp_map.values)
mean_per_m2 = float(np.sum(gpp_map.values[land] * area[land]) / np.sum(area[land]))
print(f"area of the grid: {area[land].sum() / 1e6:,.0f} km2")
print(f"area-weighted mean GPP: {mean_per_m2:.0f} gC m-2 yr-1")
print(f"regional total GPP: {total_pg * 1e3:.1f} TgC yr-1 ({total_pg:.4f} PgC yr-1)")

fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1.2, 1]})
mesh = axes[0].pcolormesh(gpp_map["lon"], gpp_map["lat"], gpp_map, shading="nearest", cmap="YlGn")
fig.colorbar(mesh, ax=axes[0], label="GPP (gC m⁻² yr⁻¹)")
axes[0].set(xlabel="longitude (° E)", ylabel="latitude (° N)", title="annual-mean GPP 2022")
weights = xr.DataArray(area, coords={"lat": gpp["lat"], "lon": gpp["lon"]}, dims=("lat", "lon"))
regional = gpp.weighted(weights.where(np.isfinite(gpp_map), 0.0)).mean(("lat", "lon"))
axes[1].plot(regional["time"], regional.rolling(time=7, center=True).mean())
axes[1].set(xlabel="date", ylabel="GPP (gC m⁻² d⁻¹)", title="regional mean, 7-day running mean")
fig.autofmt_xdate()
fig.tight_layout()

# %% [markdown]
# Reading the map (full size): GPP follows the climate of the grid in the first figure — lowest
# along the cold main ridge of the Alps (about 47° N), where the growing season is short, and
# highest in warm lowlands such as the Lake Constance basin in the west, the Danube and Inn
# lowlands and the valleys south of the Alps. The model knows nothing of land cover (no fAPAR,
# LAI or vegetation type on this grid): every cell is treated like an average tower, so lakes,
# towns and rock count as vegetated, and the totals are those of a fully vegetated region.
# For a land-cover-aware map, train with a remote-sensing input and put it on the grid
# (`static=` maps or time-varying fields).
