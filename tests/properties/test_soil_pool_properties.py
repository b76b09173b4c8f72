"""Property tests of the linear soil-pool model over random valid systems (hypothesis).

Valid systems: k > 0, transfer fractions ≥ 0 with column sums of A ≤ 0, b on the simplex,
non-negative pools, inputs and ξ. Computations run in float64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridflux.process.balance import relative_mass_balance_error
from hybridflux.process.soil_pools import (
    SoilPoolParams,
    environmental_scalar,
    simulate_soil_pools,
    soil_pool_step,
    soil_pool_tendency,
)
from hybridflux.process.soil_steady_state import steady_state

SETTINGS = settings(max_examples=30, deadline=None)
# Jitted once per pool count and dtype, not per example.
simulate, step, mass_error = map(
    jax.jit, (simulate_soil_pools, soil_pool_step, relative_mass_balance_error)
)
pos = st.floats(1e-4, 0.5)
frac = st.floats(0.0, 1.0)


@st.composite
def systems(draw, max_pools: int = 4, max_passed: float = 1.0):
    """A random valid pool system as numpy float64 arrays (k, transfer, b).

    ``max_passed`` < 1 keeps a respiration path out of every pool (non-singular A·K).
    """
    n = draw(st.integers(1, max_pools))
    k = np.array(draw(st.lists(pos, min_size=n, max_size=n)))
    transfer = -np.eye(n)
    for j in range(n):
        weights = np.array(draw(st.lists(frac, min_size=n, max_size=n)))
        weights[j] = 0.0
        passed_on = draw(st.floats(0.0, max_passed))  # share of pool j's loss kept in soil
        if weights.sum() > 0:
            transfer[:, j] += passed_on * weights / weights.sum()
    b = np.array(draw(st.lists(frac, min_size=n, max_size=n))) + 1e-3
    return k, transfer, b / b.sum()


def params_of(system) -> SoilPoolParams:
    return SoilPoolParams(*(jnp.asarray(a) for a in system))


@SETTINGS
@given(systems(), st.data(), st.floats(0.0, 50.0), st.floats(0.0, 6.0), st.floats(0.0, 400.0))
def test_step_conserves_mass_and_stays_non_negative(system, data, inputs, xi, dt):
    n = system[0].size
    c = np.array(data.draw(st.lists(st.floats(0.0, 1e5), min_size=n, max_size=n)))
    with jax.enable_x64(True):
        p = params_of(system)
        c_next, rh = step(jnp.asarray(c), inputs, xi, p, dt)
        assert bool(jnp.all(c_next >= 0)) and float(rh) >= 0
        err = mass_error(jnp.asarray(c), c_next, inputs, rh, dt)
        assert float(err) < 1e-12


@SETTINGS
@given(systems(max_passed=0.95), st.floats(0.01, 50.0), st.floats(0.05, 6.0))
def test_steady_state_non_negative_fixed_point(system, inputs, xi):
    with jax.enable_x64(True):
        p = params_of(system)
        c_star = steady_state(inputs, xi, p)
        assert bool(jnp.all(c_star >= 0))
        scale = float(jnp.max(xi * p.k * c_star)) + inputs
        tendency = soil_pool_tendency(c_star, inputs, xi, p)
        assert float(jnp.max(jnp.abs(tendency))) < 1e-9 * scale
        c_next, rh = soil_pool_step(c_star, inputs, xi, p, 10.0)
        np.testing.assert_allclose(c_next, c_star, rtol=1e-9, atol=1e-9 * float(c_star.max()))
        np.testing.assert_allclose(float(rh), inputs, rtol=1e-9)  # at steady state Rh = I


@SETTINGS
@given(systems(max_pools=3), st.floats(0.1, 10.0))
def test_simulation_is_linear_in_inputs_and_initial_pools(system, scale):
    """Superposition: scaling C0 and I together scales the whole trajectory."""
    with jax.enable_x64(True):
        p = params_of(system)
        n = system[0].size
        inputs = 1.0 + jnp.sin(jnp.arange(30.0))
        xi = environmental_scalar(10.0 + 10.0 * jnp.cos(jnp.arange(30.0) / 5.0))
        c0 = jnp.linspace(1.0, 100.0, n)
        _, cs, rh = simulate(c0, inputs, xi, p)
        _, cs_s, rh_s = simulate(scale * c0, scale * inputs, xi, p)
        np.testing.assert_allclose(cs_s, scale * cs, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rh_s, scale * rh, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.floats(-40.0, 45.0), st.floats(0.0, 20.0), st.floats(-1.0, 2.0), st.floats(1.0, 4.0))
def test_environmental_scalar_bounds_and_monotonicity(ta, d_ta, w, q10):
    with jax.enable_x64(True):
        xi = float(environmental_scalar(ta, w, q10))
        xi_warm = float(environmental_scalar(ta + d_ta, w, q10))
        assert 0.0 <= xi <= q10 ** ((ta - 15.0) / 10.0) * (1 + 1e-12)
        assert xi_warm >= xi
        assert float(environmental_scalar(ta, min(max(w, 0.0), 1.0) + 0.5, q10)) >= xi
