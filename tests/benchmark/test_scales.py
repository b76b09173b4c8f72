"""Scores at every scale against numpy/pandas computations by hand on tiny arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridflux.benchmark.scales import (
    at_scale,
    per_site_scores,
    scales_for,
    site_scores,
    site_statistics,
    skill,
)
from hybridflux.runs.metrics import scores


def _rmse(p, o):
    return float(np.sqrt(np.mean((np.asarray(p) - np.asarray(o)) ** 2)))


@pytest.fixture
def monthly():
    """One site, three years of months; predictions off by a seasonal and a yearly pattern."""
    time = pd.date_range("2001-01-01", periods=36, freq="MS")
    rng = np.random.default_rng(0)
    month, year = time.month.to_numpy(), time.year.to_numpy()
    obs = 3 + 2 * np.sin(2 * np.pi * month / 12) + rng.normal(0, 0.5, 36)
    pred = obs + 0.3 * np.cos(2 * np.pi * month / 12) + 0.2 * (year - 2002)
    pred = pred + rng.normal(0, 0.1, 36)
    return time, pred, obs


def test_monthly_scales_match_pandas(monthly):
    time, pred, obs = monthly
    out = per_site_scores(pred[None], obs[None], time.values, "MM")
    assert list(out) == ["monthly", "seasonal_cycle", "anomalies", "interannual", "site_mean"]
    frame = pd.DataFrame({"p": pred, "o": obs, "m": time.month, "y": time.year})
    cycle = frame.groupby("m")[["p", "o"]].mean()
    anomaly = frame[["p", "o"]] - cycle.loc[frame["m"]].to_numpy()
    annual = anomaly.groupby(frame["y"]).mean()
    expected = {
        "monthly": _rmse(pred, obs),
        "seasonal_cycle": _rmse(cycle["p"], cycle["o"]),
        "anomalies": _rmse(anomaly["p"], anomaly["o"]),
        "interannual": _rmse(annual["p"], annual["o"]),
        "site_mean": abs(pred.mean() - obs.mean()),
    }
    for scale, value in expected.items():
        assert out[scale]["rmse"][0] == pytest.approx(value, rel=1e-12), scale
    assert out["monthly"]["bias"][0] == pytest.approx(np.mean(pred - obs), rel=1e-12)
    ss = np.sum((annual["p"] - annual["o"]) ** 2) / np.sum((annual["o"] - annual["o"].mean()) ** 2)
    assert out["interannual"]["r2"][0] == pytest.approx(1 - ss, rel=1e-12)
    assert out["interannual"]["n"][0] == 3 and out["seasonal_cycle"]["n"][0] == 12


def test_missing_values_are_dropped_from_both_series(monthly):
    time, pred, obs = monthly
    pred, obs = pred.copy(), obs.copy()
    pred[[0, 5]] = np.nan  # the model could not predict these months
    obs[[7, 30]] = np.nan  # no observation
    out = per_site_scores(pred[None], obs[None], time.values, "MM")
    keep = np.isfinite(pred) & np.isfinite(obs)
    assert out["site_mean"]["rmse"][0] == pytest.approx(abs(pred[keep].mean() - obs[keep].mean()))
    month = time.month.to_numpy()[keep]
    cyc_p = pd.Series(pred[keep]).groupby(month).mean()
    cyc_o = pd.Series(obs[keep]).groupby(month).mean()
    assert out["seasonal_cycle"]["rmse"][0] == pytest.approx(_rmse(cyc_p, cyc_o))


def test_one_year_has_no_anomalies_and_sites_are_independent(monthly):
    time, pred, obs = monthly
    short_p, short_o = pred.copy(), obs.copy()
    short_p[12:], short_o[12:] = np.nan, np.nan  # site 2: one year only
    out = per_site_scores(
        np.stack([pred, short_p]), np.stack([obs, short_o]), time.values, "MM", min_years=2
    )
    assert np.isfinite(out["anomalies"]["rmse"][0]) and np.isnan(out["anomalies"]["rmse"][1])
    assert np.isnan(out["interannual"]["rmse"][1])
    assert out["monthly"]["rmse"][1] == pytest.approx(_rmse(pred[:12], obs[:12]))
    assert out["monthly"]["rmse"][0] == pytest.approx(_rmse(pred, obs))


def test_daily_weeks_and_half_hourly_days():
    time = pd.date_range("2003-01-01", "2003-12-31", freq="D")
    rng = np.random.default_rng(1)
    x = rng.normal(size=time.size)
    week = np.minimum((time.day_of_year.to_numpy() - 1) // 7, 51)  # last week: 29-31 Dec too
    expected = pd.Series(x).groupby(week).mean().to_numpy()
    weekly = at_scale(x[None], time.values, "DD", "weekly")[0]
    np.testing.assert_allclose(weekly, expected, rtol=1e-12)
    assert weekly.size == 52
    half_hours = pd.date_range("2003-06-01", periods=96, freq="30min")
    y = rng.normal(size=96)
    cycle = at_scale(y[None], half_hours.values, "HH", "seasonal_cycle")[0]
    finite = cycle[np.isfinite(cycle)]
    np.testing.assert_allclose(finite, [y[:48].mean(), y[48:].mean()], rtol=1e-12)
    assert scales_for("HH")[:2] == ["halfhourly", "weekly"]
    with pytest.raises(ValueError, match="does not apply"):
        at_scale(x[None], time.values, "MM", "weekly")


def test_site_scores_equal_run_metrics_row_by_row():
    rng = np.random.default_rng(2)
    obs = rng.normal(size=(4, 9))
    pred = obs + rng.normal(0, 0.3, size=(4, 9))
    pred[1, :4] = np.nan
    obs[2, :] = np.nan
    obs[3, 1:] = np.nan  # one value: r2 undefined
    out = site_scores(pred, obs)
    for i in range(4):
        ref = scores(pred[i], obs[i])
        for key in ("rmse", "r2", "bias"):
            assert out[key][i] == pytest.approx(ref[key], nan_ok=True), (i, key)
        assert out["n"][i] == ref["n"]


def test_site_statistics_and_skill():
    rmse = np.array([0.5, 1.0, 1.5, 2.0, 4.0, np.nan])
    n = np.array([5, 5, 5, 5, 5, 0])
    bias = np.array([-2.0, -1.0, 0.0, 1.0, 3.0, np.nan])
    r2 = np.array([0.1, 0.2, 0.3, 0.4, 0.5, np.nan])
    stats = site_statistics({"rmse": rmse, "r2": r2, "bias": bias, "n": n})
    assert stats["rmse_median"] == 1.5
    assert stats["rmse_q90"] == pytest.approx(2.0 + 0.6 * (4.0 - 2.0))  # linear interpolation
    assert stats["r2_q10"] == pytest.approx(0.1 + 0.4 * 0.1)
    assert stats["abs_bias_q90"] == pytest.approx(2.0 + 0.6 * 1.0)
    assert stats["bias_median"] == 0.0 and stats["n_sites"] == 5
    np.testing.assert_allclose(skill([1.0, 3.0], [2.0, 2.0]), [0.5, -0.5])
    assert np.isnan(skill(1.0, 0.0))


def test_site_mean_across_sites():
    time = pd.date_range("2001-01-01", periods=4, freq="MS").values
    obs = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    pred = obs + np.array([[1.0], [-0.5], [0.0]])
    out = per_site_scores(pred, obs, time, "MM", ["site_mean"])["site_mean"]
    np.testing.assert_allclose(out["rmse"], [1.0, 0.5, 0.0])
    stats = site_statistics(out)
    means_o, means_p = obs.mean(axis=1), pred.mean(axis=1)
    assert stats["rmse_across_sites"] == pytest.approx(_rmse(means_p, means_o))
    r2 = 1 - np.sum((means_p - means_o) ** 2) / np.sum((means_o - means_o.mean()) ** 2)
    assert stats["r2_across_sites"] == pytest.approx(r2)
