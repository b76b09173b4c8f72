"""Grid checks: units, inputs and time step against the training data; derived features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.features import add_features
from hybridflux.data.schema import SiteMeta, site_dataset
from hybridflux.upscale import GridError, open_grid, run_upscale
from hybridflux.upscale.grid import check_grid, derived_features, grid_time_step

from .conftest import UNITS, make_grid, make_run


def test_units_mismatch_is_a_clear_error(run_dir, tmp_path):
    grid = make_grid(tmp_path / "kelvin.nc", units={"TA_F": "K"})
    with pytest.raises(GridError) as err:
        run_upscale(run_dir, grid, tmp_path / "out.zarr", figures=False)
    message = str(err.value)
    assert "kelvin.nc" in message and "variable TA_F" in message
    assert "'K'" in message and "'degC'" in message
    assert not (tmp_path / "out.zarr").exists()  # nothing written


def test_missing_units_missing_variable_and_other_time_step(tmp_path):
    inputs = ("SW_IN_F", "TA_F", "VPD_F")
    no_units = open_grid(make_grid(tmp_path / "a.nc"))
    no_units["VPD_F"].attrs.pop("units")
    with pytest.raises(GridError, match="variable VPD_F: no 'units'"):
        check_grid(no_units, inputs, UNITS, "DD", where="a.nc")
    no_vpd = open_grid(make_grid(tmp_path / "b.nc", drop=("VPD_F",)))
    with pytest.raises(GridError, match=r"no variable \['VPD_F'\]"):
        check_grid(no_vpd, inputs, UNITS, "DD", where="b.nc")
    hourly = open_grid(make_grid(tmp_path / "c.nc", freq="h"))
    with pytest.raises(GridError, match="time step HR differs from the training data's DD"):
        check_grid(hourly, inputs, UNITS, "DD", where="c.nc")
    assert check_grid(open_grid(make_grid(tmp_path / "d.nc")), inputs, UNITS, "DD", where="") == ()


def test_latitude_longitude_names_and_static_maps(tmp_path):
    path = make_grid(tmp_path / "g.nc")
    ds = open_grid(path)
    renamed = ds.rename({"lat": "latitude", "lon": "longitude"})
    renamed.to_netcdf(tmp_path / "r.nc")
    static = ds[["TA_F"]].isel(time=0, drop=True).rename({"TA_F": "IGBP_ENF"})
    static.to_netcdf(tmp_path / "s.nc")
    both = open_grid(tmp_path / "r.nc", static=tmp_path / "s.nc")
    assert both["IGBP_ENF"].dims == ("lat", "lon") and both["TA_F"].dims == ("time", "lat", "lon")
    wrong = static.assign_coords(lat=static["lat"] + 1.0)
    wrong.to_netcdf(tmp_path / "w.nc")
    with pytest.raises(GridError, match="lat coordinate"):
        open_grid(path, static=tmp_path / "w.nc")


def test_time_step_of_the_axis():
    assert grid_time_step(pd.date_range("2020-01-01", periods=4, freq="MS").values) == "MM"
    assert grid_time_step(pd.date_range("2020-01-01", periods=4, freq="30min").values) == "HH"
    with pytest.raises(GridError, match="irregular"):
        grid_time_step(np.array(["2020-01-01", "2020-01-02", "2020-01-04"], "datetime64[ns]"))


def test_derived_features_equal_those_of_training_whatever_the_chunk():
    """SW_POT_sm of a 10-day chunk = the site feature of a long record (interior days)."""
    days = pd.date_range("2021-01-01", "2021-12-31", freq="D")
    frame = pd.DataFrame({"TA_F": np.zeros(days.size)}, index=days)
    site = site_dataset(
        frame,
        "XX-Lat",
        time_step="DD",
        units={"TA_F": "degC"},
        source_format="t",
        source_file="t",
        meta=SiteMeta(lat=47.5, lon=11.0),
    )
    names = ["SW_POT_sm", "SW_POT_sm_diff", "DOY_SIN_1"]
    reference = add_features(site, names)
    chunk = days[100:110].values
    got = derived_features(names, np.array([47.5, 10.0]), chunk, "DD")
    for name in names:
        assert got[name].shape == (10, 2)
        np.testing.assert_allclose(got[name][:, 0], reference[name].values[0, 100:110], rtol=1e-6)


def test_a_model_with_lat_date_features_runs_on_a_grid_without_them(tmp_path):
    model = {"type": "hybrid_q10", "covariates": ["SW_POT_sm", "SW_POT_sm_diff"], "hidden": [4]}
    run = make_run(tmp_path / "q10", model=model, targets={"RECO": "RECO_NT_VUT_REF"})
    grid = make_grid(tmp_path / "g.zarr")
    summary = run_upscale(run, grid, tmp_path / "o.zarr", figures=False, batch_size=64)
    assert "upscaled RECO" in summary
    with pytest.raises(GridError, match=r"no variable \['P_ANT_30'\]"):  # needs precipitation
        check_grid(open_grid(grid), ("TA_F", "P_ANT_30"), UNITS, "DD", where="g.zarr")
