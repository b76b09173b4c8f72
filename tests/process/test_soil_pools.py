"""Tests of hybridflux.process.soil_pools: reference values, convergence, gradients, invariants.

Reference values come from ``reference/make_soil_pool_reference.py`` (independent numpy/scipy
float64 code) and from small systems worked by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.process.balance import relative_mass_balance_error
from hybridflux.process.soil_pools import (
    SoilPoolParams,
    environmental_scalar,
    simulate_soil_pools,
    soil_pool_step,
    soil_pool_tendency,
    soil_respiration,
)
from hybridflux.process.soil_steady_state import (
    SpinUpError,
    periodic_steady_state,
    spin_up,
    spin_up_core,
    steady_state,
)

REF = json.loads((Path(__file__).parent / "reference" / "soil_pool_reference.json").read_text())
FB = REF["feedback"]


def feedback_params() -> SoilPoolParams:
    """The 4-pool system with feedback flows of the reference file (call under x64)."""
    return SoilPoolParams(jnp.asarray(FB["k"]), jnp.asarray(FB["transfer"]), jnp.asarray(FB["b"]))


def seasonal_forcing(n_days: int) -> tuple[jax.Array, jax.Array]:
    """Daily litter input (gC m-2 d-1) and ξ from a seasonal temperature/moisture cycle."""
    day = jnp.arange(n_days)
    ta = 10.0 - 12.0 * jnp.cos(2 * jnp.pi * day / 365.25)
    w = 0.6 + 0.3 * jnp.sin(2 * jnp.pi * day / 365.25)
    inputs = jnp.maximum(0.0, 2.0 + 2.5 * jnp.sin(2 * jnp.pi * (day - 200) / 365.25))
    return inputs, environmental_scalar(ta, w)


def central_fd(f, x: np.ndarray, h: float) -> np.ndarray:
    """Central finite differences of a scalar function, element by element."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        grad[idx] = (float(f(x + step)) - float(f(x - step))) / (2 * h)
    return grad


# ---------------------------------------------------------------- reference values
def test_default_params_from_constants(x64):
    p = SoilPoolParams.default()
    d = REF["default"]
    np.testing.assert_allclose(p.k, 1.0 / (365.25 * np.asarray(d["turnover_years"])), rtol=1e-15)
    np.testing.assert_array_equal(p.transfer, d["transfer"])
    np.testing.assert_array_equal(p.b, d["b"])


@pytest.mark.parametrize("row", REF["environmental_scalar"])
def test_environmental_scalar_reference(x64, row):
    ta, w, q10, t_ref, expected = row
    assert float(environmental_scalar(ta, w, q10, t_ref)) == pytest.approx(expected, rel=1e-14)


def test_tendency_and_respiration_by_hand(x64):
    # Rates ξ·k·C = 2·[0.1, 0.01]·[10, 20] = [2, 0.4]; 30 % of pool 1's loss enters pool 2.
    p = SoilPoolParams(jnp.array([0.1, 0.01]), jnp.array([[-1.0, 0.0], [0.3, -1.0]]), jnp.ones(2))
    p = p._replace(b=jnp.array([1.0, 0.0]))
    c = jnp.array([10.0, 20.0])
    np.testing.assert_allclose(soil_pool_tendency(c, 1.0, 2.0, p), [-1.0, 0.2], rtol=1e-14)
    assert float(soil_respiration(c, 2.0, p)) == pytest.approx(0.7 * 2.0 + 0.4, rel=1e-14)


@pytest.mark.parametrize("case", ["default", "feedback"])
def test_steady_state_reference(x64, case):
    d = REF[case]
    p = SoilPoolParams.default() if case == "default" else feedback_params()
    c_star = steady_state(d["inputs"], d["xi"], p)
    np.testing.assert_allclose(c_star, d["steady_state"], rtol=1e-12)
    np.testing.assert_allclose(soil_pool_tendency(c_star, d["inputs"], d["xi"], p), 0, atol=1e-12)


@pytest.mark.parametrize("case", FB["step"]["cases"], ids=lambda c: f"dt={c['dt']}")
def test_one_step_reference(x64, case):
    s = FB["step"]
    c_next, rh = soil_pool_step(
        jnp.asarray(s["c"]), s["inputs"], s["xi"], feedback_params(), case["dt"]
    )
    np.testing.assert_allclose(c_next, case["c_next"], rtol=1e-12)
    assert float(rh) == pytest.approx(case["rh"], rel=1e-10)


def test_periodic_steady_state_reference(x64):
    per = FB["periodic"]
    c = periodic_steady_state(jnp.asarray(per["inputs"]), jnp.asarray(per["xi"]), feedback_params())
    np.testing.assert_allclose(c, per["c_start"], rtol=1e-9)


