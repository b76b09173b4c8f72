"""Many models in one program: seed ensembles and independent per-site models, by ``vmap``.

Both stack the members' flat vectors, optimizer states and fixed states along a leading member
axis and ``vmap`` the compiled epoch (:mod:`hybridflux.training.epoch`) over it, so N members
cost one compilation and one fused program, not N Python loops.

- :func:`fit_ensemble`: member ``i`` is ``make_model(seed + i)`` trained on the **same** data
  with its own row order ``RowOrder(...)(seed + i, epoch)`` — exactly what
  ``fit(make_model(seed + i), ..., seed=seed + i)`` does alone (equal up to float rounding of
  the batched matrix products).
- :func:`fit_sites`: data with a leading site axis ``(S, N)`` and an ``(S, N)`` weight mask for
  ragged records (0 = no record); site ``s`` trains its own model ``make_model(seed + s)`` on
  its own rows. Rows of weight 0 are sorted last, so a short record takes fewer steps per epoch
  instead of steps on empty batches.

With validation data each member keeps its own best epoch; early stopping stops when no member
has improved for ``patience`` epochs.

Example:
    >>> import jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> class Slope(nnx.Module):
    ...     def __init__(self, seed):
    ...         self.w = nnx.Param(jnp.array(float(seed)))
    ...     def __call__(self, batch):
    ...         return {"y": self.w[...] * batch["x"]}
    >>> def mse(out, batch, w):
    ...     return jnp.sum(w * (out["y"] - batch["y"]) ** 2) / jnp.sum(w), {}
    >>> x = jnp.linspace(0.0, 1.0, 16)
    >>> r = fit_ensemble(Slope, 3, {"x": x, "y": 2.0 * x}, optax.adam(0.1), objective=mse,
    ...                  epochs=40, batch_size=8)
    >>> [round(float(m.w[...]), 1) for m in r.models], r.history["train_loss"].shape
    ([2.0, 2.0, 2.0], (40, 3))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from hybridflux.hybrid.params import TRAIN_JOINT
from hybridflux.training.checkpoint import Checkpointer, TrainState
from hybridflux.training.epoch import Objective, RowOrder, make_evaluate, make_train_epoch
from hybridflux.training.fit import (
    EpochLoop,
    initial_state,
    prepare_data,
    resume_state,
    run_loop,
)
from hybridflux.training.flat import FlatModel, split_flat
from hybridflux.training.progress import Progress
from hybridflux.training.sharding import (
    compile_run,
    data_parallel,
    host_array,
    local_copy,
    place_state,
)

__all__ = ["EnsembleResult", "fit_ensemble", "fit_sites", "stack_members"]


def _signature(model: Any) -> list[tuple[tuple, tuple, Any]]:
    """(path, shape, dtype) of every variable: members must agree on it."""
    state = nnx.state(model)
    return [(p, jnp.shape(v), jnp.asarray(v).dtype) for p, v in nnx.to_flat_state(state)]


def stack_members(models: Sequence[Any], trainable: Any = TRAIN_JOINT) -> tuple:
    """Split models of one structure and stack them along a leading member axis.

    Args:
        models: ``nnx.Module`` instances of identical structure (e.g. different seeds).
        trainable: nnx filter of the trained variables.

    Returns:
        ``(flat_model, flats, rests)``: the first member's :class:`FlatModel`, the flat
        vectors ``(M, P)`` and the fixed states stacked along axis 0.

    Raises:
        ValueError: no models, or models whose variables differ in path, shape or dtype.

    Example:
        >>> from flax import nnx
        >>> fm, flats, rests = stack_members([nnx.Linear(2, 1, rngs=nnx.Rngs(s)) for s in (0, 1)])
        >>> flats.shape
        (2, 3)
    """
    if not models:
        raise ValueError("stack_members needs at least one model")
    reference = _signature(models[0])
    for i, model in enumerate(models[1:], start=1):
        if _signature(model) != reference:
            raise ValueError(
                f"member {i} ({type(model).__name__}) differs in structure from member 0; "
                "make_model(seed) must build the same architecture for every seed"
            )
    pieces = [split_flat(model, trainable) for model in models]
    flats = jnp.stack([flat for _, flat in pieces])
    rests = jax.tree.map(lambda *xs: jnp.stack(xs), *[fm.rest for fm, _ in pieces])
    return pieces[0][0], flats, rests


@dataclass(frozen=True)
class EnsembleResult:
    """What :func:`fit_ensemble` and :func:`fit_sites` return (arrays lead with members).

    Attributes:
        models: one new trained module per member (its best validation epoch, else its last).
        flat: the members' flat vectors, ``(M, P)``.
        rest: the members' fixed states, stacked.
        flat_model: structure shared by the members (for :meth:`predict`).
        opt_state: the stacked optimizer states after the last epoch.
        history: per-epoch arrays of shape ``(epochs, M)``.
        best_epoch: ``(M,)`` 0-based epoch of each member's returned parameters.
        stopped_early: whether early stopping ended training before ``epochs``.
        epochs_run: epochs completed.
        timing: as in :class:`~hybridflux.training.fit.FitResult`.
        data_axis: ``None`` (ensemble: shared data) or 0 (sites: data lead with members).

    Example:
        >>> EnsembleResult.__dataclass_fields__["data_axis"].type
        'int | None'
    """

    models: list[Any]
    flat: jax.Array
    rest: Any
    flat_model: FlatModel
    opt_state: Any
    history: dict[str, np.ndarray]
    best_epoch: np.ndarray
    stopped_early: bool
    epochs_run: int
    timing: dict[str, float]
    data_axis: int | None

    def predict(self, batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """All members' outputs in one vmapped call, each of shape ``(M, N)``.

        ``batch`` has columns ``(N,)`` for an ensemble and ``(S, N)`` for per-site models.

        Example:
            >>> import jax.numpy as jnp, optax
            >>> from flax import nnx
            >>> class C(nnx.Module):
            ...     def __init__(self, seed):
            ...         self.c = nnx.Param(jnp.array(float(seed)))
            ...     def __call__(self, batch):
            ...         return {"y": self.c[...] + 0 * batch["y"]}
            >>> obj = lambda out, b, w: (jnp.sum(w * (out["y"] - b["y"]) ** 2), {})
            >>> r = fit_ensemble(C, 2, {"y": jnp.ones(4)}, optax.sgd(0.0), objective=obj,
            ...                  epochs=1, batch_size=4)
            >>> r.predict({"y": jnp.zeros(3)})["y"].tolist()
            [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
        """
        apply = jax.vmap(self.flat_model.apply, in_axes=(0, self.data_axis, 0))
        return apply(self.flat, batch, self.rest)


def _row_orders(weight: Any, members: int, data_axis: int | None, batch_size: int) -> list:
    """One :class:`RowOrder` per member, all with the batches of the member that needs most."""
    weight = host_array(weight)
    weights = [weight] * members if data_axis is None else list(weight)
    n_batches = max(RowOrder(w, batch_size).n_batches for w in weights)
    return [RowOrder(w, batch_size, n_batches) for w in weights]


def _finisher(plan, flat_model, rest, n_members: int, data_axis: int | None) -> Callable:
    """``finish(state, flat, stopped, timing)`` of :func:`run_loop`: the members' models and
    the run's record as an :class:`EnsembleResult` (arrays copied back to this host)."""

    def finish(state: TrainState, flat: jax.Array, stopped: bool, timing: dict):
        flat, opt_state = local_copy(plan, (flat, state.opt_state))
        members = [jax.tree.map(lambda x, i=i: x[i], rest) for i in range(n_members)]
        return EnsembleResult(
            models=[flat_model.merge(flat[i], r) for i, r in enumerate(members)],
            flat=flat,
            rest=rest,
            flat_model=flat_model,
            opt_state=opt_state,
            history=dict(state.history),
            best_epoch=np.asarray(state.best_epoch),
            stopped_early=stopped,
            epochs_run=state.epoch,
            timing=timing,
            data_axis=data_axis,
        )

    return finish


def _fit_members(
    make_model: Callable[[int], Any],
    seeds: np.ndarray,
    data_axis: int | None,
    optimizer: optax.GradientTransformation,
    columns: tuple,
    *,
    objective: Objective,
    epochs: int,
    batch_size: int,
    trainable: Any,
    eval_chunk_size: int | None,
    **loop_options: Any,
) -> EnsembleResult:
    """Train the members of ``seeds`` together (vmap; see :func:`fit_ensemble`)."""
    data, weight, val_data, val_weight = columns
    plan = data_parallel(loop_options.pop("devices"), members=len(seeds))
    flat_model, flat, rest = stack_members([make_model(int(s)) for s in seeds], trainable)
    key_data = jax.random.key_data(jax.vmap(jax.random.key)(jnp.asarray(seeds)))
    state = initial_state(flat, jax.vmap(optimizer.init)(flat), key_data)
    checkpointer, resume = loop_options.pop("checkpointer"), loop_options.pop("resume")
    state = place_state(plan, resume_state(state, checkpointer, resume), members=True)
    orders = _row_orders(weight, len(seeds), data_axis, batch_size)
    guard = any(order.has_empty_batches for order in orders)
    epoch_fn = make_train_epoch(
        flat_model, objective, optimizer, batch_size, guard_empty_batches=guard
    )
    eval_fn = make_evaluate(flat_model, objective, eval_chunk_size)
    epoch_fn, eval_fn, arrays = compile_run(
        plan,
        jax.vmap(epoch_fn, in_axes=(0, 0, 0, data_axis, data_axis, 0)),
        None if val_data is None else jax.vmap(eval_fn, in_axes=(0, 0, data_axis, data_axis)),
        (len(seeds), orders[0].n_batches, batch_size),
        dict(rest=rest, data=data, weight=weight, val_data=val_data, val_weight=val_weight),
        members=True,
        data_axis=data_axis,
    )
    loop = EpochLoop(
        epoch_fn,
        eval_fn,
        lambda epoch: np.stack([o(s, epoch) for o, s in zip(orders, seeds, strict=True)]),
        **arrays,
    )

    finish = _finisher(plan, flat_model, rest, len(seeds), data_axis)
    return run_loop(loop, state, finish, epochs=epochs, checkpointer=checkpointer, **loop_options)


def fit_ensemble(
    make_model: Callable[[int], Any],
    n_members: int,
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
) -> EnsembleResult:
    """Train ``n_members`` models ``make_model(seed + i)`` on the same data, vmapped.

    Args:
        make_model: builds a member's ``nnx.Module`` from its seed (same structure for all).
        n_members: ensemble size.
        data, optimizer, objective, epochs, batch_size, trainable, weight, val_data,
        val_weight, patience, checkpointer, resume, progress, eval_chunk_size, devices: as in
            :func:`~hybridflux.training.fit.fit` (weights and data shared by all members).
            With several devices, ``gcd(n_members, devices)`` of them split the members and
            the rest split each batch's rows (:func:`~hybridflux.training.sharding.data_parallel`).
        seed: member ``i`` uses seed ``seed + i`` for its model and its permutations.

    Returns:
        An :class:`EnsembleResult`.

    Raises:
        TrainingDiverged: a member's loss became non-finite (the message names it).
        ValueError: as in ``fit``, or ``n_members`` < 1.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> from flax import nnx
        >>> make = lambda s: nnx.Linear(1, 1, rngs=nnx.Rngs(s))
        >>> class Wrap(nnx.Module):
        ...     def __init__(self, seed):
        ...         self.lin = make(seed)
        ...     def __call__(self, batch):
        ...         return {"y": self.lin(batch["x"][:, None])[:, 0]}
        >>> obj = lambda out, b, w: (jnp.sum(w * (out["y"] - b["y"]) ** 2) / jnp.sum(w), {})
        >>> x = jnp.linspace(-1.0, 1.0, 8)
        >>> r = fit_ensemble(Wrap, 2, {"x": x, "y": x}, optax.adam(0.05), objective=obj,
        ...                  epochs=3, batch_size=4, seed=7)
        >>> len(r.models), r.flat.shape
        (2, (2, 2))
    """
    if n_members < 1:
        raise ValueError(f"n_members must be at least 1, got {n_members}")
    data, weight = prepare_data(data, weight, "data")
    if val_data is not None:
        val_data, val_weight = prepare_data(val_data, val_weight, "val_data")
    return _fit_members(
        make_model,
        seed + np.arange(n_members),
        None,
        optimizer,
        (data, weight, val_data, val_weight),
        objective=objective,
        epochs=epochs,
        batch_size=batch_size,
        trainable=trainable,
        eval_chunk_size=eval_chunk_size,
        patience=patience,
        checkpointer=checkpointer,
        resume=resume,
        progress=progress,
        devices=devices,
    )


def fit_sites(
    make_model: Callable[[int], Any],
    data: dict[str, jax.Array],
    optimizer: optax.GradientTransformation,
    *,
    objective: Objective,
    epochs: int,
    batch_size: int,
    weight: jax.Array | None = None,
    seed: int = 0,
    trainable: Any = TRAIN_JOINT,
    val_data: dict[str, jax.Array] | None = None,
    val_weight: jax.Array | None = None,
    patience: int = 0,
    checkpointer: Checkpointer | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    eval_chunk_size: int | None = None,
    devices: int | None = None,
) -> EnsembleResult:
    """Train one independent model per site on ``(S, N)`` data, vmapped over sites.

    Args:
        make_model: builds site ``s``'s ``nnx.Module`` from the seed ``seed + s``.
        data: columns of shape ``(S, N)``: site ``s``'s record is row ``s``, padded to ``N``.
        weight: ``(S, N)`` row weights; 0 marks padding of ragged records (default: all 1).
        val_data: ``(S, N_val)`` validation columns, with ``val_weight`` ``(S, N_val)``.
        optimizer, objective, epochs, batch_size, trainable, patience, checkpointer, resume,
        progress, eval_chunk_size: as in :func:`~hybridflux.training.fit.fit`.
        devices: as in ``fit``; ``gcd(S, devices)`` devices split the sites (no
            communication), the rest each batch's rows.
        seed: site ``s`` uses seed ``seed + s`` for its model and its permutations.

    Returns:
        An :class:`EnsembleResult` with one member per site (``data_axis=0``).

    Raises:
        TrainingDiverged: a site's loss became non-finite (the message names it).
        ValueError: columns or weights without a common ``(S, N)`` shape.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> from flax import nnx
        >>> class C(nnx.Module):
        ...     def __init__(self, seed):
        ...         self.c = nnx.Param(jnp.zeros(()))
        ...     def __call__(self, batch):
        ...         return {"y": self.c[...] + 0 * batch["y"]}
        >>> obj = lambda out, b, w: (jnp.sum(w * (out["y"] - b["y"]) ** 2) / jnp.sum(w), {})
        >>> y = jnp.array([[1.0, 1.0, 1.0], [5.0, 5.0, jnp.nan]])
        >>> w = jnp.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])  # site 1 has 2 records
        >>> r = fit_sites(C, {"y": y}, optax.adam(0.2), objective=obj, epochs=150,
        ...               batch_size=2, weight=w)
        >>> [round(float(m.c[...]), 2) for m in r.models]
        [1.0, 5.0]
    """
    data, weight = prepare_data(data, weight, "data", row_ndim=2)
    if val_data is not None:
        val_data, val_weight = prepare_data(val_data, val_weight, "val_data", row_ndim=2)
    return _fit_members(
        make_model,
        seed + np.arange(weight.shape[0]),
        0,
        optimizer,
        (data, weight, val_data, val_weight),
        objective=objective,
        epochs=epochs,
        batch_size=batch_size,
        trainable=trainable,
        eval_chunk_size=eval_chunk_size,
        patience=patience,
        checkpointer=checkpointer,
        resume=resume,
        progress=progress,
        devices=devices,
    )
