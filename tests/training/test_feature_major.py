"""Feature-major evaluation of the loss: same losses, gradients and training; used only where
it pays (narrow products, nothing to transpose back), traced once per epoch function."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import hybridflux.training.epoch as epoch_module
from hybridflux.training.epoch import RowOrder, make_train_epoch
from hybridflux.training.feature_major import MAX_WIDTH, feature_major
from hybridflux.training.flat import split_flat
from tests.training.conftest import ToyQ10, masked_mse, toy_data


def _loss(flat_model):
    def loss(flat, rest, batch, weight):
        return masked_mse(flat_model.apply(flat, batch, rest), batch, weight)

    return loss


def _products(fn, *args) -> list[str]:
    """The dimension numbers of every dot_general in ``fn``'s jaxpr (nested ones included)."""
    return re.findall(r"dot_general\[\s*dimension_numbers=(\S+)", str(jax.make_jaxpr(fn)(*args)))


class Net(nnx.Module):
    """2-H-1 network with activation ``act``, output ``y``."""

    def __init__(self, hidden: int, act=jnp.tanh):
        rngs = nnx.Rngs(0)
        self.l1 = nnx.Linear(2, hidden, rngs=rngs)
        self.l2 = nnx.Linear(hidden, 1, rngs=rngs)
        self.act = act

    def __call__(self, batch):
        x = jnp.stack([batch["x1"], batch["x2"]], axis=-1)
        return {"RECO": self.l2(self.act(self.l1(x)))[:, 0]}


def test_loss_and_gradient_equal_the_row_major_ones_to_float32_rounding():
    flat_model, flat = split_flat(ToyQ10())
    batch, weight = toy_data(64), jnp.ones(64).at[::7].set(0.0)
    loss = _loss(flat_model)
    fast = feature_major(loss, flat, flat_model.rest, batch, weight)
    assert fast is not None
    grad = jax.jit(jax.value_and_grad(loss, has_aux=True))
    fast_grad = jax.jit(jax.value_and_grad(fast, has_aux=True))
    (value, aux), g = grad(flat, flat_model.rest, batch, weight)
    (fast_value, fast_aux), fast_g = fast_grad(flat, flat_model.rest, batch, weight)
    np.testing.assert_allclose(fast_value, value, rtol=2e-6)
    np.testing.assert_allclose(fast_aux["rmse"], aux["rmse"], rtol=2e-6)
    np.testing.assert_allclose(fast_g, g, rtol=1e-5, atol=1e-7 * float(jnp.max(jnp.abs(g))))
    # every product now contracts the feature axis of (K, N) storage: ([0], [0])
    rows = _products(loss, flat, flat_model.rest, batch, weight)
    cols = _products(fast, flat, flat_model.rest, batch, weight)
    assert len(rows) == len(cols) == 3
    assert set(rows) == {"(([1],"} and set(cols) == {"(([0],"}


def test_training_epochs_equal_the_row_major_ones_to_float32_rounding():
    flat_model, flat = split_flat(ToyQ10())
    data, weight, opt = toy_data(300), jnp.ones(300), optax.adam(1e-2)
    row_order = RowOrder(weight, 32)
    results = []
    for fm in (False, True):
        epoch = jax.jit(make_train_epoch(flat_model, masked_mse, opt, 32, feature_major=fm))
        state, losses = (flat, opt.init(flat)), []
        for e in range(3):  # 30 Adam steps
            *state, stats = epoch(*state, flat_model.rest, data, weight, row_order(0, e))
            losses.append(float(stats["loss"]))
        results.append((np.asarray(state[0]), losses))
    (rows, rows_loss), (cols, cols_loss) = results
    assert not np.array_equal(rows, flat)  # it trained
    np.testing.assert_allclose(cols_loss, rows_loss, rtol=1e-5)
    np.testing.assert_allclose(cols, rows, rtol=1e-4, atol=1e-5)


def _fm_of(model, **kwargs):
    flat_model, flat = split_flat(model)
    loss, batch = _loss(flat_model), toy_data(16)
    return feature_major(loss, flat, flat_model.rest, batch, jnp.ones(16), **kwargs)


def test_layers_wider_than_max_width_keep_their_layout():
    assert _fm_of(Net(MAX_WIDTH)) is not None
    assert _fm_of(Net(MAX_WIDTH + 1)) is None  # measured slower feature-major from width 64
    assert _fm_of(Net(MAX_WIDTH + 1), max_width=MAX_WIDTH + 1) is not None


def test_a_custom_derivative_needing_a_transposed_input_back_keeps_the_layout():
    # jax.nn.relu is a custom_jvp function: its (N, 8) input would be transposed back
    assert _fm_of(Net(8, act=lambda x: jnp.maximum(x, 0.0))) is not None
    assert _fm_of(Net(8, act=jax.nn.relu)) is None


def test_a_function_without_products_is_left_alone():
    assert feature_major(lambda x: jnp.sum(jnp.tanh(x)), jnp.ones((4, 3))) is None


def test_the_epoch_is_transformed_once_and_traced_once(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return feature_major(*args, **kwargs)

    monkeypatch.setattr(epoch_module, "_feature_major", counting)
    flat_model, flat = split_flat(ToyQ10())
    data, weight, opt = toy_data(100), jnp.ones(100), optax.adam(1e-2)
    epoch = jax.jit(make_train_epoch(flat_model, masked_mse, opt, 32))
    state, row_order = (flat, opt.init(flat)), RowOrder(weight, 32)
    for e in range(4):
        *state, stats = epoch(*state, flat_model.rest, data, weight, row_order(0, e))
    assert bool(stats["finite"])
    assert len(calls) == 1 and epoch._cache_size() == 1
