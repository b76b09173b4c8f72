"""The epoch loop of :func:`~hybridflux.training.fit.fit` and the ensembles, between epochs.

Each epoch is one compiled call (:mod:`hybridflux.training.epoch`); between calls the loop
checks finiteness, keeps the history and the best epoch, stops early, checkpoints and reports
progress. Arrays may carry a leading member axis (:mod:`hybridflux.training.ensemble`).

The host never keeps the device waiting for work that does not depend on the epoch's result.
XLA runs a dispatched call asynchronously, so the loop dispatches the epoch (and the
validation pass on its parameters), *then* computes the next epoch's row order on the host
(a numpy shuffle, ~2 ms for 245k rows: ~10 % of an epoch of the issue-4 model on a 2-core
CPU), and only then waits for the epoch's statistics. Orders depend only on ``(seed,
epoch)``, so computing one early changes nothing in the result; an order computed for an epoch
that never runs (divergence, early stopping) is discarded, and so is a validation pass on the
parameters of a diverged epoch.

Example:
    >>> import numpy as np
    >>> state = initial_state(np.zeros(3, np.float32), (), np.zeros(2, np.uint32))
    >>> state.epoch, int(state.best_epoch), float(state.best_val)
    (0, -1, inf)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hybridflux.training.checkpoint import Checkpointer, TrainState
from hybridflux.training.progress import Progress

__all__ = [
    "EpochLoop",
    "TrainingDiverged",
    "initial_state",
    "prepare_data",
    "resume_state",
    "run_loop",
    "track_best",
]


class TrainingDiverged(RuntimeError):
    """The training loss (or a parameter) became non-finite.

    Attributes:
        epoch: 0-based index of the epoch that produced the non-finite value.
        result: the result at the last finite state (a ``FitResult`` or ``EnsembleResult``);
            a given checkpointer also holds that state.

    Example:
        >>> err = TrainingDiverged("loss is nan", epoch=3, result=None)
        >>> err.epoch
        3
    """

    def __init__(self, message: str, *, epoch: int, result: Any) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.result = result


def prepare_data(
    data: Mapping[str, Any], weight: Any, what: str, row_ndim: int = 1
) -> tuple[dict[str, jax.Array], jax.Array]:
    """Columns as arrays with equal leading shape (rows, or sites × rows) and float weights.

    Raises:
        ValueError: no columns, unequal shapes, no rows, or weights negative/non-finite.

    Example:
        >>> cols, w = prepare_data({"x": [1.0, 2.0]}, None, "data")
        >>> cols["x"].shape, w.tolist()
        ((2,), [1.0, 1.0])
    """
    if not data:
        raise ValueError(f"{what} has no columns; pass a dict of equal-length arrays")
    cols = {name: jnp.asarray(col) for name, col in data.items()}
    name0, col0 = next(iter(cols.items()))
    shape = col0.shape[:row_ndim]
    for name, col in cols.items():
        if col.ndim < row_ndim or col.shape[:row_ndim] != shape:
            raise ValueError(
                f"{what}[{name!r}] has shape {col.shape}, but {what}[{name0!r}] has leading "
                f"shape {shape}; all columns need the same {row_ndim} leading axes"
            )
    if 0 in shape:
        raise ValueError(f"{what} has no rows (shape {shape})")
    w = jnp.ones(shape, jnp.float32) if weight is None else jnp.asarray(weight, jnp.float32)
    if w.shape != shape:
        raise ValueError(f"weight of {what} has shape {w.shape}, the columns need {shape}")
    if not bool(jnp.all(jnp.isfinite(w) & (w >= 0))):
        raise ValueError(f"weight of {what} must be finite and non-negative")
    return cols, w


def initial_state(flat: jax.Array, opt_state: Any, key_data: Any) -> TrainState:
    """The state before the first epoch (``flat`` may have a leading member axis)."""
    members = flat.shape[:-1]
    return TrainState(
        epoch=0,
        flat=flat,
        opt_state=opt_state,
        key_data=np.asarray(key_data),
        history={},
        best_flat=flat,
        best_epoch=np.full(members, -1, np.int64),
        best_val=np.full(members, np.inf),
        bad_epochs=np.zeros(members, np.int64),
    )


def resume_state(state: TrainState, checkpointer: Checkpointer | None, resume: bool) -> TrainState:
    """``state``, or the latest checkpoint's when resuming (checked to match the run).

    Raises:
        ValueError: ``resume`` without a checkpointer, or a checkpoint of another seed.
    """
    if not resume:
        return state
    if checkpointer is None:
        raise ValueError("resume=True needs a checkpointer (Checkpointer(directory))")
    path = checkpointer.latest()
    if path is None:
        return state
    loaded = checkpointer.load(path, state)
    if not np.array_equal(loaded.key_data, state.key_data):
        raise ValueError(
            f"checkpoint {path} was written by a run with another seed; resume with the same "
            "seed or use another checkpoint directory"
        )
    return loaded


@dataclass(frozen=True)
class EpochLoop:
    """The compiled pieces and data of a run; ``order_fn(epoch)``: host-side row order.

    ``epoch_fn(flat, opt_state, rest, data, weight, order) -> (flat, opt_state, stats)`` and
    ``eval_fn(flat, rest, val_data, val_weight) -> stats`` are compiled once per run.
    """

    epoch_fn: Callable[..., Any]
    eval_fn: Callable[..., Any] | None
    order_fn: Callable[[int], np.ndarray]
    rest: Any
    data: dict[str, jax.Array]
    weight: jax.Array
    val_data: dict[str, jax.Array] | None = None
    val_weight: jax.Array | None = None


def _append(history: dict, prefix: str, stats: dict) -> dict:
    history = dict(history)
    for name, value in stats.items():
        value = np.asarray(value)[None]
        old = history.get(f"{prefix}_{name}")
        history[f"{prefix}_{name}"] = value if old is None else np.concatenate([old, value])
    return history


def track_best(loss, epoch: int, flat, best_val, best_flat, best_epoch, bad) -> tuple:
    """The best-so-far after an epoch with validation loss ``loss``: the patience bookkeeping.

    Where ``loss < best_val`` (per member, or one value for the whole ensemble), the epoch's
    ``flat`` (``(…, P)``) becomes the best vector, ``epoch`` the best epoch and ``loss`` the
    best loss, and the count ``bad`` of epochs without improvement restarts at 0; elsewhere
    ``bad`` grows by 1 (a NaN loss never improves). Shared by :func:`run_loop` and
    :func:`~hybridflux.training.episodes.fit_episodes`.

    Returns:
        ``(best_val, best_flat, best_epoch, bad)``.

    Example:
        >>> import numpy as np
        >>> out = track_best(np.array([1.0, 3.0]), 4, np.ones((2, 1)), np.array([2.0, 2.0]),
        ...                  np.zeros((2, 1)), np.array([0, 0]), np.array([0, 5]))
        >>> [np.asarray(v).tolist() for v in out]
        [[1.0, 2.0], [[1.0], [0.0]], [4, 0], [0, 6]]
    """
    better = loss < best_val
    best_flat = jnp.where(jnp.asarray(better)[..., None], flat, best_flat)
    return (
        np.where(better, loss, best_val),
        best_flat,
        np.where(better, epoch, best_epoch),
        np.where(better, 0, bad + 1),
    )


def _advance(state: TrainState, flat, opt_state, train: dict, val: dict | None) -> TrainState:
    """The state after one more epoch: history, best-so-far, epochs without improvement."""
    epoch = state.epoch
    history = _append(state.history, "train", train)
    if val is None:
        best_flat, best_epoch = flat, np.full_like(state.best_epoch, epoch)
        best_val, bad = state.best_val, np.zeros_like(state.bad_epochs)
    else:
        history = _append(history, "val", val)
        loss = np.asarray(val["loss"], np.float64)
        best_val, best_flat, best_epoch, bad = track_best(
            loss, epoch, flat, state.best_val, state.best_flat, state.best_epoch, state.bad_epochs
        )
    return TrainState(
        epoch + 1, flat, opt_state, state.key_data, history, best_flat, best_epoch, best_val, bad
    )


def _timing(epoch_s: list[float], started: float) -> dict[str, float]:
    later = epoch_s[1:] or epoch_s
    return {
        "first_epoch_s": epoch_s[0] if epoch_s else 0.0,
        "s_per_epoch": float(np.mean(later)) if later else 0.0,
        "total_s": time.perf_counter() - started,
    }


def _diverged_message(epoch: int, epochs: int, loss: Any) -> str:
    bad = np.flatnonzero(~np.isfinite(np.atleast_1d(loss)))
    members = f" (members {bad.tolist()})" if np.ndim(loss) else ""
    return (
        f"training diverged at epoch {epoch + 1}/{epochs}{members}: the loss or a parameter is "
        f"not finite (mean loss {np.asarray(loss).tolist()}). The result and checkpoint keep the "
        f"state after epoch {epoch}. Try a smaller learning rate or a warm-up schedule, "
        "optax.clip_by_global_norm, tighter bounds on the physics parameters, and check that "
        "the data hold no inf and that the objective masks NaN targets with the weight."
    )


def _epoch(
    loop: EpochLoop, state: TrainState, order: np.ndarray, next_epoch: int | None
) -> tuple[Any, dict, dict | None, np.ndarray | None]:
    """One epoch and its validation pass, with the next row order computed meanwhile.

    Returns ``((flat, opt_state), train, val, next_order)``; ``val`` is ``None`` without
    validation data or when the epoch is not finite; ``next_order`` is ``None`` when
    ``next_epoch`` is.
    """
    flat, opt_state, train = loop.epoch_fn(
        state.flat, state.opt_state, loop.rest, loop.data, loop.weight, order
    )
    val = None  # dispatched at once: XLA runs it after the epoch, without a round trip
    if loop.eval_fn is not None:
        val = loop.eval_fn(flat, loop.rest, loop.val_data, loop.val_weight)
    upcoming = None if next_epoch is None else loop.order_fn(next_epoch)  # while XLA runs
    train, val = jax.device_get((train, val))
    if val is not None and not np.all(train["finite"]):
        val = None  # evaluated on non-finite parameters: not part of the result
    return (flat, opt_state), train, val, upcoming


def run_loop(
    loop: EpochLoop,
    state: TrainState,
    finish: Callable[..., Any],
    *,
    epochs: int,
    patience: int,
    checkpointer: Checkpointer | None,
    progress: Progress | None,
) -> Any:
    """Run epochs ``state.epoch .. epochs-1``; ``finish(state, flat, stopped, timing)``.

    Raises:
        ValueError: ``patience`` without validation data.
        TrainingDiverged: a non-finite loss or parameter (the last finite state is saved).
    """
    if patience and loop.eval_fn is None:
        raise ValueError("early stopping (patience > 0) needs val_data")
    started, epoch_s, stopped, saved = time.perf_counter(), [], False, state.epoch
    order = loop.order_fn(state.epoch) if state.epoch < epochs else None
    if progress is not None:
        progress.start(epochs)
    try:
        for epoch in range(state.epoch, epochs):
            if patience and np.all(state.bad_epochs >= patience):
                stopped = True
                break
            t0, ahead = time.perf_counter(), epoch + 1 if epoch + 1 < epochs else None
            (flat, opt_state), train, val, order = _epoch(loop, state, order, ahead)
            if not np.all(train.pop("finite")):
                if checkpointer is not None and saved != state.epoch:
                    checkpointer.save(state)
                result = finish(state, state.flat, False, _timing(epoch_s, started))
                message = _diverged_message(epoch, epochs, train["loss"])
                raise TrainingDiverged(message, epoch=epoch, result=result)
            state = _advance(state, flat, opt_state, train, val)
            epoch_s.append(time.perf_counter() - t0)
            if checkpointer is not None and checkpointer.due(state.epoch):
                checkpointer.save(state)
                saved = state.epoch
            _report(progress, state.epoch, train, val)
    finally:
        if progress is not None:
            progress.close()
    if checkpointer is not None and saved != state.epoch:
        checkpointer.save(state)
    return finish(state, state.best_flat, stopped, _timing(epoch_s, started))


def _report(progress: Progress | None, epoch: int, train: dict, val: dict | None) -> None:
    if progress is not None:
        val_loss = None if val is None else float(np.mean(val["loss"]))
        progress.update(epoch, float(np.mean(train["loss"])), val_loss)
