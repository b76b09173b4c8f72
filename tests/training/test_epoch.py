"""The compiled epoch: permutation, padding with weight 0, scan, no retracing; evaluation."""

from __future__ import annotations

import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hybridflux.training.epoch import (
    RowOrder,
    _in_data_order,
    make_evaluate,
    make_train_epoch,
    weighted_batches,
)
from hybridflux.training.flat import split_flat
from tests.training.conftest import ToyQ10, masked_mse, toy_data


def test_batches_hold_every_weighted_row_once_and_pad_with_weight_zero():
    n, bs = 23, 5
    weight = jnp.ones(n).at[jnp.array([7, 11])].set(0.0)
    rows = jnp.arange(n, dtype=jnp.float32) + 1.0
    order = RowOrder(weight, bs)(seed=0, epoch=0)
    batches, w = weighted_batches({"row": rows}, weight, order)
    assert order.shape == (5, bs) and order.dtype == np.int32
    assert batches["row"].shape == (5, bs) and w.shape == (5, bs)
    flat_rows, flat_w = np.asarray(batches["row"]).ravel(), np.asarray(w).ravel()
    kept = flat_rows[flat_w > 0]
    expected = np.asarray(rows)[np.asarray(weight) > 0]
    assert sorted(kept) == sorted(expected)  # each weighted row exactly once
    assert np.all(flat_w[: len(kept)] > 0) and np.all(flat_w[len(kept) :] == 0)  # weighted first
    assert np.all(flat_rows[flat_w == 0] == 0)  # zero-weight and padding rows are zeroed
    assert order.ravel()[len(kept) :].tolist() == [7, 11, 23, 23]  # zero-weight, then padding
    assert not np.array_equal(kept, np.sort(kept))  # actually permuted


def test_order_depends_only_on_seed_and_epoch():
    weight = np.ones(50)
    a = RowOrder(weight, 8)(seed=1, epoch=3)
    b = RowOrder(weight, 8)(seed=1, epoch=3)  # a fresh object, as after a resume
    assert np.array_equal(a, b)
    assert not np.array_equal(a, RowOrder(weight, 8)(seed=2, epoch=3))
    assert not np.array_equal(a, RowOrder(weight, 8)(seed=1, epoch=4))
    assert sorted(a.ravel()[:50]) == list(range(50))
    assert RowOrder(weight, 8)(seed=-1, epoch=0).shape == (7, 8)  # negative seeds work


def test_batches_of_weight_zero_rows_only_are_left_out_unless_asked_for():
    weight = np.r_[np.zeros(3), np.ones(10), np.zeros(12)]  # 10 weighted of 25 rows
    short = RowOrder(weight, 4)
    assert short.n_batches == 3 and not short.has_empty_batches
    assert sorted(short(0, 0).ravel()[:10]) == list(range(3, 13))
    long = RowOrder(weight, 4, n_batches=7)  # as for a vmapped site with a shorter record
    assert long.has_empty_batches and long(0, 0).shape == (7, 4)
    assert np.array_equal(long(0, 0)[:3], short(0, 0))  # same shuffle, longer tail
    assert long(0, 0).ravel()[-3:].tolist() == [25, 25, 25]  # padding
    assert RowOrder(np.zeros(5), 4).has_empty_batches  # nothing to train on: one empty batch


def test_row_order_is_numpys_permutation_of_the_weighted_rows():
    # The contract results rest on (a resumed run replays it): the weighted rows in the order
    # of np.random.default_rng([seed, epoch]).permutation, then weight-0 rows, then padding N.
    weight = np.r_[np.ones(40), np.zeros(5), np.ones(30)]  # 70 weighted rows: 5 batches of 16
    order = RowOrder(weight, 16)(seed=3, epoch=2).ravel()
    expected = np.random.default_rng([3, 2]).permutation(np.flatnonzero(weight > 0))
    assert np.array_equal(order[:70], expected)
    assert order[70:].tolist() == [40, 41, 42, 43, 44, 75, 75, 75, 75, 75]


