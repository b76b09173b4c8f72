"""Episodic training: windows, supports, trace-once epochs, learning, few-shot > zero-shot."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hybridflux.hybrid.tamrl import SiteWindows, tamrl_film
from hybridflux.training.episodes import (
    episode_loss,
    fit_episodes,
    make_episode_epoch,
    predict_sites,
    site_orders,
    site_windows,
    support_masks,
    to_rows,
)
from hybridflux.training.flat import split_flat


def test_site_windows_by_hand_and_back_to_rows():
    rows = {"x": np.array([1.0, 2.0, 3.0, 4.0]), "g": np.array([5.0, np.nan, 7.0, 8.0])}
    w, index, sites = site_windows(rows, np.array([9, 4, 9, 4]), ["x"], ("g", None, None))
    assert sites.tolist() == [9, 4]
    np.testing.assert_array_equal(index, [[0, 2], [1, 3]])
    np.testing.assert_array_equal(w.x[..., 0], [[1.0, 3.0], [2.0, 4.0]])
    np.testing.assert_array_equal(w.obs[..., 0], [[True, True], [False, True]])
    assert not np.asarray(w.obs[..., 1:]).any()
    np.testing.assert_array_equal(to_rows(np.asarray(w.x[..., 0]), index, 4), rows["x"])


def test_support_masks_only_observed_and_k():
    obs = np.zeros((3, 10), bool)
    obs[:, :5] = True
    obs[2, :] = False
    obs[2, 0] = True
    s = support_masks(obs, np.random.default_rng(0), 3, zero_shot=0.0)
    assert s.sum(1).tolist() == [3, 3, 1] and not (s & ~obs).any()
    assert support_masks(obs, np.random.default_rng(0), 3, zero_shot=1.0).sum() == 0
    order = site_orders(5, 2, np.random.default_rng(1))
    assert set(order[:2].ravel()) | set(order[2]) >= set(range(5))


def _family(n_sites, t=24, seed=0):
    """Synthetic sites with known per-site parameters a_s (GPP gain) and b_s (RECO level),
    independent of the covariates: only observed fluxes reveal them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n_sites, t, 2))
    a, b = rng.uniform(1, 6, n_sites), rng.uniform(0.5, 3, n_sites)
    gpp = a[:, None] * x[..., 0]
    reco = b[:, None] * (1 + 0.5 * x[..., 1])
    return SiteWindows.from_arrays(x, np.stack([gpp, reco, reco - gpp], -1))


def _make(seed):
    return tamrl_film(["x1", "x2"], embed_dim=4, hidden=(16,), encoder_hidden=(16,), rngs=seed)


def test_episode_epoch_traces_once():
    w = _family(6, t=10)
    model = _make(0)
    model.set_normalization(w)
    flat_model, flat = split_flat(model)
    opt = optax.adam(1e-2)
    epoch = jax.jit(eqx.debug.assert_max_traces(make_episode_epoch(flat_model, opt), max_traces=1))
    state, rng = opt.init(flat), np.random.default_rng(0)
    for e in range(3):
        order = site_orders(6, 4, rng)
        support = support_masks(np.asarray(w.obs), rng, 3)
        flat, state, loss = epoch(flat, state, w, order, support, jnp.float32(e > 0))
    assert np.isfinite(float(loss))


def test_few_shot_beats_zero_shot_on_synthetic_family():
    train, test = _family(48, seed=0), _family(16, seed=1)
    result = fit_episodes(_make, train, optax.adam(3e-3), epochs=120, batch_sites=8,
                          k_support=6, zero_shot=0.3, members=2)  # fmt: skip
    assert result.history["loss"].shape == (120, 2)
    rng = np.random.default_rng(5)
    support = support_masks(np.asarray(test.obs), rng, 6, zero_shot=0.0)
    query = np.asarray(test.obs[..., 0]) & ~support
    err = {}
    for name, s in (("zero", None), ("few", support)):
        gpp = predict_sites(result.models, test, s)["GPP"]
        err[name] = np.mean((gpp - np.asarray(test.y[..., 0]))[query] ** 2)
    assert err["few"] < 0.5 * err["zero"], err


