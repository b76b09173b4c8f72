"""``fit``: train a model with optax on scan-fused epochs of a flat parameter vector.

A library function (STYLE rule 9): no file I/O, no config, no globals; checkpointing and
progress reporting are injected objects. The Python loop runs only over epochs
(:mod:`hybridflux.training.loop`): each epoch is one compiled call
(:mod:`hybridflux.training.epoch`, jitted once per model structure and data shapes), then early
stopping, checkpointing and progress happen between epochs (the next epoch's row order is
computed while the device runs the current one). The epoch's row order is computed on the host by
:class:`~hybridflux.training.rows.RowOrder` from ``(seed, epoch)`` alone, so a run resumed from
a checkpoint is bit-identical to an uninterrupted one.

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

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import optax

from hybridflux.hybrid.params import TRAIN_JOINT
from hybridflux.training.checkpoint import Checkpointer, TrainState
from hybridflux.training.epoch import Objective, RowOrder, make_evaluate, make_train_epoch
from hybridflux.training.flat import split_flat
from hybridflux.training.loop import EpochLoop as EpochLoop
from hybridflux.training.loop import TrainingDiverged as TrainingDiverged
from hybridflux.training.loop import initial_state as initial_state
from hybridflux.training.loop import prepare_data as prepare_data
from hybridflux.training.loop import resume_state as resume_state
from hybridflux.training.loop import run_loop as run_loop
from hybridflux.training.progress import Progress
from hybridflux.training.sharding import (
    compile_run,
    data_parallel,
    host_array,
    local_copy,
    place_state,
)

__all__ = ["FitResult", "TrainingDiverged", "fit"]


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
