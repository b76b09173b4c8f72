"""Masked losses against numpy, finite gradients on gappy data, constraints and the Objective."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.constraints import FluxBalance, PoolMassBalance, ToleranceHinge, tolerance_hinge
from hybridflux.losses import Objective, masked_huber, masked_mse, masked_nse, weighted_mean

RNG = np.random.default_rng(42)
N = 40
PRED = RNG.normal(size=N)
OBS = RNG.normal(size=N) * 2.0
OBS[::5] = np.nan
MASK = RNG.uniform(size=N) > 0.2
WEIGHT = RNG.uniform(0.0, 2.0, size=N)


def np_weights(obs, mask=None, weight=None):
    w = np.isfinite(obs).astype(float)
    if mask is not None:
        w = w * mask
    if weight is not None:
        w = w * weight
    return w


def np_mse(pred, obs, mask=None, weight=None):
    w = np_weights(obs, mask, weight)
    r = np.where(w > 0, pred - np.nan_to_num(obs), 0.0)
    return np.sum(w * r**2) / np.sum(w)


def np_huber(pred, obs, mask=None, weight=None, delta=1.0):
    w = np_weights(obs, mask, weight)
    r = np.abs(np.where(w > 0, pred - np.nan_to_num(obs), 0.0))
    h = np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))
    return np.sum(w * h) / np.sum(w)


def np_one_minus_nse(pred, obs, mask=None, weight=None):
    w = np_weights(obs, mask, weight)
    o = np.nan_to_num(obs)
    mean = np.sum(w * o) / np.sum(w)
    return np.sum(w * (pred - o) ** 2) / np.sum(w * (o - mean) ** 2)


CASES = [(None, None), (MASK, None), (None, WEIGHT), (MASK, WEIGHT)]
LOSSES = [
    (masked_mse, np_mse),
    (functools.partial(masked_huber, delta=0.7), functools.partial(np_huber, delta=0.7)),
    (masked_nse, np_one_minus_nse),
]


@pytest.mark.parametrize(("mask", "weight"), CASES)
@pytest.mark.parametrize(("loss", "reference"), LOSSES)
def test_losses_equal_numpy(loss, reference, mask, weight, x64):
    value = loss(jnp.asarray(PRED), jnp.asarray(OBS), mask, weight)
    assert value.shape == ()
    assert float(value) == pytest.approx(reference(PRED, OBS, mask, weight), rel=1e-10)


@pytest.mark.parametrize(("loss", "reference"), LOSSES)
def test_gradient_is_finite_and_zero_where_obs_are_nan(loss, reference):
    grad = np.asarray(jax.grad(loss)(jnp.asarray(PRED), jnp.asarray(OBS), MASK, WEIGHT))
    assert np.all(np.isfinite(grad))
    assert np.all(grad[np.isnan(OBS) | ~MASK] == 0.0)
    assert np.any(grad != 0.0)


@pytest.mark.parametrize(("loss", "reference"), LOSSES)
def test_weight_zero_rows_do_not_contribute(loss, reference):
    pad_pred = np.concatenate([PRED, [1e6, np.nan, 3.0]])
    pad_obs = np.concatenate([OBS, [-1e6, 1.0, np.nan]])
    pad_w = np.concatenate([WEIGHT, np.zeros(3)])
    base = loss(jnp.asarray(PRED), jnp.asarray(OBS), None, WEIGHT)
    padded = loss(jnp.asarray(pad_pred), jnp.asarray(pad_obs), None, pad_w)
    assert float(padded) == pytest.approx(float(base), rel=1e-6)


@pytest.mark.parametrize(("loss", "reference"), LOSSES)
def test_no_valid_rows_gives_zero_and_finite_gradient(loss, reference):
    obs = jnp.full(4, jnp.nan)
    assert float(loss(jnp.ones(4), obs)) == 0.0
    assert np.all(np.isfinite(jax.grad(loss)(jnp.ones(4), obs)))


def test_weighted_mean_and_hinge():
    assert float(weighted_mean(jnp.array([2.0, 4.0]), jnp.array([3.0, 1.0]))) == 2.5
    r = jnp.array([-0.3, -0.05, 0.0, 0.08, 0.5])
    np.testing.assert_allclose(tolerance_hinge(r, 0.1), [0.2, 0, 0, 0, 0.4], atol=1e-7)
    np.testing.assert_allclose(tolerance_hinge(r, 0.1, power=2), [0.04, 0, 0, 0, 0.16], atol=1e-7)
    assert np.all(np.isfinite(jax.grad(lambda r: tolerance_hinge(r, 0.0).sum())(r)))


def fluxes(consistent=True):
    gpp = RNG.uniform(0.0, 10.0, N)
    reco = RNG.uniform(0.5, 6.0, N)
    nee = reco - gpp + (0.0 if consistent else RNG.normal(0.0, 1.0, N))
    return {"GPP": jnp.asarray(gpp), "RECO": jnp.asarray(reco), "NEE": jnp.asarray(nee)}


def test_flux_balance_zero_when_consistent_positive_otherwise(x64):
    assert float(FluxBalance()(fluxes(True), {})) == pytest.approx(0.0, abs=1e-20)
    out = fluxes(False)
    r = np.asarray(out["NEE"]) - (np.asarray(out["RECO"]) - np.asarray(out["GPP"]))
    assert float(FluxBalance()(out, {})) == pytest.approx(np.mean(r**2), rel=1e-10)
    hinge = np.maximum(np.abs(r) - 0.5, 0.0)
    assert float(FluxBalance(tol=0.5, power=1)(out, {})) == pytest.approx(np.mean(hinge))
    assert float(FluxBalance(tol=0.5, power=1)(out, {}, WEIGHT)) == pytest.approx(
        np.sum(WEIGHT * hinge) / np.sum(WEIGHT)
    )


def test_flux_balance_names_missing_output():
    with pytest.raises(KeyError, match="RECO"):
        FluxBalance()({"NEE": jnp.zeros(2), "GPP": jnp.zeros(2)}, {})


def test_tolerance_hinge_constraint_zero_within_relative_tolerance():
    ra, rh = jnp.array([2.0, 4.0]), jnp.array([1.0, 2.0])
    out = {"GPP": jnp.array([5.0, 8.0]), "RA": -ra, "RH": -rh, "NEE": jnp.array([-2.0, -2.0])}
    kgml = ToleranceHinge(
        lambda o, b: o["GPP"] + o["RA"] + o["RH"] + o["NEE"],
        tol=lambda o, b: 0.01 * jnp.abs(o["RA"] + o["RH"]),
    )
    assert float(kgml(out, {})) == 0.0  # both residuals are 0
    out["NEE"] = jnp.array([-2.02, -2.1])  # |r| = 0.02 <= 0.03 and 0.1 > 0.06
    assert float(kgml(out, {})) == pytest.approx((0.0 + 0.04) / 2, rel=1e-4)


def test_pool_mass_balance():
    before = jnp.array([[10.0, 5.0], [3.0, 2.0]])
    after = jnp.array([[10.5, 5.0], [3.0, 2.5]])
    out = {"C_POOLS_START": before, "C_POOLS_END": after, "C_INPUT": jnp.array([2.0, 1.0])}
    out["C_OUTPUT"] = jnp.array([1.5, 0.5])
    assert float(PoolMassBalance()(out, {})) == 0.0
    out["C_OUTPUT"] = jnp.array([1.0, 0.5])  # first row gains 0.5 unexplained
    assert float(PoolMassBalance()(out, {})) == pytest.approx(0.25)
    assert float(PoolMassBalance(tol=0.5)(out, {})) == 0.0
    # dt = 2: residuals 0.5 - 1.0 * 2 = -1.5 and 0.5 - 0.5 * 2 = -0.5
    assert float(PoolMassBalance(dt=2.0)(out, {})) == pytest.approx((1.5 + 0.5) / 2)


def test_objective_combines_terms_with_weights(x64):
    out = fluxes(False)
    batch = {"NEE_VUT_REF": jnp.asarray(OBS), "GPP_DT": jnp.asarray(PRED), "QC": jnp.asarray(MASK)}
    objective = Objective(
        {"NEE": "NEE_VUT_REF", "GPP": "GPP_DT"},
        loss={"GPP": functools.partial(masked_huber, delta=0.5)},
        constraints=[FluxBalance(0.3)],
        target_weights={"GPP": 2.0},
        masks={"NEE": "QC"},
    )
    loss, aux = objective(out, batch, weight=jnp.asarray(WEIGHT))
    nee = np_mse(np.asarray(out["NEE"]), OBS, MASK, WEIGHT)
    gpp = np_huber(np.asarray(out["GPP"]), PRED, None, WEIGHT, delta=0.5)
    r = np.asarray(out["NEE"]) - (np.asarray(out["RECO"]) - np.asarray(out["GPP"]))
    balance = np.sum(WEIGHT * r**2) / np.sum(WEIGHT)
    assert float(aux["target/NEE"]) == pytest.approx(nee, rel=1e-10)
    assert float(aux["target/GPP"]) == pytest.approx(gpp, rel=1e-10)
    assert float(aux["constraint/flux_balance"]) == pytest.approx(balance, rel=1e-10)
    assert float(loss) == pytest.approx(nee + 2.0 * gpp + 0.3 * balance, rel=1e-10)
    assert objective.columns == ("NEE_VUT_REF", "GPP_DT", "QC")


def test_objective_validates_names():
    with pytest.raises(ValueError, match="not targets"):
        Objective({"NEE": "NEE_VUT_REF"}, loss={"GPP": masked_mse})
    with pytest.raises(ValueError, match="unique"):
        Objective(["NEE"], constraints=[FluxBalance(), FluxBalance()])
    with pytest.raises(KeyError, match="NEE_VUT_REF"):
        Objective({"NEE": "NEE_VUT_REF"})({"NEE": jnp.zeros(2)}, {"NEE": jnp.zeros(2)})
    with pytest.raises(TypeError):
        Objective("NEE")


def test_objective_gradient_finite_under_jit_with_gappy_targets():
    objective = Objective({"NEE": "NEE_VUT_REF"}, constraints=[FluxBalance(0.1)])
    batch = {"NEE_VUT_REF": jnp.asarray(OBS)}

    @jax.jit
    def loss(scale):
        out = {k: v * scale for k, v in fluxes(True).items()}
        return objective(out, batch)[0]

    grad = jax.grad(loss)(jnp.asarray(1.0))
    assert np.isfinite(float(grad)) and float(grad) != 0.0
