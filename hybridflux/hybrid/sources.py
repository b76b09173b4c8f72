"""Parameter sources: where the value of each process parameter of a hybrid model comes from.

A source is an ``nnx.Module`` mapping a batch (``dict`` of ``(N,)`` columns) to the parameter's
value per sample, shape ``(N,)``:

- :class:`Fixed` — a constant (not trained);
- :class:`Global` — one learnable scalar, stored unconstrained in a
  :class:`~hybridflux.hybrid.params.PhysicsParam` ``z``, value ``lo + σ(z)·(hi − lo)``;
- :class:`Modulated` — an MLP of named, standardised covariates with a bounded head
  (Reichstein et al. 2022: R_b predicted from potential radiation; Q10 global).

Trainable groups follow from the variable types (``PhysicsParam`` vs ``nnx.Param``), see
:mod:`hybridflux.hybrid.params`.

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> batch = {"TA_F": jnp.array([5.0, 15.0, 25.0])}
    >>> [round(float(v), 3) for v in Global(1.5, 0.5, 5.0)(batch)]
    [1.5, 1.5, 1.5]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.typing import ArrayLike

from hybridflux.hybrid.params import PhysicsParam, Stat
from hybridflux.modulators.mlp import (
    MLP,
    inverse_sigmoid_bounds,
    inverse_softplus_bounds,
    sigmoid_bounds,
    softplus_bounds,
)

__all__ = ["Fixed", "Global", "Modulated", "batch_length", "HEADS"]

#: The named bounded heads: name → (head(z, lo[, hi]), inverse(value, lo[, hi])).
HEADS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (sigmoid_bounds, inverse_sigmoid_bounds),
    "softplus": (softplus_bounds, inverse_softplus_bounds),
}


def batch_length(batch: Mapping[str, ArrayLike]) -> int:
    """Number of samples N of a batch: the leading length of its first column.

    Args:
        batch: ``dict`` of ``(N,)`` columns.

    Returns:
        N.

    Raises:
        ValueError: if the batch has no column with a leading axis.

    Example:
        >>> import jax.numpy as jnp
        >>> batch_length({"TA_F": jnp.zeros(7)})
        7
    """
    for value in batch.values():
        shape = jnp.shape(value)
        if shape:
            return int(shape[0])
    raise ValueError("The batch has no (N,) column, so its length is unknown; pass a column.")


def _bounds(lo: float, hi: float | None) -> tuple[str, tuple[float, ...]]:
    """Default head for the bounds: sigmoid for ``(lo, hi)``, softplus for ``(lo, ∞)``."""
    if hi is None:
        return "softplus", (float(lo),)
    if not hi > lo:
        raise ValueError(f"Bounds must satisfy hi > lo, got lo={lo}, hi={hi}.")
    return "sigmoid", (float(lo), float(hi))


def _float_array(value: ArrayLike) -> jax.Array:
    """A non-weak array of the default float dtype (float32, or float64 under x64)."""
    return jnp.array(value, dtype=jnp.result_type(float))


class Fixed(nnx.Module):
    """A constant parameter, ``θ_i = value`` for every sample (not trained).

    Args:
        value: the value, in the units of the parameter.

    Example:
        >>> import jax.numpy as jnp
        >>> Fixed(15.0)({"TA_F": jnp.zeros(2)}).tolist()
        [15.0, 15.0]
    """

    def __init__(self, value: float):
        self.value = float(value)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Covariate names read from the batch: none."""
        return ()

    def __call__(self, batch: Mapping[str, ArrayLike]) -> jax.Array:
        """The constant broadcast to the batch length, shape ``(N,)``."""
        return jnp.full((batch_length(batch),), self.value, dtype=jnp.result_type(float))


class Global(nnx.Module):
    """One learnable scalar ``θ = lo + σ(z)·(hi − lo)`` (or ``lo + softplus(z)`` if ``hi=None``).

    ``z`` is a :class:`PhysicsParam`, initialised so that ``θ == init`` at the start.

    Args:
        init: starting value θ₀, strictly inside the bounds, units of the parameter.
        lo: lower bound, same units.
        hi: upper bound, same units; ``None`` for an open upper end (softplus head).

    Reference:
        Reichstein et al. (2022): a global Q10 learned jointly with an NN-predicted R_b.

    Example:
        >>> q10 = Global(2.0, 0.5, 5.0)
        >>> round(float(q10.value), 4)
        2.0
    """

    def __init__(self, init: float, lo: float, hi: float | None = None):
        name, self.bounds = _bounds(lo, hi)
        self.head = HEADS[name][0]
        if not (init > lo and (hi is None or init < hi)):
            raise ValueError(f"Global init={init} must lie strictly inside ({lo}, {hi}).")
        self.z = PhysicsParam(_float_array(HEADS[name][1](init, *self.bounds)))

    @property
    def inputs(self) -> tuple[str, ...]:
        """Covariate names read from the batch: none."""
        return ()

    @property
    def value(self) -> jax.Array:
        """The current bounded value θ, a scalar array."""
        return self.head(self.z[...], *self.bounds)

    def __call__(self, batch: Mapping[str, ArrayLike]) -> jax.Array:
        """θ broadcast to the batch length, shape ``(N,)``."""
        return jnp.broadcast_to(self.value, (batch_length(batch),))


