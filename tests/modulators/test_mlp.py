"""MLP and bounded heads: shapes, the network equation, bounds for any z, inverse round trips."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridflux.modulators.mlp import (
    MLP,
    inverse_sigmoid_bounds,
    inverse_softplus_bounds,
    sigmoid_bounds,
    softplus_bounds,
)

FINITE_Z = st.floats(-1e4, 1e4, allow_nan=False, width=32)
# Subnormal bounds are excluded: XLA on CPU flushes subnormals to zero (a bound of 1e-45 is 0).
LO = st.floats(-100.0, 100.0, allow_nan=False, allow_subnormal=False, width=32)
WIDTH = st.floats(0.125, 100.0, allow_nan=False, width=32)


def test_mlp_matches_the_layer_equation():
    net = MLP(3, (5, 4), 2, activation=jnp.tanh, rngs=nnx.Rngs(0))
    x = np.random.default_rng(1).normal(size=(7, 3)).astype(np.float32)
    h = x
    for i, layer in enumerate(net.layers):
        h = h @ np.asarray(layer.kernel[...]) + np.asarray(layer.bias[...])
        if i < len(net.layers) - 1:
            h = np.tanh(h)
    np.testing.assert_allclose(net(jnp.asarray(x)), h, rtol=1e-5, atol=1e-6)
    assert net(jnp.asarray(x)).shape == (7, 2)


def test_mlp_without_hidden_layers_is_linear():
    net = MLP(2, (), 1, rngs=nnx.Rngs(0))
    a, b = jnp.array([1.0, -2.0]), jnp.array([0.5, 3.0])
    zero = net(jnp.zeros(2))
    np.testing.assert_allclose(net(a + b) - zero, (net(a) - zero) + (net(b) - zero), atol=1e-5)


def test_mlp_activation_is_used():
    x = jnp.linspace(-3, 3, 12).reshape(6, 2)
    relu = MLP(2, (8,), 1, activation=jax.nn.relu, rngs=nnx.Rngs(0))
    tanh = MLP(2, (8,), 1, activation=jnp.tanh, rngs=nnx.Rngs(0))
    assert not np.allclose(relu(x), tanh(x))


def test_mlp_rejects_zero_width():
    with pytest.raises(ValueError, match="positive"):
        MLP(2, (0,), 1, rngs=nnx.Rngs(0))


@settings(max_examples=60, deadline=None)
@given(z=FINITE_Z, lo=LO, width=WIDTH)
def test_sigmoid_head_respects_bounds_for_any_z(z, lo, width):
    hi = lo + width
    value = float(sigmoid_bounds(z, lo, hi))
    slack = 1e-6 * max(abs(lo), abs(hi))
    assert lo - slack <= value <= hi + slack


@settings(max_examples=60, deadline=None)
@given(z=FINITE_Z, lo=LO)
def test_softplus_head_respects_lower_bound_for_any_z(z, lo):
    assert float(softplus_bounds(z, lo)) >= lo


@settings(max_examples=60, deadline=None)
@given(frac=st.floats(0.01, 0.99), lo=LO, width=WIDTH)
def test_sigmoid_inverse_round_trip(frac, lo, width):
    hi = lo + width
    value = lo + frac * width
    back = float(sigmoid_bounds(inverse_sigmoid_bounds(value, lo, hi), lo, hi))
    assert back == pytest.approx(value, rel=1e-4, abs=1e-4 * width)


@settings(max_examples=60, deadline=None)
@given(y=st.floats(1e-3, 60.0), lo=LO)
def test_softplus_inverse_round_trip(y, lo):
    value = lo + y
    back = float(softplus_bounds(inverse_softplus_bounds(value, lo), lo))
    assert back == pytest.approx(value, rel=1e-4, abs=1e-4 * max(1.0, abs(lo)))


def test_inverse_heads_match_closed_forms():
    # logit(0.25) = log(1/3); softplus^-1(3) = log(e^3 - 1)
    assert float(inverse_sigmoid_bounds(1.0, 0.0, 4.0)) == pytest.approx(np.log(1 / 3), rel=1e-6)
    assert float(inverse_softplus_bounds(5.0, 2.0)) == pytest.approx(np.log(np.expm1(3.0)))
    assert float(inverse_softplus_bounds(60.0)) == pytest.approx(60.0, rel=1e-6)


def test_head_gradients_are_finite_at_large_z():
    for z in (-500.0, 0.0, 500.0):
        g_sig = jax.grad(lambda z: sigmoid_bounds(z, 0.5, 5.0))(z)
        g_soft = jax.grad(lambda z: softplus_bounds(z, 0.0))(z)
        assert np.isfinite(g_sig) and np.isfinite(g_soft)
    assert float(jax.grad(lambda z: sigmoid_bounds(z, 0.5, 5.0))(0.0)) == pytest.approx(4.5 / 4)
