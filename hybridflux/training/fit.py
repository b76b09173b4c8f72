"""``fit``: train a model with optax on scan-fused epochs of a flat parameter vector.

A library function (STYLE rule 9): no file I/O, no config, no globals; checkpointing and
progress reporting are injected objects. The Python loop runs only over epochs: each epoch is
one compiled call (:mod:`hybridflux.training.epoch`, jitted once per model structure and data
shapes), then early stopping, checkpointing and progress happen between epochs. The epoch's row
order is computed on the host by :class:`~hybridflux.training.epoch.RowOrder` from ``(seed,
epoch)`` alone, so a run resumed from a checkpoint is bit-identical to an uninterrupted one.

Example:
    >>> import jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> class Slope(nnx.Module):
    ...     def __init__(self):
    ...         self.w = nnx.Param(jnp.zeros(()))
    ...     def __call__(self, batch):
    ...         return {"y": self.w[...] * batch["x"]}
    >>> def mse(out, batch, w):
    ...     return jnp.sum(w * (out["y"] - batch["y"]) ** 2) / jnp.sum(w), {}
    >>> x = jnp.linspace(0.0, 1.0, 32)
    >>> result = fit(Slope(), {"x": x, "y": 2.0 * x}, optax.adam(0.1), objective=mse,
    ...              epochs=30, batch_size=8)
    >>> round(float(result.model.w[...]), 2), result.history["train_loss"].shape
    (2.0, (30,))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hybridflux.hybrid.params import TRAIN_JOINT
from hybridflux.training.checkpoint import Checkpointer, TrainState
from hybridflux.training.epoch import Objective, RowOrder, make_evaluate, make_train_epoch
from hybridflux.training.flat import split_flat
from hybridflux.training.progress import Progress
from hybridflux.training.sharding import (
    compile_run,
    data_parallel,
    host_array,
    local_copy,
    place_state,
)

__all__ = ["FitResult", "TrainingDiverged", "fit"]


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


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        model: a new trained module (the best validation epoch's parameters when validation
            data were given, else the last epoch's); the input model is not changed.
        flat: the flat trainable vector of ``model``.
        opt_state: the optimizer state after the last epoch run.
        history: per-epoch arrays ``"train_loss"``, ``"val_loss"`` and ``"train_<aux>"``,
            ``"val_<aux>"`` for the objective's diagnostics.
        best_epoch: 0-based index (into ``history``) of the returned parameters' epoch.
        stopped_early: whether early stopping ended training before ``epochs``.
        epochs_run: epochs completed (including those before a resume).
        timing: ``first_epoch_s`` (includes compilation), ``s_per_epoch`` (later epochs),
            ``total_s`` (this call).

    Example:
        >>> FitResult.__dataclass_fields__["best_epoch"].type
        'int'
    """

    model: Any
    flat: jax.Array
    opt_state: Any
    history: dict[str, np.ndarray]
    best_epoch: int
    stopped_early: bool
    epochs_run: int
    timing: dict[str, float]


