"""The task-modulated decoders of TAM-RL: fluxes of every month of a site from its embedding.

A decoder maps a month's covariates and the site's task embedding ``e`` (from the set encoder
of :class:`~hybridflux.hybrid.tamrl.TamRL`) to GPP, RECO and NEE in gC m-2 d-1:

- :class:`FluxDecoder` — a FiLM-modulated MLP with positive heads,
  ``GPP = s_G·softplus(o₁)``, ``RECO = s_R·softplus(o₂)``, and ``NEE = RECO − GPP`` by
  construction (the carbon balance holds exactly in physical units, gC m-2 d-1); with
  ``balance="nee"`` the second head is NEE and RECO = smooth max(GPP + NEE, 0);
- :class:`HybridDecoder` — beyond the published method: the **process parameters** become
  task-aware, ``ε(x, e)``, ``R_b(x, e)`` and ``Q10(e)`` from :class:`TaskModulated` sources,
  in the LUE–Q10 model ``GPP = ε·fAPAR(LAI)·PAR``, ``RECO = R_b·Q10^((T−15)/10)``,
  ``NEE = RECO − GPP`` (:func:`hybridflux.hybrid.models.lue_q10_process`).

Every name here is also importable from :mod:`hybridflux.hybrid.tamrl`.

Reference:
    Renganathan, Rozanov et al., "Task Aware Modulation using Representation Learning for
    upscaling of terrestrial carbon fluxes"; Perez et al. (2018) FiLM.

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> dec = FluxDecoder(2, 3, (4,), rngs=nnx.Rngs(0))
    >>> sorted(dec({}, jnp.ones((5, 2)), jnp.zeros((5, 3)), jnp.ones(3)))
    ['GPP', 'NEE', 'RECO']
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.typing import ArrayLike

from hybridflux.hybrid.models import lue_q10_process
from hybridflux.hybrid.params import Stat
from hybridflux.hybrid.sources import HEADS, _bounds
from hybridflux.modulators.film import FiLMMLP
from hybridflux.modulators.mlp import MLP

__all__ = ["FLUXES", "BALANCES", "TaskModulated", "FluxDecoder", "HybridDecoder"]

#: The fluxes a decoder predicts, in the order of the target axis of
#: :class:`~hybridflux.hybrid.tamrl.SiteWindows`.
FLUXES = ("GPP", "RECO", "NEE")


def _moments(x: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (1 where 0) over the cells of ``ok``, per last-axis column."""
    x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
    ok = np.asarray(ok, bool).reshape(-1, x.shape[-1])
    n = np.maximum(ok.sum(0), 1)
    mean = np.where(ok, x, 0.0).sum(0) / n
    std = np.sqrt(np.where(ok, (x - mean) ** 2, 0.0).sum(0) / n)
    return mean, np.where(std > 0, std, 1.0)


class TaskModulated(nnx.Module):
    """A process parameter from covariates and the task embedding, ``θ = head(MLP([x̃, e]))``.

    The task-aware counterpart of :class:`~hybridflux.hybrid.sources.Modulated` (design 0003):
    ``x̃ = (x − μ)/s`` stacks the named, standardised columns of the batch; with no inputs the
    parameter is one value per site, a function of ``e`` alone (e.g. Q10).

    Args:
        inputs: covariate names (may be empty).
        lo: lower bound, units of the parameter.
        hi: upper bound, or ``None`` for ``(lo, ∞)`` (softplus head).
        embed_dim: D, length of the embedding.
        hidden: hidden widths of the MLP.
        init: starting level of θ (the output bias is the head's inverse of it).
        rngs: ``nnx.Rngs``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> q10 = TaskModulated([], 1.0, 4.0, embed_dim=2, init=2.0, rngs=nnx.Rngs(0))
        >>> round(float(q10({}, jnp.zeros((3, 2)))[0]), 3)
        2.0
    """

    def __init__(self, inputs, lo, hi=None, *, embed_dim, hidden=(16,), init=None, rngs):
        self.names = tuple(inputs)
        name, self.bounds = _bounds(lo, hi)
        self.head, inverse = HEADS[name]
        self.net = MLP(len(self.names) + embed_dim, hidden, 1, activation=jax.nn.gelu, rngs=rngs)
        if init is not None:
            last = self.net.layers[-1]
            last.bias[...] = jnp.full((1,), inverse(init, *self.bounds), jnp.float32)
            last.kernel[...] = last.kernel[...] * 0.1
        n = len(self.names)
        self.mean = Stat(jnp.zeros(n, jnp.float32))
        self.std = Stat(jnp.ones(n, jnp.float32))

    @property
    def inputs(self) -> tuple[str, ...]:
        """Covariate names read from the batch."""
        return self.names

    def set_normalization(self, batch: Mapping[str, ArrayLike], ok: ArrayLike) -> None:
        """μ, s of each covariate over the cells ``ok`` of the batch (outside ``jit``)."""
        if self.names:
            x = np.stack([np.asarray(batch[k]) for k in self.names], -1)
            mean, std = _moments(x, np.broadcast_to(np.asarray(ok)[..., None], x.shape))
            self.mean[...], self.std[...] = jnp.asarray(mean, jnp.float32), jnp.asarray(std)

    def __call__(self, batch: Mapping[str, ArrayLike], e: jax.Array) -> jax.Array:
        """θ with the leading shape of ``e`` (…, D), within the bounds."""
        cols = [(jnp.asarray(batch[k]) - m) / s for k, m, s in self._stats()]
        z = jnp.concatenate([jnp.stack(cols, -1), e], -1) if cols else e
        return self.head(self.net(z)[..., 0], *self.bounds)

    def _stats(self):
        return zip(self.names, self.mean[...], self.std[...], strict=True)


