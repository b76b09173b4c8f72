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


@pytest.mark.parametrize("factory", ["film", "hybrid"])
def test_balance_by_construction_and_positive_fluxes(factory):
    covs = ["TA_F", "SW_IN_F", "LAI"]
    if factory == "film":
        model = tamrl_film(covs, embed_dim=4, hidden=(8,), encoder_hidden=(8,), rngs=0)
    else:
        model = tamrl_hybrid(covs, lai="LAI", embed_dim=4, hidden=(8,), encoder_hidden=(8,))
    w = _windows()
    model.set_normalization(w)
    for support in (np.zeros((3, 8), bool), np.ones((3, 8), bool)):
        out = model(w, support)
        np.testing.assert_allclose(out["NEE"], out["RECO"] - out["GPP"], rtol=1e-6, atol=1e-6)
        assert (np.asarray(out["GPP"]) >= 0).all() and (np.asarray(out["RECO"]) >= 0).all()


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
