"""One training epoch as one compiled function, and evaluation without update.

:func:`make_train_epoch` returns a pure function ``epoch(flat, opt_state, rest, data, weight,
order)`` that gathers the rows into batches in the order ``order`` (``(B, batch_size)`` row
indices; padding entries carry weight 0) and runs ``lax.scan`` over the batches: loss and
gradient on the flat vector (:mod:`hybridflux.training.flat`), then the optax update. Jit it
once (or ``vmap`` it first for ensembles); it does not retrace across epochs. The scan alone,
on batches gathered beforehand, is :func:`make_train_scan`.

The row order of an epoch comes from :class:`~hybridflux.training.rows.RowOrder`, computed on
the host (a numpy shuffle depending only on ``(seed, epoch)``), an ``int32`` array of the same
shape every epoch, so the compiled epoch never retraces (:mod:`hybridflux.training.rows`).

Contracts:

- ``model(batch) -> dict`` for a batch of ``(N,)`` columns (``(N, ...)`` also works);
- ``objective(outputs, batch, weight) -> (loss, aux)`` with ``weight`` of shape ``(N,)``
  (0 for padded rows), ``loss`` a scalar and ``aux`` a dict of scalars;
- rows of weight 0 have every column set to 0 before the model sees them, so NaN covariates in
  padded or ragged rows cannot poison gradients (``0 · NaN`` in a backward pass is NaN);
- a batch whose weights are all 0 makes no optimizer step (momentum would otherwise still move
  the parameters): :class:`RowOrder` leaves such batches out where it can, and the epoch guards
  against the rest (``guard_empty_batches``); the epoch's statistics are means over batches
  weighted by each batch's total weight.

Example:
    >>> import jax, jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> from hybridflux.training.flat import split_flat
    >>> class Slope(nnx.Module):
    ...     def __init__(self):
    ...         self.w = nnx.Param(jnp.zeros(()))
    ...     def __call__(self, batch):
    ...         return {"y": self.w[...] * batch["x"]}
    >>> def mse(out, batch, weight):
    ...     loss = jnp.sum(weight * (out["y"] - batch["y"]) ** 2) / jnp.sum(weight)
    ...     return loss, {}
    >>> flat_model, flat = split_flat(Slope())
    >>> opt = optax.sgd(0.1)
    >>> epoch = jax.jit(make_train_epoch(flat_model, mse, opt, batch_size=4))
    >>> x = jnp.linspace(0.0, 1.0, 10)
    >>> data, w = {"x": x, "y": 3.0 * x}, jnp.ones(10)
    >>> row_order, state = RowOrder(w, batch_size=4), opt.init(flat)
    >>> for e in range(200):
    ...     flat, state, stats = epoch(flat, state, flat_model.rest, data, w, row_order(0, e))
    >>> round(float(flat[0]), 3)
    3.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax

from hybridflux.training.feature_major import feature_major as _feature_major
from hybridflux.training.flat import FlatModel
from hybridflux.training.rows import RowOrder as RowOrder
from hybridflux.training.rows import _in_data_order, _zero_unweighted
from hybridflux.training.rows import weighted_batches as weighted_batches

__all__ = [
    "Objective",
    "RowOrder",
    "make_evaluate",
    "make_train_epoch",
    "make_train_scan",
    "weighted_batches",
]

Batch = Mapping[str, jax.Array]
#: ``objective(outputs, batch, weight) -> (scalar loss, dict of scalar diagnostics)``.
Objective = Callable[[dict, Batch, jax.Array], tuple[jax.Array, Mapping[str, jax.Array]]]


def _weighted_stats(loss: jax.Array, aux: Mapping[str, jax.Array], wsum: jax.Array) -> dict:
    """Means over batches weighted by batch weight; batches of weight 0 ignored."""
    total = jnp.sum(wsum)
    safe_total = jnp.where(total > 0, total, 1.0)

    def mean(values: jax.Array) -> jax.Array:
        values = jnp.where(wsum > 0, values, 0.0)
        return jnp.sum(values * wsum) / safe_total

    return {"loss": mean(loss), **{name: mean(value) for name, value in aux.items()}}


def _make_step(grad_fn: Callable, optimizer: Any, rest: Any, guard: bool) -> Callable:
    """The scan body: one optimizer step on one batch (skipped on an empty batch if ``guard``)."""

    def step(carry, xs):
        (flat, opt_state), (batch, w, wsum) = carry, xs
        (loss, aux), grads = grad_fn(flat, rest, batch, w)
        updates, new_state = optimizer.update(grads, opt_state, flat)
        new_flat = optax.apply_updates(flat, updates)
        if guard:  # keep the old state on empty batches: 10–30 % of a small model's epoch
            keep = lambda new, old: jnp.where(wsum > 0, new, old)  # noqa: E731
            new_flat, new_state = keep(new_flat, flat), jax.tree.map(keep, new_state, opt_state)
        return (new_flat, new_state), (loss, dict(aux))

    return step


def _step_loss(loss_fn: Callable, enabled: bool, flat, rest, batches, w) -> Callable:
    """``loss_fn`` of one batch, evaluated feature-major where that pays (narrow layers)."""
    if not enabled:
        return loss_fn
    one = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), (batches, w))
    return _feature_major(loss_fn, flat, rest, *one) or loss_fn


def make_train_scan(
    flat_model: FlatModel,
    objective: Objective,
    optimizer: optax.GradientTransformation,
    *,
    guard_empty_batches: bool = True,
    feature_major: bool = True,
) -> Callable[..., tuple[jax.Array, Any, dict[str, jax.Array]]]:
    """Build ``scan(flat, opt_state, rest, batches, weight)``: the steps of an epoch, no gather.

    One optimizer step per batch in a ``lax.scan`` over batches already cut by
    :func:`weighted_batches` (columns ``(B, batch_size, ...)``, weights ``(B, batch_size)``);
    :func:`make_train_epoch` is this scan after that gather. Arguments, ``stats``, the
    guard and ``feature_major`` are as in :func:`make_train_epoch`.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> from flax import nnx
        >>> from hybridflux.training.flat import split_flat
        >>> class Mean(nnx.Module):
        ...     def __init__(self):
        ...         self.m = nnx.Param(jnp.zeros(()))
        ...     def __call__(self, batch):
        ...         return {"y": self.m[...] + 0 * batch["y"]}
        >>> def mse(out, batch, w):
        ...     return jnp.sum(w * (out["y"] - batch["y"]) ** 2) / jnp.sum(w), {}
        >>> fm, flat = split_flat(Mean())
        >>> opt = optax.sgd(0.5)
        >>> batches, w = {"y": jnp.full((2, 3), 2.0)}, jnp.ones((2, 3))  # 2 batches of 3 rows
        >>> flat, _, stats = make_train_scan(fm, mse, opt)(flat, opt.init(flat), fm.rest,
        ...                                                batches, w)
        >>> float(flat[0]), float(stats["loss"])  # m: 0 -> 2 -> 2
        (2.0, 2.0)
    """

    def loss_fn(flat, rest, batch, weight):
        return objective(flat_model.apply(flat, batch, rest), batch, weight)

    def scan(flat, opt_state, rest, batches, w):
        one_batch = _step_loss(loss_fn, feature_major, flat, rest, batches, w)
        grad_fn = jax.value_and_grad(one_batch, has_aux=True)
        step = _make_step(grad_fn, optimizer, rest, guard_empty_batches)
        wsum = jnp.sum(w, axis=1)  # before the scan: summed per step it cost ~25 % on a CPU
        (flat, opt_state), (loss, aux) = jax.lax.scan(step, (flat, opt_state), (batches, w, wsum))
        stats = _weighted_stats(loss, aux, wsum)
        stats["finite"] = jnp.isfinite(stats["loss"]) & jnp.all(jnp.isfinite(flat))
        return flat, opt_state, stats

    return scan


def make_train_epoch(
    flat_model: FlatModel,
    objective: Objective,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    *,
    guard_empty_batches: bool = True,
    feature_major: bool = True,
) -> Callable[..., tuple[jax.Array, Any, dict[str, jax.Array]]]:
    """Build the pure epoch function ``epoch(flat, opt_state, rest, data, weight, order)``.

    ``order`` is the epoch's ``(B, batch_size)`` int32 row order from :class:`RowOrder` (same
    shape every epoch, so a jitted ``epoch`` traces once); ``weight`` the ``(N,)`` row weights.
    The epoch gathers the batches (:func:`weighted_batches`) and runs
    :func:`make_train_scan` over them.

    Args:
        flat_model: from :func:`~hybridflux.training.flat.split_flat`.
        objective: ``objective(outputs, batch, weight) -> (loss, aux)``.
        optimizer: any optax ``GradientTransformation`` (schedules included), initialised on
            the flat vector.
        batch_size: rows per optimizer step (the last axis of ``order``).
        guard_empty_batches: a batch whose weights are all 0 makes no optimizer step (default).
            ``False`` drops it, 10–30 % faster per epoch of a small model on a CPU; only
            for orders without such batches (``RowOrder.has_empty_batches`` is ``False``),
            otherwise Adam's momentum moves the parameters on empty batches.
        feature_major: evaluate the loss with narrow activations stored feature-major,
            ``(F, N)`` (:mod:`hybridflux.training.feature_major`), where the model's layers
            are narrow enough for it to pay (default; ~40 % less time per step for the
            issue-4 model on a CPU, same results up to float32 rounding); ``False`` keeps
            the model's own row-major layout.

    Returns:
        ``epoch`` returning ``(flat, opt_state, stats)``; ``stats`` holds ``"loss"`` (mean
        train loss of the epoch), the objective's aux means and ``"finite"`` (loss and all
        parameters finite).

    Raises:
        ValueError: ``batch_size`` < 1; when tracing, an ``order`` of another batch size.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> from flax import nnx
        >>> from hybridflux.training.flat import split_flat
        >>> class Mean(nnx.Module):
        ...     def __init__(self):
        ...         self.m = nnx.Param(jnp.zeros(()))
        ...     def __call__(self, batch):
        ...         return {"y": self.m[...] + 0 * batch["y"]}
        >>> def mse(out, batch, w):
        ...     sq = jnp.sum(w * (out["y"] - batch["y"]) ** 2) / jnp.sum(w)
        ...     return sq, {"rmse": jnp.sqrt(sq)}
        >>> flat_model, flat = split_flat(Mean())
        >>> opt = optax.adam(0.1)
        >>> epoch = jax.jit(make_train_epoch(flat_model, mse, opt, batch_size=3))
        >>> data, w = {"y": jnp.full(7, 2.0)}, jnp.ones(7)
        >>> flat, state, stats = epoch(flat, opt.init(flat), flat_model.rest, data, w,
        ...                            RowOrder(w, batch_size=3)(seed=0, epoch=0))
        >>> sorted(stats), bool(stats["finite"]), round(float(flat[0]), 2)
        (['finite', 'loss', 'rmse'], True, 0.3)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    scan = make_train_scan(
        flat_model,
        objective,
        optimizer,
        guard_empty_batches=guard_empty_batches,
        feature_major=feature_major,
    )

    def epoch(flat, opt_state, rest, data, weight, order):
        batches, w = weighted_batches(data, weight, _checked(order, batch_size))
        return scan(flat, opt_state, rest, batches, w)

    return epoch


