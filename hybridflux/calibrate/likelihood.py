"""Observation models of a calibration: the error distribution and where its scale comes from.

``y_i ~ Family(μ_i, σ_i)`` for every row i whose observation is finite (masked likelihood,
gaps contribute nothing):

- family: :class:`Gaussian` (``Normal(μ, σ)``) or :class:`StudentT` (``StudentT(ν, μ, σ)``,
  robust to outliers such as spikes in half-hourly fluxes);
- scale σ: :class:`LearnedNoise` — one parameter per calibrated flux, absolute
  (``σ_i = σ``, units of the flux) or relative (``σ_i = σ·|μ_i|``, dimensionless σ, for
  strictly positive fluxes with multiplicative errors); or :class:`ObservedNoise` — the
  per-record random uncertainty of FLUXNET (``NEE_VUT_REF_RANDUNC``, Pastorello et al. 2020),
  rows without it are left out of the fit.

Example:
    >>> import jax.numpy as jnp
    >>> lik = Likelihood(StudentT(df=4.0), LearnedNoise(relative=True))
    >>> float(lik.family(jnp.array(2.0), jnp.array(0.1)).df)
    4.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax.typing import ArrayLike

__all__ = [
    "Gaussian",
    "StudentT",
    "LearnedNoise",
    "ObservedNoise",
    "Likelihood",
    "noise_name",
]


def noise_name(output: str) -> str:
    """Name of the learned noise parameter of a calibrated flux, ``sigma_<output>``.

    Example:
        >>> noise_name("NEE")
        'sigma_NEE'
    """
    return f"sigma_{output}"


@dataclass(frozen=True)
class Gaussian:
    """Gaussian errors, ``y ~ Normal(μ, σ)``.

    Example:
        >>> round(float(Gaussian()(0.0, 1.0).log_prob(0.0)), 4)
        -0.9189
    """

    def __call__(self, loc: ArrayLike, scale: ArrayLike) -> dist.Distribution:
        """The distribution of the observations given the model ``loc`` and ``scale``."""
        return dist.Normal(loc, scale)


@dataclass(frozen=True)
class StudentT:
    """Student-t errors, ``y ~ StudentT(ν, μ, σ)``; heavy tails down-weight outliers.

    Attributes:
        df: degrees of freedom ν (> 0); 4 is a common robust choice (Lange et al. 1989,
            J. Am. Stat. Assoc. 84, 881–896).

    Example:
        >>> float(StudentT(df=3.0)(0.0, 1.0).df)
        3.0
    """

    df: float = 4.0

    def __call__(self, loc: ArrayLike, scale: ArrayLike) -> dist.Distribution:
        """The distribution of the observations given the model ``loc`` and ``scale``."""
        return dist.StudentT(self.df, loc, scale)


def _half_normal_one() -> dist.Distribution:
    return dist.HalfNormal(1.0)


@dataclass(frozen=True)
class LearnedNoise:
    """A learned noise scale per calibrated flux, named ``sigma_<output>``.

    Attributes:
        prior: prior of σ (positive support). Default ``HalfNormal(1)``: σ of a daily carbon
            flux rarely exceeds a few gC m-2 d-1, and relative σ rarely exceeds 100 %.
        relative: ``σ_i = σ·|μ_i|`` (multiplicative errors) instead of ``σ_i = σ``.

    Example:
        >>> import jax.numpy as jnp
        >>> scale, valid = LearnedNoise(relative=True).scale(jnp.array(0.1), jnp.array([2.0]),
        ...                                                  None)
        >>> [round(float(v), 4) for v in scale], valid
        ([0.2], True)
    """

    prior: dist.Distribution = field(default_factory=_half_normal_one)
    relative: bool = False

    def sample(self, output: str) -> jax.Array:
        """Draw σ of ``output`` (a numpyro sample site; call outside the data plate)."""
        return numpyro.sample(noise_name(output), self.prior)

    def scale(self, sigma: ArrayLike, mu: jax.Array, uncertainty: ArrayLike | None):
        """Per-row scale and which rows may be fitted (all rows: ``True``).

        Relative scales use ``max(|μ|, tiny)`` so that σ_i > 0 even where μ = 0.
        """
        del uncertainty
        if not self.relative:
            return jnp.broadcast_to(sigma, jnp.shape(mu)), True
        tiny = jnp.finfo(jnp.result_type(mu)).tiny
        return sigma * jnp.maximum(jnp.abs(mu), tiny), True


@dataclass(frozen=True)
class ObservedNoise:
    """The scale is the observations' own uncertainty column (e.g. ``NEE_VUT_REF_RANDUNC``).

    Rows whose uncertainty is missing or not positive are left out of the fit; predictions
    there use the median uncertainty.

    Example:
        >>> import jax.numpy as jnp
        >>> scale, valid = ObservedNoise().scale(None, jnp.zeros(3),
        ...                                      jnp.array([0.5, jnp.nan, 0.7]))
        >>> [round(float(v), 2) for v in scale], valid.tolist()
        ([0.5, 0.6, 0.7], [True, False, True])
    """

    def sample(self, output: str) -> None:
        """No parameter to learn."""
        del output
        return None

    def scale(self, sigma: None, mu: jax.Array, uncertainty: ArrayLike | None):
        """Per-row scale (missing values filled by the median) and the rows with a value."""
        del sigma
        if uncertainty is None:
            raise ValueError("ObservedNoise needs an uncertainty column for every output")
        unc = jnp.asarray(uncertainty)
        valid = jnp.isfinite(unc) & (unc > 0)
        fill = jnp.nanmedian(jnp.where(valid, unc, jnp.nan))
        fill = jnp.where(jnp.isfinite(fill), fill, 1.0)
        return jnp.where(valid, unc, fill), valid


@dataclass(frozen=True)
class Likelihood:
    """Error family and noise model(s) of the observations.

    Attributes:
        family: :class:`Gaussian` or :class:`StudentT` (any callable ``(loc, scale) → dist``).
        noise: one noise model for every calibrated flux, or a mapping output → noise model.

    Example:
        >>> lik = Likelihood(noise={"NEE": ObservedNoise(), "RECO": LearnedNoise()})
        >>> type(lik.noise_of("NEE")).__name__, type(lik.noise_of("GPP")).__name__
        ('ObservedNoise', 'LearnedNoise')
    """

    family: Gaussian | StudentT = field(default_factory=Gaussian)
    noise: LearnedNoise | ObservedNoise | Mapping[str, LearnedNoise | ObservedNoise] = field(
        default_factory=LearnedNoise
    )

    def noise_of(self, output: str) -> LearnedNoise | ObservedNoise:
        """The noise model of one output (a mapping falls back to :class:`LearnedNoise`)."""
        if isinstance(self.noise, Mapping):
            return self.noise.get(output, LearnedNoise())
        return self.noise
