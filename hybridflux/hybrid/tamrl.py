"""TAM-RL: task-aware modulation with representation learning, for fluxes at unseen sites.

A site (a *task*) is a set of monthly windows. A set encoder maps the site's windows — its
standardised covariates and static traits, plus for few-shot support months the standardised
fluxes with observed-flags — to an embedding ``e`` (:mod:`hybridflux.modulators.encoders`).
The embedding modulates a decoder that predicts the fluxes of every month of the site:

- :class:`FluxDecoder` — a FiLM-modulated MLP with positive heads,
  ``GPP = s_G·softplus(o₁)``, ``RECO = s_R·softplus(o₂)``, and ``NEE = RECO − GPP`` by
  construction (the carbon balance holds exactly in physical units, gC m-2 d-1);
- :class:`HybridDecoder` — beyond the published method: the **process parameters** become
  task-aware, ``ε(x, e)``, ``R_b(x, e)`` and ``Q10(e)`` from :class:`TaskModulated` sources,
  in the LUE–Q10 model ``GPP = ε·fAPAR(LAI)·PAR``, ``RECO = R_b·Q10^((T−15)/10)``,
  ``NEE = RECO − GPP`` (:func:`hybridflux.hybrid.models.lue_q10_process`).

Sites are held as :class:`SiteWindows` (padded ``(S, T, ·)`` arrays with masks).

Reference:
    Renganathan, Rozanov et al., "Task Aware Modulation using Representation Learning for
    upscaling of terrestrial carbon fluxes"; Nathaniel et al. (2023) MetaFlux; Perez et al.
    (2018) FiLM.

Example:
    >>> import numpy as np
    >>> model = tamrl_film(["TA_F", "SW_IN_F"], embed_dim=4, hidden=(8,), rngs=0)
    >>> w = SiteWindows.from_arrays(np.ones((2, 3, 2)), np.ones((2, 3, 3)))
    >>> out = model(w, np.zeros((2, 3), bool))
    >>> sorted(out), out["NEE"].shape
    (['GPP', 'NEE', 'RECO'], (2, 3))
"""

from __future__ import annotations

import dataclasses
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
from hybridflux.modulators.encoders import SetEncoder
from hybridflux.modulators.film import FiLMMLP
from hybridflux.modulators.mlp import MLP

__all__ = [
    "FLUXES",
    "SiteWindows",
    "TaskModulated",
    "FluxDecoder",
    "HybridDecoder",
    "TamRL",
    "tamrl_film",
    "tamrl_hybrid",
]

#: The fluxes a TAM-RL model predicts, in the order of the target axis of :class:`SiteWindows`.
FLUXES = ("GPP", "RECO", "NEE")


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SiteWindows:
    """Sites as padded windows: covariates, fluxes and masks, a pytree of arrays.

    Attributes:
        x: ``(S, T, F)`` covariates in their units (0 where not ``valid``).
        y: ``(S, T, 3)`` GPP, RECO, NEE in gC m-2 d-1 (0 where not observed).
        obs: ``(S, T, 3)`` the flux is observed.
        valid: ``(S, T)`` the month exists (finite covariates).

    Example:
        >>> import numpy as np
        >>> w = SiteWindows.from_arrays(np.ones((1, 2, 1)), np.full((1, 2, 3), np.nan))
        >>> bool(w.obs.any()), bool(w.valid.all())
        (False, True)
    """

    x: jax.Array
    y: jax.Array
    obs: jax.Array
    valid: jax.Array

    @classmethod
    def from_arrays(
        cls, x: ArrayLike, y: ArrayLike | None = None, valid: ArrayLike | None = None
    ) -> SiteWindows:
        """Windows from ``x`` (S, T, F), ``y`` (S, T, 3) with NaN gaps, ``valid`` (S, T)."""
        x = np.asarray(x, np.float32)
        ok = np.isfinite(x).all(-1) if valid is None else np.asarray(valid, bool)
        y = np.full((*x.shape[:2], len(FLUXES)), np.nan) if y is None else np.asarray(y)
        obs = np.isfinite(y) & ok[..., None]
        return cls(
            jnp.asarray(np.where(ok[..., None], np.nan_to_num(x), 0.0), jnp.float32),
            jnp.asarray(np.where(obs, y, 0.0), jnp.float32),
            jnp.asarray(obs),
            jnp.asarray(ok),
        )

    def take(self, index: ArrayLike) -> SiteWindows:
        """The sites ``index`` (an int array), gathered along the site axis."""
        return jax.tree.map(lambda a: a[index], self)


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


