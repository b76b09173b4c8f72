"""Task encoders: permutation invariance, padding invariance, empty sets."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from hybridflux.modulators.encoders import GRUEncoder, SetEncoder, masked_mean


def test_masked_mean_by_hand():
    h = jnp.array([[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]])
    np.testing.assert_allclose(masked_mean(h, jnp.array([1, 1, 0], bool)), [2.0, 3.0])
    np.testing.assert_array_equal(masked_mean(h, jnp.zeros(3, bool)), [0.0, 0.0])


def test_set_encoder_permutation_invariant():
    enc = SetEncoder(4, (8, 8), 3, rngs=nnx.Rngs(0))
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.normal(size=(2, 7, 4)), jnp.float32)
    m = jnp.asarray(rng.random((2, 7)) > 0.3)
    perm = rng.permutation(7)
    np.testing.assert_allclose(enc(w, m), enc(w[:, perm], m[:, perm]), rtol=1e-5, atol=1e-6)


def test_set_encoder_ignores_padding_values():
    enc = SetEncoder(2, (4,), 2, rngs=nnx.Rngs(1))
    w = jnp.ones((5, 2))
    m = jnp.array([1, 1, 0, 0, 0], bool)
    np.testing.assert_allclose(enc(w, m), enc(w.at[2:].set(99.0), m), rtol=1e-6)
    different = enc(w.at[1].set(3.0), m)
    assert not np.allclose(enc(w, m), different)


def test_gru_encoder_ignores_trailing_padding():
    enc = GRUEncoder(2, 4, 3, rngs=nnx.Rngs(2))
    w = jnp.asarray(np.random.default_rng(1).normal(size=(4, 2)), jnp.float32)
    m = jnp.ones(4, bool)
    padded = jnp.concatenate([w, jnp.full((3, 2), 7.0)])
    pm = jnp.concatenate([m, jnp.zeros(3, bool)])
    np.testing.assert_allclose(enc(w, m), enc(padded, pm), rtol=1e-5, atol=1e-6)
    assert enc(jnp.stack([w, w]), jnp.stack([m, m])).shape == (2, 3)