def _checked(order: jax.Array, batch_size: int) -> jax.Array:
    """``order`` if it has shape ``(n_batches, batch_size)``, else a ``ValueError`` (tracing)."""
    if order.ndim != 2 or order.shape[1] != batch_size:
        raise ValueError(
            f"order has shape {order.shape}, the epoch needs (n_batches, {batch_size}); "
            f"make it with RowOrder(weight, batch_size={batch_size})"
        )
    return order


def make_evaluate(
    flat_model: FlatModel, objective: Objective, chunk_size: int | None = None
) -> Callable[..., dict[str, jax.Array]]:
    """Build ``evaluate(flat, rest, data, weight) -> stats``: the objective, no update.

    Args:
        flat_model: from :func:`~hybridflux.training.flat.split_flat`.
        objective: ``objective(outputs, batch, weight) -> (loss, aux)``.
        chunk_size: rows per chunk; ``None`` (default) evaluates all rows at once. With chunks
            the loss is the mean of chunk losses weighted by each chunk's total weight — exact
            for weighted-mean objectives (MSE), an approximation for others (RMSE, NSE).

    Returns:
        ``evaluate`` returning ``{"loss": ..., **aux}`` (scalars).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from hybridflux.training.flat import split_flat
        >>> class Const(nnx.Module):
        ...     def __init__(self):
        ...         self.c = nnx.Param(jnp.ones(()))
        ...     def __call__(self, batch):
        ...         return {"y": self.c[...] + 0 * batch["y"]}
        >>> def mse(out, batch, w):
        ...     return jnp.sum(w * (out["y"] - batch["y"]) ** 2) / jnp.sum(w), {}
        >>> fm, flat = split_flat(Const())
        >>> data, w = {"y": jnp.array([1.0, 3.0, 1.0])}, jnp.ones(3)
        >>> float(make_evaluate(fm, mse, chunk_size=2)(flat, fm.rest, data, w)["loss"])
        1.3333333730697632
    """

    def evaluate_rows(flat, rest, batch, weight):
        batch = _zero_unweighted(batch, weight)
        loss, aux = objective(flat_model.apply(flat, batch, rest), batch, weight)
        return loss, dict(aux), jnp.sum(weight)

    def evaluate(flat, rest, data, weight):
        if chunk_size is None or weight.shape[0] <= chunk_size:
            loss, aux, _ = evaluate_rows(flat, rest, data, weight)
            return {"loss": loss, **aux}
        chunks = weighted_batches(data, weight, _in_data_order(weight.shape[0], chunk_size))
        loss, aux, wsum = jax.lax.map(lambda xs: evaluate_rows(flat, rest, *xs), chunks)
        return _weighted_stats(loss, aux, wsum)

    return evaluate