#: Carbon-balance parameterisations of :class:`FluxDecoder`.
BALANCES = ("reco", "nee")


class FluxDecoder(nnx.Module):
    """FiLM-modulated MLP → positive GPP and RECO with ``NEE = RECO − GPP`` by construction.

    ``balance="reco"`` (default): ``GPP = s_G·softplus(o₁)``, ``RECO = s_R·softplus(o₂)``,
    ``NEE = RECO − GPP`` — NEE's error is the difference of the errors of two large fluxes.

    ``balance="nee"``: the second head is NEE itself, ``N = s_N·o₂`` (linear), and

        GPP = s_G·softplus(o₁),  RECO = τ·softplus((GPP + N)/τ),  NEE = RECO − GPP

    with ``τ = 0.05·s_R``: a smooth ``max(GPP + N, 0)``, so RECO ≥ 0 and, wherever
    ``GPP + N ≫ τ``, ``NEE ≈ N`` — NEE is predicted directly, not as a difference. Units
    gC m-2 d-1; ``s_G, s_R, s_N`` are the flux scales (``scale``).

    Args:
        n_inputs: F, number of covariates.
        embed_dim: D.
        hidden: hidden widths of the FiLM MLP.
        balance: ``"reco"`` or ``"nee"`` (:data:`BALANCES`).
        rngs: ``nnx.Rngs``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> dec = FluxDecoder(2, 3, (4,), balance="nee", rngs=nnx.Rngs(0))
        >>> out = dec({}, jnp.ones((5, 2)), jnp.zeros((5, 3)), jnp.ones(3))
        >>> bool(jnp.allclose(out["NEE"], out["RECO"] - out["GPP"]))
        True
    """

    #: τ/s_R, the smoothing width of RECO = τ·softplus((GPP + N)/τ) for ``balance="nee"``.
    RECO_SMOOTHING = 0.05

    def __init__(self, n_inputs: int, embed_dim: int, hidden: Sequence[int], *,
                 balance: str = "reco", rngs: nnx.Rngs):  # fmt: skip
        if balance not in BALANCES:
            raise ValueError(f"FluxDecoder: balance must be one of {BALANCES}, got {balance!r}")
        self.balance = balance
        self.net = FiLMMLP(n_inputs, hidden, 2, embed_dim=embed_dim, rngs=rngs)

    def __call__(self, columns, x_std, e, scale) -> dict[str, jax.Array]:
        """Fluxes (gC m-2 d-1) from standardised covariates (…, F) and embedding (…, D)."""
        o = self.net(x_std, e)
        gpp = jax.nn.softplus(o[..., 0]) * scale[0]
        if self.balance == "reco":
            reco = jax.nn.softplus(o[..., 1]) * scale[1]
        else:
            tau = self.RECO_SMOOTHING * scale[1]
            reco = tau * jax.nn.softplus((gpp + o[..., 1] * scale[2]) / tau)
        return {"GPP": gpp, "RECO": reco, "NEE": reco - gpp}


class HybridDecoder(nnx.Module):
    """LUE–Q10 with task-aware parameters ``ε(x, e)``, ``R_b(x, e)``, ``Q10(e)``.

    Args:
        covariates: all covariate names (ε and R_b read all of them).
        embed_dim: D.
        hidden: hidden widths of the parameter networks.
        sw_in: shortwave column (W m-2); ta: air temperature (°C); lai: LAI (m2 m-2) or None.
        rngs: ``nnx.Rngs``.

    Reference:
        Monteith (1972); Reichstein et al. (2022); this project's extension of TAM-RL.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> dec = HybridDecoder(["SW_IN_F", "TA_F"], 2, (4,), rngs=nnx.Rngs(0))
        >>> cols = {"SW_IN_F": jnp.full(3, 200.0), "TA_F": jnp.full(3, 15.0)}
        >>> bool((dec(cols, None, jnp.zeros((3, 2)), None)["GPP"] > 0).all())
        True
    """

    def __init__(self, covariates, embed_dim, hidden, *, sw_in="SW_IN_F", ta="TA_F", lai=None,
                 rngs):  # fmt: skip
        kw = dict(embed_dim=embed_dim, hidden=hidden, rngs=rngs)
        self.eps = TaskModulated(covariates, 0.0, 5.0, init=1.0, **kw)
        self.rb = TaskModulated(covariates, 0.0, init=2.0, **kw)
        self.q10 = TaskModulated((), 1.0, 4.0, init=2.0, **kw)
        self.process = functools.partial(lue_q10_process, sw_in=sw_in, ta=ta, lai=lai)

    def parameters(self, columns, e) -> dict[str, jax.Array]:
        """Per-month ε (gC MJ-1), R_b (gC m-2 d-1) and per-site Q10 (1)."""
        return {"eps": self.eps(columns, e), "Rb": self.rb(columns, e), "Q10": self.q10({}, e)}

    def __call__(self, columns, x_std, e, scale) -> dict[str, jax.Array]:
        """GPP, RECO, NEE (gC m-2 d-1) of the LUE–Q10 model with task-aware parameters."""
        p = self.parameters(columns, e)
        out = self.process(p, columns)
        return {k: out[k] for k in FLUXES}
