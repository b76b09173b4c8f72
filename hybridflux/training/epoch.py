"""One training epoch as one compiled function, and evaluation without update.

:func:`make_train_epoch` returns a pure function ``epoch(flat, opt_state, rest, data, weight,
order)`` that gathers the rows into batches in the order ``order`` (``(B, batch_size)`` row
indices; padding entries carry weight 0) and runs ``lax.scan`` over the batches: loss and
gradient on the flat vector (:mod:`hybridflux.training.flat`), then the optax update. Jit it
once (or ``vmap`` it first for ensembles); it does not retrace across epochs.

The row order of an epoch comes from :class:`RowOrder`, on the host with numpy: a permutation
of the weighted rows from ``np.random.default_rng([seed, epoch])`` (a Fisher–Yates shuffle,
~3 ms for 245k rows), then the rows of weight 0, then padding. It is an ``int32`` array of the
same shape every epoch, so the compiled epoch never retraces; it depends only on ``(seed,
epoch)``, so a resumed run replays the same permutations. (A device-side
``jax.random.permutation`` plus the sort that puts weight-0 rows last cost ~0.13 s per epoch on
a 2-core CPU — XLA's CPU sort — about 90 % of the epoch of the benchmark model.)

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
import numpy as np
import optax

from hybridflux.training.flat import FlatModel

__all__ = ["Objective", "RowOrder", "make_train_epoch", "make_evaluate", "weighted_batches"]

Batch = Mapping[str, jax.Array]
#: ``objective(outputs, batch, weight) -> (scalar loss, dict of scalar diagnostics)``.
Objective = Callable[[dict, Batch, jax.Array], tuple[jax.Array, Mapping[str, jax.Array]]]


def _zero_unweighted(batch: Batch, weight: jax.Array) -> dict[str, jax.Array]:
    """Columns with rows of weight 0 set to 0 (``weight`` broadcast over trailing axes)."""

    def mask(col: jax.Array) -> jax.Array:
        keep = (weight > 0).reshape(weight.shape + (1,) * (col.ndim - weight.ndim))
        return jnp.where(keep, col, jnp.zeros((), col.dtype))

    return {name: mask(col) for name, col in batch.items()}


class RowOrder:
    """The row order of each epoch, computed on the host: ``row_order(seed, epoch)``.

    Weighted rows come first in the order of ``np.random.default_rng([seed, epoch])
    .permutation`` of them, then rows of weight 0 (in data order), then padding entries ``N``,
    filling ``n_batches`` batches. By default ``n_batches`` is the number of batches the weighted
    rows need (at least 1): batches of weight-0 rows only are left out, as they would make no
    step. The result depends only on ``(seed, epoch)`` and the weights: the same seed gives the
    same order in epoch ``e`` whether or not the run was resumed. Negative seeds are taken
    modulo 2**64.

    Args:
        weight: ``(N,)`` row weights (only ``weight > 0`` matters).
        batch_size: rows per batch.
        n_batches: batches per epoch (default: as many as the weighted rows need); members of a
            ``vmap`` (sites with ragged records) need a common one.

    Attributes:
        n_batches: batches per epoch; the order has shape ``(n_batches, batch_size)``.
        has_empty_batches: whether some batch holds no weighted row (then the epoch needs its
            guard against steps on empty batches, see :func:`make_train_epoch`).

    Raises:
        ValueError: ``weight`` not 1-D, ``batch_size`` < 1, or ``n_batches`` too small for the
            weighted rows.

    Example:
        >>> import numpy as np
        >>> order = RowOrder(np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0]), batch_size=3)
        >>> o = order(seed=0, epoch=3)
        >>> o.shape, o.dtype, sorted(o.ravel()[:4].tolist()), o.ravel()[4:].tolist()
        ((2, 3), dtype('int32'), [0, 2, 3, 5], [1, 4])
        >>> RowOrder(np.ones(7), 3, n_batches=4)(0, 3).ravel()[7:].tolist()  # padding: N = 7
        [7, 7, 7, 7, 7]
        >>> shuffle = RowOrder(np.ones(100), batch_size=10)  # 100! orders: no chance repeats
        >>> same, other = shuffle(0, 3), shuffle(0, 4)
        >>> np.array_equal(shuffle(0, 3), same), np.array_equal(same, other)
        (True, False)
    """

    def __init__(self, weight: Any, batch_size: int, n_batches: int | None = None) -> None:
        positive = np.asarray(weight) > 0
        if positive.ndim != 1 or batch_size < 1:
            raise ValueError(
                f"RowOrder needs 1-D weights and batch_size >= 1, got weights of shape "
                f"{positive.shape} and batch_size {batch_size}"
            )
        n, n_weighted = positive.shape[0], int(np.count_nonzero(positive))
        needed = max(1, -(-n_weighted // batch_size))
        n_batches = needed if n_batches is None else n_batches
        if n_batches < needed:
            raise ValueError(f"{n_weighted} weighted rows need {needed} batches, got {n_batches}")
        self.n_batches, self.batch_size = n_batches, batch_size
        self.has_empty_batches = (n_batches - 1) * batch_size >= n_weighted
        self._weighted = np.flatnonzero(positive).astype(np.int32)
        tail = n_batches * batch_size - n_weighted
        padding = np.full(max(0, tail - (n - n_weighted)), n)
        self._tail = np.concatenate([np.flatnonzero(~positive), padding])[:tail].astype(np.int32)

    def __call__(self, seed: int, epoch: int) -> np.ndarray:
        """``int32`` row indices of shape ``(n_batches, batch_size)`` (``N`` = padding)."""
        rng = np.random.default_rng([int(seed) % 2**64, int(epoch)])
        order = np.concatenate([rng.permutation(self._weighted), self._tail])
        return order.reshape(self.n_batches, self.batch_size)


def weighted_batches(
    data: Batch, weight: jax.Array, order: jax.Array
) -> tuple[dict[str, jax.Array], jax.Array]:
    """Rows of ``data`` in the order ``order``, cut into batches; padding has weight 0.

    Args:
        data: columns with ``N`` rows.
        weight: ``(N,)`` row weights; rows of weight 0 are zeroed in every column.
        order: ``(B, batch_size)`` integer row indices (from :class:`RowOrder`); entries
            ``>= N`` are padding (weight 0, columns 0).

    Returns:
        ``(batches, weights)``: columns of shape ``(B, batch_size, ...)`` and weights
        ``(B, batch_size)``.

    Example:
        >>> import jax.numpy as jnp
        >>> order = jnp.array([[4, 0], [2, 1], [3, 5]])
        >>> b, w = weighted_batches({"x": jnp.arange(5.0)}, jnp.ones(5), order)
        >>> b["x"].tolist(), w.tolist()
        ([[4.0, 0.0], [2.0, 1.0], [3.0, 0.0]], [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    """
    w = jnp.take(weight, order, mode="fill", fill_value=0)
    batches = {name: jnp.take(col, order, axis=0, mode="clip") for name, col in data.items()}
    return _zero_unweighted(batches, w), w


def _in_data_order(n: int, batch_size: int) -> jax.Array:
    """The identity order, padded: ``(ceil(n / batch_size), batch_size)`` indices."""
    n_batches = -(-n // batch_size)
    return jnp.arange(n_batches * batch_size, dtype=jnp.int32).reshape(n_batches, batch_size)


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


def make_train_epoch(
    flat_model: FlatModel,
    objective: Objective,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    *,
    guard_empty_batches: bool = True,
) -> Callable[..., tuple[jax.Array, Any, dict[str, jax.Array]]]:
    """Build the pure epoch function ``epoch(flat, opt_state, rest, data, weight, order)``.

    ``order`` is the epoch's ``(B, batch_size)`` int32 row order from :class:`RowOrder` (same
    shape every epoch, so a jitted ``epoch`` traces once); ``weight`` the ``(N,)`` row weights.

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

    def loss_fn(flat, rest, batch, weight):
        return objective(flat_model.apply(flat, batch, rest), batch, weight)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def epoch(flat, opt_state, rest, data, weight, order):
        if order.ndim != 2 or order.shape[1] != batch_size:
            raise ValueError(
                f"order has shape {order.shape}, the epoch needs (n_batches, {batch_size}); "
                f"make it with RowOrder(weight, batch_size={batch_size})"
            )
        step = _make_step(grad_fn, optimizer, rest, guard_empty_batches)
        batches, w = weighted_batches(data, weight, order)
        wsum = jnp.sum(w, axis=1)  # before the scan: summed per step it cost ~25 % on a CPU
        (flat, opt_state), (loss, aux) = jax.lax.scan(step, (flat, opt_state), (batches, w, wsum))
        stats = _weighted_stats(loss, aux, wsum)
        stats["finite"] = jnp.isfinite(stats["loss"]) & jnp.all(jnp.isfinite(flat))
        return flat, opt_state, stats

    return epoch


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
