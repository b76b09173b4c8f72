"""Tests of hybridflux.process.respiration: reference values, gradients at edges, vmap/jit."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from hybridflux.constants import AUTOTROPHIC, LLOYD_TAYLOR, PHYSICAL, Q10_RESPIRATION
from hybridflux.process.respiration import (
    autotrophic_respiration,
    lloyd_taylor,
    q10_respiration,
    split_respiration,
)

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "light_respiration_reference.json").read_text()
)["respiration"]
LT = REFERENCE["lloyd_taylor"]
GRAD_MODES = ("fwd", "rev")
T0_CELSIUS = LLOYD_TAYLOR.t0 - PHYSICAL.zero_celsius


def test_reference_uses_library_lloyd_taylor_constants():
    assert (LT["e0"], LT["t_ref"], LT["t0"]) == (
        LLOYD_TAYLOR.e0,
        LLOYD_TAYLOR.t_ref,
        LLOYD_TAYLOR.t0,
    )


@pytest.mark.parametrize("row", REFERENCE["q10"], ids=lambda r: f"{r['ta']}_{r['q10']}")
def test_q10_matches_power_law(x64, row):
    got = q10_respiration(row["ta"], row["r_base"], row["q10"], row["t_ref"])
    np.testing.assert_allclose(float(got), row["value"], rtol=1e-12)


def test_q10_by_hand():
    # One Q10 step above T_ref multiplies by Q10; at T_ref the base rate is returned.
    assert float(q10_respiration(25.0, 2.0, 1.5)) == pytest.approx(3.0, rel=1e-6)
    assert float(q10_respiration(Q10_RESPIRATION.t_ref, 2.0, 1.5)) == pytest.approx(2.0)
    assert float(q10_respiration(-5.0, 4.0, 2.0)) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("row", LT["cases"], ids=lambda r: str(r["ta"]))
def test_lloyd_taylor_matches_reference(x64, row):
    got = lloyd_taylor(row["ta"], row["r_ref"])
    np.testing.assert_allclose(float(got), row["value"], rtol=1e-12, atol=1e-300)


def test_lloyd_taylor_at_reference_temperature_returns_r_ref(x64):
    t_ref_celsius = LLOYD_TAYLOR.t_ref - PHYSICAL.zero_celsius
    assert float(lloyd_taylor(t_ref_celsius, 1.7)) == pytest.approx(1.7, rel=1e-12)
    assert float(lloyd_taylor(T0_CELSIUS, 1.7)) == 0.0


def test_autotrophic_respiration_by_hand():
    assert float(autotrophic_respiration(10.0)) == pytest.approx(10.0 * 0.53)
    assert AUTOTROPHIC.ra_fraction_of_gpp == 0.53
    assert float(autotrophic_respiration(4.0, ra_fraction=0.25)) == 1.0


@pytest.mark.parametrize(
    "reco, ra, expected",
    [(5.0, 2.0, (2.0, 3.0)), (3.0, 5.0, (3.0, 0.0)), (3.0, -1.0, (0.0, 3.0)), (-1.0, 0.5, (0, -1))],
    ids=["inside", "ra-too-large", "ra-negative", "reco-negative"],
)
def test_split_respiration_by_hand(reco, ra, expected):
    got_ra, got_rh = split_respiration(reco, ra)
    assert (float(got_ra), float(got_rh)) == expected


def test_split_respiration_conserves_exactly():
    reco = jnp.asarray([6.8554196, 3.8892143, 3.91619, 1e-3, 7.1e5], dtype=jnp.float32)
    ra = jnp.asarray([1.3556421, 1.7201403, 1.5161859, 7e-4, 3.3e5], dtype=jnp.float32)
    # (reco − ra) + ra differs from reco for these float32 values; the split must not.
    assert bool(jnp.any((reco - ra) + ra != reco))
    for split in (split_respiration, jax.jit(split_respiration)):
        got_ra, got_rh = split(reco, ra)
        assert bool(jnp.all(got_ra + got_rh == reco))


@pytest.mark.parametrize("ta", [25.0, -20.0], ids=["warm", "cold"])
def test_q10_gradients(x64, ta):
    check_grads(q10_respiration, (ta, 2.0, 1.5, 15.0), order=1, modes=GRAD_MODES)


def test_q10_invalid_q10_gives_zero_with_finite_gradient():
    assert float(q10_respiration(25.0, 2.0, 0.0)) == 0.0
    grads = jax.grad(q10_respiration, argnums=(0, 1, 2))(25.0, 2.0, -1.0)
    assert all(float(g) == 0.0 for g in grads)


@pytest.mark.parametrize(
    "ta", [25.0, -40.0, -60.0, T0_CELSIUS - 5.0], ids=["warm", "near-t0", "below-t0", "t0-5"]
)
def test_lloyd_taylor_gradients(x64, ta):
    args = (ta, 1.3, LLOYD_TAYLOR.e0, LLOYD_TAYLOR.t_ref, LLOYD_TAYLOR.t0)
    check_grads(lloyd_taylor, args, order=1, modes=GRAD_MODES)


@pytest.mark.parametrize("use_x64", [False, True], ids=["float32", "float64"])
def test_lloyd_taylor_gradient_finite_at_and_just_above_t0(use_x64):
    with jax.enable_x64(use_x64):
        for ta in (T0_CELSIUS, T0_CELSIUS + 1e-3, T0_CELSIUS - 1e-3):
            grads = jax.grad(lloyd_taylor, argnums=(0, 1, 2, 3, 4))(
                ta, 1.0, LLOYD_TAYLOR.e0, LLOYD_TAYLOR.t_ref, LLOYD_TAYLOR.t0
            )
            assert all(np.isfinite(float(g)) for g in grads), (ta, grads)


def test_split_respiration_gradients(x64):
    check_grads(split_respiration, (5.0, 2.0), order=1, modes=GRAD_MODES)
    d_ra, d_rh = jax.jacobian(split_respiration, argnums=(0, 1))(5.0, 2.0)
    np.testing.assert_allclose([float(g) for g in d_ra], [0.0, 1.0])
    np.testing.assert_allclose([float(g) for g in d_rh], [1.0, -1.0])


def test_vmap_and_jit_match_scalar_calls():
    ta = jnp.linspace(-60.0, 40.0, 11)
    r = jnp.linspace(0.5, 3.0, 11)
    for f in (
        lambda t, x: q10_respiration(t, x, 1.6),
        lambda t, x: lloyd_taylor(t, x),
        lambda t, x: split_respiration(x, t / 20.0)[1],
    ):
        scalar = np.array([float(f(a, b)) for a, b in zip(ta, r, strict=True)])
        np.testing.assert_allclose(jax.vmap(f)(ta, r), scalar, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(jax.jit(f)(ta, r), scalar, rtol=1e-6, atol=1e-7)