class Modulated(nnx.Module):
    """A parameter predicted per sample by an MLP of covariates, ``θ = head(MLP((x − μ)/s))``.

    ``x`` stacks the named batch columns; the mean μ and standard deviation s are
    :class:`Stat` variables (0 and 1 until :meth:`set_normalization`). Covariates must be finite
    (gap-filled): a NaN input makes the gradient NaN, which the training engine reports.

    Args:
        inputs: covariate names, columns of the batch (e.g. ``("SW_POT_sm", "SW_POT_sm_diff")``).
        lo: lower bound of θ, units of the parameter.
        hi: upper bound, same units; ``None`` for ``(lo, ∞)``.
        hidden: hidden-layer widths of the MLP.
        activation: hidden nonlinearity, default ``jax.nn.tanh``.
        head: ``"sigmoid"`` / ``"softplus"`` (see :data:`HEADS`) or a callable
            ``head(z, lo[, hi])``; ``None`` picks sigmoid when ``hi`` is given, else softplus.
        init: optional starting level: the output bias is set to the head's inverse of it, so
            θ starts near ``init`` (named heads only).
        rngs: ``nnx.Rngs`` for the weights.

    Reference:
        Reichstein et al. (2022), hybrid Q10 experiment; Tsai et al. (2021), dPL.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> rb = Modulated(["SW_POT_sm"], lo=0.0, rngs=nnx.Rngs(0))
        >>> bool((rb({"SW_POT_sm": jnp.linspace(0.0, 400.0, 5)}) > 0).all())
        True
    """

    def __init__(
        self,
        inputs: Sequence[str],
        lo: float,
        hi: float | None = None,
        *,
        hidden: Sequence[int] = (16, 16),
        activation: Callable[[jax.Array], jax.Array] = jax.nn.tanh,
        head: str | Callable | None = None,
        init: float | None = None,
        rngs: nnx.Rngs,
    ):
        if isinstance(inputs, str) or not inputs:
            raise TypeError(f"Modulated inputs must be a non-empty list of names, got {inputs!r}.")
        self.names = tuple(inputs)
        default, self.bounds = _bounds(lo, hi)
        self.head, inverse = self._resolve_head(default if head is None else head)
        self.net = MLP(len(self.names), hidden, 1, activation=activation, rngs=rngs)
        if init is not None:
            if inverse is None:
                raise ValueError("init needs a named head ('sigmoid'/'softplus') to invert.")
            bias = self.net.layers[-1].bias
            bias[...] = jnp.full_like(bias[...], inverse(init, *self.bounds))
        n = len(self.names)
        self.mean = Stat(jnp.zeros(n, dtype=jnp.result_type(float)))
        self.std = Stat(jnp.ones(n, dtype=jnp.result_type(float)))

    @staticmethod
    def _resolve_head(head: str | Callable) -> tuple[Callable, Callable | None]:
        if callable(head):
            return head, None
        if head not in HEADS:
            raise ValueError(f"Unknown head {head!r}; use one of {sorted(HEADS)} or a callable.")
        return HEADS[head]

    @property
    def inputs(self) -> tuple[str, ...]:
        """Covariate names read from the batch."""
        return self.names

    def _stack(self, batch: Mapping[str, ArrayLike]) -> jax.Array:
        missing = [k for k in self.names if k not in batch]
        if missing:
            raise KeyError(f"Covariates {missing} are not in the batch (columns: {sorted(batch)}).")
        return jnp.stack([jnp.asarray(batch[k]) for k in self.names], axis=-1)

    def set_normalization(self, batch: Mapping[str, ArrayLike]) -> None:
        """Set μ and s from data: NaN-ignoring mean and standard deviation of each covariate.

        A constant (or all-NaN) covariate gets s = 1 (and μ = 0 if all NaN). Call outside
        ``jit``, on the training data.

        Args:
            batch: ``dict`` with at least the covariate columns.

        Example:
            >>> import jax.numpy as jnp
            >>> from flax import nnx
            >>> m = Modulated(["x"], 0.0, 1.0, rngs=nnx.Rngs(0))
            >>> m.set_normalization({"x": jnp.array([1.0, 3.0])})
            >>> m.mean[...].tolist(), m.std[...].tolist()
            ([2.0], [1.0])
        """
        x = np.asarray(self._stack(batch), dtype=np.float64)
        finite = np.isfinite(x)
        count = finite.sum(axis=0)
        mean = np.where(finite, x, 0.0).sum(axis=0) / np.maximum(count, 1)
        var = np.where(finite, (x - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1)
        std = np.sqrt(var)
        self.mean[...] = jnp.asarray(mean, dtype=self.mean[...].dtype)
        self.std[...] = jnp.asarray(np.where(std > 0, std, 1.0), dtype=self.std[...].dtype)

    def __call__(self, batch: Mapping[str, ArrayLike]) -> jax.Array:
        """θ per sample, shape ``(N,)``, within the head's bounds."""
        x = (self._stack(batch) - self.mean[...]) / self.std[...]
        return self.head(self.net(x)[..., 0], *self.bounds)
