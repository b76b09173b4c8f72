"""Ready-made hybrid models: equations, sign and non-negativity, and Q10 recovery (smoke)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from hybridflux.constants import CANOPY
from hybridflux.constraints import FluxBalance
from hybridflux.hybrid.models import direct_fluxes, hybrid_q10, lue_q10_nee
from hybridflux.hybrid.params import TRAIN_JOINT
from hybridflux.losses import Objective

RNG = np.random.default_rng(0)
N = 64


def _f32(x):
    return jnp.asarray(x, dtype=jnp.float32)


MET = {
    "TA_F": _f32(RNG.normal(12.0, 8.0, N)),
    "VPD_F": _f32(RNG.uniform(0.0, 30.0, N)),
    "SW_IN_F": _f32(RNG.uniform(-5.0, 350.0, N)),  # includes slightly negative values
    "SW_POT_sm": _f32(RNG.uniform(50.0, 450.0, N)),
    "SW_POT_sm_diff": _f32(RNG.normal(0.0, 2.0, N)),
    "FPAR": _f32(RNG.uniform(0.0, 1.0, N)),
    "LAI": _f32(RNG.uniform(0.0, 6.0, N)),
}


def test_hybrid_q10_follows_the_q10_equation():
    model = hybrid_q10(rngs=1)
    p = {k: np.asarray(v, dtype=np.float64) for k, v in model.parameters(MET).items()}
    expected = p["Rb"] * p["Q10"] ** ((np.asarray(MET["TA_F"]) - 15.0) / 10.0)
    np.testing.assert_allclose(model(MET)["RECO"], expected, rtol=1e-5)
    np.testing.assert_allclose(p["Q10"], 2.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "fapar"),
    [
        ({}, np.ones(N)),
        ({"fapar": "FPAR"}, np.asarray(MET["FPAR"])),
        ({"lai": "LAI"}, 1.0 - np.exp(-CANOPY.k_extinction * np.asarray(MET["LAI"]))),
    ],
)
def test_lue_q10_nee_equations_and_sign(kwargs, fapar):
    model = lue_q10_nee(rngs=2, **kwargs)
    model.set_normalization(MET)
    out = {k: np.asarray(v, dtype=np.float64) for k, v in model(MET).items()}
    p = {k: np.asarray(v, dtype=np.float64) for k, v in model.parameters(MET).items()}
    par_mj = 0.5 * np.maximum(np.asarray(MET["SW_IN_F"]), 0.0) * 86400e-6
    np.testing.assert_allclose(out["GPP"], p["eps"] * fapar * par_mj, rtol=1e-5, atol=1e-6)
    ta = np.asarray(MET["TA_F"])
    np.testing.assert_allclose(out["RECO"], p["Rb"] * p["Q10"] ** ((ta - 15) / 10), rtol=1e-5)
    np.testing.assert_allclose(out["NEE"], out["RECO"] - out["GPP"], rtol=1e-5, atol=1e-5)
    assert np.all(out["GPP"] >= 0) and np.all(out["RECO"] >= 0)
    assert np.all((p["eps"] > 0) & (p["eps"] < 5.0))


def test_lue_q10_nee_inputs_and_errors():
    assert "LAI" in lue_q10_nee(lai="LAI", rngs=0).inputs
    with pytest.raises(ValueError, match="at most one"):
        lue_q10_nee(fapar="FPAR", lai="LAI")
    with pytest.raises(ValueError, match="non-negative"):
        lue_q10_nee(eps_bounds=(-1.0, 3.0))


def test_direct_fluxes_are_non_negative_and_balanced():
    model = direct_fluxes(rngs=3)
    model.set_normalization(MET)
    big = {k: v * 100.0 for k, v in MET.items()}  # far outside the training range
    for batch in (MET, big):
        out = {k: np.asarray(v) for k, v in model(batch).items()}
        assert np.all(out["GPP"] >= 0) and np.all(out["RECO"] >= 0)
        np.testing.assert_array_equal(out["NEE"], out["RECO"] - out["GPP"])


def test_models_built_alike_share_a_graph_definition():
    assert nnx.graphdef(lue_q10_nee(rngs=0)) == nnx.graphdef(lue_q10_nee(rngs=1))
    assert nnx.graphdef(lue_q10_nee(rngs=0)) != nnx.graphdef(lue_q10_nee(lai="LAI", rngs=0))


def synthetic_q10_data(q10=1.5, n_years=3, seed=0):
    """Synthetic RECO after Cohrs et al. (2024): R_b from smoothed potential radiation."""
    rng = np.random.default_rng(seed)
    doy = np.arange(365 * n_years) % 365
    sw_pot = 250.0 + 180.0 * np.sin(2 * np.pi * (doy - 80) / 365)
    sw_sm = np.convolve(np.pad(sw_pot, 5, mode="edge"), np.ones(10) / 10, mode="same")[5:-5]
    sw_diff = np.gradient(sw_sm)
    rb_raw = 0.01 * sw_sm - 0.005 * sw_diff
    rb = 0.75 * (rb_raw - rb_raw.min() + 0.1 * np.pi)
    ta = 10.0 + 10.0 * np.sin(2 * np.pi * (doy - 110) / 365) + rng.normal(0.0, 3.0, doy.size)
    reco = rb * q10 ** (0.1 * (ta - 15.0))
    return {"SW_POT_sm": sw_sm, "SW_POT_sm_diff": sw_diff, "TA_F": ta, "RECO_syn": reco}


def test_adam_recovers_q10_from_synthetic_respiration():
    data = {k: _f32(v) for k, v in synthetic_q10_data().items()}
    model = hybrid_q10(rngs=0)  # Q10 starts at 2.0, the truth is 1.5
    model.set_normalization(data)
    objective = Objective({"RECO": "RECO_syn"})
    graphdef, params, rest = nnx.split(model, TRAIN_JOINT, ...)
    optimizer = optax.adam(1e-2)

    def loss_fn(params):
        return objective(nnx.merge(graphdef, params, rest)(data), data)[0]

    def step(carry, _):
        params, opt_state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    @jax.jit
    def train(params):
        return jax.lax.scan(step, (params, optimizer.init(params)), None, length=600)

    (params, _), losses = train(params)
    nnx.update(model, params)
    assert float(losses[-1]) < 1e-2 * float(losses[0])
    assert float(model.sources["Q10"].value) == pytest.approx(1.5, abs=0.05)


def test_partitioning_models_satisfy_the_flux_balance_exactly():
    for model in (lue_q10_nee(rngs=0), direct_fluxes(rngs=0)):
        assert float(FluxBalance()(model(MET), MET)) == 0.0
