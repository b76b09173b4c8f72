"""ERA5 hourly → daily grid: conventions by hand, and the real Bavarian files vs pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hybridflux.upscale.era5 import era5_daily, open_era5


def _hourly(start: str, hours: int, t2m, ssrd) -> xr.Dataset:
    time = pd.date_range(start, periods=hours, freq="h")
    shape = (hours, 1, 2)
    return xr.Dataset(
        {
            "t2m": (("time", "lat", "lon"), np.broadcast_to(t2m, shape).copy()),
            "ssrd": (("time", "lat", "lon"), np.broadcast_to(ssrd, shape).copy()),
        },
        coords={"time": time, "lat": [48.0], "lon": [11.0, 11.25]},
    )


def test_daily_means_sums_and_fao56_vpd_by_hand():
    hours = np.arange(72)
    t2m = (273.15 + 10.0 + 5.0 * np.sin(2 * np.pi * (hours - 9) / 24))[:, None, None]
    ssrd = np.where((hours % 24 >= 6) & (hours % 24 < 18), 3600.0 * 400.0, 0.0)[:, None, None]
    day = era5_daily(_hourly("2022-06-01", 72, t2m, ssrd))
    assert day.sizes["time"] == 3 and day["TA_F"].attrs["units"] == "degC"
    np.testing.assert_allclose(day["TA_F"][:, 0, 0], 10.0, atol=1e-5)  # mean of a full sine
    # ssrd stamped at the END of its hour: stamps 06..17 hold hours 05-06..16-17: 12 h x 400 W
    np.testing.assert_allclose(day["SW_IN_F"][:2, 0, 0], 200.0, rtol=1e-6)
    assert np.isnan(day["SW_IN_F"][2, 0, 0])  # 3 June lacks the hour stamped 4 June 00:00
    tmin, tmax = 10.0 + 5.0 * np.sin(2 * np.pi * (np.arange(24) - 9) / 24)[[3, 15]]
    e = lambda t: 6.1078 * np.exp(17.27 * t / (t + 237.3))  # FAO-56 eq. 11 in hPa  # noqa: E731
    np.testing.assert_allclose(day["VPD_F"][0, 0, 0], (e(tmax) - e(tmin)) / 2, rtol=1e-5)
    assert "estimated" in day["VPD_F"].attrs["comment"]


def test_utc_offset_moves_the_day_and_incomplete_days_are_nan():
    t2m = np.arange(48.0)[:, None, None] + 273.15
    day = era5_daily(_hourly("2022-06-01", 48, t2m, 0.0), utc_offset=1.0, vpd=None)
    assert "VPD_F" not in day
    # local day 1 June = UTC 31 May 23:00 .. 1 June 22:00: its first hour is missing
    assert np.isnan(day["TA_F"].sel(time="2022-06-01")).all()
    np.testing.assert_allclose(day["TA_F"].sel(time="2022-06-02")[0, 0], np.arange(23, 47).mean())


def test_real_bavarian_files_against_pandas(shared_data):
    files = sorted((shared_data / "gridded" / "era5_modis_bavaria_2022" / "era5").glob("*.nc"))
    hourly = open_era5([str(f) for f in files])
    day = era5_daily(hourly, utc_offset=1.0)
    assert day.sizes == {"time": 365, "lat": 14, "lon": 20}
    cell = hourly.isel(lat=6, lon=9).to_dataframe()
    local = cell.index + pd.Timedelta(hours=1)
    ta = (cell["t2m"] - 273.15).groupby(local.floor("D"))
    ta = ta.mean().where(ta.count() == 24)
    sw = cell["ssrd"].groupby((local - pd.Timedelta(hours=1)).floor("D"))
    sw = (sw.sum() / 86400.0).where(sw.count() == 24)
    got = day.isel(lat=6, lon=9).to_dataframe()
    np.testing.assert_allclose(got["TA_F"], ta.reindex(got.index), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(got["SW_IN_F"], sw.reindex(got.index), rtol=1e-5, atol=1e-3)
    assert 120.0 < float(day["SW_IN_F"].mean()) < 170.0  # annual mean shortwave in Bavaria
    assert 0.0 <= float(day["VPD_F"].min()) and float(day["VPD_F"].max()) < 40.0


def test_non_hourly_input_is_refused():
    ds = _hourly("2022-06-01", 48, 280.0, 0.0).isel(time=slice(None, None, 3))
    with pytest.raises(ValueError, match="hourly"):
        era5_daily(ds)
