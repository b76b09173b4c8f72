"""The flat trainable vector: split by filter, ravel, merge back without touching the input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.flatten_util import ravel_pytree

from hybridflux.hybrid.params import TRAIN_JOINT, TRAIN_NETWORKS, TRAIN_PHYSICS
from hybridflux.training.flat import merge_flat, split_flat
from tests.training.conftest import ToyQ10, masked_mse, toy_data

# 2-16-16-1 MLP: (2·16 + 16) + (16·16 + 16) + (16 + 1) weights; one physics parameter.
N_NETWORK = 48 + 272 + 17


@pytest.mark.parametrize(
    ("trainable", "size"),
    [(TRAIN_JOINT, N_NETWORK + 1), (TRAIN_NETWORKS, N_NETWORK), (TRAIN_PHYSICS, 1)],
)
def test_flat_size_follows_the_filter(trainable, size):
    flat_model, flat = split_flat(ToyQ10(), trainable)
    assert flat.shape == (size,) and flat_model.size == size
    assert flat.dtype == jnp.float32 and not flat.weak_type


def test_physics_filter_ravels_exactly_the_physics_parameter():
    model = ToyQ10(q10_init=2.5)
    flat_model, flat = split_flat(model, TRAIN_PHYSICS)
    assert flat[0] == model.q10_z[...]
    rest_types = {type(v) for _, v in nnx.to_flat_state(flat_model.rest)}
    assert nnx.Param in rest_types  # the networks are fixed


def test_merge_round_trip_reproduces_the_model_and_leaves_input_alone():
    model = ToyQ10(seed=3)
    batch = toy_data(16)
    before = jax.tree.map(np.asarray, nnx.state(model))
    flat_model, flat = split_flat(model)
    assert np.array_equal(flat_model.apply(flat, batch)["RECO"], model(batch)["RECO"])
    other = merge_flat(flat_model, flat + 1.0)
    assert not np.allclose(other(batch)["RECO"], model(batch)["RECO"])
    after = jax.tree.map(np.asarray, nnx.state(model))
    assert jax.tree.all(jax.tree.map(np.array_equal, before, after))


def test_gradient_on_flat_vector_equals_raveled_tree_gradient():
    model, batch = ToyQ10(seed=1), toy_data(64)
    weight = jnp.ones(64)
    flat_model, flat = split_flat(model, TRAIN_JOINT)
    grad_flat = jax.grad(lambda f: masked_mse(flat_model.apply(f, batch), batch, weight)[0])(flat)

    def tree_loss(params, rest):
        m = nnx.merge(flat_model.graphdef, params, rest)
        return masked_mse(m(batch), batch, weight)[0]

    _, params, rest = nnx.split(model, TRAIN_JOINT, ...)
    grad_tree = jax.grad(tree_loss)(params, rest)
    expected = ravel_pytree(grad_tree)[0]
    np.testing.assert_allclose(grad_flat, expected, rtol=1e-6, atol=1e-7)


def test_filter_selecting_nothing_is_an_error():
    with pytest.raises(ValueError, match="selects no variable"):
        split_flat(nnx.Linear(1, 1, rngs=nnx.Rngs(0)), TRAIN_PHYSICS)


def test_integer_trainable_variable_is_an_error():
    class Counter(nnx.Module):
        def __init__(self):
            self.n = nnx.Param(jnp.zeros((), jnp.int32))

    with pytest.raises(ValueError, match="'n'.*int32"):
        split_flat(Counter())


def test_merge_rejects_a_flat_vector_of_another_model():
    flat_model, _ = split_flat(ToyQ10())
    with pytest.raises(ValueError, match=r"needs \(338,\)"):
        merge_flat(flat_model, jnp.zeros(3))
