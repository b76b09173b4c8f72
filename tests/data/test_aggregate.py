"""Tests of hybridflux.data.aggregate against means/sums computed directly with numpy/pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.aggregate import aggregate, interval_days
from hybridflux.data.schema import combine_sites, site_dataset

UMOL_TO_GC_PER_DAY = 1.0377504  # 1e-6 mol/umol · 12.011 g/mol · 86400 s/d

UNITS = {
    "TA_F": "degC",
    "NEE_VUT_REF": "umol m-2 s-1",
    "P_F": "mm",
    "NEE_VUT_REF_QC": "1",
    "PPFD_IN": "umol m-2 s-1",
}


def _hh(site: str, days: int, seed: int, start: str = "2014-06-01") -> tuple:
    rng = np.random.default_rng(seed)
    n = days * 48
    cols = {
        "TA_F": rng.normal(15.0, 5.0, n),
        "NEE_VUT_REF": rng.normal(-2.0, 6.0, n),
        "P_F": rng.exponential(0.2, n),
        "NEE_VUT_REF_QC": rng.integers(0, 4, n).astype(float),
        "PPFD_IN": rng.uniform(0.0, 2000.0, n),
    }
    frame = pd.DataFrame(cols, index=pd.date_range(start, periods=n, freq="30min"))
    ds = site_dataset(frame, site, time_step="HH", units=UNITS, source_format="t", source_file="t")
    return ds, cols


def test_hh_to_dd_means_sums_units_and_qc_fractions():
    ds, cols = _hh("DE-Tha", 3, seed=0)
    out = aggregate(ds, "DD")
    assert out.attrs["time_step"] == "DD" and out.attrs["aggregated_from"] == "HH"
    days = pd.date_range("2014-06-01", periods=3).to_numpy("datetime64[ns]")
    np.testing.assert_array_equal(out["time"].values, days)
    daily = {k: np.asarray(v).reshape(3, 48) for k, v in cols.items()}
    np.testing.assert_allclose(out["TA_F"].values[0], daily["TA_F"].mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(
        out["NEE_VUT_REF"].values[0],
        daily["NEE_VUT_REF"].mean(axis=1) * UMOL_TO_GC_PER_DAY,
        rtol=1e-12,
    )
    np.testing.assert_allclose(out["P_F"].values[0], daily["P_F"].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(out["PPFD_IN"].values[0], daily["PPFD_IN"].mean(axis=1))
    good = (daily["NEE_VUT_REF_QC"] <= 1).sum(axis=1) / 48.0
    np.testing.assert_allclose(out["NEE_VUT_REF_QC"].values[0], good, rtol=1e-12)
    expected_units = {
        "TA_F": "degC",
        "NEE_VUT_REF": "gC m-2 d-1",
        "P_F": "mm d-1",
        "PPFD_IN": "umol m-2 s-1",
        "NEE_VUT_REF_QC": "1",
        "TA_F_COVERAGE": "1",
    }
    for name, unit in expected_units.items():
        assert out[name].attrs["units"] == unit, name
    assert "NEE_VUT_REF_QC_COVERAGE" not in out
    np.testing.assert_array_equal(out["TA_F_COVERAGE"].values, 1.0)


def test_coverage_and_min_coverage():
    ds, cols = _hh("DE-Tha", 3, seed=1)
    ta = np.asarray(cols["TA_F"]).copy()
    ta[48 : 48 + 30] = np.nan  # day 2: 18 of 48 left
    ta[96 : 96 + 10] = np.nan  # day 3: 38 of 48 left
    ds["TA_F"] = (("site", "time"), ta[None, :], {"units": "degC"})
    out = aggregate(ds, "DD", min_coverage=0.5)
    np.testing.assert_allclose(out["TA_F_COVERAGE"].values[0], [1.0, 18 / 48, 38 / 48])
    day = ta.reshape(3, 48)
    expected = [day[0].mean(), np.nan, np.nanmean(day[2])]
    np.testing.assert_allclose(out["TA_F"].values[0], expected, rtol=1e-12)
    loose = aggregate(ds, "DD", min_coverage=0.0)
    np.testing.assert_allclose(loose["TA_F"].values[0, 1], np.nanmean(day[1]), rtol=1e-12)


def test_partial_first_day_has_half_coverage_and_two_sites():
    late, cols_late = _hh("AT-Neu", 2, seed=2, start="2014-06-01 12:00")  # 12:00 .. next 11:30
    full, cols_full = _hh("DE-Tha", 2, seed=3)
    ds = combine_sites([late, full])
    out = aggregate(ds, "DD")
    cov = out["TA_F_COVERAGE"].sel(site="AT-Neu").values
    np.testing.assert_allclose(cov[:3], [0.5, 1.0, 0.5])
    ta = np.asarray(cols_late["TA_F"])
    np.testing.assert_allclose(out["TA_F"].sel(site="AT-Neu").values[0], ta[:24].mean())
    ta_full = np.asarray(cols_full["TA_F"]).reshape(2, 48).mean(axis=1)
    np.testing.assert_allclose(out["TA_F"].sel(site="DE-Tha").values[:2], ta_full)
    strict = aggregate(ds, "DD", min_coverage=0.75)
    assert np.isnan(strict["TA_F"].sel(site="AT-Neu").values[0])


def _dd(values: dict, units: dict, start: str, n: int):
    frame = pd.DataFrame(values, index=pd.date_range(start, periods=n, freq="D"))
    return site_dataset(
        frame, "FR-Pue", time_step="DD", units=units, source_format="t", source_file="t"
    )


def test_dd_to_mm_to_yy_weights_and_annual_totals():
    rng = np.random.default_rng(4)
    n = 366  # 2020, a leap year
    nee, p, ta = rng.normal(-1, 2, n), rng.exponential(2.0, n), rng.normal(10, 8, n)
    ds = _dd(
        {"NEE_VUT_REF": nee, "P_F": p, "TA_F": ta},
        {"NEE_VUT_REF": "gC m-2 d-1", "P_F": "mm d-1", "TA_F": "degC"},
        "2020-01-01",
        n,
    )
    month = pd.date_range("2020-01-01", periods=n).month
    monthly = aggregate(ds, "MM")
    frame = pd.DataFrame({"ta": ta, "month": month})
    np.testing.assert_allclose(monthly["TA_F"].values[0], frame.groupby("month")["ta"].mean())
    yearly = aggregate(monthly, "YY")  # MM → YY must weight months by their length
    np.testing.assert_allclose(yearly["TA_F"].values[0], [ta.mean()], rtol=1e-12)
    np.testing.assert_allclose(yearly["NEE_VUT_REF"].values[0], [nee.sum()], rtol=1e-12)
    np.testing.assert_allclose(yearly["P_F"].values[0], [p.sum()], rtol=1e-12)
    assert yearly["NEE_VUT_REF"].attrs["units"] == "gC m-2 y-1"
    assert yearly["P_F"].attrs["units"] == "mm y-1"
    direct = aggregate(ds, "YY")
    np.testing.assert_allclose(direct["NEE_VUT_REF"].values, yearly["NEE_VUT_REF"].values)


def test_coverage_is_carried_through_two_aggregations():
    ds, _ = _hh("DE-Tha", 61, seed=5, start="2014-06-01")  # June and July
    ta = ds["TA_F"].values[0].copy()
    ta[np.random.default_rng(6).random(ta.size) < 0.3] = np.nan
    ds["TA_F"] = (("site", "time"), ta[None, :], {"units": "degC"})
    two_step = aggregate(aggregate(ds, "DD", min_coverage=0.0), "MM", min_coverage=0.0)
    one_step = aggregate(ds, "MM", min_coverage=0.0)
    expected = [np.isfinite(ta[: 30 * 48]).mean(), np.isfinite(ta[30 * 48 :]).mean()]
    np.testing.assert_allclose(one_step["TA_F_COVERAGE"].values[0], expected, rtol=1e-12)
    np.testing.assert_allclose(two_step["TA_F_COVERAGE"].values[0], expected, rtol=1e-12)


def test_fluxnet_weeks_last_week_extended():
    n = 365
    ta = np.arange(n, dtype=float)
    ds = _dd({"TA_F": ta}, {"TA_F": "degC"}, "2021-01-01", n)
    weekly = aggregate(ds, "WW")
    assert weekly.sizes["time"] == 52
    np.testing.assert_allclose(weekly["TA_F"].values[0, :51], ta[:357].reshape(51, 7).mean(1))
    np.testing.assert_allclose(weekly["TA_F"].values[0, 51], ta[357:].mean())  # 8 days
    assert interval_days(weekly["time"].values[-1:], "WW").tolist() == [8.0]


def test_real_halfhourly_to_daily(shared_data):
    raw = pd.read_csv(shared_data / "sites/bigleaf_hh_3sites/DERIVED_DE_Tha_Jun_2014.csv")
    index = (
        pd.to_datetime(raw["year"].astype(str) + "-01-01")
        + pd.to_timedelta(raw["doy"] - 1, "D")
        + pd.to_timedelta(raw["hour"], "h")
    )
    frame = pd.DataFrame(
        {
            "TA_F": raw["Tair"].to_numpy(),
            "NEE_VUT_REF": raw["NEE"].to_numpy(),
            "P_F": raw["precip"].to_numpy(),
        },
        index=pd.DatetimeIndex(index),
    )
    ds = site_dataset(
        frame, "DE-Tha", time_step="HH", units=UNITS, source_format="t", source_file="DE-Tha.csv"
    )
    out = aggregate(ds, "DD")
    day = pd.DatetimeIndex(index).normalize()
    groups = raw.assign(day=day).groupby("day")
    assert out.sizes["time"] == 30
    np.testing.assert_allclose(out["TA_F"].values[0], groups["Tair"].mean(), rtol=1e-10)
    np.testing.assert_allclose(out["P_F"].values[0], groups["precip"].sum(), rtol=1e-10)
    nee = groups["NEE"].mean() * UMOL_TO_GC_PER_DAY
    np.testing.assert_allclose(out["NEE_VUT_REF"].values[0], nee, rtol=1e-10)


@pytest.mark.parametrize(("src", "to"), [("DD", "HH"), ("DD", "DD"), ("WW", "MM"), ("YY", "YY")])
def test_impossible_aggregations_raise(src, to):
    ds, _ = _hh("DE-Tha", 1, seed=0)
    ds.attrs["time_step"] = src
    with pytest.raises(ValueError, match="cannot aggregate"):
        aggregate(ds, to)