class FluxDecoder(nnx.Module):
    """FiLM-modulated MLP → ``GPP = s_G·softplus(o₁)``, ``RECO = s_R·softplus(o₂)``, NEE = R − G.

    Args:
        n_inputs: F, number of covariates.
        embed_dim: D.
        hidden: hidden widths of the FiLM MLP.
        rngs: ``nnx.Rngs``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> dec = FluxDecoder(2, 3, (4,), rngs=nnx.Rngs(0))
        >>> out = dec({}, jnp.ones((5, 2)), jnp.zeros((5, 3)), jnp.ones(3))
        >>> bool(jnp.allclose(out["NEE"], out["RECO"] - out["GPP"]))
        True
    """

    def __init__(self, n_inputs: int, embed_dim: int, hidden: Sequence[int], *, rngs: nnx.Rngs):
        self.net = FiLMMLP(n_inputs, hidden, 2, embed_dim=embed_dim, rngs=rngs)

    def __call__(self, columns, x_std, e, scale) -> dict[str, jax.Array]:
        """Fluxes (gC m-2 d-1) from standardised covariates (…, F) and embedding (…, D)."""
        o = jax.nn.softplus(self.net(x_std, e))
        gpp, reco = o[..., 0] * scale[0], o[..., 1] * scale[1]
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


class TamRL(nnx.Module):
    """Encoder → embedding → modulated decoder, over sites held as :class:`SiteWindows`.

    Each window fed to the encoder is ``[x̃, ỹ·m, m]``: standardised covariates (static traits
    included as covariates), standardised fluxes of the *support* months and their 0/1 flags
    (all zero for zero-shot). Every valid month of a site enters the set, so zero-shot uses the
    site's covariate climatology and traits, few-shot adds k observed months.

    Args:
        covariates: covariate names, the last axis of ``SiteWindows.x``.
        decoder: a :class:`FluxDecoder` or :class:`HybridDecoder`.
        encoder: a set encoder taking ``F + 6`` features per window (default built).
        embed_dim: D.
        encoder_hidden: widths of the default :class:`SetEncoder`.
        rngs: ``nnx.Rngs``.

    Example:
        >>> model = tamrl_film(["TA_F"], embed_dim=2, hidden=(4,), rngs=1)
        >>> model.covariates
        ('TA_F',)
    """

    def __init__(self, covariates, decoder, *, encoder=None, embed_dim=16,
                 encoder_hidden=(64, 64), rngs):  # fmt: skip
        self.covariates = tuple(covariates)
        k = len(FLUXES)
        n = len(self.covariates) + 2 * k
        self.encoder = encoder or SetEncoder(n, encoder_hidden, embed_dim, rngs=rngs)
        self.decoder = decoder
        self.x_mean = Stat(jnp.zeros(len(self.covariates), jnp.float32))
        self.x_std = Stat(jnp.ones(len(self.covariates), jnp.float32))
        self.y_scale = Stat(jnp.ones(k, jnp.float32))

    def set_normalization(self, windows: SiteWindows) -> None:
        """Covariate mean/std and flux scales (RMS) from training windows (outside ``jit``)."""
        x, ok = np.asarray(windows.x), np.asarray(windows.valid)
        mean, std = _moments(x, np.broadcast_to(ok[..., None], x.shape))
        self.x_mean[...], self.x_std[...] = jnp.asarray(mean, jnp.float32), jnp.asarray(std)
        y, obs = np.asarray(windows.y, np.float64), np.asarray(windows.obs)
        rms = np.sqrt((y**2 * obs).sum((0, 1)) / np.maximum(obs.sum((0, 1)), 1))
        self.y_scale[...] = jnp.asarray(np.where(rms > 0, rms, 1.0), jnp.float32)
        cols = {c: x[..., j] for j, c in enumerate(self.covariates)}
        for src in ("eps", "rb", "q10"):
            if hasattr(self.decoder, src):
                getattr(self.decoder, src).set_normalization(cols, ok)

    def _standard(self, x: jax.Array) -> jax.Array:
        return (x - self.x_mean[...]) / self.x_std[...]

    def embed(self, windows: SiteWindows, support: jax.Array, gate=1.0) -> jax.Array:
        """Site embeddings (S, D); ``support`` (S, T) marks the few-shot months, ``gate`` scales
        the embedding (0: unmodulated decoder, for pretraining)."""
        m = (windows.obs & support[..., None]).astype(jnp.float32)
        y = windows.y / self.y_scale[...] * m
        w = jnp.concatenate([self._standard(windows.x), y, m], -1)
        return gate * self.encoder(w, windows.valid)

    def decode(self, windows: SiteWindows, e: jax.Array) -> dict[str, jax.Array]:
        """Fluxes (S, T) in gC m-2 d-1 of every month of the sites, given embeddings (S, D)."""
        cols = {c: windows.x[..., j] for j, c in enumerate(self.covariates)}
        e_t = jnp.broadcast_to(e[:, None, :], (*windows.x.shape[:2], e.shape[-1]))
        return self.decoder(cols, self._standard(windows.x), e_t, self.y_scale[...])

    def parameters(self, windows: SiteWindows, support: ArrayLike) -> dict[str, jax.Array]:
        """Task-aware process parameters (S, T) of a :class:`HybridDecoder`: ε (gC MJ-1),
        R_b (gC m-2 d-1), Q10 (1, constant within a site); empty for a FiLM decoder."""
        if not hasattr(self.decoder, "parameters"):
            return {}
        e = self.embed(windows, jnp.asarray(support))
        cols = {c: windows.x[..., j] for j, c in enumerate(self.covariates)}
        e_t = jnp.broadcast_to(e[:, None, :], (*windows.x.shape[:2], e.shape[-1]))
        p = self.decoder.parameters(cols, e_t)
        return {k: jnp.broadcast_to(v, windows.valid.shape) for k, v in p.items()}

    def __call__(self, windows: SiteWindows, support: ArrayLike, gate=1.0) -> dict:
        """``decode(windows, embed(windows, support, gate))``: GPP, RECO, NEE, each (S, T)."""
        return self.decode(windows, self.embed(windows, jnp.asarray(support), gate))


