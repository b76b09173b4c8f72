"""Tests of hybridflux.process.gpp: reference values, gradients at edges, vmap/jit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from hybridflux.constants import CANOPY, LUE
from hybridflux.process.gpp import (
    LUEParams,
    fapar_from_evi,
    fapar_from_lai,
    fapar_from_ndvi,
    gpp_lue,
    lue_gpp,
    temperature_scalar,
    vpd_scalar,
    water_scalar,
)

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "light_respiration_reference.json").read_text()
)["gpp"]
CASES = REFERENCE["cases"]
GRAD_MODES = ("fwd", "rev")


def _params(**overrides) -> LUEParams:
    return LUEParams(**{**REFERENCE["params"], **overrides})


def test_default_params_come_from_constants():
    assert LUEParams.default()._asdict() == dataclasses.asdict(LUE)
    assert REFERENCE["params"] == dataclasses.asdict(LUE)


@pytest.mark.parametrize("row", CASES, ids=lambda r: f"ta{r['ta']}_vpd{r['vpd']}_w{r['w']}")
def test_scalars_and_gpp_match_reference(x64, row):
    p = _params()
    np.testing.assert_allclose(float(temperature_scalar(row["ta"], p.t_min, p.t_opt)), row["f_t"])
    np.testing.assert_allclose(float(vpd_scalar(row["vpd"], p.vpd_low, p.vpd_high)), row["f_vpd"])
    np.testing.assert_allclose(float(water_scalar(row["w"], p.w_low, p.w_high)), row["f_w"])
    got = gpp_lue(p, row["par"], row["fapar"], row["ta"], row["vpd"], row["w"])
    np.testing.assert_allclose(float(got), row["gpp"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("row", REFERENCE["lai"], ids=lambda r: str(r["lai"]))
def test_fapar_from_lai_reference(x64, row):
    np.testing.assert_allclose(float(fapar_from_lai(row["lai"], row["k"])), row["fapar"], 1e-12)


@pytest.mark.parametrize("row", REFERENCE["ndvi"], ids=lambda r: str(r["ndvi"]))
def test_fapar_from_ndvi_reference(x64, row):
    np.testing.assert_allclose(float(fapar_from_ndvi(row["ndvi"])), row["fapar"], atol=1e-12)


def test_fapar_from_evi_by_hand():
    got = fapar_from_evi(jnp.asarray([-0.1, 0.4, 1.3]))
    np.testing.assert_allclose(got, [0.0, 0.4, 1.0], atol=1e-7)
    assert float(fapar_from_evi(0.3, slope=2.0, intercept=0.1)) == pytest.approx(0.7)


def test_ramp_end_points_by_hand():
    assert float(temperature_scalar(-8.0, -8.0, 8.31)) == 0.0
    assert float(temperature_scalar(8.31, -8.0, 8.31)) == 1.0
    assert float(vpd_scalar(6.5, 6.5, 46.0)) == 1.0
    assert float(vpd_scalar(46.0, 6.5, 46.0)) == 0.0
    assert float(water_scalar(0.6, 0.0, 0.5)) == 1.0


def test_negative_par_and_fapar_give_zero_gpp():
    assert float(lue_gpp(-3.0, 0.5, 1.0)) == 0.0
    assert float(lue_gpp(3.0, -0.1, 1.0)) == 0.0
    assert float(lue_gpp(3.0, fapar_from_lai(-1.0), 1.0)) == 0.0


def test_degenerate_ramp_is_a_step_with_finite_gradient():
    grads = jax.grad(temperature_scalar, argnums=(0, 1, 2))(5.0, 5.0, 5.0)
    assert float(temperature_scalar(5.0, 5.0, 5.0)) == 1.0
    assert float(temperature_scalar(4.9, 5.0, 5.0)) == 0.0
    assert float(temperature_scalar(6.0, 5.0, 3.0)) == 1.0  # t_opt < t_min: step at t_opt
    assert all(float(g) == 0.0 for g in grads)


def _default_params_f64() -> LUEParams:
    return LUEParams(*(jnp.asarray(v, dtype=jnp.float64) for v in REFERENCE["params"].values()))


@pytest.mark.parametrize(
    "par, fapar, ta, vpd, w",
    [
        (10.0, 0.8, 2.0, 20.0, 0.3),  # interior of every ramp
        (10.0, 0.8, -15.0, 20.0, 0.3),  # below t_min
        (10.0, 0.8, 2.0, 60.0, 1.0),  # above vpd_high, no water stress
    ],
    ids=["interior", "cold", "dry-air"],
)
def test_gpp_lue_gradients(x64, par, fapar, ta, vpd, w):
    params = _default_params_f64()
    check_grads(gpp_lue, (params, par, fapar, ta, vpd, w), order=1, modes=GRAD_MODES)


@pytest.mark.parametrize(
    "edge",
    [{"par": 0.0}, {"fapar": 0.0}, {"w": 0.0}, {"ta": LUE.t_min}, {"vpd": LUE.vpd_high}],
    ids=lambda e: next(iter(e)),
)
def test_gpp_lue_gradients_at_kinks(x64, edge):
    """At a kink (clip at 0 or a ramp end) JAX gives the mean of both one-sided slopes.

    That equals the central difference along the kinked input alone; the other inputs are
    checked with the kinked one held fixed. The ramp ends are parameters too, so parameter
    gradients (which move the kink) are only required to be finite.
    """
    params = _default_params_f64()
    inputs = {"par": 10.0, "fapar": 0.8, "ta": 2.0, "vpd": 20.0, "w": 0.3, **edge}
    (name,) = edge
    rest_names = [k for k in inputs if k != name]
    rest = tuple(inputs[k] for k in rest_names)

    def along_edge(x):
        return gpp_lue(params, **{**inputs, name: x})

    def others(p, *values):
        return gpp_lue(p, **dict(zip(rest_names, values, strict=True)), **edge)

    check_grads(along_edge, (edge[name],), order=1, modes=GRAD_MODES)
    check_grads(lambda *v: others(params, *v), rest, order=1, modes=GRAD_MODES)
    param_grads = jax.grad(others)(params, *rest)
    assert all(np.isfinite(np.asarray(g)).all() for g in param_grads)


def test_lue_gpp_gradient_at_zero_par(x64):
    check_grads(lambda par: lue_gpp(par, 0.5, 1.2, 0.9), (0.0,), order=1, modes=GRAD_MODES)
    grads = jax.grad(lue_gpp, argnums=(0, 1, 2, 3))(0.0, 0.5, 1.2, 0.9)
    # Mean of the one-sided slopes in PAR (0 and ε·fAPAR·f_T); nothing else moves GPP.
    np.testing.assert_allclose([float(g) for g in grads], [0.5 * 1.2 * 0.5 * 0.9, 0, 0, 0])


def test_fapar_from_lai_gradient_at_zero_lai(x64):
    check_grads(fapar_from_lai, (0.0, 0.5), order=1, modes=GRAD_MODES)
    check_grads(fapar_from_lai, (3.0, 0.5), order=1, modes=GRAD_MODES)
    # d/dLAI (1 − exp(−k LAI)) at LAI = 0 is k.
    assert float(jax.grad(fapar_from_lai)(0.0, CANOPY.k_extinction)) == CANOPY.k_extinction


def test_vmap_and_jit_match_scalar_calls():
    cols = [jnp.asarray([r[k] for r in CASES]) for k in ("par", "fapar", "ta", "vpd", "w")]
    p = LUEParams.default()
    scalar = np.array([float(gpp_lue(p, *[c[i] for c in cols])) for i in range(len(CASES))])
    batched = jax.vmap(gpp_lue, in_axes=(None, 0, 0, 0, 0, 0))(p, *cols)
    np.testing.assert_allclose(batched, scalar, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(gpp_lue)(p, *cols), scalar, rtol=1e-6, atol=1e-6)
    # Per-cell parameters (e.g. predicted by a network) batch through the NamedTuple pytree.
    stacked = LUEParams(*(jnp.full(len(CASES), v) for v in p))
    per_cell = jax.jit(jax.vmap(gpp_lue))(stacked, *cols)
    np.testing.assert_allclose(per_cell, scalar, rtol=1e-6, atol=1e-6)
