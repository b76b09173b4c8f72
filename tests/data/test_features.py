"""Tests of hybridflux.data.features and .windows against numpy/pandas on the raw arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.features import FEATURES, add_features, doy_harmonics, sw_in_pot
from hybridflux.data.schema import SiteMeta, combine_sites, site_dataset
from hybridflux.data.windows import (
    antecedent_mean,
    antecedent_precipitation,
    difference,
    rolling_mean,
)

DE_THA = SiteMeta(lat=50.9636, lon=13.5669, igbp="ENF")  # FLUXNET2015 BIF; UTC+1


def _ds(values: dict, step: str, start: str, periods: int, site="DE-Tha", meta=DE_THA, units=None):
    freq = {"HH": "30min", "HR": "h", "DD": "D", "MM": "MS"}[step]
    frame = pd.DataFrame(values, index=pd.date_range(start, periods=periods, freq=freq))
    units = units or {k: "degC" for k in values}
    return site_dataset(
        frame, site, time_step=step, units=units, source_format="t", source_file="t", meta=meta
    )


def _bigleaf(shared_data):
    raw = pd.read_csv(shared_data / "sites/bigleaf_hh_3sites/DERIVED_DE_Tha_Jun_2014.csv")
    index = (
        pd.to_datetime(raw["year"].astype(str) + "-01-01")
        + pd.to_timedelta(raw["doy"] - 1, "D")
        + pd.to_timedelta(raw["hour"], "h")
    )
    frame = pd.DataFrame(
        {"PPFD_IN": raw["PPFD"].to_numpy(), "P_F": raw["precip"].to_numpy()},
        index=pd.DatetimeIndex(index),
    )
    return site_dataset(
        frame,
        "DE-Tha",
        time_step="HH",
        units={"PPFD_IN": "umol m-2 s-1", "P_F": "mm"},
        source_format="t",
        source_file="t",
        meta=DE_THA,
    )


def test_sw_in_pot_real_halfhourly_night_noon_and_measured_light(shared_data):
    ds = sw_in_pot(_bigleaf(shared_data), utc_offset=1.0)
    sw = ds["SW_IN_POT"].values[0].reshape(30, 48)
    assert ds["SW_IN_POT"].attrs["units"] == "W m-2"
    np.testing.assert_array_equal(sw[:, :4], 0.0)  # 00:00–02:00 local: sun below the horizon
    np.testing.assert_array_equal(sw[:, -3:], 0.0)  # 22:30–24:00
    # Solar noon in local standard time (UTC+1) ≈ 12 h + (15° − λ)/15° h ≈ 12:06; the equation
    # of time stays within ±3 min in June. The interval with the peak has its midpoint there.
    mid_hours = (np.arange(48) + 0.5) / 2.0
    peak = mid_hours[sw.argmax(axis=1)]
    noon = 12.0 + (15.0 - DE_THA.lon) / 15.0
    assert np.all(np.abs(peak - noon) <= 0.25 + 0.05)
    # Noon value ≈ S0 (1 + 0.033 cos(2πJ/365)) cos(φ − δ) at the solstice (J = 172).
    decl = np.deg2rad(23.44)
    top = 1360.8 * (1 + 0.033 * np.cos(2 * np.pi * 172 / 365)) * np.cos(np.deg2rad(50.9636) - decl)
    assert abs(sw[20].max() - top) < 0.005 * top
    # Measured light never far exceeds the top of the atmosphere: SW ≈ PPFD / (0.5 · 4.57).
    measured = ds["PPFD_IN"].values[0].reshape(30, 48) / (0.5 * 4.57)
    assert np.mean(measured <= sw + 50.0) > 0.99


def test_daily_mean_of_halfhourly_equals_daily_value():
    n_days = 365
    hh = _ds({"TA_F": np.zeros(48 * n_days)}, "HH", "2014-01-01", 48 * n_days)
    dd = _ds({"TA_F": np.zeros(n_days)}, "DD", "2014-01-01", n_days)
    daily_from_hh = sw_in_pot(hh, utc_offset=1.0)["SW_IN_POT"].values[0].reshape(n_days, 48)
    daily = sw_in_pot(dd)["SW_IN_POT"].values[0]
    np.testing.assert_allclose(daily_from_hh.mean(axis=1), daily, rtol=5e-3)
    monthly = sw_in_pot(_ds({"TA_F": np.zeros(12)}, "MM", "2014-01-01", 12))
    month = pd.date_range("2014-01-01", periods=n_days).month
    expected = pd.Series(daily).groupby(month).mean().to_numpy()
    np.testing.assert_allclose(monthly["SW_IN_POT"].values[0], expected, rtol=1e-6)


def test_utc_offset_estimated_with_warning_and_mapping():
    ds = _ds({"TA_F": np.zeros(48)}, "HH", "2014-06-21", 48)
    with pytest.warns(UserWarning, match="DE-Tha"):
        estimated = sw_in_pot(ds)
    assert estimated["SW_IN_POT"].attrs["utc_offset_hours"] == [1.0]  # round(13.57/15)
    mapped = sw_in_pot(ds, utc_offset={"DE-Tha": 1.0})
    np.testing.assert_array_equal(mapped["SW_IN_POT"].values, estimated["SW_IN_POT"].values)
    shifted = sw_in_pot(ds, utc_offset=0.0)["SW_IN_POT"].values[0]
    # A UTC clock reads one hour less than UTC+1 under the same sun: the curve comes
    # 2 half-hours earlier on the clock.
    np.testing.assert_allclose(shifted[:-2], mapped["SW_IN_POT"].values[0][2:], atol=1.0)
    with pytest.raises(ValueError, match="no value"):
        sw_in_pot(ds, utc_offset={"FR-Pue": 1.0})


def _two_sites_hh(days=20):
    rng = np.random.default_rng(0)
    parts, raws = [], {}
    for site, shift in (("DE-Tha", 0), ("FR-Pue", 5)):
        x = np.sin(np.arange(48 * days) / 48 * 2 * np.pi) + rng.normal(0, 0.1, 48 * days) + shift
        x[rng.random(x.size) < 0.01] = np.nan
        raws[site] = x
        parts.append(
            _ds({"SW_IN_F": x}, "HH", "2014-06-01", x.size, site=site, units={"SW_IN_F": "W m-2"})
        )
    return combine_sites(parts), raws


@pytest.mark.parametrize("center", [True, False])
def test_rolling_mean_matches_pandas_per_site(center):
    ds, raws = _two_sites_hh()
    out = rolling_mean(ds, "SW_IN_F", 2, name="SM", center=center)
    assert out["SM"].attrs["units"] == "W m-2" and out["SM"].dims == ("site", "time")
    for site, x in raws.items():
        expected = pd.Series(x).rolling(96, center=center).mean().to_numpy()
        np.testing.assert_allclose(out["SM"].sel(site=site).values, expected, rtol=1e-10)
    with pytest.raises(ValueError, match="whole number"):
        rolling_mean(ds, "SW_IN_F", 1 / 96)


def test_difference_is_backward_with_first_step_nan():
    ds, raws = _two_sites_hh(days=2)
    out = difference(ds, "SW_IN_F")
    for site, x in raws.items():
        expected = np.r_[np.nan, np.diff(x)]
        np.testing.assert_array_equal(out["SW_IN_F_diff"].sel(site=site).values, expected)


def test_doy_harmonics_exact():
    ds = _ds({"TA_F": np.zeros(3 * 48)}, "HH", "2019-12-31 00:00", 3 * 48)  # across a new year
    out = doy_harmonics(ds, n=2)
    t = pd.DatetimeIndex(ds["time"].values)
    year_days = np.where(t.is_leap_year, 366.0, 365.0)
    f = (
        t.day_of_year.to_numpy() - 1 + t.hour.to_numpy() / 24 + t.minute.to_numpy() / 1440
    ) / year_days
    for k in (1, 2):
        np.testing.assert_allclose(
            out[f"DOY_SIN_{k}"].values[0], np.sin(2 * np.pi * k * f), atol=1e-12
        )
        np.testing.assert_allclose(
            out[f"DOY_COS_{k}"].values[0], np.cos(2 * np.pi * k * f), atol=1e-12
        )
    assert out["DOY_COS_1"].values[0, 48] == 1.0  # 1 January 00:00
    assert out["DOY_SIN_1"].attrs["units"] == "1"


def test_antecedent_precipitation_real_halfhourly(shared_data):
    ds = _bigleaf(shared_data)
    out = antecedent_precipitation(ds, 2)
    p = pd.Series(ds["P_F"].values[0])
    expected = p.rolling(96).sum().shift(1).to_numpy()
    np.testing.assert_allclose(out["P_ANT_2"].values[0], expected, rtol=1e-10)
    assert out["P_ANT_2"].attrs["units"] == "mm"
    assert np.nansum(out["P_ANT_2"].values) > 0  # it did rain in June 2014


def test_antecedent_mean_matches_pandas_per_site_and_excludes_the_current_step():
    ds, raws = _two_sites_hh(days=3)
    out = antecedent_mean(ds, "SW_IN_F", 1)
    assert out["SW_IN_F_MEAN_1"].attrs["units"] == "W m-2"
    for site, x in raws.items():
        expected = pd.Series(x).rolling(48).mean().shift(1).to_numpy()
        np.testing.assert_allclose(out["SW_IN_F_MEAN_1"].sel(site=site).values, expected)
    dd = _ds({"TA_F": np.arange(40.0)}, "DD", "2014-01-01", 40)
    ta30 = add_features(dd, ["TA_F_MEAN_30"])["TA_F_MEAN_30"].values[0]
    np.testing.assert_allclose(ta30, [np.nan] * 30 + [i - 15.5 for i in range(30, 40)])
    with pytest.raises(ValueError, match="needs 'VPD_F'"):
        add_features(dd, ["VPD_F_MEAN_7"])


def test_add_features_registry():
    dd = _ds({"P_F": np.arange(60.0)}, "DD", "2014-01-01", 60, units={"P_F": "mm d-1"})
    out = add_features(dd, ["SW_POT_sm_diff", "DOY_SIN_1", "P_ANT_30", "SW_POT_sm"])
    assert set(out.data_vars) == {"P_F", "SW_POT_sm_diff", "DOY_SIN_1", "P_ANT_30", "SW_POT_sm"}
    pot = pd.Series(sw_in_pot(dd)["SW_IN_POT"].values[0])
    sm = pot.rolling(10, center=True).mean()
    np.testing.assert_allclose(out["SW_POT_sm"].values[0], sm.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(out["SW_POT_sm_diff"].values[0], sm.diff().to_numpy(), rtol=1e-8)
    p_ant = [np.nan] * 30 + [sum(range(i - 30, i)) for i in range(30, 60)]
    np.testing.assert_allclose(out["P_ANT_30"].values[0], p_ant)
    kept = dd.assign(SW_IN_POT=dd["P_F"])  # an existing variable is not recomputed
    assert add_features(kept, ["SW_IN_POT"])["SW_IN_POT"].identical(kept["SW_IN_POT"])
    with pytest.raises(ValueError, match="unknown feature"):
        add_features(dd, ["SW_POT_smooth"])
    assert "SW_POT_sm" in FEATURES
