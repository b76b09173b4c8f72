"""numpyro models of flux observations, built from the process functions of hybridflux.process.

A calibration model is a *process spec* — which parameters, their priors, which drivers and
outputs, and ``spec(params, drivers) -> {output: flux}`` calling the process library — plus a
:class:`~hybridflux.calibrate.likelihood.Likelihood`. :func:`flux_model` turns them into one
numpyro model:

    θ_k ~ prior_k                                   (physics parameters, scalars)
    μ_i = process(θ, drivers_i)                     (e.g. R_b · Q10^((T_i − 15)/10))
    y_i ~ Family(μ_i, σ_i)   for finite y_i         (masked likelihood)

Specs: :class:`Q10Respiration` (Rb, Q10) and :class:`LUEQ10NEE` (ε, Rb, Q10 with
``NEE = RECO − GPP``); :class:`~hybridflux.calibrate.hybrid.HybridGlobals` calibrates the
global parameters of a trained hybrid model. Default priors are centred on the literature
values of :mod:`hybridflux.constants` and bounded by the ranges of the hybrid models'
``Global`` parameters (:data:`PRIORS`); pass ``priors=`` to override any of them.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from numpyro.infer.util import log_density
    >>> data = CalibrationData({"TA_F": jnp.array([5.0, 25.0])},
    ...                        {"RECO": jnp.array([1.3, jnp.nan])})
    >>> lp, _ = log_density(flux_model, (Q10Respiration(), data), {},
    ...                     {"Rb": 2.0, "Q10": 1.5, "sigma_RECO": 0.1})
    >>> bool(jnp.isfinite(lp))
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax.typing import ArrayLike

from hybridflux.calibrate.likelihood import Likelihood
from hybridflux.constants import LUE, Q10_RESPIRATION
from hybridflux.hybrid.models import lue_q10_process
from hybridflux.process.respiration import q10_respiration

__all__ = [
    "PriorDefaults",
    "PRIORS",
    "ProcessSpec",
    "CalibrationData",
    "Q10Respiration",
    "LUEQ10NEE",
    "flux_model",
]


@dataclass(frozen=True)
class PriorDefaults:
    """Default, weakly informative priors of the physics parameters.

    Attributes:
        rb_median: gC m-2 d-1. Median of the LogNormal prior of R_b, the literature base
            respiration ``Q10_RESPIRATION.r_base`` = 2.0 (Baldocchi 2008).
        rb_log_sd: 1. Standard deviation of log R_b, 1.0 (95 % of the prior mass within a
            factor 7 of the median).
        q10_mean: 1. Centre of the truncated-normal Q10 prior, the global Q10 = 1.4 of
            Mahecha et al. (2010), ``Q10_RESPIRATION.q10``.
        q10_sd: 1. Its standard deviation, 1.0 (site Q10 vary far more than the global ± 0.1).
        q10_bounds: 1. Truncation of Q10, (0.5, 5.0), the bounds of the hybrid models'
            global Q10 (``hybridflux.hybrid.models.hybrid_q10``).
        eps_mean: gC MJ-1. Centre of the ε prior, MOD17 ε_max = 0.962 (``LUE.eps_max``).
        eps_sd: gC MJ-1. Its standard deviation, 1.0.
        eps_bounds: gC MJ-1. Truncation of ε, (0, 5), as ``lue_q10_nee``'s ``eps_bounds``.

    Example:
        >>> PriorDefaults().q10_bounds
        (0.5, 5.0)
    """

    rb_median: float = Q10_RESPIRATION.r_base
    rb_log_sd: float = 1.0
    q10_mean: float = Q10_RESPIRATION.q10
    q10_sd: float = 1.0
    q10_bounds: tuple[float, float] = (0.5, 5.0)
    eps_mean: float = LUE.eps_max
    eps_sd: float = 1.0
    eps_bounds: tuple[float, float] = (0.0, 5.0)

    def rb(self) -> dist.Distribution:
        """``R_b ~ LogNormal(log rb_median, rb_log_sd)`` in gC m-2 d-1."""
        return dist.LogNormal(math.log(self.rb_median), self.rb_log_sd)

    def q10(self) -> dist.Distribution:
        """``Q10 ~ TruncatedNormal(q10_mean, q10_sd)`` on ``q10_bounds``."""
        low, high = self.q10_bounds
        return dist.TruncatedNormal(self.q10_mean, self.q10_sd, low=low, high=high)

    def eps(self) -> dist.Distribution:
        """``ε ~ TruncatedNormal(eps_mean, eps_sd)`` on ``eps_bounds`` in gC MJ-1."""
        low, high = self.eps_bounds
        return dist.TruncatedNormal(self.eps_mean, self.eps_sd, low=low, high=high)


#: The default priors.
PRIORS = PriorDefaults()


class ProcessSpec(Protocol):
    """What :func:`flux_model` needs of a process: priors, drivers, outputs and a call."""

    priors: Mapping[str, dist.Distribution]

    @property
    def drivers(self) -> tuple[str, ...]:
        """Columns of the data the process reads."""

    @property
    def outputs(self) -> tuple[str, ...]:
        """Fluxes it returns."""

    def __call__(
        self, params: Mapping[str, ArrayLike], drivers: Mapping[str, ArrayLike]
    ) -> dict[str, jax.Array]:
        """Fluxes of the rows of ``drivers`` for scalar parameters ``params``."""


class CalibrationData(NamedTuple):
    """The rows a calibration sees, as ``(N,)`` arrays.

    Attributes:
        drivers: column name → values (finite; the process inputs).
        observed: output name → observed flux, ``NaN`` where missing (masked).
        uncertainty: output name → observation uncertainty (for ``ObservedNoise``).

    Example:
        >>> import jax.numpy as jnp
        >>> CalibrationData({"TA_F": jnp.zeros(3)}, {"RECO": jnp.ones(3)}).rows
        3
    """

    drivers: Mapping[str, jax.Array]
    observed: Mapping[str, jax.Array]
    uncertainty: Mapping[str, jax.Array] = {}

    @property
    def rows(self) -> int:
        """Number of rows N."""
        return int(jnp.shape(next(iter(self.drivers.values())))[0])


def _merge(defaults: dict[str, dist.Distribution], priors) -> dict[str, dist.Distribution]:
    priors = dict(priors or {})
    unknown = sorted(set(priors) - set(defaults))
    if unknown:
        raise ValueError(f"priors for unknown parameters {unknown}; known: {sorted(defaults)}")
    return {**defaults, **priors}


@dataclass(frozen=True)
class Q10Respiration:
    """Q10 respiration ``RECO = R_b · Q10^((T − T_ref)/10)`` with scalar R_b and Q10.

    Calls :func:`hybridflux.process.respiration.q10_respiration`.

    Attributes:
        priors: parameter → prior, overriding the defaults ``Rb`` (gC m-2 d-1, LogNormal) and
            ``Q10`` (1, truncated normal), see :class:`PriorDefaults`.
        ta: temperature column, °C.
        t_ref: reference temperature T_ref, °C.

    Reference:
        Reichstein et al. (2022), hybrid Q10 experiment; Mahecha et al. (2010).

    Example:
        >>> spec = Q10Respiration()
        >>> sorted(spec.priors), round(float(spec({"Rb": 2.0, "Q10": 1.5},
        ...                                       {"TA_F": 25.0})["RECO"]), 3)
        (['Q10', 'Rb'], 3.0)
    """

    priors: Mapping[str, dist.Distribution] | None = None
    ta: str = "TA_F"
    t_ref: float = Q10_RESPIRATION.t_ref
    defaults: PriorDefaults = field(default=PRIORS, repr=False)

    def __post_init__(self):
        merged = _merge({"Rb": self.defaults.rb(), "Q10": self.defaults.q10()}, self.priors)
        object.__setattr__(self, "priors", merged)

    drivers = property(lambda self: (self.ta,), doc="The temperature column.")
    outputs = property(lambda self: ("RECO",), doc="``('RECO',)``.")

    def __call__(self, params, drivers) -> dict[str, jax.Array]:
        """``{"RECO": R_b · Q10^((T − T_ref)/10)}`` in gC m-2 d-1."""
        return {"RECO": q10_respiration(drivers[self.ta], params["Rb"], params["Q10"], self.t_ref)}


@dataclass(frozen=True)
class LUEQ10NEE:
    """LUE GPP and Q10 RECO with scalar ε, R_b, Q10: ``NEE = R_b·Q10^((T−15)/10) − ε·fAPAR·PAR``.

    Calls :func:`hybridflux.hybrid.models.lue_q10_process` (:func:`~hybridflux.process.gpp.lue_gpp`
    and :func:`~hybridflux.process.respiration.q10_respiration`); PAR from daily-mean SW_IN.

    Attributes:
        priors: overrides of the defaults ``eps`` (gC MJ-1), ``Rb`` (gC m-2 d-1), ``Q10`` (1).
        sw_in: daily-mean incoming shortwave column, W m-2.
        ta: air-temperature column, °C.
        fapar: optional fAPAR column (1).
        lai: optional LAI column (m2 m-2, Beer's law); without fapar/lai, ε is per incident PAR.

    Reference:
        Monteith (1972); Reichstein et al. (2005) for the partitioning idea.

    Example:
        >>> out = LUEQ10NEE()({"eps": 1.0, "Rb": 2.0, "Q10": 2.0},
        ...                   {"SW_IN_F": 200.0, "TA_F": 15.0})
        >>> round(float(out["NEE"]), 2)
        -6.64
    """

    priors: Mapping[str, dist.Distribution] | None = None
    sw_in: str = "SW_IN_F"
    ta: str = "TA_F"
    fapar: str | None = None
    lai: str | None = None
    defaults: PriorDefaults = field(default=PRIORS, repr=False)

    def __post_init__(self):
        if self.fapar is not None and self.lai is not None:
            raise ValueError("Give at most one of fapar= and lai= (the fAPAR source).")
        d = self.defaults
        merged = _merge({"eps": d.eps(), "Rb": d.rb(), "Q10": d.q10()}, self.priors)
        object.__setattr__(self, "priors", merged)

    @property
    def drivers(self) -> tuple[str, ...]:
        """SW_IN, TA and the fAPAR/LAI column when named."""
        return tuple(c for c in (self.sw_in, self.ta, self.fapar, self.lai) if c is not None)

    outputs = property(lambda self: ("NEE", "GPP", "RECO"), doc="``('NEE', 'GPP', 'RECO')``.")

    def __call__(self, params, drivers) -> dict[str, jax.Array]:
        """``{"GPP", "RECO", "NEE"}`` in gC m-2 d-1 (NEE > 0: source)."""
        names = {"sw_in": self.sw_in, "ta": self.ta, "fapar": self.fapar, "lai": self.lai}
        return lue_q10_process(params, drivers, **names)


def flux_model(
    process: ProcessSpec,
    data: CalibrationData,
    likelihood: Likelihood | None = None,
    *,
    predict: bool = False,
    subsample_size: int | None = None,
) -> None:
    """numpyro model: priors on the physics parameters, masked likelihood of the observations.

    Sample sites: one per parameter of ``process.priors`` (scalars), ``sigma_<output>`` per
    observed output with learned noise, and ``<output>_obs`` (plate ``rows``). With
    ``predict=True`` the observations are not conditioned on (posterior predictive) and every
    process output is recorded as a deterministic site ``<output>``.

    Args:
        process: the process spec (e.g. :class:`Q10Respiration`).
        data: drivers and observations; outputs in ``data.observed`` are fitted.
        likelihood: error family and noise (default Gaussian, learned absolute σ).
        predict: sample the observations instead of conditioning on them.
        subsample_size: rows per step for stochastic variational inference (``None``: all).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from numpyro.infer import Predictive
        >>> data = CalibrationData({"TA_F": jnp.array([5.0, 25.0])}, {"RECO": jnp.ones(2)})
        >>> pred = Predictive(flux_model, num_samples=3)(jax.random.key(0), Q10Respiration(),
        ...                                              data, predict=True)
        >>> pred["RECO_obs"].shape, pred["RECO"].shape
        ((3, 2), (3, 2))
    """
    likelihood = likelihood or Likelihood()
    params = {name: numpyro.sample(name, prior) for name, prior in process.priors.items()}
    sigmas = {out: likelihood.noise_of(out).sample(out) for out in data.observed}
    with numpyro.plate("rows", data.rows, subsample_size=subsample_size) as idx:
        take = (lambda v: v) if subsample_size is None else (lambda v: jnp.asarray(v)[idx])
        outputs = process(params, {k: take(v) for k, v in data.drivers.items()})
        if predict:
            for name, value in outputs.items():
                numpyro.deterministic(name, jnp.broadcast_to(value, (jnp.size(idx),)))
        for out, observed in data.observed.items():
            mu = outputs[out]
            unc = data.uncertainty.get(out)
            scale, valid = likelihood.noise_of(out).scale(
                sigmas[out], mu, None if unc is None else take(unc)
            )
            y = take(observed)
            mask = jnp.isfinite(y) & valid
            numpyro.sample(
                f"{out}_obs",
                likelihood.family(mu, scale).mask(mask),
                obs=None if predict else jnp.where(mask, y, 0.0),
            )
