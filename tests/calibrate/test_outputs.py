"""Posterior files, summary statistics against independent formulas, predictive bands, figures."""

from __future__ import annotations

import warnings

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from hybridflux.calibrate.figures import write_figures
from hybridflux.calibrate.inference import Posterior
from hybridflux.calibrate.models import Q10Respiration, flux_model
from hybridflux.calibrate.outputs import (
    predictive_dataset,
    predictive_quantiles,
    write_posterior,
    write_summary,
)
from hybridflux.calibrate.summary import (
    CalibrationWarning,
    diagnostic_messages,
    ess_bulk,
    r_hat,
    summary_table,
    warn_diagnostics,
)
from hybridflux.runs.pipeline import Columns
from tests.calibrate.conftest import LIKELIHOOD, NOISE, Q10, RB


def _posterior(samples, diverging=None, method="nuts") -> Posterior:
    shape = next(iter(samples.values())).shape[:2]
    diverging = np.zeros(shape, bool) if diverging is None else diverging
    return Posterior(samples, diverging, method, 1.0)


def test_posterior_file_has_the_arviz_layout(tmp_path):
    rng = np.random.default_rng(0)
    draws = {"Rb": rng.normal(2, 0.1, (3, 20)), "Q10": rng.normal(1.5, 0.1, (3, 20))}
    diverging = np.zeros((3, 20), bool)
    diverging[1, 4] = True
    path = write_posterior(tmp_path / "posterior.nc", _posterior(draws, diverging))
    with xr.open_dataset(path) as ds:
        assert ds["Rb"].dims == ("chain", "draw") and ds.sizes == {"chain": 3, "draw": 20}
        np.testing.assert_array_equal(ds["Q10"].values, draws["Q10"])
        assert ds.attrs["inference_library"] == "numpyro"
    with netCDF4.Dataset(path) as nc:
        assert set(nc.groups) == {"posterior", "sample_stats"}
    with xr.open_dataset(path, group="sample_stats") as stats_ds:
        assert int(stats_ds["diverging"].sum()) == 1 and int(stats_ds["diverging"][1, 4]) == 1
    with xr.open_dataset(path, group="posterior") as post:
        np.testing.assert_array_equal(post["Rb"].values, draws["Rb"])
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file


def test_summary_statistics_against_independent_formulas(tmp_path):
    rng = np.random.default_rng(1)
    iid = rng.normal(1.5, 0.2, (4, 2000))
    table = summary_table(_posterior({"Q10": iid}))
    row = table.loc["Q10"]
    flat = iid.ravel()
    assert row["mean"] == pytest.approx(flat.mean()) and row["sd"] == pytest.approx(
        flat.std(ddof=1)
    )
    assert row["q3%"] == pytest.approx(np.quantile(flat, 0.03))
    assert row["q97%"] == pytest.approx(np.quantile(flat, 0.97))
    # the HDI is the shortest 94 % interval: not longer than the central one, ≈ 2·z₀.₉₇·σ long
    width = row["hdi_97%"] - row["hdi_3%"]
    assert width <= row["q97%"] - row["q3%"] + 1e-9
    assert width == pytest.approx(2 * stats.norm.ppf(0.97) * 0.2, rel=0.03)
    assert row["hdi_3%"] < row["mean"] < row["hdi_97%"]
    assert row["r_hat"] < 1.005 and 0.8 * 8000 < row["ess_bulk"] < 1.2 * 8000
    write_summary(tmp_path / "summary.csv", table)
    back = pd.read_csv(tmp_path / "summary.csv", index_col="parameter")
    pd.testing.assert_frame_equal(back, table, check_names=False)


def test_ess_of_an_ar1_chain_matches_the_analytic_value():
    # AR(1) with coefficient φ: ESS = N (1 − φ) / (1 + φ)
    rng = np.random.default_rng(2)
    phi, chains, n = 0.8, 4, 5000
    x = np.zeros((chains, n))
    eps = rng.standard_normal((chains, n))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + eps[:, t]
    expected = chains * n * (1 - phi) / (1 + phi)
    assert ess_bulk(x) == pytest.approx(expected, rel=0.2)


def test_r_hat_flags_chains_that_disagree():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 500))
    assert r_hat(x) < 1.01
    x[0] += 0.5  # one chain stuck elsewhere
    assert r_hat(x) > 1.01
    scale = rng.standard_normal((4, 500)) * np.array([[1.0], [1.0], [1.0], [3.0]])
    assert r_hat(scale) > 1.01  # same location, different spread: caught by the tail R-hat
    assert np.isnan(r_hat(np.ones((2, 50))))


def test_divergences_and_high_r_hat_are_warned():
    rng = np.random.default_rng(4)
    draws = rng.standard_normal((2, 300))
    draws[1] += 1.0
    diverging = np.zeros((2, 300), bool)
    diverging[0, :3] = True
    post = _posterior({"Q10": draws}, diverging)
    messages = diagnostic_messages(post, summary_table(post), r_hat_max=1.01)
    assert messages[0].startswith("3 divergent transitions") and "r_hat of Q10" in messages[1]
    with pytest.warns(CalibrationWarning) as record:
        warn_diagnostics(messages)
    assert [str(w.message) for w in record] == messages
    svi = _posterior({"Q10": draws[:1]}, method="svi")
    assert diagnostic_messages(svi, summary_table(svi)) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_diagnostics([])


def test_predictive_bands(nuts_posterior, tmp_path):
    data, post = nuts_posterior
    q = (0.03, 0.5, 0.97)
    bands = predictive_quantiles(
        flux_model, post, Q10Respiration(), data, LIKELIHOOD, quantiles=q, draws=300, seed=0
    )
    n = data.rows
    assert bands["RECO"].shape == bands["RECO_predictive"].shape == (3, n)
    ta = np.asarray(data.drivers["TA_F"])
    truth = RB * Q10 ** ((ta - 15.0) / 10.0)
    # median of the modelled flux ≈ truth; the 94 % predictive band ≈ truth ± 1.88 · 10 %
    np.testing.assert_allclose(bands["RECO"][1], truth, rtol=0.03)
    width = (bands["RECO_predictive"][2] - bands["RECO_predictive"][0]) / truth
    assert np.median(width) == pytest.approx(2 * stats.norm.ppf(0.97) * NOISE, rel=0.15)
    assert (bands["RECO"][0] <= bands["RECO"][2]).all()
    observed = np.asarray(data.observed["RECO"])
    inside = (observed >= bands["RECO_predictive"][0]) & (observed <= bands["RECO_predictive"][2])
    assert 0.85 < inside[np.isfinite(observed)].mean() <= 1.0
    # on a (site, time) grid with one cell not predicted
    grid = xr.Dataset(
        {"RECO_syn": (("site", "time"), np.append(observed, 9.0)[None], {"units": "gC m-2 d-1"})},
        coords={"site": ["XX-Syn"], "time": pd.date_range("2006-01-01", periods=n + 1)},
    )
    columns = Columns({}, np.zeros(n, int), np.arange(n))
    ds = predictive_dataset(grid, columns, bands, {"RECO": "RECO_syn"}, quantiles=q)
    assert ds["RECO_predictive"].dims == ("quantile", "site", "time")
    assert ds["RECO"].attrs["units"] == "gC m-2 d-1"
    assert np.isnan(ds["RECO"].values[:, 0, -1]).all() and ds["RECO_observed"].values[0, -1] == 9.0
    written = write_figures(tmp_path, post, ds)
    assert sorted(p.name for p in written) == [
        "pair.png",
        "predictive_RECO_XX-Syn.png",
        "trace.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in written)
