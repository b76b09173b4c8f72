"""Tests of hybridflux.process.balance: residuals by hand, broadcasting, gradients at zero."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.process.balance import (
    flux_balance_residual,
    pool_mass_balance_residual,
    relative_mass_balance_error,
)


def test_flux_balance_residual_by_hand():
    # A sink of 1.5 gC m-2 d-1: GPP 6, Reco 4.5 -> NEE = -1.5; a wrong NEE of -1 leaves +0.5.
    assert float(flux_balance_residual(-1.5, 4.5, 6.0)) == 0.0
    assert float(flux_balance_residual(-1.0, 4.5, 6.0)) == pytest.approx(0.5)
    r = flux_balance_residual(jnp.array([[1.0], [2.0]]), jnp.array([3.0, 4.0, 5.0]), 2.0)
    np.testing.assert_allclose(r, [[0.0, -1.0, -2.0], [1.0, 0.0, -1.0]])


def test_flux_balance_residual_gradient():
    grad = jax.grad(flux_balance_residual, argnums=(0, 1, 2))(1.0, 2.0, 3.0)
    np.testing.assert_allclose([float(g) for g in grad], [1.0, -1.0, 1.0])


def test_pool_mass_balance_residual_by_hand():
    before = jnp.array([[10.0, 5.0, 1.0], [0.0, 0.0, 0.0]])
    after = jnp.array([[11.0, 5.5, 1.0], [1.0, 2.0, 0.0]])
    # Gains 1.5 and 3.0 gC m-2 over dt = 2 d with net fluxes (1 - 0.25) and (2 - 0.5) gC m-2 d-1.
    r = pool_mass_balance_residual(
        before, after, jnp.array([1.0, 2.0]), jnp.array([0.25, 0.5]), 2.0
    )
    np.testing.assert_allclose(r, [0.0, 0.0], atol=1e-6)
    r = pool_mass_balance_residual(before[0], after[0], 1.0, 0.0, 1.0)
    assert float(r) == pytest.approx(0.5)


def test_relative_mass_balance_error_by_hand_and_at_zero():
    e = relative_mass_balance_error(jnp.array([10.0, 5.0]), jnp.array([10.5, 5.0]), 2.0, 1.0)
    assert float(e) == pytest.approx(0.5 / 18.0, rel=1e-6)
    zero = jnp.zeros(3)
    assert float(relative_mass_balance_error(zero, zero, 0.0, 0.0)) == 0.0
    grads = jax.grad(lambda c: relative_mass_balance_error(c, c, 0.0, 0.0))(zero)
    assert bool(jnp.all(jnp.isfinite(grads)))
    grad_in = jax.grad(lambda i: relative_mass_balance_error(zero, zero, i, 0.0))(0.0)
    assert np.isfinite(float(grad_in))


def test_relative_error_detects_a_leak(x64):
    before = jnp.full((100, 4), 250.0)
    after = before.at[:, 0].add(1e-9)  # 1 ng of carbon appearing from nowhere
    e = relative_mass_balance_error(before, after, 0.0, 0.0)
    assert bool(jnp.all(e > 5e-13)) and bool(jnp.all(e < 2e-12))
