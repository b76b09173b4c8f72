"""The synthetic hybrid-Q10 generator against the equations of Cohrs et al. (2024)."""

from __future__ import annotations

import numpy as np
import pytest

from hybridflux.data import read
from hybridflux.data.sample import sample_path
from hybridflux.data.synthetic import q10_respiration_dataset


@pytest.fixture(scope="module")
def fr_pue():
    return read(sample_path("fr-pue-daily")).isel(time=slice(0, 3 * 365))


def test_matches_the_equations_computed_by_hand(fr_pue):
    out = q10_respiration_dataset(fr_pue, q10=1.5)
    sm = out["SW_POT_sm"].values[0]
    diff = out["SW_POT_sm_diff"].values[0]
    ta = fr_pue["TA_F"].values[0]
    x = 0.01 * sm - 0.005 * diff
    rb = 0.75 * (x - np.nanmin(x) + 0.1 * np.pi)
    reco = rb * 1.5 ** ((ta - 15.0) / 10.0)
    np.testing.assert_allclose(out["RB_syn"].values[0], rb, rtol=1e-12)
    np.testing.assert_allclose(out["RECO_syn"].values[0], reco, rtol=1e-12)
    assert out["RECO_syn"].attrs["units"] == "gC m-2 d-1"
    assert out["RECO_syn"].attrs["q10_true"] == 1.5


def test_positive_and_seasonal(fr_pue):
    out = q10_respiration_dataset(fr_pue)
    rb = out["RB_syn"].values[0]
    finite = rb[np.isfinite(rb)]
    # min(x) subtracted per site, so the smallest Rb is 0.75 * 0.1 * pi
    assert np.isclose(finite.min(), 0.75 * 0.1 * np.pi)
    # Rb follows potential radiation: June above December at 43.7 N
    month = out["time"].dt.month.values
    assert np.nanmean(rb[month == 6]) > 2.0 * np.nanmean(rb[month == 12])


def test_noise_is_multiplicative_and_reproducible(fr_pue):
    clean = q10_respiration_dataset(fr_pue)["RECO_syn"].values
    a = q10_respiration_dataset(fr_pue, noise=0.1, seed=3)["RECO_syn"].values
    b = q10_respiration_dataset(fr_pue, noise=0.1, seed=3)["RECO_syn"].values
    np.testing.assert_array_equal(a, b)
    rel = (a / clean - 1.0)[np.isfinite(clean)]
    assert abs(rel.std() - 0.1) < 0.01 and abs(rel.mean()) < 0.01


def test_rejects_bad_arguments(fr_pue):
    with pytest.raises(ValueError, match="q10 > 0"):
        q10_respiration_dataset(fr_pue, q10=0.0)
    with pytest.raises(KeyError, match="TS_F"):
        q10_respiration_dataset(fr_pue, temperature="TS_F")