def test_nee_head_learns_nee_of_a_synthetic_family_with_the_balance_exact():
    train, test = _family(48, seed=0), _family(16, seed=1)

    def make(seed):
        return tamrl_film(["x1", "x2"], embed_dim=4, hidden=(16,), encoder_hidden=(16,),
                          balance="nee", rngs=seed)  # fmt: skip

    before = predict_sites([make(0)], test)["NEE"]
    result = fit_episodes(make, train, optax.adam(3e-3), epochs=120, batch_sites=8,
                          k_support=6, zero_shot=0.3, members=2)  # fmt: skip
    support = support_masks(np.asarray(test.obs), np.random.default_rng(5), 6, zero_shot=0.0)
    query = np.asarray(test.obs[..., 2]) & ~support
    nee = np.asarray(test.y[..., 2])
    pred = predict_sites(result.models, test, support)
    np.testing.assert_allclose(pred["NEE"], pred["RECO"] - pred["GPP"], atol=1e-5)
    assert (pred["RECO"] >= 0).all()
    mse = lambda p: np.mean((p - nee)[query] ** 2)  # noqa: E731
    assert mse(pred["NEE"]) < 0.2 * np.var(nee[query]), (mse(pred["NEE"]), np.var(nee[query]))
    assert mse(pred["NEE"]) < 0.2 * mse(before)