@pytest.mark.parametrize(
    ("weight", "batch_size", "n_batches", "match"),
    [
        (np.ones((2, 4)), 2, None, "1-D weights"),
        (np.ones(4), 0, None, "batch_size >= 1"),
        (np.ones(9), 4, 2, "9 weighted rows need 3 batches"),
    ],
)
def test_row_order_refuses_bad_arguments(weight, batch_size, n_batches, match):
    with pytest.raises(ValueError, match=match):
        RowOrder(weight, batch_size, n_batches)


def test_evaluation_chunks_keep_data_order_and_pad_with_weight_zero():
    batches, w = weighted_batches({"r": jnp.arange(5.0)}, jnp.ones(5), _in_data_order(5, 2))
    assert batches["r"].tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 0.0]]
    assert w.tolist() == [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]]


def _order(weight, batch_size=32, epoch=0):
    return RowOrder(weight, batch_size)(seed=0, epoch=epoch)


def _setup(n=100, optimizer=None, batch_size=32):
    flat_model, flat = split_flat(ToyQ10())
    optimizer = optimizer or optax.adam(1e-2)
    epoch = make_train_epoch(flat_model, masked_mse, optimizer, batch_size)
    return flat_model, flat, optimizer, epoch, toy_data(n)


def test_epoch_traces_once_over_five_epochs():
    flat_model, flat, opt, epoch, data = _setup()
    epoch = jax.jit(eqx.debug.assert_max_traces(epoch, max_traces=1))
    state, weight = opt.init(flat), jnp.ones(100)
    orders = [_order(weight, epoch=e) for e in range(5)]
    assert not np.array_equal(orders[0], orders[1])
    for order in orders:
        flat, state, stats = epoch(flat, state, flat_model.rest, data, weight, order)
    assert epoch._cache_size() == 1
    assert bool(stats["finite"])


def test_compiled_epoch_does_no_sort():
    # The row order comes from the host: a device-side permutation (XLA's CPU sort) cost ~90 %
    # of an epoch of 245k rows. Guard against its return (also via argsort for weight-0 rows).
    flat_model, flat, opt, epoch, data = _setup()
    weight = jnp.ones(100)
    args = (flat, opt.init(flat), flat_model.rest, data, weight, _order(weight))
    text = str(jax.make_jaxpr(epoch)(*args))  # nested jaxprs (the scan body) are printed too
    names = set(re.findall(r"= (\w+)\[", text)) | set(re.findall(r"= (\w+) ", text))
    assert "scan" in names and "dot_general" in names  # the pattern sees nested primitives
    assert not names & {"sort", "random_bits", "random_wrap", "threefry2x32"}


