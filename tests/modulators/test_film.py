"""FiLM layers: identity at zero embedding, the affine form, broadcasting."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from hybridflux.modulators.film import FiLM, FiLMMLP


def test_film_identity_at_zero_embedding():
    film = FiLM(3, 5, init_scale=1.0, rngs=nnx.Rngs(0))
    h = jnp.linspace(-2.0, 2.0, 10).reshape(2, 5)
    np.testing.assert_array_equal(film(h, jnp.zeros((2, 3))), h)


def test_film_is_affine_in_h_with_numpy_weights():
    film = FiLM(2, 3, init_scale=1.0, rngs=nnx.Rngs(1))
    e, h = np.array([0.5, -1.0]), np.array([1.0, 2.0, 3.0])
    wg, wb = np.asarray(film.gamma.kernel[...]), np.asarray(film.beta.kernel[...])
    expected = (1.0 + e @ wg) * h + e @ wb
    np.testing.assert_allclose(film(jnp.asarray(h), jnp.asarray(e)), expected, rtol=1e-5)


def test_filmmlp_at_zero_embedding_equals_plain_mlp():
    net = FiLMMLP(2, (4, 4), 1, embed_dim=3, rngs=nnx.Rngs(2))
    x = np.random.default_rng(0).normal(size=(6, 2))
    h = x
    for layer in net.layers:
        w, b = np.asarray(layer.kernel[...]), np.asarray(layer.bias[...])
        h = np.asarray(net.activation(jnp.asarray(h @ w + b)))
    expected = h @ np.asarray(net.out.kernel[...]) + np.asarray(net.out.bias[...])
    got = net(jnp.asarray(x, jnp.float32), jnp.zeros((6, 3)))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_filmmlp_embedding_changes_output():
    net = FiLMMLP(2, (4,), 1, embed_dim=2, init_scale=1.0, rngs=nnx.Rngs(3))
    x = jnp.ones((1, 2))
    assert not np.allclose(net(x, jnp.zeros((1, 2))), net(x, jnp.ones((1, 2))))