# ---------------------------------------------------------------- convergence
def test_backward_euler_is_first_order(x64):
    an = FB["analytic"]
    errors = []
    for dt in (4.0, 2.0, 1.0, 0.5):
        n_steps = round(an["t"] / dt)
        forcing = jnp.full(n_steps, an["inputs"])
        c, _, _ = simulate_soil_pools(
            jnp.asarray(an["c0"]), forcing, an["xi"], feedback_params(), dt
        )
        errors.append(float(jnp.max(jnp.abs(c - jnp.asarray(an["c_t"])))))
    ratios = np.asarray(errors[:-1]) / np.asarray(errors[1:])
    assert np.all((ratios > 1.8) & (ratios < 2.2)), (errors, ratios)
    assert errors[-1] < 0.2  # pools of 10–300 gC m-2: first-order error ~0.1 gC m-2 at dt = 0.5 d


def test_spin_up_reaches_analytic_steady_state(x64):
    # Default CENTURY-like pools (passive τ = 1000 yr), constant yearly forcing.
    p = SoilPoolParams.default()
    inputs, xi = jnp.full(365, 2.0), jnp.full(365, 0.8)
    c, status = spin_up(jnp.zeros(3), inputs, xi, p, tol=1e-9, max_cycles=100_000)
    assert bool(status.converged) and 1000 < int(status.n_cycles) < 100_000
    np.testing.assert_allclose(c, REF["default"]["steady_state"], rtol=1e-4)


def test_spin_up_reaches_periodic_reference(x64):
    per = FB["periodic"]
    forcing = jnp.asarray(per["inputs"]), jnp.asarray(per["xi"])
    c, status = spin_up(jnp.zeros(4), *forcing, feedback_params(), tol=1e-13)
    assert bool(status.converged) and float(status.rel_change) < 1e-13
    np.testing.assert_allclose(c, per["c_start"], rtol=1e-8)


def test_spin_up_cycles_equal_simulation(x64):
    inputs, xi = seasonal_forcing(30)
    c0 = jnp.array([5.0, 0.0, 40.0, 0.0])
    c_spin, status = spin_up_core(c0, inputs, xi, feedback_params(), tol=0.0, max_cycles=3)
    c_sim, _, _ = simulate_soil_pools(c0, jnp.tile(inputs, 3), jnp.tile(xi, 3), feedback_params())
    assert int(status.n_cycles) == 3 and not bool(status.converged)
    np.testing.assert_allclose(c_spin, c_sim, rtol=1e-12)


# ---------------------------------------------------------------- gradients
def test_simulation_gradients_match_fd_from_empty_pools(x64):
    p0 = feedback_params()
    inputs, xi = seasonal_forcing(40)
    theta0 = np.concatenate([np.zeros(4), np.ravel(p0.k), np.ravel(p0.transfer), [1.0]])

    @jax.jit
    def loss(theta):
        c0, k, transfer, scale = theta[:4], theta[4:8], theta[8:24].reshape(4, 4), theta[24]
        params = SoilPoolParams(k, transfer, p0.b)
        c, _, rh = simulate_soil_pools(c0, scale * inputs, xi, params)
        return jnp.sum(rh * jnp.linspace(0.5, 1.5, rh.size)) + c @ jnp.array([1.0, -2.0, 0.5, 3.0])

    grad = jax.grad(loss)(jnp.asarray(theta0))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, central_fd(loss, theta0, 1e-6), rtol=1e-6, atol=1e-7)


def test_steady_state_gradients_match_fd(x64):
    p0 = feedback_params()

    def f(theta):
        params = SoilPoolParams(theta[:4], p0.transfer, p0.b)
        return jnp.sum(steady_state(theta[4], theta[5], params) * jnp.arange(1.0, 5.0))

    theta0 = np.concatenate([FB["k"], [3.0, 1.3]])
    grad = jax.grad(f)(jnp.asarray(theta0))
    np.testing.assert_allclose(grad, central_fd(f, theta0, 1e-8), rtol=1e-6)


def test_environmental_scalar_gradients_match_fd(x64):
    def f(theta):
        return environmental_scalar(theta[0], theta[1], theta[2])

    theta0 = np.array([7.0, 0.4, 1.8])
    grad = jax.grad(f)(jnp.asarray(theta0))
    np.testing.assert_allclose(grad, central_fd(f, theta0, 1e-6), rtol=1e-8)


def test_gradients_finite_float32_empty_pools_zero_input():
    def loss(c0, inputs):
        c, _, rh = simulate_soil_pools(c0, inputs, 0.7, SoilPoolParams.default())
        return jnp.sum(rh) + jnp.sum(c)

    grads = jax.grad(loss, argnums=(0, 1))(jnp.zeros(3), jnp.zeros(50))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
    assert float(grads[1][0]) > 0  # more litter → more carbon and respiration


