"""TAM-RL: task-aware modulation with representation learning, for fluxes at unseen sites.

A site (a *task*) is a set of monthly windows. A set encoder maps the site's windows — its
standardised covariates and static traits, plus for few-shot support months the standardised
fluxes with observed-flags — to an embedding ``e`` (:mod:`hybridflux.modulators.encoders`).
The embedding modulates a decoder that predicts the fluxes of every month of the site
(:mod:`hybridflux.hybrid.task_decoders`: the FiLM :class:`FluxDecoder` with
``NEE = RECO − GPP`` by construction, or the :class:`HybridDecoder` with task-aware LUE–Q10
parameters). This module holds the model, :class:`TamRL`, and its factories
:func:`tamrl_film` and :func:`tamrl_hybrid`; the sites, held as :class:`SiteWindows` (padded
``(S, T, ·)`` arrays with masks); and the zero-shot shrinkage of each site's mean NEE,
:func:`shrink_site_nee`. The decoders are re-exported here.

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
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.typing import ArrayLike

from hybridflux.hybrid.params import Stat
from hybridflux.hybrid.task_decoders import (
    BALANCES,
    FLUXES,
    FluxDecoder,
    HybridDecoder,
    TaskModulated,
    _moments,
)
from hybridflux.modulators.encoders import SetEncoder

__all__ = [
    "FLUXES",
    "BALANCES",
    "site_means",
    "shrink_site_nee",
    "SiteWindows",
    "TaskModulated",
    "FluxDecoder",
    "HybridDecoder",
    "TamRL",
    "tamrl_film",
    "tamrl_hybrid",
]


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


def site_means(grid: ArrayLike, ok: ArrayLike) -> np.ndarray:
    """(S,) mean of ``grid`` (S, T) over the cells ``ok`` of each site (NaN where none)."""
    grid, ok = np.asarray(grid, np.float64), np.asarray(ok, bool)
    n = ok.sum(1)
    return np.where(n > 0, np.where(ok, grid, 0.0).sum(1) / np.maximum(n, 1), np.nan)


def shrink_site_nee(
    grids: Mapping[str, ArrayLike],
    valid: ArrayLike,
    weight: float,
    mu: float,
    sites: ArrayLike | None = None,
) -> dict[str, np.ndarray]:
    """Shrink each site's mean NEE toward ``mu``, keeping GPP and the balance NEE = RECO − GPP.

    With ``m_s`` the site's mean predicted NEE over its valid months (gC m-2 d-1),

        δ_s = (1 − α)(μ − m_s),  RECO' = max(RECO + δ_s, 0),  NEE' = RECO' − GPP,

    so NEE' = NEE + δ_s (the site mean moves to ``α·m_s + (1 − α)·μ``, the seasonal anomaly is
    kept) except in months where RECO would turn negative. ``α = weight``: 1 leaves the
    predictions as they are, 0 gives every site the mean ``μ`` (zero-shot, a site's mean NEE —
    its sink strength — is predicted poorly from covariates; benchmarks/README.md).
    ``sites``: ``(S,)`` booleans, the sites to shrink (default all; sites seen in training
    keep their own mean).

    Example:
        >>> g = {"GPP": np.array([[1.0, 3.0]]), "RECO": np.array([[2.0, 2.0]])}
        >>> g["NEE"] = g["RECO"] - g["GPP"]
        >>> shrink_site_nee(g, np.ones((1, 2), bool), 0.5, -1.0)["NEE"].tolist()
        [[0.5, -1.5]]
    """
    delta = (1.0 - weight) * (mu - site_means(grids["NEE"], valid))
    delta = delta if sites is None else np.where(np.asarray(sites, bool), delta, 0.0)
    reco = np.maximum(np.asarray(grids["RECO"]) + np.nan_to_num(delta)[:, None], 0.0)
    return {**grids, "RECO": reco, "NEE": reco - np.asarray(grids["GPP"])}


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
        nee_site_weight: α of :func:`shrink_site_nee` in zero-shot prediction
            (:func:`~hybridflux.training.episodes.predict_sites`); 1: no shrinkage. Below 1 the
            model holds ``nee_mu``, μ: the mean over training sites of their mean observed NEE.
        rngs: ``nnx.Rngs``.

    Example:
        >>> model = tamrl_film(["TA_F"], embed_dim=2, hidden=(4,), rngs=1)
        >>> model.covariates
        ('TA_F',)
    """

    def __init__(self, covariates, decoder, *, encoder=None, embed_dim=16,
                 encoder_hidden=(64, 64), nee_site_weight=1.0, rngs):  # fmt: skip
        self.covariates = tuple(covariates)
        k = len(FLUXES)
        n = len(self.covariates) + 2 * k
        self.encoder = encoder or SetEncoder(n, encoder_hidden, embed_dim, rngs=rngs)
        self.decoder = decoder
        self.x_mean = Stat(jnp.zeros(len(self.covariates), jnp.float32))
        self.x_std = Stat(jnp.ones(len(self.covariates), jnp.float32))
        self.y_scale = Stat(jnp.ones(k, jnp.float32))
        if not 0.0 <= nee_site_weight <= 1.0:
            raise ValueError(f"nee_site_weight must be in [0, 1], got {nee_site_weight}")
        self.nee_site_weight = float(nee_site_weight)
        if self.nee_site_weight != 1.0:  # no extra variable otherwise: older runs still load
            self.nee_mu = Stat(jnp.zeros((), jnp.float32))

    def set_normalization(self, windows: SiteWindows) -> None:
        """Covariate mean/std and flux scales (RMS) from training windows (outside ``jit``)."""
        x, ok = np.asarray(windows.x), np.asarray(windows.valid)
        mean, std = _moments(x, np.broadcast_to(ok[..., None], x.shape))
        self.x_mean[...], self.x_std[...] = jnp.asarray(mean, jnp.float32), jnp.asarray(std)
        y, obs = np.asarray(windows.y, np.float64), np.asarray(windows.obs)
        rms = np.sqrt((y**2 * obs).sum((0, 1)) / np.maximum(obs.sum((0, 1)), 1))
        self.y_scale[...] = jnp.asarray(np.where(rms > 0, rms, 1.0), jnp.float32)
        if hasattr(self, "nee_mu"):
            mu = np.nanmean(site_means(y[..., 2], obs[..., 2])) if obs[..., 2].any() else 0.0
            self.nee_mu[...] = jnp.asarray(mu, jnp.float32)
        cols = {c: x[..., j] for j, c in enumerate(self.covariates)}
        for src in ("eps", "rb", "q10"):
            if hasattr(self.decoder, src):
                getattr(self.decoder, src).set_normalization(cols, ok)

    def set_nee_shrinkage(self, alpha: float, mu: float) -> None:
        """Set the zero-shot site-mean NEE shrinkage after training: weight ``alpha`` (α of
        :func:`shrink_site_nee`, 1: off) toward ``mu`` (gC m-2 d-1), e.g. α fitted on
        validation sites (``nee_site_weight: "val"`` of the benchmark entry)."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"nee_site_weight must be in [0, 1], got {alpha}")
        self.nee_site_weight = float(alpha)
        self.nee_mu = Stat(jnp.asarray(mu, jnp.float32))

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


def tamrl_film(covariates, *, embed_dim=16, hidden=(64, 64), encoder_hidden=(64, 64),
               balance="reco", nee_site_weight=1.0, rngs=0):  # fmt: skip
    """TAM-RL with a FiLM-modulated flux decoder (:class:`FluxDecoder`).

    Args:
        covariates: covariate names (met, remote sensing, one-hot traits).
        embed_dim: D.
        hidden: widths of the decoder.
        encoder_hidden: widths of the set encoder.
        balance: ``"reco"`` (heads GPP, RECO) or ``"nee"`` (heads GPP, NEE), both with
            ``NEE = RECO − GPP`` exactly (:class:`FluxDecoder`).
        nee_site_weight: α of the zero-shot site-mean NEE shrinkage (:class:`TamRL`).
        rngs: ``nnx.Rngs`` or a seed.

    Example:
        >>> type(tamrl_film(["TA_F"], hidden=(4,), rngs=0).decoder).__name__
        'FluxDecoder'
    """
    rngs = _rngs(rngs)
    decoder = FluxDecoder(len(covariates), embed_dim, hidden, balance=balance, rngs=rngs)
    return TamRL(covariates, decoder, embed_dim=embed_dim, encoder_hidden=encoder_hidden,
                 nee_site_weight=nee_site_weight, rngs=rngs)  # fmt: skip


def tamrl_hybrid(covariates, *, sw_in="SW_IN_F", ta="TA_F", lai=None, embed_dim=16,
                 hidden=(32, 32), encoder_hidden=(64, 64), nee_site_weight=1.0,
                 rngs=0):  # fmt: skip
    """TAM-RL with task-aware LUE–Q10 parameters (:class:`HybridDecoder`).

    Args:
        covariates: covariate names; must include ``sw_in``, ``ta`` (and ``lai`` if given).
        sw_in: shortwave column, W m-2.
        ta: air temperature column, °C.
        lai: LAI column (m2 m-2) for fAPAR by Beer's law, or None (fAPAR = 1).
        embed_dim: D.
        hidden: widths of the parameter networks.
        encoder_hidden: widths of the set encoder.
        nee_site_weight: α of the zero-shot site-mean NEE shrinkage (:class:`TamRL`).
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
                 nee_site_weight=nee_site_weight, rngs=rngs)  # fmt: skip
