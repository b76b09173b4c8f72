"""The shipped configs/upscale_daily.yaml trains on the PLUMBER sites (tiny size) and its run
upscales the real Bavarian ERA5 year, aggregated to days, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from hybridflux.config import load_config
from hybridflux.runs.train import train_from_config
from hybridflux.upscale import era5_daily, open_era5, run_upscale, save_grid

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "upscale_daily.yaml"


def test_upscale_daily_config_trains_and_upscales_bavaria(shared_data, tmp_path):
    cfg = load_config(CONFIG, ["train.epochs=2", "output.figures=false"])
    assert set(cfg.model.build(0).inputs) == {"TA_F", "VPD_F", "SW_IN_F"}
    result = train_from_config(cfg, tmp_path / "run")
    assert result.metrics["splits"]["test"]["GPP"]["n"] > 1000
    era5 = shared_data / "gridded" / "era5_modis_bavaria_2022" / "era5"
    day = era5_daily(open_era5(sorted(str(p) for p in era5.glob("*.nc"))), utc_offset=1.0)
    grid = save_grid(day, tmp_path / "bavaria_daily.zarr")
    summary = run_upscale(result.run_dir, grid, tmp_path / "gpp.zarr", figures=False)
    assert "upscaled GPP on 365 x 14 x 20" in summary
    gpp = xr.open_zarr(tmp_path / "gpp.zarr")["GPP"].values
    assert np.isfinite(gpp).mean() > 0.99 and np.nanmin(gpp) >= 0.0  # LUE: GPP >= 0
    totals = json.loads((tmp_path / "gpp.totals.json").read_text())["totals"]["GPP"]
    area = 14 * 20 * 0.28**2 * 111e3**2 * np.cos(np.radians(48.0))  # ~ m2 of the grid
    mean = totals["grid"] * 1e15 / area  # gC m-2 yr-1
    assert 100.0 < mean < 4000.0  # a terrestrial GPP, not a unit slip of x1000 or x86400