def fit(
    model: Any,
    data: dict[str, jax.Array],
    optimizer: optax.GradientTransformation,
    *,
    objective: Objective,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    trainable: Any = TRAIN_JOINT,
    weight: jax.Array | None = None,
    val_data: dict[str, jax.Array] | None = None,
    val_weight: jax.Array | None = None,
    patience: int = 0,
    checkpointer: Checkpointer | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    eval_chunk_size: int | None = None,
    devices: int | None = None,
) -> FitResult:
    """Train the variables of ``model`` selected by ``trainable`` on ``data``.

    Args:
        model: an ``nnx.Module`` mapping a batch (dict of ``(N,)`` columns) to an output dict.
            It is split, not mutated; the trained model is ``result.model``.
        data: columns of equal length ``N`` (covariates, drivers, targets; targets may hold NaN
            for the objective to mask).
        optimizer: any optax ``GradientTransformation``; learning-rate schedules are part of it.
        objective: ``objective(outputs, batch, weight) -> (loss, aux)``.
        epochs: total number of epochs (including those done before a resume).
        batch_size: rows per optimizer step; the last batch is padded with weight 0.
        seed: epoch ``e`` shuffles the rows with ``np.random.default_rng([seed, e])``
            (:class:`~hybridflux.training.epoch.RowOrder`).
        trainable: nnx filter of the trained variables (``TRAIN_JOINT``, ``TRAIN_NETWORKS``,
            ``TRAIN_PHYSICS``); the rest stays bit-identical.
        weight: ``(N,)`` non-negative row weights (default 1); rows of weight 0 are ignored.
        val_data: validation columns; enables best-epoch selection and early stopping.
        val_weight: ``(N_val,)`` weights of ``val_data`` (default 1).
        patience: stop after this many epochs without a lower validation loss (0: never).
        checkpointer: saves the state every ``checkpointer.every`` epochs and at the end.
        resume: continue from ``checkpointer.latest()`` (same model, data, optimizer, seed).
        progress: a :class:`~hybridflux.training.progress.Progress` (e.g. ``RichProgress()``).
        eval_chunk_size: rows per chunk of the validation pass (``None``: all at once).
        devices: train data-parallel on this many devices (``None``: all visible devices);
            each batch's rows are split over them, parameters replicated
            (:mod:`~hybridflux.training.sharding`). Same result as one device up to float
            rounding. Data may be global arrays from
            :func:`~hybridflux.training.sharding.global_rows` (several hosts).

    Returns:
        A :class:`FitResult`.

    Raises:
        TrainingDiverged: a non-finite loss or parameter; ``err.result`` holds the last finite
            state (also saved by the checkpointer).
        ValueError: inconsistent data, ``patience`` without ``val_data``, ``resume`` without a
            checkpointer or with a checkpoint of another run.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> from flax import nnx
        >>> from hybridflux.hybrid.params import TRAIN_PHYSICS, PhysicsParam
        >>> class Q(nnx.Module):
        ...     def __init__(self):
        ...         self.q = PhysicsParam(jnp.array(1.0))
        ...     def __call__(self, batch):
        ...         return {"y": self.q[...] ** (batch["t"] / 10)}
        >>> def mse(out, batch, w):
        ...     return jnp.sum(w * (out["y"] - batch["y"]) ** 2) / jnp.sum(w), {}
        >>> t = jnp.linspace(-10.0, 10.0, 64)
        >>> r = fit(Q(), {"t": t, "y": 2.0 ** (t / 10)}, optax.adam(0.05), objective=mse,
        ...         epochs=60, batch_size=16, trainable=TRAIN_PHYSICS)
        >>> round(float(r.model.q[...]), 2)
        2.0
    """
    data, weight = prepare_data(data, weight, "data")
    if val_data is not None:
        val_data, val_weight = prepare_data(val_data, val_weight, "val_data")
    plan = data_parallel(devices)
    flat_model, flat = split_flat(model, trainable)
    key_data = jax.random.key_data(jax.random.key(seed))  # identifies the seed in checkpoints
    state = initial_state(flat, optimizer.init(flat), key_data)
    state = place_state(plan, resume_state(state, checkpointer, resume))
    row_order = RowOrder(host_array(weight), batch_size)  # no empty batch unless all weights 0
    guard = {"guard_empty_batches": row_order.has_empty_batches}
    epoch_fn, eval_fn, arrays = compile_run(
        plan,
        make_train_epoch(flat_model, objective, optimizer, batch_size, **guard),
        None if val_data is None else make_evaluate(flat_model, objective, eval_chunk_size),
        (row_order.n_batches, batch_size),
        dict(rest=flat_model.rest, data=data, weight=weight, val_data=val_data,
             val_weight=val_weight),
    )  # fmt: skip
    loop = EpochLoop(epoch_fn, eval_fn, lambda epoch: row_order(seed, epoch), **arrays)

    def finish(state: TrainState, flat: jax.Array, stopped: bool, timing: dict) -> FitResult:
        flat, opt_state = local_copy(plan, (flat, state.opt_state))
        return FitResult(
            model=flat_model.merge(flat),
            flat=flat,
            opt_state=opt_state,
            history=dict(state.history),
            best_epoch=int(state.best_epoch),
            stopped_early=stopped,
            epochs_run=state.epoch,
            timing=timing,
        )

    return run_loop(
        loop,
        state,
        finish,
        epochs=epochs,
        patience=patience,
        checkpointer=checkpointer,
        progress=progress,
    )


# --- The epoch loop, shared with ``ensemble.py`` (arrays may carry a leading member axis) ---


def prepare_data(
    data: Mapping[str, Any], weight: Any, what: str, row_ndim: int = 1
) -> tuple[dict[str, jax.Array], jax.Array]:
    """Columns as arrays with equal leading shape (rows, or sites × rows) and float weights.

    Raises:
        ValueError: no columns, unequal shapes, no rows, or weights negative/non-finite.
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
    """``state``, or the latest checkpoint's when resuming (checked to match the run)."""
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
    """The compiled pieces and data of a run; ``order_fn(epoch)``: host-side row order."""

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
        better = loss < state.best_val
        best_flat = jnp.where(jnp.asarray(better)[..., None], flat, state.best_flat)
        best_epoch = np.where(better, epoch, state.best_epoch)
        best_val = np.where(better, loss, state.best_val)
        bad = np.where(better, 0, state.bad_epochs + 1)
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


def _epoch(loop: EpochLoop, state: TrainState, epoch: int) -> tuple[Any, dict, dict | None]:
    """One compiled epoch and the validation pass: ``(flat, opt_state), train, val``."""
    flat, opt_state, train = loop.epoch_fn(
        state.flat, state.opt_state, loop.rest, loop.data, loop.weight, loop.order_fn(epoch)
    )
    train = jax.device_get(train)
    val = None
    if loop.eval_fn is not None and np.all(train["finite"]):
        val = jax.device_get(loop.eval_fn(flat, loop.rest, loop.val_data, loop.val_weight))
    return (flat, opt_state), train, val


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
    """Run epochs ``state.epoch .. epochs-1``; ``finish(state, flat, stopped, timing)``."""
    if patience and loop.eval_fn is None:
        raise ValueError("early stopping (patience > 0) needs val_data")
    started, epoch_s, stopped, saved = time.perf_counter(), [], False, state.epoch
    if progress is not None:
        progress.start(epochs)
    try:
        for epoch in range(state.epoch, epochs):
            if patience and np.all(state.bad_epochs >= patience):
                stopped = True
                break
            t0 = time.perf_counter()
            (flat, opt_state), train, val = _epoch(loop, state, epoch)
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
            if progress is not None:
                val_loss = None if val is None else float(np.mean(val["loss"]))
                progress.update(state.epoch, float(np.mean(train["loss"])), val_loss)
    finally:
        if progress is not None:
            progress.close()
    if checkpointer is not None and saved != state.epoch:
        checkpointer.save(state)
    return finish(state, state.best_flat, stopped, _timing(epoch_s, started))
