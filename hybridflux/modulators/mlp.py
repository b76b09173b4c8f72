"""Multilayer perceptron and bounded output heads for NN-predicted process parameters.

A process parameter predicted by a network must stay in its physical range (Q10 > 0,
0 ≤ ε ≤ ε_max). The network's raw output ``z ∈ ℝ`` is mapped through a *bounded head*:

- :func:`sigmoid_bounds` ``θ = lo + σ(z)·(hi − lo)`` for a parameter in ``(lo, hi)``;
- :func:`softplus_bounds` ``θ = lo + log(1 + e^z)`` for a parameter in ``(lo, ∞)``.

Their inverses give the ``z`` at which a head outputs a chosen value, so a learnable parameter
can start at a literature value (Reichstein et al. 2022; Tsai et al. 2021, dPL).

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> net = MLP(2, (8,), 1, rngs=nnx.Rngs(0))
    >>> net(jnp.ones((5, 2))).shape
    (5, 1)
    >>> round(float(sigmoid_bounds(inverse_sigmoid_bounds(1.5, 0.5, 5.0), 0.5, 5.0)), 4)
    1.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx
from jax.typing import ArrayLike

__all__ = [
    "MLP",
    "sigmoid_bounds",
    "inverse_sigmoid_bounds",
    "softplus_bounds",
    "inverse_softplus_bounds",
]


class MLP(nnx.Module):
    """Fully connected network ``x ↦ W_L·a(… a(W_1·x + b_1) …) + b_L`` (linear output).

    Args:
        in_features: number of input features (last axis of the input).
        hidden: widths of the hidden layers, e.g. ``(16, 16)``; empty for a linear model.
        out_features: number of outputs (last axis of the output).
        activation: elementwise nonlinearity between layers, default ``jax.nn.tanh``.
        rngs: ``nnx.Rngs`` for the weight initialisation.

    Reference:
        Reichstein et al. (2022), hybrid Q10 experiment (a small MLP predicting R_b).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> net = MLP(3, (4, 4), 2, rngs=nnx.Rngs(1))
        >>> net(jnp.zeros(3)).shape
        (2,)
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        activation: Callable[[jax.Array], jax.Array] = jax.nn.tanh,
        rngs: nnx.Rngs,
    ):
        widths = [int(in_features), *(int(h) for h in hidden), int(out_features)]
        if min(widths) < 1:
            raise ValueError(f"MLP layer widths must be positive integers, got {widths}.")
        self.layers = nnx.List(
            [nnx.Linear(a, b, rngs=rngs) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        )
        self.activation = activation

    def __call__(self, x: jax.Array) -> jax.Array:
        """Apply the network to ``x`` of shape ``(..., in_features)``.

        Args:
            x: inputs, shape ``(..., in_features)``.

        Returns:
            Outputs of shape ``(..., out_features)``.

        Example:
            >>> import jax.numpy as jnp
            >>> from flax import nnx
            >>> MLP(1, (), 1, rngs=nnx.Rngs(0))(jnp.ones((2, 1))).shape
            (2, 1)
        """
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


def sigmoid_bounds(z: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> jax.Array:
    """Bounded head ``θ = lo + σ(z)·(hi − lo)``, with σ the logistic function.

    Args:
        z: unconstrained value (a network output or a stored parameter), any units.
        lo: lower bound of θ, in the units of the parameter.
        hi: upper bound of θ (> lo), same units.

    Returns:
        θ in ``[lo, hi]`` (open interval up to floating-point saturation).

    Reference:
        Reichstein et al. (2022); Tsai et al. (2021), Nat. Commun. 12, 5988 (dPL).

    Example:
        >>> float(sigmoid_bounds(0.0, 0.5, 5.0))
        2.75
    """
    lo, hi = jnp.asarray(lo), jnp.asarray(hi)
    return lo + jax.nn.sigmoid(jnp.asarray(z)) * (hi - lo)


def inverse_sigmoid_bounds(value: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> jax.Array:
    """Inverse of :func:`sigmoid_bounds`, ``z = logit((θ − lo)/(hi − lo))``.

    Args:
        value: θ strictly inside ``(lo, hi)``, units of the parameter.
        lo: lower bound, same units.
        hi: upper bound (> lo), same units.

    Returns:
        The unconstrained z; ±inf at the bounds, NaN outside them.

    Example:
        >>> float(inverse_sigmoid_bounds(2.75, 0.5, 5.0))
        0.0
    """
    lo, hi = jnp.asarray(lo), jnp.asarray(hi)
    p = (jnp.asarray(value) - lo) / (hi - lo)
    return jnp.log(p) - jnp.log1p(-p)


def softplus_bounds(z: ArrayLike, lo: ArrayLike = 0.0) -> jax.Array:
    """Lower-bounded head ``θ = lo + softplus(z) = lo + log(1 + e^z)``.

    Args:
        z: unconstrained value, any units.
        lo: lower bound of θ, units of the parameter.

    Returns:
        θ ≥ lo (> lo up to floating-point underflow).

    Reference:
        Dugas et al. (2001), NeurIPS (softplus); used for positive rates such as R_b.

    Example:
        >>> round(float(softplus_bounds(0.0)), 4)
        0.6931
    """
    return jnp.asarray(lo) + jax.nn.softplus(jnp.asarray(z))


def inverse_softplus_bounds(value: ArrayLike, lo: ArrayLike = 0.0) -> jax.Array:
    """Inverse of :func:`softplus_bounds`, ``z = log(e^y − 1) = y + log(1 − e^−y)``, ``y = θ − lo``.

    The second form is used, which is accurate for large and small y alike.

    Args:
        value: θ > lo, units of the parameter.
        lo: lower bound, same units.

    Returns:
        The unconstrained z; −inf at ``θ = lo``, NaN below.

    Example:
        >>> round(float(inverse_softplus_bounds(0.6931472)), 4)
        0.0
    """
    y = jnp.asarray(value) - jnp.asarray(lo)
    return y + jnp.log(-jnp.expm1(-y))