def _rngs(rngs: nnx.Rngs | int) -> nnx.Rngs:
    return rngs if isinstance(rngs, nnx.Rngs) else nnx.Rngs(int(rngs))


def tamrl_film(covariates, *, embed_dim=16, hidden=(64, 64), encoder_hidden=(64, 64), rngs=0):
    """TAM-RL with a FiLM-modulated flux decoder (:class:`FluxDecoder`).

    Args:
        covariates: covariate names (met, remote sensing, one-hot traits).
        embed_dim: D.
        hidden: widths of the decoder.
        encoder_hidden: widths of the set encoder.
        rngs: ``nnx.Rngs`` or a seed.

    Example:
        >>> type(tamrl_film(["TA_F"], hidden=(4,), rngs=0).decoder).__name__
        'FluxDecoder'
    """
    rngs = _rngs(rngs)
    decoder = FluxDecoder(len(covariates), embed_dim, hidden, rngs=rngs)
    return TamRL(covariates, decoder, embed_dim=embed_dim, encoder_hidden=encoder_hidden,
                 rngs=rngs)  # fmt: skip


def tamrl_hybrid(covariates, *, sw_in="SW_IN_F", ta="TA_F", lai=None, embed_dim=16,
                 hidden=(32, 32), encoder_hidden=(64, 64), rngs=0):  # fmt: skip
    """TAM-RL with task-aware LUE–Q10 parameters (:class:`HybridDecoder`).

    Args:
        covariates: covariate names; must include ``sw_in``, ``ta`` (and ``lai`` if given).
        sw_in: shortwave column, W m-2.
        ta: air temperature column, °C.
        lai: LAI column (m2 m-2) for fAPAR by Beer's law, or None (fAPAR = 1).
        embed_dim: D.
        hidden: widths of the parameter networks.
        encoder_hidden: widths of the set encoder.
        rngs: ``nnx.Rngs`` or a seed.

    Example:
        >>> type(tamrl_hybrid(["SW_IN_F", "TA_F"], hidden=(4,), rngs=0).decoder).__name__
        'HybridDecoder'
    """
    missing = [c for c in (sw_in, ta, lai) if c is not None and c not in covariates]
    if missing:
        raise ValueError(f"tamrl_hybrid: drivers {missing} are not among covariates {covariates}")
    rngs = _rngs(rngs)
    decoder = HybridDecoder(covariates, embed_dim, hidden, sw_in=sw_in, ta=ta, lai=lai, rngs=rngs)
    return TamRL(covariates, decoder, embed_dim=embed_dim, encoder_hidden=encoder_hidden,
                 rngs=rngs)  # fmt: skip