def test_zero_shot_site_nee_shrinkage_in_predict_sites():
    w = _family(5, t=10, seed=6)
    models = [tamrl_film(["x1", "x2"], embed_dim=4, hidden=(8,), nee_site_weight=0.25, rngs=s)
              for s in range(2)]  # fmt: skip
    for m in models:
        m.set_normalization(w)
    y, obs = np.asarray(w.y, np.float64), np.asarray(w.obs)
    mu = np.mean([y[s, obs[s, :, 2], 2].mean() for s in range(5)])
    assert float(models[0].nee_mu[...]) == pytest.approx(mu, rel=1e-6)
    shrunk = predict_sites(models, w)
    support = support_masks(obs, np.random.default_rng(0), 3, zero_shot=0.0)
    few = predict_sites(models, w, support)
    for m in models:
        m.nee_site_weight = 1.0
    raw = predict_sites(models, w)
    np.testing.assert_array_equal(shrunk["GPP"], raw["GPP"])
    np.testing.assert_array_equal(few["NEE"], predict_sites(models, w, support)["NEE"])
    m_raw = raw["NEE"].mean(1)
    assert (shrunk["RECO"] > 0).all()  # no clipping here: NEE moves by δ_s in every month
    delta = 0.75 * (mu - m_raw)
    np.testing.assert_allclose(shrunk["NEE"], raw["NEE"] + delta[:, None], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(shrunk["NEE"], shrunk["RECO"] - shrunk["GPP"], atol=1e-6)
    assert np.std(shrunk["NEE"].mean(1)) < 0.26 * np.std(m_raw)
    with pytest.raises(ValueError, match="nee_site_weight"):
        tamrl_film(["x1"], hidden=(4,), nee_site_weight=1.5, rngs=0)


def test_tiny_run_on_sample_monthly_improves(tmp_path):
    from hybridflux.benchmark.inputs import prepare_data
    from hybridflux.data import load_sample
    from hybridflux.runs.pipeline import to_columns

    targets = ("GPP_NT_VUT_REF", "RECO", "NEE_VUT_REF")
    data = prepare_data(load_sample("monthly"), dict(zip("ABC", targets, strict=True)),
                        ["TA_F", "SW_IN_F", "VPD_F", "LAI"], joint_targets=True)  # fmt: skip
    c = to_columns(data.ds, [*data.columns, *targets], finite=data.columns)
    w, _, _ = site_windows(c.data, c.site, data.columns, targets)

    def make(seed):
        return tamrl_film(data.columns, embed_dim=4, hidden=(16,), encoder_hidden=(16,), rngs=seed)

    first = make(0)
    first.set_normalization(w)
    zero = jnp.zeros(w.valid.shape, bool)
    initial = float(episode_loss(first, w, zero))
    result = fit_episodes(make, w, optax.adam(3e-3), epochs=40, batch_sites=4, pretrain_epochs=5)
    final = float(episode_loss(result.models[0], w, zero))
    assert final < 0.5 * initial, (initial, final)


def test_interrupted_episodic_training_resumes_to_the_same_models(tmp_path):
    train, val = _family(12, seed=2), _family(4, seed=3)
    kw = dict(epochs=6, batch_sites=4, k_support=3, members=2, val=val, pretrain_epochs=1)
    whole = fit_episodes(_make, train, optax.adam(3e-3), **kw)
    ckpt = tmp_path / "ckpt"
    fit_episodes(_make, train, optax.adam(3e-3), checkpoint_dir=ckpt, checkpoint_every=2, **kw)
    assert sorted(p.name for p in ckpt.glob("epoch_*.npz")) == ["epoch_000004.npz",
                                                              "epoch_000006.npz"]  # fmt: skip
    (ckpt / "epoch_000006.npz").unlink()  # "killed" after epoch 5: resume from epoch 4
    again = fit_episodes(_make, train, optax.adam(3e-3), checkpoint_dir=ckpt, resume=True, **kw)
    for a, b in zip(whole.models, again.models, strict=True):
        fa, fb = split_flat(a)[1], split_flat(b)[1]
        np.testing.assert_array_equal(np.asarray(fa), np.asarray(fb))
    np.testing.assert_array_equal(whole.history["loss"], again.history["loss"])
    np.testing.assert_array_equal(whole.history["val"], again.history["val"])
    np.testing.assert_array_equal(whole.best_epoch, again.best_epoch)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        fit_episodes(_make, train, optax.adam(3e-3), resume=True, **kw)


def test_flux_weights_weight_each_flux_term_as_the_equation_says():
    w = _family(5, t=8, seed=4)
    y = np.asarray(w.y).copy()
    obs = np.asarray(w.obs).copy()
    obs[0, :5, 2] = False  # fewer NEE months at one site: per-flux query counts differ
    w = SiteWindows.from_arrays(np.asarray(w.x), np.where(obs, y, np.nan))
    model = _make(3)
    model.set_normalization(w)
    support = np.zeros((5, 8), bool)
    support[1, :2] = True
    pred = model(w, support)
    q = np.asarray(w.obs) & ~support[..., None]
    terms = []
    for k, name in enumerate(("GPP", "RECO", "NEE")):  # by hand: mean over sites of MSE / s_k²
        e2 = (np.asarray(pred[name]) - y[..., k]) ** 2 / float(model.y_scale[...][k]) ** 2
        terms.append(np.mean([e2[s][q[s, :, k]].mean() for s in range(5)]))
    weights = (2.0, 0.0, 3.5)
    loss = float(episode_loss(model, w, support, 1.0, weights))
    np.testing.assert_allclose(loss, np.dot(weights, terms), rtol=1e-5)
    default = float(episode_loss(model, w, support))
    np.testing.assert_allclose(default, sum(terms), rtol=1e-5)
    assert float(episode_loss(model, w, support, 1.0, (1, 1, 1))) == default
    for bad in ((1.0, 1.0), (0.0, 0.0, 0.0), (1.0, -1.0, 1.0), (1.0, np.nan, 1.0)):
        with pytest.raises(ValueError, match="flux_weights"):
            episode_loss(model, w, support, 1.0, bad)


def test_fit_with_unit_flux_weights_is_the_default_fit():
    train = _family(6, t=8, seed=5)
    kw = dict(epochs=2, batch_sites=3, k_support=2, members=2)
    base = fit_episodes(_make, train, optax.adam(3e-3), **kw)
    ones = fit_episodes(_make, train, optax.adam(3e-3), flux_weights=(1, 1, 1), **kw)
    nee = fit_episodes(_make, train, optax.adam(3e-3), flux_weights=(1, 1, 4), **kw)
    np.testing.assert_array_equal(base.history["loss"], ones.history["loss"])
    fb, fo, fn = (np.asarray(split_flat(r.models[1])[1]) for r in (base, ones, nee))
    np.testing.assert_array_equal(fb, fo)
    assert not np.allclose(fb, fn)
