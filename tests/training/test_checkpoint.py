"""Checkpoints: atomic .npz without pickle, validation on load, bit-identical resume."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hybridflux.training.checkpoint import Checkpointer, TrainState
from hybridflux.training.fit import fit
from tests.training.conftest import ToyQ10, masked_mse


def _state(epoch: int, size: int = 4) -> TrainState:
    flat = jnp.arange(size, dtype=jnp.float32) * epoch
    opt_state = optax.adam(1e-3).init(flat)
    return TrainState(
        epoch=epoch,
        flat=flat,
        opt_state=opt_state,
        key_data=np.asarray(jax.random.key_data(jax.random.key(5))),
        history={"train_loss": np.linspace(1.0, 0.5, epoch, dtype=np.float32)},
        best_flat=flat + 1,
        best_epoch=np.array(epoch - 1),
        best_val=np.array(0.25),
        bad_epochs=np.array(0),
    )


def _equal(a, b) -> bool:
    return jax.tree.all(jax.tree.map(lambda x, y: np.array_equal(x, y), a, b))


def test_round_trip_is_exact_and_pickle_free(tmp_path):
    state = _state(3)
    ckpt = Checkpointer(tmp_path)
    path = ckpt.save(state)
    with np.load(path, allow_pickle=False) as npz:  # raises on any object array
        assert all(npz[name].dtype != object for name in npz.files)
    loaded = ckpt.load(path, _state(0))
    assert loaded.epoch == 3 and _equal(loaded.opt_state, state.opt_state)
    for field in ("flat", "best_flat", "key_data", "best_epoch", "best_val", "bad_epochs"):
        assert np.array_equal(getattr(loaded, field), getattr(state, field)), field
    assert np.array_equal(loaded.history["train_loss"], state.history["train_loss"])


def test_crash_mid_write_leaves_the_previous_checkpoint_valid(tmp_path, monkeypatch):
    ckpt = Checkpointer(tmp_path)
    ckpt.save(_state(1))

    def crash(src, dst):
        raise OSError("disk died during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk died"):
        ckpt.save(_state(2))
    monkeypatch.undo()
    assert ckpt.latest().name == "epoch_000001.npz"
    assert ckpt.load(ckpt.latest(), _state(0)).epoch == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_000001.npz"]  # no temp left


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    ckpt = Checkpointer(tmp_path, keep=2)
    for epoch in (1, 2, 3, 10):
        ckpt.save(_state(epoch))
    assert [p.name for p in ckpt.checkpoints()] == ["epoch_000003.npz", "epoch_000010.npz"]


def test_loading_into_another_run_is_refused(tmp_path):
    ckpt = Checkpointer(tmp_path)
    path = ckpt.save(_state(2, size=4))
    with pytest.raises(ValueError, match=r"'flat' has shape \(4,\).*needs \(5,\)"):
        ckpt.load(path, _state(0, size=5))
    sgd_like = TrainState(**{**_state(0).__dict__, "opt_state": optax.sgd(0.1).init(jnp.ones(4))})
    with pytest.raises(ValueError, match="optimizer"):
        ckpt.load(path, sgd_like)


def _run(data, val_data, epochs, **kwargs):
    kwargs.setdefault("patience", 0 if val_data is None else 50)
    return fit(
        ToyQ10(seed=4),
        data,
        optax.adam(1e-2),
        objective=masked_mse,
        epochs=epochs,
        batch_size=96,
        seed=11,
        val_data=val_data,
        **kwargs,
    )


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, data, val_data):
    whole = _run(data, val_data, 6)
    first = _run(data, val_data, 3, checkpointer=Checkpointer(tmp_path / "a"))
    assert first.epochs_run == 3
    resumed = _run(data, val_data, 6, checkpointer=Checkpointer(tmp_path / "a"), resume=True)
    assert resumed.epochs_run == 6 and resumed.best_epoch == whole.best_epoch
    assert np.array_equal(resumed.flat, whole.flat)
    assert _equal(resumed.opt_state, whole.opt_state)
    for name, series in whole.history.items():
        assert np.array_equal(resumed.history[name], series), name


def test_interrupted_run_resumes_where_it_stopped(tmp_path, data):
    class Interrupt:
        def start(self, total):
            pass

        def update(self, epoch, train_loss, val_loss=None):
            if epoch == 2:
                raise KeyboardInterrupt

        def close(self):
            pass

    ckpt = Checkpointer(tmp_path, every=1)
    with pytest.raises(KeyboardInterrupt):
        _run(data, None, 4, checkpointer=ckpt, progress=Interrupt())
    assert ckpt.latest().name == "epoch_000002.npz"
    resumed = _run(data, None, 4, checkpointer=ckpt, resume=True)
    whole = _run(data, None, 4)
    assert np.array_equal(resumed.flat, whole.flat)


def test_resume_with_another_seed_is_refused(tmp_path, data):
    ckpt = Checkpointer(tmp_path)
    _run(data, None, 1, checkpointer=ckpt)
    with pytest.raises(ValueError, match="another seed"):
        fit(
            ToyQ10(seed=4),
            data,
            optax.adam(1e-2),
            objective=masked_mse,
            epochs=2,
            batch_size=96,
            seed=12,
            checkpointer=ckpt,
            resume=True,
        )
