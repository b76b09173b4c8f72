"""Task encoders: a site's set of windows (months) → one embedding.

- :class:`SetEncoder` — DeepSets (Zaheer et al. 2017), permutation invariant:
  ``e = ρ( Σ_i m_i φ(w_i) / max(Σ_i m_i, 1) )`` with φ a per-window MLP, a masked mean pool and
  ρ an MLP. Padded windows (``m_i = 0``) do not count; an empty set pools to 0.
- :class:`GRUEncoder` — a bidirectional GRU over the windows in time order (the TAM-RL paper's
  BiLSTM, with GRU cells); the masked mean of the two directions' hidden states goes to ρ.

A window holds a month's standardised covariates and static traits and — for few-shot support
months — its standardised fluxes with 0/1 "observed" flags (zeros and flags 0 otherwise), so the
same encoder serves zero-shot (covariates and traits only) and few-shot inference
(TAM-RL, Renganathan et al.; MetaFlux, Nathaniel et al. 2023).

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> enc = SetEncoder(3, (8,), 4, rngs=nnx.Rngs(0))
    >>> enc(jnp.ones((2, 5, 3)), jnp.ones((2, 5), bool)).shape
    (2, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from hybridflux.modulators.mlp import MLP

__all__ = ["SetEncoder", "GRUEncoder", "masked_mean"]


def masked_mean(h: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``h`` (…, M, H) over the windows where ``mask`` (…, M) is true; 0 if none.

    ``Σ_i m_i h_i / max(Σ_i m_i, 1)``: finite gradients for an empty set.

    Example:
        >>> import jax.numpy as jnp
        >>> masked_mean(jnp.array([[1.0], [3.0], [9.0]]), jnp.array([True, True, False])).tolist()
        [2.0]
    """
    m = mask.astype(h.dtype)[..., None]
    return (h * m).sum(axis=-2) / jnp.maximum(m.sum(axis=-2), 1.0)


class SetEncoder(nnx.Module):
    """DeepSets encoder ``e = ρ(mean_{i: m_i} φ(w_i))``, invariant to the windows' order.

    Args:
        in_features: features per window.
        hidden: hidden widths of φ (its output width is the last of them) and of ρ.
        embed_dim: D, length of the embedding.
        activation: nonlinearity of φ and ρ, default ``jax.nn.gelu``.
        rngs: ``nnx.Rngs``.

    Reference:
        Zaheer et al. (2017), "Deep Sets", NeurIPS.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> enc = SetEncoder(2, (4,), 3, rngs=nnx.Rngs(0))
        >>> enc(jnp.ones((6, 2)), jnp.ones(6, bool)).shape
        (3,)
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        embed_dim: int,
        *,
        activation: Callable[[jax.Array], jax.Array] = jax.nn.gelu,
        rngs: nnx.Rngs,
    ):
        if not hidden:
            raise ValueError("SetEncoder needs at least one hidden width for φ, got ().")
        width = int(hidden[-1])
        self.phi = MLP(in_features, tuple(hidden[:-1]), width, activation=activation, rngs=rngs)
        self.rho = MLP(width, (width,), embed_dim, activation=activation, rngs=rngs)
        self.activation = activation

    def __call__(self, windows: jax.Array, mask: jax.Array) -> jax.Array:
        """Embedding (…, D) of windows (…, M, F) with the set membership ``mask`` (…, M)."""
        pooled = masked_mean(self.activation(self.phi(windows)), mask)
        return self.rho(pooled)


class GRUEncoder(nnx.Module):
    """Bidirectional GRU over time-ordered windows, masked mean of the states, then ρ.

    Padded windows keep the previous state (the recurrence skips them), so trailing or inner
    padding does not change the result.

    Args:
        in_features: features per window.
        hidden: width of each direction's GRU state.
        embed_dim: D, length of the embedding.
        rngs: ``nnx.Rngs``.

    Reference:
        Cho et al. (2014) GRU; TAM-RL (Renganathan et al.) uses a BiLSTM task encoder.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> GRUEncoder(2, 4, 3, rngs=nnx.Rngs(0))(jnp.ones((5, 2)), jnp.ones(5, bool)).shape
        (3,)
    """

    def __init__(self, in_features: int, hidden: int, embed_dim: int, *, rngs: nnx.Rngs):
        self.fwd = nnx.GRUCell(in_features, hidden, rngs=rngs)
        self.bwd = nnx.GRUCell(in_features, hidden, rngs=rngs)
        self.rho = MLP(2 * hidden, (hidden,), embed_dim, activation=jax.nn.gelu, rngs=rngs)
        self.hidden = int(hidden)

    def _run(self, cell: nnx.GRUCell, windows: jax.Array, mask: jax.Array) -> jax.Array:
        def step(carry, xm):
            x, m = xm
            new, _ = cell(carry, x)
            carry = jnp.where(m, new, carry)
            return carry, carry

        init = jnp.zeros((self.hidden,), windows.dtype)
        _, states = jax.lax.scan(step, init, (windows, mask))
        return states

    def _single(self, windows: jax.Array, mask: jax.Array) -> jax.Array:
        fwd = self._run(self.fwd, windows, mask)
        bwd = self._run(self.bwd, windows[::-1], mask[::-1])[::-1]
        return self.rho(masked_mean(jnp.concatenate([fwd, bwd], axis=-1), mask))

    def __call__(self, windows: jax.Array, mask: jax.Array) -> jax.Array:
        """Embedding (…, D) of time-ordered windows (…, M, F) with validity ``mask`` (…, M)."""
        lead = windows.shape[:-2]
        flat_w = windows.reshape((-1, *windows.shape[-2:]))
        flat_m = mask.reshape((-1, mask.shape[-1]))
        out = jax.vmap(self._single)(flat_w, flat_m) if lead else self._single(windows, mask)
        return out.reshape((*lead, -1))
