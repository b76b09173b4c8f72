"""FiLM: feature-wise linear modulation of a network by a task embedding.

A FiLM layer turns an embedding ``e ∈ ℝ^D`` into a per-feature scale and shift of a hidden
layer ``h ∈ ℝ^H``:

    FiLM(h; e) = γ(e) ⊙ h + β(e),   γ(e) = 1 + W_γ·e,   β(e) = W_β·e

with bias-free linear maps, so ``e = 0`` is the identity (``γ = 1``, ``β = 0``): an unmodulated
decoder is the same network at a zero embedding, which is what lets a decoder be pretrained
without modulation first (Perez et al. 2018; TAM-RL, Renganathan et al.).

:class:`FiLMMLP` is an MLP whose every hidden pre-activation is FiLM-modulated:
``h_l = a(FiLM(W_l·h_{l−1} + b_l; e))``, linear output.

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> net = FiLMMLP(3, (8,), 2, embed_dim=4, rngs=nnx.Rngs(0))
    >>> net(jnp.ones((5, 3)), jnp.zeros((5, 4))).shape
    (5, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
from flax import nnx

__all__ = ["FiLM", "FiLMMLP"]


class FiLM(nnx.Module):
    """Per-feature scale and shift from an embedding, ``γ(e) ⊙ h + β(e)``.

    ``γ(e) = 1 + W_γ·e`` and ``β(e) = W_β·e`` (no biases: identity at ``e = 0``). The maps
    start at ``init_scale``·N(0, 1/D) (0 gives exactly an unmodulated network at the start).

    Args:
        embed_dim: D, length of the embedding.
        features: H, number of modulated features.
        init_scale: multiplier of the default LeCun-normal initialisation of ``W_γ, W_β``.
        rngs: ``nnx.Rngs`` for the weights.

    Reference:
        Perez et al. (2018), "FiLM: Visual Reasoning with a General Conditioning Layer", AAAI.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> film = FiLM(2, 3, rngs=nnx.Rngs(0))
        >>> film(jnp.ones(3), jnp.zeros(2)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, embed_dim: int, features: int, *, init_scale: float = 0.1, rngs: nnx.Rngs):
        if embed_dim < 1 or features < 1:
            raise ValueError(f"FiLM needs embed_dim, features >= 1, got {embed_dim}, {features}.")
        self.gamma = nnx.Linear(embed_dim, features, use_bias=False, rngs=rngs)
        self.beta = nnx.Linear(embed_dim, features, use_bias=False, rngs=rngs)
        for lin in (self.gamma, self.beta):
            lin.kernel[...] = lin.kernel[...] * init_scale

    def __call__(self, h: jax.Array, e: jax.Array) -> jax.Array:
        """Modulate ``h`` (…, H) by ``e`` (…, D) (leading axes broadcast); returns (…, H)."""
        return (1.0 + self.gamma(e)) * h + self.beta(e)


class FiLMMLP(nnx.Module):
    """MLP with FiLM-modulated hidden layers, ``h_l = a(FiLM_l(W_l·h_{l−1} + b_l; e))``.

    Args:
        in_features: number of inputs (last axis of ``x``).
        hidden: hidden widths, e.g. ``(64, 64)`` (at least one layer).
        out_features: number of (linear) outputs.
        embed_dim: D, length of the embedding ``e``.
        activation: hidden nonlinearity, default ``jax.nn.gelu``.
        init_scale: initial scale of the FiLM maps (see :class:`FiLM`).
        rngs: ``nnx.Rngs``.

    Reference:
        Perez et al. (2018); TAM-RL (Renganathan et al.) FiLM-modulated decoder.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> FiLMMLP(2, (4, 4), 1, embed_dim=3, rngs=nnx.Rngs(0))(jnp.ones(2), jnp.ones(3)).shape
        (1,)
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        embed_dim: int,
        activation: Callable[[jax.Array], jax.Array] = jax.nn.gelu,
        init_scale: float = 0.1,
        rngs: nnx.Rngs,
    ):
        widths = [int(in_features), *(int(h) for h in hidden)]
        if len(widths) < 2 or min(widths) < 1 or out_features < 1:
            raise ValueError(f"FiLMMLP needs >= 1 positive hidden layer, got {list(hidden)}.")
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in pairs])
        self.films = nnx.List(
            [FiLM(embed_dim, w, init_scale=init_scale, rngs=rngs) for w in widths[1:]]
        )
        self.out = nnx.Linear(widths[-1], int(out_features), rngs=rngs)
        self.activation = activation

    def __call__(self, x: jax.Array, e: jax.Array) -> jax.Array:
        """Outputs (…, out) for inputs ``x`` (…, in) and embedding ``e`` (…, D), broadcast."""
        h = x
        for layer, film in zip(self.layers, self.films, strict=True):
            h = self.activation(film(layer(h), e))
        return self.out(h)
