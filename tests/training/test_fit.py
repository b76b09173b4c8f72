"""fit(): Q10 recovery, trainable filters, divergence, early stopping, tracing, progress."""

from __future__ import annotations

import importlib
import io

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from rich.console import Console

from hybridflux.hybrid.params import TRAIN_NETWORKS, TRAIN_PHYSICS
from hybridflux.training.checkpoint import Checkpointer
from hybridflux.training.epoch import RowOrder, make_evaluate, make_train_epoch
from hybridflux.training.fit import TrainingDiverged, fit
from hybridflux.training.flat import split_flat
from hybridflux.training.progress import RichProgress
from tests.training.conftest import TRUE_Q10, ToyQ10, masked_mse, toy_data


class Slope(nnx.Module):
    """y = w·x with w starting at 0."""

    def __init__(self):
        self.w = nnx.Param(jnp.zeros(()))

    def __call__(self, batch):
        return {"RECO": self.w[...] * batch["x"]}


def _line(slope, n=64):
    x = jnp.linspace(0.1, 1.0, n)
    return {"x": x, "RECO": slope * x}


def nan_after(steps: int) -> optax.GradientTransformation:
    """Updates become NaN from optimizer step ``steps`` on (a controlled divergence)."""

    def init(params):
        return jnp.zeros((), jnp.int32)

    def update(updates, count, params=None):
        poison = jnp.where(count >= steps, jnp.nan, 0.0)
        return jax.tree.map(lambda u: u + poison, updates), count + 1

    return optax.chain(optax.sgd(0.01), optax.GradientTransformation(init, update))


def test_hybrid_toy_recovers_q10():
    result = fit(
        ToyQ10(seed=0, q10_init=2.0),
        toy_data(4096),
        optax.adam(1e-2),
        objective=masked_mse,
        epochs=40,
        batch_size=256,
    )
    assert abs(float(result.model.q10()) - TRUE_Q10) < 0.05
    assert result.history["train_loss"][-1] < 0.1 * result.history["train_loss"][0]
    assert result.timing["s_per_epoch"] < result.timing["first_epoch_s"]  # compiled once


def test_physics_filter_leaves_network_weights_bit_identical(data):
    model = ToyQ10(seed=2)
    before = jax.tree.map(np.asarray, nnx.state(model, nnx.Param))
    result = fit(
        model,
        data,
        optax.adam(5e-2),
        objective=masked_mse,
        epochs=3,
        batch_size=64,
        trainable=TRAIN_PHYSICS,
    )
    after = jax.tree.map(np.asarray, nnx.state(result.model, nnx.Param))
    assert jax.tree.all(jax.tree.map(np.array_equal, before, after))
    assert float(result.model.q10()) != float(model.q10())
    assert float(model.q10()) == pytest.approx(2.0)  # the input model is not mutated


def test_network_filter_leaves_q10_bit_identical(data):
    model = ToyQ10(seed=2)
    result = fit(
        model,
        data,
        optax.adam(5e-2),
        objective=masked_mse,
        epochs=2,
        batch_size=64,
        trainable=TRAIN_NETWORKS,
    )
    assert result.model.q10_z[...] == model.q10_z[...]
    assert not np.array_equal(result.model.l1.kernel[...], model.l1.kernel[...])


def test_nan_loss_raises_and_keeps_the_last_finite_state(tmp_path):
    data = _line(2.0, n=64)  # 4 batches of 16 per epoch: step 9 is in epoch index 2
    progress = Recorder()
    ckpt = Checkpointer(tmp_path, every=1)
    with pytest.raises(TrainingDiverged, match=r"epoch 3/10.*learning rate") as info:
        fit(
            Slope(),
            data,
            nan_after(9),
            objective=masked_mse,
            epochs=10,
            batch_size=16,
            checkpointer=ckpt,
            progress=progress,
        )
    err = info.value
    assert err.epoch == 2 and err.result.epochs_run == 2
    assert np.all(np.isfinite(err.result.flat))
    good = fit(Slope(), data, nan_after(9), objective=masked_mse, epochs=2, batch_size=16)
    assert np.array_equal(err.result.flat, good.flat)
    assert float(err.result.model.w[...]) == float(good.model.w[...])
    assert ckpt.latest().name == "epoch_000002.npz" and progress.closed


def test_early_stopping_restores_the_best_epoch():
    # Train on y = 2x, validate on y = x: w climbs from 0 past 1, so the validation loss
    # falls, then rises; the best w is near 1, not the final one.
    patience = 3
    result = fit(
        Slope(),
        _line(2.0),
        optax.sgd(0.05),
        objective=masked_mse,
        epochs=200,
        batch_size=16,
        val_data=_line(1.0),
        patience=patience,
    )
    val = result.history["val_loss"]
    assert result.stopped_early and result.best_epoch == int(np.argmin(val))
    assert len(val) == result.best_epoch + 1 + patience == result.epochs_run
    assert abs(float(result.model.w[...]) - 1.0) < 0.1
    replay = fit(
        Slope(),
        _line(2.0),
        optax.sgd(0.05),
        objective=masked_mse,
        epochs=result.best_epoch + 1,
        batch_size=16,
    )
    assert np.array_equal(result.flat, replay.flat)