# ---------------------------------------------------------------- invariants
def test_mass_balance_exact_over_ten_seasonal_years(x64):
    p = SoilPoolParams.default()
    inputs, xi = seasonal_forcing(3653)
    c0 = steady_state(jnp.mean(inputs), jnp.mean(xi), p) * jnp.array([0.5, 1.2, 1.0])
    c_final, cs, rh = simulate_soil_pools(c0, inputs, xi, p)
    before = jnp.concatenate([c0[None], cs[:-1]])
    err = relative_mass_balance_error(before, cs, inputs, rh)
    assert float(jnp.max(err)) < 1e-12
    total = jnp.sum(c_final) - jnp.sum(c0) - jnp.sum(inputs - rh)
    assert abs(float(total)) < 1e-12 * float(jnp.sum(c0))
    assert bool(jnp.all(cs >= 0)) and bool(jnp.all(rh > 0))


def test_pools_non_negative_for_huge_steps():
    c, cs, rh = simulate_soil_pools(
        jnp.zeros(3),
        jnp.array([0.0, 5.0, 0.0]),
        6.0,
        SoilPoolParams.default()._replace(k=jnp.array([1.0, 0.5, 0.1])),
        dt=365.0,
    )
    assert bool(jnp.all(cs >= 0)) and bool(jnp.all(rh >= 0))


def test_vmap_over_cells_matches_loop():
    p = SoilPoolParams.default()
    c = jnp.array([[1000.0, 5000.0, 9000.0], [0.0, 0.0, 0.0], [10.0, 20.0, 30.0]])
    inputs, xi = jnp.array([1.0, 2.0, 0.0]), jnp.array([0.5, 1.0, 2.0])
    c_vmap, rh_vmap = jax.vmap(soil_pool_step, in_axes=(0, 0, 0, None))(c, inputs, xi, p)
    for i in range(3):
        c_i, rh_i = soil_pool_step(c[i], inputs[i], xi[i], p)
        np.testing.assert_allclose(c_vmap[i], c_i, rtol=1e-6)
        np.testing.assert_allclose(rh_vmap[i], rh_i, rtol=1e-6)


# ---------------------------------------------------------------- errors and status
def test_shape_mismatch_raises_value_error():
    with pytest.raises(ValueError, match="soil_pool_step"):
        soil_pool_step(jnp.zeros(4), 1.0, 1.0, SoilPoolParams.default())
    with pytest.raises(ValueError, match=r"shape \(T,\)"):
        simulate_soil_pools(jnp.zeros(3), jnp.ones((5, 2)), 1.0, SoilPoolParams.default())


def test_spin_up_raises_and_reports_status():
    p, inputs = SoilPoolParams.default(), jnp.full(365, 2.0)
    with pytest.raises(SpinUpError, match="did not converge after 3 cycles"):
        spin_up(jnp.zeros(3), inputs, 1.0, p, max_cycles=3)
    _, status = spin_up(jnp.zeros(3), inputs, 1.0, p, max_cycles=3, raise_on_failure=False)
    assert not bool(status.converged) and int(status.n_cycles) == 3
    assert float(status.rel_change) > 1e-6


def test_spin_up_non_finite_forcing_is_not_converged():
    xi = jnp.ones(365).at[100].set(jnp.nan)
    _, status = spin_up(jnp.zeros(3), 2.0, xi, SoilPoolParams.default(), raise_on_failure=False)
    assert not bool(status.converged) and int(status.n_cycles) == 1
    with pytest.raises(SpinUpError):
        spin_up(jnp.zeros(3), 2.0, xi, SoilPoolParams.default())


def test_spin_up_inside_jit_asks_for_core():
    with pytest.raises(TypeError, match="spin_up_core"):
        jax.jit(lambda c: spin_up(c, jnp.ones(10), 1.0, SoilPoolParams.default()))(jnp.zeros(3))


def test_spin_up_core_vmaps_over_cells(x64):
    p = feedback_params()
    scale = jnp.array([0.5, 1.0, 2.0])
    core = jax.vmap(lambda s: spin_up_core(jnp.zeros(4), s * jnp.ones(20), 1.2, p, tol=1e-12))
    c, status = jax.jit(core)(scale)
    assert bool(jnp.all(status.converged))
    np.testing.assert_allclose(c, scale[:, None] * steady_state(1.0, 1.2, p), rtol=1e-9)


# ---------------------------------------------------------------- recompilation guard
def test_jitted_simulation_traces_once():
    @jax.jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(c0, inputs, xi, params):
        return simulate_soil_pools(c0, inputs, xi, params)

    p = SoilPoolParams.default()
    inputs, xi = seasonal_forcing(100)
    run(jnp.zeros(3), inputs, xi, p)
    out = run(jnp.ones(3), 2.0 * inputs, 0.5 * xi, p._replace(k=2.0 * p.k))
    assert out[1].shape == (100, 3)


def test_periodic_steady_state_accurate_in_float32():
    # Carrying Φ − 1 keeps the 1000-yr pool accurate although Φ ≈ 1 − 8e-4 in float32.
    p = SoilPoolParams.default()
    c = periodic_steady_state(jnp.full(365, 2.0), 0.8, p)
    assert c.dtype == jnp.float32
    np.testing.assert_allclose(c, REF["default"]["steady_state"], rtol=1e-4)
