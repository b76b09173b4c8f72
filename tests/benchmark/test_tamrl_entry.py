"""The TAM-RL benchmark entry: α of the site-mean NEE shrinkage fitted on validation sites."""

from __future__ import annotations

import numpy as np
import pytest

from hybridflux.benchmark.contract import BuildContext, FitOptions
from hybridflux.benchmark.tamrl import TamRLEntry, site_weight_from
from hybridflux.hybrid.tamrl import shrink_site_nee, site_means
from hybridflux.training.episodes import predict_sites, site_windows


def _rows(sites, t=12, seed=0):
    """Flat monthly rows of synthetic sites: GPP ∝ x1 with a site gain, RECO a site level."""
    rng = np.random.default_rng(seed)
    n = len(sites) * t
    x1, x2 = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    gain = np.repeat(rng.uniform(1, 6, len(sites)), t)
    level = np.repeat(rng.uniform(0.5, 3, len(sites)), t)
    gpp, reco = gain * x1, level * (1 + 0.5 * x2)
    return {"site": np.repeat(np.asarray(sites), t), "x1": x1, "x2": x2,
            "G": gpp, "R": reco, "N": reco - gpp}  # fmt: skip


@pytest.fixture(scope="module")
def fitted():
    context = BuildContext({"x1": ("x1",), "x2": ("x2",)}, {"GPP": "G", "RECO": "R", "NEE": "N"},
                           seed=0, train=FitOptions(epochs=3, ensemble=2))  # fmt: skip
    entry = TamRLEntry(context, embed_dim=4, hidden=[8], encoder_hidden=[8],
                       nee_site_weight="val", batch_sites=4)  # fmt: skip
    train = _rows([f"T{i}" for i in range(8)], seed=1)
    val = _rows([f"V{i}" for i in range(5)], seed=2)
    entry.fit(train, val)
    return entry, train, val


def test_val_weight_is_the_models_own_shrinkage(fitted):
    entry, train, val = fitted
    windows = site_windows(train, train["site"], ["x1", "x2"], ["G", "R", "N"])[0]
    val_w = site_windows(val, val["site"], ["x1", "x2"], ["G", "R", "N"])[0]
    mu = np.nanmean(site_means(np.asarray(windows.y[..., 2]), np.asarray(windows.obs[..., 2])))
    for model in entry.models:  # α fitted on the unshrunk validation predictions, then set
        assert model.nee_site_weight == entry.site_weight
        assert float(model.nee_mu[...]) == pytest.approx(mu, rel=1e-6)
        model.nee_site_weight = 1.0
    raw_val = predict_sites(entry.models, val_w)
    observed = site_means(np.asarray(val_w.y[..., 2]), val_w.obs[..., 2])
    alpha = site_weight_from(site_means(raw_val["NEE"], val_w.valid), observed)
    assert entry.site_weight == pytest.approx(alpha)
    assert alpha < 0.9  # a shrinkage that moves the means, so the checks below can fail
    new = _rows([f"N{i}" for i in range(3)], seed=3)
    new_w = site_windows(new, new["site"], ["x1", "x2"])[0]
    expected = shrink_site_nee(predict_sites(entry.models, new_w), new_w.valid, alpha, mu)
    for model in entry.models:
        model.nee_site_weight = entry.site_weight
    got = entry.predict({k: new[k] for k in ("site", "x1", "x2")})
    np.testing.assert_allclose(got["NEE"], expected["NEE"].reshape(-1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["NEE"], got["RECO"] - got["GPP"], atol=1e-5)


def test_val_weight_leaves_training_sites_unshrunk(fitted):
    entry, train, _ = fitted
    windows = site_windows(train, train["site"], ["x1", "x2"])[0]
    got = entry.predict({k: train[k] for k in ("site", "x1", "x2")})
    alpha = [m.nee_site_weight for m in entry.models]
    for model in entry.models:
        model.nee_site_weight = 1.0
    raw = predict_sites(entry.models, windows)
    for model, a in zip(entry.models, alpha, strict=True):
        model.nee_site_weight = a
    np.testing.assert_allclose(got["NEE"], raw["NEE"].reshape(-1), rtol=1e-6)


def test_val_weight_needs_validation_sites():
    context = BuildContext({"x1": ("x1",), "x2": ("x2",)}, {"GPP": "G", "RECO": "R", "NEE": "N"},
                           train=FitOptions(epochs=1))  # fmt: skip
    entry = TamRLEntry(context, embed_dim=2, hidden=[4], encoder_hidden=[4],
                       nee_site_weight="val", batch_sites=4)  # fmt: skip
    with pytest.raises(ValueError, match="needs validation sites"):
        entry.fit(_rows(["A", "B", "C"]), None)
