"""Fixtures of the upscaling tests: a run directory with a (perturbed, untrained) model and
tiny covariate grids, both built here without training so the tests stay fast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from flax import nnx

from hybridflux.config import dump_config, parse_config
from hybridflux.runs.rundir import RunDir, atomic_write_text

UNITS = {"TA_F": "degC", "SW_IN_F": "W m-2", "VPD_F": "hPa"}


def run_config(model: dict | None = None, targets: dict | None = None) -> dict:
    """A config whose training data is the bundled FR-Pue sample (units of the check)."""
    model = model or {
        "type": "lue_q10_nee",
        "gpp_covariates": ["TA_F", "VPD_F", "SW_IN_F"],
        "rb_covariates": ["TA_F"],
        "hidden": [8],
    }
    return {
        "data": {"paths": ["sample:fr-pue-daily"]},
        "model": model,
        "targets": targets or {"GPP": "GPP_NT_VUT_REF"},
        "split": {"kind": "none", "test_years": None, "test_sites": None},
        "train": {"epochs": 1, "batch_size": 32, "seed": 0, "patience": 0, "checkpoint_every": 1},
    }


def make_run(path: Path, model: dict | None = None, members: int = 1, targets=None) -> Path:
    """Write config, model.npz (weights perturbed: a non-trivial function) and metrics."""
    cfg = parse_config(run_config(model, targets))
    run = RunDir(path)
    path.mkdir(parents=True)
    atomic_write_text(run.config_path, dump_config(cfg))
    rng = np.random.default_rng(7)
    batch = {
        "TA_F": rng.normal(10.0, 8.0, 400),
        "SW_IN_F": rng.uniform(0.0, 350.0, 400),
        "VPD_F": rng.uniform(0.0, 20.0, 400),
        "SW_POT_sm": rng.uniform(50.0, 450.0, 400),
        "SW_POT_sm_diff": rng.normal(0.0, 3.0, 400),
    }
    models = []
    for i in range(members):
        model_i = cfg.model.build(i)
        model_i.set_normalization(batch)
        params = nnx.state(model_i, nnx.Param)
        noisy = jax_tree_noise(params, rng)
        nnx.update(model_i, noisy)
        models.append(model_i)
    run.save_models(models)
    run.write_metrics(json.dumps({"units": "gC m-2 d-1"}))
    return path


def jax_tree_noise(state, rng):
    import jax

    return jax.tree.map(lambda x: x + rng.normal(0.0, 0.5, np.shape(x)).astype(x.dtype), state)


def make_grid(path: Path, nt: int = 40, ny: int = 5, nx: int = 7, units=None, **kw) -> Path:
    """A daily grid with a seasonal cycle, a NaN 'sea' cell and a NaN day; netCDF or zarr."""
    units = {**UNITS, **(units or {})}
    rng = np.random.default_rng(3)
    time = pd.date_range(kw.get("start", "2022-03-01"), periods=nt, freq=kw.get("freq", "D"))
    lat = np.linspace(50.0, 46.0, ny)
    lon = np.linspace(9.0, 14.0, nx)
    season = np.sin(np.arange(nt) / 20.0)[:, None, None]
    values = {
        "TA_F": 8.0 + 10.0 * season + rng.normal(0, 2, (nt, ny, nx)),
        "SW_IN_F": 150.0 + 100.0 * season + rng.uniform(0, 60, (nt, ny, nx)),
        "VPD_F": rng.uniform(0.5, 15.0, (nt, ny, nx)),
    }
    values["TA_F"][:, 1, 2] = np.nan  # a sea cell
    values["SW_IN_F"][5] = np.nan  # a day without radiation
    data = {
        k: (("time", "lat", "lon"), v.astype(np.float32), {"units": units[k]})
        for k, v in values.items()
        if k not in kw.get("drop", ())
    }
    ds = xr.Dataset(data, coords={"time": time, "lat": lat, "lon": lon})
    if path.suffix == ".zarr":
        ds.chunk({"time": 16, "lat": 2, "lon": 3}).to_zarr(path, zarr_format=2, consolidated=True)
    else:
        ds.to_netcdf(path)
    return path


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A run of lue_q10_nee (GPP from TA_F, VPD_F, SW_IN_F) on FR-Pue units."""
    return make_run(tmp_path_factory.mktemp("upscale") / "run")


@pytest.fixture(scope="session")
def grid(tmp_path_factory) -> Path:
    """A tiny zarr grid (40 days × 5 × 7) in the training units, chunked 16 × 2 × 3."""
    return make_grid(tmp_path_factory.mktemp("grid") / "grid.zarr")
