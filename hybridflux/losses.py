"""Masked, NaN-safe losses and carbon-balance constraint terms, combined by :class:`Objective`.

Every loss reduces to a **weighted mean over valid rows**, with the row weight
``w_i = m_i · weight_i``: ``m_i`` is 1 where the observation is finite and the optional mask is
true, ``weight_i`` is the optional row weight (the training engine pads batches with weight 0).
Invalid observations enter only through the double-``where`` pattern, so the gradient is finite
where observations are NaN (STYLE rule 7; optax ``safe_norm``). A batch without valid rows
gives the loss 0.

Constraint terms (carbon balance, tolerance hinges) live in :mod:`hybridflux.constraints`.

Example:
    >>> import jax.numpy as jnp
    >>> obs = jnp.array([1.0, jnp.nan, 3.0])
    >>> float(masked_mse(jnp.array([2.0, 0.0, 3.0]), obs))
    0.5
    >>> from hybridflux.constraints import FluxBalance
    >>> objective = Objective({"NEE": "NEE_VUT_REF"}, constraints=[FluxBalance(0.1)])
    >>> out = {"NEE": jnp.array([-1.0]), "RECO": jnp.array([2.0]), "GPP": jnp.array([3.0])}
    >>> loss, aux = objective(out, {"NEE_VUT_REF": jnp.array([-2.0])})
    >>> float(loss), sorted(aux)
    (1.0, ['constraint/flux_balance', 'target/NEE'])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

__all__ = [
    "LossFn",
    "masked_mse",
    "masked_huber",
    "masked_nse",
    "weighted_mean",
    "require_output",
    "Objective",
]

#: ``loss(pred, obs, mask=None, weight=None) -> scalar``.
LossFn = Callable[..., jax.Array]
#: ``constraint(outputs, batch, weight) -> scalar`` penalty with attributes ``weight``, ``name``.
ConstraintFn = Callable[..., jax.Array]


def require_output(outputs: Mapping[str, jax.Array], key: str, who: str) -> jax.Array:
    """``outputs[key]``, or a KeyError naming who needs it and what the model gave.

    Example:
        >>> require_output({"NEE": 1.0}, "NEE", "Objective")
        1.0
    """
    if key not in outputs:
        raise KeyError(f"{who} needs the model output {key!r}; the model gave {sorted(outputs)}.")
    return outputs[key]


def _valid_weight(obs, mask, weight) -> tuple[jax.Array, jax.Array]:
    """``(valid, w)``: rows with finite obs (and mask), and their weights (0 elsewhere)."""
    obs = jnp.asarray(obs)
    valid = jnp.isfinite(obs)
    if mask is not None:
        valid = valid & jnp.asarray(mask).astype(bool)
    w = jnp.ones_like(obs) if weight is None else jnp.asarray(weight, dtype=obs.dtype)
    return valid, jnp.where(valid, w, 0.0)


def weighted_mean(values: ArrayLike, w: ArrayLike) -> jax.Array:
    """``Σ w_i·v_i / Σ w_i``, 0 when ``Σ w_i = 0``; rows with ``w_i = 0`` may hold NaN.

    Args:
        values: per-row values, any units.
        w: non-negative row weights, same shape.

    Returns:
        The scalar weighted mean, units of ``values``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(weighted_mean(jnp.array([1.0, jnp.nan, 4.0]), jnp.array([1.0, 0.0, 2.0])))
        3.0
    """
    w = jnp.asarray(w)
    total = jnp.sum(w)
    values = jnp.where(w > 0, jnp.asarray(values), 0.0)
    return jnp.where(total > 0, jnp.sum(w * values) / jnp.where(total > 0, total, 1.0), 0.0)


def _residual(pred, obs, valid) -> jax.Array:
    """``pred − obs`` on valid rows, 0 elsewhere, with NaN obs kept out of the gradient."""
    return jnp.where(valid, jnp.asarray(pred) - jnp.where(valid, obs, 0.0), 0.0)


def masked_mse(
    pred: ArrayLike, obs: ArrayLike, mask: ArrayLike | None = None, weight: ArrayLike | None = None
) -> jax.Array:
    """Masked mean squared error ``Σ w_i (ŷ_i − y_i)² / Σ w_i``.

    Args:
        pred: predictions ŷ, ``(N,)``, units of the target.
        obs: observations y, ``(N,)``; NaN rows are excluded.
        mask: optional ``(N,)`` boolean (or 0/1), False rows are excluded.
        weight: optional ``(N,)`` non-negative row weights.

    Returns:
        Scalar, units of the target squared.

    Example:
        >>> import jax.numpy as jnp
        >>> float(masked_mse(jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0]), mask=[True, False]))
        1.0
    """
    valid, w = _valid_weight(obs, mask, weight)
    return weighted_mean(_residual(pred, obs, valid) ** 2, w)


def masked_huber(
    pred: ArrayLike,
    obs: ArrayLike,
    mask: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    *,
    delta: float = 1.0,
) -> jax.Array:
    """Masked Huber loss: ``½r²`` for ``|r| ≤ δ``, ``δ(|r| − ½δ)`` beyond, weighted mean.

    Args:
        pred: predictions, ``(N,)``.
        obs: observations, ``(N,)``; NaN rows are excluded.
        mask: optional ``(N,)`` boolean mask.
        weight: optional ``(N,)`` row weights.
        delta: δ > 0, units of the target.

    Returns:
        Scalar, units of the target squared.

    Reference:
        Huber (1964), Ann. Math. Statist. 35, 73–101.

    Example:
        >>> import jax.numpy as jnp
        >>> float(masked_huber(jnp.array([0.5, 3.0]), jnp.zeros(2), delta=1.0))
        1.3125
    """
    valid, w = _valid_weight(obs, mask, weight)
    r = jnp.abs(_residual(pred, obs, valid))
    quadratic = jnp.minimum(r, delta)
    return weighted_mean(0.5 * quadratic**2 + delta * (r - quadratic), w)


def masked_nse(
    pred: ArrayLike, obs: ArrayLike, mask: ArrayLike | None = None, weight: ArrayLike | None = None
) -> jax.Array:
    """``1 − NSE = Σ w_i (ŷ_i − y_i)² / Σ w_i (y_i − ȳ_w)²`` (0 is perfect, 1 = the mean).

    ȳ_w is the weighted mean of the valid observations. Where their weighted variance is zero
    (no rows, or a constant target) the loss is 0.

    Args:
        pred: predictions, ``(N,)``.
        obs: observations, ``(N,)``; NaN rows are excluded.
        mask: optional ``(N,)`` boolean mask.
        weight: optional ``(N,)`` row weights.

    Returns:
        Dimensionless scalar ≥ 0.

    Reference:
        Nash & Sutcliffe (1970), J. Hydrol. 10, 282–290.

    Example:
        >>> import jax.numpy as jnp
        >>> float(masked_nse(jnp.array([2.0, 2.0]), jnp.array([1.0, 3.0])))
        1.0
    """
    valid, w = _valid_weight(obs, mask, weight)
    safe_obs = jnp.where(valid, obs, 0.0)
    centred = jnp.where(valid, safe_obs - weighted_mean(safe_obs, w), 0.0)
    num, den = weighted_mean(_residual(pred, obs, valid) ** 2, w), weighted_mean(centred**2, w)
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)


class Objective:
    """The training objective: data terms on named targets plus weighted constraint terms.

    ``loss = Σ_k α_k · L_k(outputs[k], batch[column_k]) + Σ_c λ_c · P_c(outputs, batch)``

    Args:
        targets: model output → batch column of its observations, e.g.
            ``{"NEE": "NEE_VUT_REF"}``; a list of names means output and column are alike.
        loss: data loss for all targets, or output → loss (others get :func:`masked_mse`); a loss is
            ``loss(pred, obs, mask=None, weight=None)`` (e.g. :func:`masked_mse`,
            ``functools.partial(masked_huber, delta=0.5)``).
        constraints: constraint terms (:class:`FluxBalance`, :class:`PoolMassBalance`,
            :class:`ToleranceHinge`), each with its weight λ and a unique ``name``.
        target_weights: output → α (default 1 each).
        masks: output → batch column of a boolean/0-1 mask (e.g. a QC filter).

    Example:
        >>> import jax.numpy as jnp
        >>> obj = Objective(["RECO"], loss=masked_mse)
        >>> loss, aux = obj({"RECO": jnp.array([1.0, 2.0])},
        ...                 {"RECO": jnp.array([1.0, jnp.nan])})
        >>> float(loss), obj.columns
        (0.0, ('RECO',))
    """

    def __init__(
        self,
        targets: Mapping[str, str] | Sequence[str],
        loss: LossFn | Mapping[str, LossFn] = masked_mse,
        constraints: Sequence[ConstraintFn] = (),
        target_weights: Mapping[str, float] | None = None,
        masks: Mapping[str, str] | None = None,
    ):
        if isinstance(targets, str):
            raise TypeError(f"targets must be a mapping or a list of names, got {targets!r}.")
        pairs = dict(targets) if isinstance(targets, Mapping) else {t: t for t in targets}
        losses = dict(loss) if isinstance(loss, Mapping) else dict.fromkeys(pairs, loss)
        weights, masks = dict(target_weights or {}), dict(masks or {})
        for what, keys in (("loss", losses), ("target_weights", weights), ("masks", masks)):
            unknown = set(keys) - set(pairs)
            if unknown:
                raise ValueError(f"{what} names {sorted(unknown)}, which are not targets.")
        names = [c.name for c in constraints]
        if len(set(names)) != len(names):
            raise ValueError(f"Constraint names must be unique, got {names}.")
        self.targets: dict[str, str] = pairs
        self._terms = tuple(
            (out, col, losses.get(out, masked_mse), float(weights.get(out, 1.0)), masks.get(out))
            for out, col in pairs.items()
        )
        self.constraints = tuple(constraints)

    @property
    def columns(self) -> tuple[str, ...]:
        """Batch columns the objective reads (observations and masks)."""
        cols = [col for _, col, _, _, _ in self._terms]
        cols += [mask for *_, mask in self._terms if mask is not None]
        return tuple(dict.fromkeys(cols))

    def __call__(
        self,
        outputs: Mapping[str, jax.Array],
        batch: Mapping[str, ArrayLike],
        weight: ArrayLike | None = None,
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Evaluate the objective on a batch.

        Args:
            outputs: model outputs, name → ``(N,)``.
            batch: the batch with the target (and mask) columns.
            weight: optional ``(N,)`` row weights (0 for padding rows).

        Returns:
            ``(loss, aux)``: the scalar total and the unweighted terms, keyed
            ``"target/<output>"`` and ``"constraint/<name>"``.
        """
        total, aux = jnp.zeros(()), {}
        for out, col, loss_fn, alpha, mask in self._terms:
            pred = require_output(outputs, out, "Objective")
            if col not in batch:
                raise KeyError(f"Target column {col!r} is not in the batch ({sorted(batch)}).")
            m = None if mask is None else batch[mask]
            aux[f"target/{out}"] = loss_fn(pred, batch[col], m, weight)
            total = total + alpha * aux[f"target/{out}"]
        for constraint in self.constraints:
            aux[f"constraint/{constraint.name}"] = constraint(outputs, batch, weight)
            total = total + constraint.weight * aux[f"constraint/{constraint.name}"]
        return total, aux