def test_full_batch_sgd_epoch_equals_one_gradient_step_despite_padding():
    # 10 rows in a batch of 16: 6 padding rows of weight 0 must not change the step.
    lr = 0.1
    flat_model, flat, opt, epoch, data = _setup(n=10, optimizer=optax.sgd(lr), batch_size=16)
    new, _, stats = jax.jit(epoch)(
        flat, opt.init(flat), flat_model.rest, data, jnp.ones(10), _order(jnp.ones(10), 16)
    )

    def loss(f):
        return masked_mse(flat_model.apply(f, data), data, jnp.ones(10))[0]

    np.testing.assert_allclose(new, flat - lr * jax.grad(loss)(flat), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(stats["loss"], loss(flat), rtol=1e-5)


def test_mean_epoch_loss_weights_batches_by_their_rows():
    # Learning rate 0: the epoch's mean batch loss equals the full-data loss (MSE is a mean),
    # which fails if the padded last batch (4 of 32 rows) counted as much as a full one.
    flat_model, flat, opt, epoch, data = _setup(n=100, optimizer=optax.sgd(0.0))
    _, _, stats = jax.jit(epoch)(
        flat, opt.init(flat), flat_model.rest, data, jnp.ones(100), _order(jnp.ones(100), epoch=3)
    )
    full = masked_mse(flat_model.apply(flat, data), data, jnp.ones(100))
    np.testing.assert_allclose(stats["loss"], full[0], rtol=1e-5)


def test_batches_of_zero_weight_make_no_optimizer_step():
    flat_model, flat, opt, epoch, data = _setup()
    epoch = jax.jit(epoch)
    flat1, state1, _ = epoch(
        flat, opt.init(flat), flat_model.rest, data, jnp.ones(100), _order(jnp.ones(100))
    )
    flat2, state2, stats = epoch(
        flat1, state1, flat_model.rest, data, jnp.zeros(100), _order(jnp.zeros(100))
    )
    assert np.array_equal(flat2, flat1)  # Adam's momentum would move it otherwise
    assert jax.tree.all(jax.tree.map(np.array_equal, state2, state1))
    assert float(stats["loss"]) == 0.0


def test_without_empty_batches_the_guard_changes_nothing():
    flat_model, flat, opt, _, data = _setup(n=100)
    weight = jnp.ones(100).at[::3].set(0.0)  # 66 weighted rows: 3 batches of 32, none empty
    order = _order(weight)
    assert order.shape == (3, 32)
    args = (flat, opt.init(flat), flat_model.rest, data, weight, order)
    out = [
        jax.jit(make_train_epoch(flat_model, masked_mse, opt, 32, guard_empty_batches=g))(*args)
        for g in (True, False)
    ]
    assert jax.tree.all(jax.tree.map(np.array_equal, out[0], out[1]))


def test_an_order_of_another_batch_size_is_refused():
    flat_model, flat, opt, epoch, data = _setup(n=100)
    weight = jnp.ones(100)
    with pytest.raises(ValueError, match=r"needs \(n_batches, 32\); make it with RowOrder"):
        epoch(flat, opt.init(flat), flat_model.rest, data, weight, _order(weight, 16))


def test_nan_in_zero_weight_rows_cannot_poison_the_gradients():
    flat_model, flat, opt, epoch, data = _setup()
    weight = jnp.ones(100).at[90:].set(0.0)
    nan_rows = {k: v.at[90:].set(jnp.nan) for k, v in data.items()}
    other_rows = {k: v.at[90:].set(123.0) for k, v in data.items()}
    epoch = jax.jit(epoch)
    args = (opt.init(flat), flat_model.rest)
    a, _, stats = epoch(flat, *args, nan_rows, weight, _order(weight))
    b, _, _ = epoch(flat, *args, other_rows, weight, _order(weight))
    assert bool(stats["finite"])
    assert np.array_equal(a, b)


def test_finite_flag_reports_a_nan_loss():
    flat_model, flat, opt, epoch, data = _setup()
    bad = dict(data, x1=data["x1"].at[0].set(jnp.nan))  # a weighted row: not masked
    _, _, stats = jax.jit(epoch)(
        flat, opt.init(flat), flat_model.rest, bad, jnp.ones(100), _order(jnp.ones(100))
    )
    assert not bool(stats["finite"])


@pytest.mark.parametrize("chunk_size", [None, 7, 64, 1000])
def test_chunked_evaluation_equals_full_evaluation(chunk_size):
    flat_model, flat, _, _, data = _setup(n=100)
    weight = jnp.ones(100).at[::9].set(0.0)
    stats = jax.jit(make_evaluate(flat_model, masked_mse, chunk_size))(
        flat, flat_model.rest, data, weight
    )
    full = masked_mse(flat_model.apply(flat, data), data, weight)[0]
    np.testing.assert_allclose(stats["loss"], full, rtol=1e-5)


def test_batch_size_must_be_positive():
    flat_model, _ = split_flat(ToyQ10())
    with pytest.raises(ValueError, match="batch_size"):
        make_train_epoch(flat_model, masked_mse, optax.sgd(0.1), 0)