def test_fit_compiles_the_epoch_once(data, val_data):
    traces = []

    def counting(outputs, batch, weight):
        traces.append(1)  # runs only while tracing
        return masked_mse(outputs, batch, weight)

    def n_traces(epochs):
        traces.clear()
        fit(
            ToyQ10(),
            data,
            optax.adam(1e-2),
            objective=counting,
            epochs=epochs,
            batch_size=100,
            val_data=val_data,
        )
        return len(traces)

    assert n_traces(1) == n_traces(5) == 2  # one trace of the train step, one of the eval


def test_fit_traces_its_epoch_and_evaluation_once_also_when_resumed(
    monkeypatch, tmp_path, data, val_data
):
    fit_module = importlib.import_module("hybridflux.training.fit")
    compiled, compile_run = [], fit_module.compile_run

    def spy(*args, **kwargs):
        epoch_fn, eval_fn, arrays = compile_run(*args, **kwargs)
        compiled.append((epoch_fn, eval_fn))
        return epoch_fn, eval_fn, arrays

    monkeypatch.setattr(fit_module, "compile_run", spy)
    options = dict(objective=masked_mse, batch_size=100, val_data=val_data, patience=50)
    fit(ToyQ10(), data, optax.adam(1e-2), epochs=3, checkpointer=Checkpointer(tmp_path), **options)
    resumed = fit(ToyQ10(), data, optax.adam(1e-2), epochs=7, resume=True,
                  checkpointer=Checkpointer(tmp_path), **options)  # fmt: skip
    assert resumed.epochs_run == 7 and len(compiled) == 2
    assert [(e._cache_size(), v._cache_size()) for e, v in compiled] == [(1, 1), (1, 1)]


def test_fit_equals_its_epoch_and_evaluation_run_by_hand(data, val_data):
    # fit computes the next row order while an epoch runs and dispatches the validation pass
    # without waiting: neither may change what the plain loop over epochs gives.
    optimizer = optax.adam(1e-2)
    result = fit(ToyQ10(), data, optimizer, objective=masked_mse, epochs=4, batch_size=100,
                 seed=5, val_data=val_data)  # fmt: skip
    flat_model, flat = split_flat(ToyQ10())
    epoch = make_train_epoch(flat_model, masked_mse, optimizer, 100, guard_empty_batches=False)
    epoch, evaluate = jax.jit(epoch), jax.jit(make_evaluate(flat_model, masked_mse))
    weight, state, flats, val = jnp.ones(512), optimizer.init(flat), [], []
    for e in range(4):
        order = RowOrder(weight, 100)(seed=5, epoch=e)
        flat, state, _ = epoch(flat, state, flat_model.rest, data, weight, order)
        flats.append(flat)
        val.append(float(evaluate(flat, flat_model.rest, val_data, jnp.ones(256))["loss"]))
    assert result.history["val_loss"].tolist() == val  # the same compiled code: bit for bit
    assert result.best_epoch == int(np.argmin(val))
    assert np.array_equal(result.flat, flats[result.best_epoch])


def test_learning_rate_schedules_carry_over_epochs(data):
    # 512 rows / 128 = 4 steps per epoch; the rate drops to 0 after 8 steps (2 epochs).
    schedule = optax.piecewise_constant_schedule(1e-2, {8: 0.0})
    result = fit(
        ToyQ10(), data, optax.adam(schedule), objective=masked_mse, epochs=5, batch_size=128
    )
    losses = result.history["train_loss"]
    assert losses[1] < losses[0]
    np.testing.assert_allclose(losses[3:], losses[2], rtol=1e-5)  # frozen parameters


class Recorder:
    """A progress object recording its calls."""

    def __init__(self):
        self.total, self.updates, self.closed = None, [], False

    def start(self, total):
        self.total = total

    def update(self, epoch, train_loss, val_loss=None):
        self.updates.append((epoch, train_loss, val_loss))

    def close(self):
        self.closed = True


def test_progress_object_sees_every_epoch(data, val_data):
    rec = Recorder()
    result = fit(
        ToyQ10(),
        data,
        optax.adam(1e-2),
        objective=masked_mse,
        epochs=3,
        batch_size=128,
        val_data=val_data,
        progress=rec,
    )
    assert rec.total == 3 and rec.closed
    assert [u[0] for u in rec.updates] == [1, 2, 3]
    assert [u[1] for u in rec.updates] == pytest.approx(list(result.history["train_loss"]))
    assert [u[2] for u in rec.updates] == pytest.approx(list(result.history["val_loss"]))


def test_rich_progress_is_quiet_off_a_terminal_and_draws_on_one():
    quiet, loud = io.StringIO(), io.StringIO()
    for out, terminal in ((quiet, False), (loud, True)):
        bar = RichProgress(console=Console(file=out, force_terminal=terminal, width=120))
        bar.start(4)
        bar.update(2, 0.125, 0.25)
        bar.close()
    assert quiet.getvalue() == ""
    assert "2/4" in loud.getvalue() and "0.125" in loud.getvalue()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patience": 2}, "needs val_data"),
        ({"resume": True}, "needs a checkpointer"),
        ({"weight": -jnp.ones(64)}, "non-negative"),
        ({"weight": jnp.ones(3)}, r"shape \(3,\)"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(
            Slope(),
            _line(2.0),
            optax.sgd(0.1),
            objective=masked_mse,
            epochs=1,
            batch_size=8,
            **kwargs,
        )


def test_columns_of_unequal_length_name_the_column():
    data = dict(_line(2.0), RECO=jnp.ones(5))
    with pytest.raises(ValueError, match=r"data\['RECO'\] has shape \(5,\)"):
        fit(Slope(), data, optax.sgd(0.1), objective=masked_mse, epochs=1, batch_size=8)
