"""Real drivers for synthetic cells (hybridflux.emulator.drivers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hybridflux.data import read
from hybridflux.data.sample import sample_path
from hybridflux.emulator.drivers import (
    concat_years,
    sample_cells,
    site_driver_years,
    soil_water_bucket,
)
from hybridflux.emulator.era5_drivers import era5_driver_years


def test_bucket_by_hand():
    # no light: no evaporation, so the store only fills: W = min(0.5 + cumulative P / 150, 1)
    precip = np.array([10.0, 0.0, 30.0, 100.0])
    w = soil_water_bucket(precip, np.full(4, 10.0), np.zeros(4))
    assert w[-1] == 1.0
    # full sun, no rain: W decays as S' = S − PET·S/S_max (PET by hand from Priestley–Taylor)
    ta, sw = 20.0, 250.0
    es = 6.1078 * np.exp(17.27 * ta / (ta + 237.3))
    slope = 4098 * es / (ta + 237.3) ** 2
    pet = 1.26 * slope / (slope + 0.665) * 0.6 * sw * 0.0864 / 2.45
    w = soil_water_bucket(np.zeros(3), np.full(3, ta), np.full(3, sw))
    assert w[1] / w[0] == pytest.approx(1 - pet / 150.0, rel=1e-9)


@pytest.fixture(scope="module")
def fr_pue():
    return read(sample_path("fr-pue-daily"))


def test_site_years_from_the_bundled_fr_pue_sample(fr_pue):
    years = site_driver_years(fr_pue)
    n = years.values.shape[0]
    assert years.values.shape == (n, 365, 5) and n >= 10
    assert not np.isnan(years.values).any()
    assert np.all((years.values[..., 3] >= 0) & (years.values[..., 3] <= 1))
    assert years.label[0].startswith("FR-Pue 20")
    ta = fr_pue["TA_F"].isel(site=0).sel(time=str(years.label[0].split()[1])).values
    np.testing.assert_allclose(years.values[0, :59, 0], ta[:59], rtol=1e-6)  # Jan-Feb as read


def test_sample_cells_perturbs_within_bounds(fr_pue):
    bank = site_driver_years(fr_pue)
    cells = sample_cells(bank, 6, 3, np.random.default_rng(1), delta_t=2.0, sw_scale=0.1)
    assert cells.values.shape == (6, 3 * 365, 5)
    ratio = cells.values[..., 1].mean(1) / bank.values[..., 1].mean()
    assert np.all((ratio > 0.7) & (ratio < 1.3))
    assert np.all((cells.values[..., 3] >= 0) & (cells.values[..., 3] <= 1))
    assert cells.doy[365] == 1.0 and len(set(cells.label)) == 6


def test_sample_cells_redraws_cells_colder_than_the_minimum(fr_pue):
    bank = site_driver_years(fr_pue)
    mean_ta = float(bank.values[..., 0].mean())
    free = sample_cells(bank, 40, 1, np.random.default_rng(3), delta_t=3.0)
    assert free.values[..., 0].mean(1).min() < mean_ta  # the perturbation does go below
    cells = sample_cells(bank, 40, 1, np.random.default_rng(3), delta_t=3.0, min_mean_ta=mean_ta)
    assert cells.values[..., 0].mean(1).min() >= mean_ta
    with pytest.raises(ValueError, match="colder than min_mean_ta"):
        sample_cells(bank, 1, 1, np.random.default_rng(0), delta_t=0.5, min_mean_ta=mean_ta + 20)


def test_era5_cells_from_a_constructed_hourly_file(tmp_path, fr_pue):
    time = pd.date_range("2021-12-31T23:00", "2023-01-01T00:00", freq="h")
    t2m = 283.15 + 4.0 * np.cos(2 * np.pi * (time.hour.values - 15) / 24)
    shape = (time.size, 1, 2)
    ds = xr.Dataset(
        {
            "t2m": (("time", "lat", "lon"), np.broadcast_to(t2m[:, None, None], shape).copy()),
            "ssrd": (("time", "lat", "lon"), np.full(shape, 3600.0 * 150.0)),
        },
        coords={"time": time, "lat": [48.0], "lon": [11.0, 12.0]},
    )
    ds.to_netcdf(tmp_path / "era5.nc")
    donors = site_driver_years(fr_pue)
    out = era5_driver_years(str(tmp_path / "*.nc"), donors, np.random.default_rng(0))
    assert out.values.shape == (2, 365, 5)
    np.testing.assert_allclose(out.values[0, 5:-5, 0], 10.0, atol=1e-6)  # daily mean T
    np.testing.assert_allclose(out.values[0, 5:-5, 1], 150.0, rtol=1e-9)  # Σ ssrd / 86400
    np.testing.assert_allclose(out.values[0, 5:-5, 4], 8.0, atol=1e-6)  # range
    both = concat_years(donors, out)
    assert set(both.source.tolist()) == {0, 1} and both.place.max() == both.place.min() + 2
