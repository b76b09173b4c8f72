"""TAM-RL model: carbon balance by construction, positive heads, both inference paths."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from hybridflux.hybrid.tamrl import SiteWindows, TaskModulated, tamrl_film, tamrl_hybrid


def _windows(seed=0, s=3, t=8):
    rng = np.random.default_rng(seed)
    x = np.stack([rng.uniform(-5, 30, (s, t)), rng.uniform(50, 300, (s, t)),
                  rng.uniform(0.5, 5, (s, t))], -1)  # fmt: skip
    y = rng.uniform(0, 8, (s, t, 3))
    y[..., 2] = y[..., 1] - y[..., 0]
    y[0, :3] = np.nan
    valid = np.ones((s, t), bool)
    valid[-1, -2:] = False
    return SiteWindows.from_arrays(x, y, valid)


@pytest.mark.parametrize("factory", ["film", "film_nee", "hybrid"])
def test_balance_by_construction_and_positive_fluxes(factory):
    covs = ["TA_F", "SW_IN_F", "LAI"]
    if factory.startswith("film"):
        balance = "nee" if factory == "film_nee" else "reco"
        model = tamrl_film(covs, embed_dim=4, hidden=(8,), encoder_hidden=(8,), balance=balance,
                           rngs=0)  # fmt: skip
    else:
        model = tamrl_hybrid(covs, lai="LAI", embed_dim=4, hidden=(8,), encoder_hidden=(8,))
    w = _windows()
    model.set_normalization(w)
    for support in (np.zeros((3, 8), bool), np.ones((3, 8), bool)):
        out = model(w, support)
        np.testing.assert_allclose(out["NEE"], out["RECO"] - out["GPP"], rtol=1e-6, atol=1e-6)
        assert (np.asarray(out["GPP"]) >= 0).all() and (np.asarray(out["RECO"]) >= 0).all()


def test_nee_head_is_nee_and_reco_the_smooth_positive_part_by_hand():
    """balance="nee": NEE = s_N·o₂ where GPP + s_N·o₂ ≫ τ; RECO = τ·softplus((GPP + s_N·o₂)/τ)."""
    model = tamrl_film(["TA_F", "SW_IN_F", "LAI"], embed_dim=4, hidden=(8,), balance="nee", rngs=3)
    w = _windows()
    model.set_normalization(w)
    dec, scale = model.decoder, np.asarray(model.y_scale[...], np.float64)
    e = model.embed(w, np.zeros((3, 8), bool))
    x = np.linspace(-3, 3, 40 * 3).reshape(40, 3)
    e_t = np.broadcast_to(np.asarray(e[0]), (40, 4))
    o = np.asarray(dec.net(x, e_t), np.float64)
    kink = -np.median(np.log1p(np.exp(o[:, 0])) * scale[0] / scale[2] + o[:, 1])
    for shift in (-50.0, kink, 50.0):  # NEE head far below, around and far above -GPP
        o[:, 1] += shift
        dec.net.out.bias[...] = dec.net.out.bias[...].at[1].add(shift)
        out = {k: np.asarray(v, np.float64) for k, v in dec({}, x, e_t, scale).items()}
        gpp = scale[0] * np.log1p(np.exp(o[:, 0]))
        n, tau = scale[2] * o[:, 1], 0.05 * scale[1]
        reco = tau * np.logaddexp(0.0, (gpp + n) / tau)
        np.testing.assert_allclose(out["GPP"], gpp, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out["RECO"], reco, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out["NEE"], out["RECO"] - out["GPP"], atol=1e-5)
        assert (out["RECO"] >= 0).all()
        if shift == 50.0:  # far above the kink: the head is NEE itself
            np.testing.assert_allclose(out["NEE"], n, rtol=1e-4)
        if shift == -50.0:  # far below: RECO clipped at 0, NEE = -GPP
            np.testing.assert_allclose(out["NEE"], -gpp, atol=1e-4)
        o[:, 1] -= shift
        dec.net.out.bias[...] = dec.net.out.bias[...].at[1].add(-shift)
    with pytest.raises(ValueError, match="balance"):
        tamrl_film(["TA_F"], hidden=(4,), balance="gpp", rngs=0)


def test_few_shot_support_changes_embedding_zero_shot_does_not_read_fluxes():
    model = tamrl_film(["TA_F", "SW_IN_F", "LAI"], embed_dim=4, hidden=(8,), rngs=1)
    w = _windows()
    model.set_normalization(w)
    other = SiteWindows(w.x, w.y * 3.0, w.obs, w.valid)
    zero = np.zeros((3, 8), bool)
    np.testing.assert_array_equal(model.embed(w, zero), model.embed(other, zero))
    assert not np.allclose(model.embed(w, ~zero), model.embed(other, ~zero))


def test_gate_zero_gives_unmodulated_decoder():
    model = tamrl_film(["TA_F", "SW_IN_F", "LAI"], embed_dim=4, hidden=(8,), rngs=2)
    w = _windows()
    model.set_normalization(w)
    e0 = jnp.zeros((3, 4))
    np.testing.assert_allclose(model(w, np.ones((3, 8), bool), gate=0.0)["GPP"],
                               model.decode(w, e0)["GPP"])  # fmt: skip


def test_hybrid_decoder_matches_lue_q10_by_hand():
    model = tamrl_hybrid(["TA_F", "SW_IN_F", "LAI"], lai="LAI", embed_dim=2, hidden=(4,))
    w = _windows()
    model.set_normalization(w)
    e = model.embed(w, np.zeros((3, 8), bool))
    cols = {c: np.asarray(w.x[..., j]) for j, c in enumerate(model.covariates)}
    e_t = jnp.broadcast_to(e[:, None], (3, 8, 2))
    p = {k: np.asarray(v) for k, v in model.decoder.parameters(cols, e_t).items()}
    par = 0.5 * cols["SW_IN_F"] * 0.0864  # PAR fraction 0.5 of shortwave, W m-2 → MJ m-2 d-1
    fapar = 1.0 - np.exp(-0.5 * cols["LAI"])  # Beer's law, k = 0.5
    gpp = p["eps"] * fapar * par
    reco = p["Rb"] * p["Q10"] ** ((cols["TA_F"] - 15.0) / 10.0)
    out = model.decode(w, e)
    np.testing.assert_allclose(out["GPP"], gpp, rtol=2e-3)
    np.testing.assert_allclose(out["RECO"], reco, rtol=1e-4)
    assert np.allclose(p["Q10"], p["Q10"][:, :1])  # Q10 is one value per site


def test_task_modulated_bounds_and_init():
    src = TaskModulated(["x"], 0.0, 5.0, embed_dim=2, init=1.0, rngs=nnx.Rngs(0))
    batch = {"x": jnp.linspace(-100, 100, 7)}
    v = np.asarray(src(batch, jnp.zeros((7, 2))))
    assert ((v > 0) & (v < 5)).all()
    big = np.asarray(src(batch, jnp.full((7, 2), 1e4)))
    assert ((big >= 0) & (big <= 5)).all()
    q = TaskModulated([], 1.0, 4.0, embed_dim=2, init=2.0, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(q({}, jnp.zeros((3, 2))), 2.0, rtol=1e-5)


def test_hybrid_requires_drivers_among_covariates():
    with pytest.raises(ValueError, match="SW_IN_F"):
        tamrl_hybrid(["TA_F"], hidden=(4,))


def test_site_nee_shrinkage_moves_site_means_keeps_gpp_and_balance():
    from hybridflux.benchmark.tamrl import site_weight_from
    from hybridflux.hybrid.tamrl import shrink_site_nee

    rng = np.random.default_rng(0)
    gpp, reco = rng.uniform(0, 6, (4, 12)), rng.uniform(3, 6, (4, 12))
    reco[3] = rng.uniform(0, 0.2, 12)  # a site whose RECO would turn negative
    valid = np.ones((4, 12), bool)
    valid[0, -3:] = False
    grids = {"GPP": gpp, "RECO": reco, "NEE": reco - gpp}
    m = np.array([np.mean(grids["NEE"][s][valid[s]]) for s in range(4)])
    mu, alpha = -1.0, 0.25
    out = shrink_site_nee(grids, valid, alpha, mu)
    np.testing.assert_array_equal(out["GPP"], gpp)
    np.testing.assert_allclose(out["NEE"], out["RECO"] - out["GPP"], atol=1e-12)
    assert (out["RECO"] >= 0).all()
    for s in range(3):  # unclipped sites: mean moves to α·m + (1 − α)·μ, anomalies kept
        new = np.mean(out["NEE"][s][valid[s]])
        np.testing.assert_allclose(new, alpha * m[s] + (1 - alpha) * mu, rtol=1e-12)
        np.testing.assert_allclose(out["NEE"][s] - grids["NEE"][s], new - m[s], rtol=1e-12)
    delta = (1 - alpha) * (mu - m[3])
    np.testing.assert_allclose(out["RECO"][3], np.maximum(reco[3] + delta, 0.0))
    same = shrink_site_nee(grids, valid, 1.0, mu)
    np.testing.assert_array_equal(same["NEE"], grids["NEE"])
    seen = np.array([True, False, True, False])  # sites seen in training keep their mean
    part = shrink_site_nee(grids, valid, alpha, mu, sites=~seen)
    np.testing.assert_array_equal(part["NEE"][seen], grids["NEE"][seen])
    np.testing.assert_array_equal(part["NEE"][~seen], out["NEE"][~seen])
    # α from validation sites: slope of observed on predicted site means, clipped to [0, 1]
    p = np.array([-2.0, -1.0, 0.0, 1.0, np.nan])
    assert site_weight_from(p, 0.3 * p + 1.0) == pytest.approx(0.3)
    assert site_weight_from(p, -p) == 0.0 and site_weight_from(p, 3 * p) == 1.0
    assert site_weight_from(np.ones(3), np.arange(3.0)) == 1.0
