"""Light-use-efficiency GPP: environmental ramp scalars, fAPAR and the composite model.

``GPP = ε_max · fAPAR · PAR · f(T) · f(VPD) · f(W)`` (Monteith 1972) with the MOD17 linear ramp
scalars for temperature and VPD (Running & Zhao 2015, MOD17 User's Guide) and a CASA-style
linear water scalar (Potter et al. 1993). fAPAR comes from LAI (Beer's law) or from a vegetation
index. Units follow the process conventions: PAR in MJ m-2 d-1, ε_max in gC MJ-1, temperature in
°C, VPD in hPa, GPP in gC m-2 d-1.

Example:
    >>> from hybridflux.process.gpp import LUEParams, gpp_lue
    >>> round(float(gpp_lue(LUEParams.default(), par=10.0, fapar=0.8, ta=20.0, vpd=5.0)), 3)
    7.696
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import CANOPY, LUE, LUEConstants

__all__ = [
    "temperature_scalar",
    "vpd_scalar",
    "water_scalar",
    "fapar_from_lai",
    "fapar_from_ndvi",
    "fapar_from_evi",
    "lue_gpp",
    "LUEParams",
    "gpp_lue",
]


def _ramp_up(x: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> jax.Array:
    """Linear ramp ``clip((x − lo)/(hi − lo), 0, 1)``; a step at ``hi`` when ``hi ≤ lo``.

    The width is replaced by 1 where it is not positive (double ``where``), so neither the
    value nor the gradient becomes NaN/inf for degenerate (e.g. learned) ramp parameters.
    """
    x, lo, hi = jnp.asarray(x), jnp.asarray(lo), jnp.asarray(hi)
    width = hi - lo
    proper = width > 0
    ramp = jnp.clip((x - lo) / jnp.where(proper, width, 1.0), 0.0, 1.0)
    step = jnp.where(x >= hi, 1.0, 0.0)
    return jnp.where(proper, ramp, step)


def temperature_scalar(ta: ArrayLike, t_min: ArrayLike, t_opt: ArrayLike) -> jax.Array:
    """MOD17 temperature scalar ``f(T) = clip((T − T_min)/(T_opt − T_min), 0, 1)``.

    Args:
        ta: air temperature T in °C (MOD17 uses the daily minimum; here any daily statistic).
        t_min: T_min in °C, at and below which the scalar is 0.
        t_opt: T_opt in °C, at and above which the scalar is 1.

    Returns:
        Dimensionless scalar in [0, 1].

    Reference:
        Running & Zhao (2015), MOD17 User's Guide, eq. for TMIN_scalar.

    Example:
        >>> round(float(temperature_scalar(0.0, -8.0, 8.0)), 2)
        0.5
    """
    return _ramp_up(ta, t_min, t_opt)


def vpd_scalar(vpd: ArrayLike, vpd_low: ArrayLike, vpd_high: ArrayLike) -> jax.Array:
    """MOD17 VPD scalar ``f(D) = clip((D_high − D)/(D_high − D_low), 0, 1)``.

    Args:
        vpd: vapour pressure deficit D in hPa.
        vpd_low: D_low in hPa, at and below which the scalar is 1.
        vpd_high: D_high in hPa, at and above which the scalar is 0.

    Returns:
        Dimensionless scalar in [0, 1].

    Reference:
        Running & Zhao (2015), MOD17 User's Guide, eq. for VPD_scalar.

    Example:
        >>> round(float(vpd_scalar(26.25, 6.5, 46.0)), 2)
        0.5
    """
    return 1.0 - _ramp_up(vpd, vpd_low, vpd_high)


def water_scalar(w: ArrayLike, w_low: ArrayLike, w_high: ArrayLike) -> jax.Array:
    """Linear water-stress scalar ``f(W) = clip((W − W_low)/(W_high − W_low), 0, 1)``.

    Args:
        w: relative soil water (0 = wilting point, 1 = field capacity), dimensionless.
        w_low: W_low, at and below which the scalar is 0, dimensionless.
        w_high: W_high, at and above which the scalar is 1 (no stress), dimensionless.

    Returns:
        Dimensionless scalar in [0, 1].

    Reference:
        Potter et al. (1993), Glob. Biogeochem. Cycles 7, 811–841 (CASA water stress).

    Example:
        >>> round(float(water_scalar(0.25, 0.0, 0.5)), 2)
        0.5
    """
    return _ramp_up(w, w_low, w_high)


def fapar_from_lai(lai: ArrayLike, k: ArrayLike = CANOPY.k_extinction) -> jax.Array:
    """Beer's-law fAPAR ``fAPAR = 1 − exp(−k · LAI)``.

    The formula is smooth at LAI = 0 (slope k) and is not clipped: LAI is expected ≥ 0, a
    negative LAI gives a negative fAPAR, which :func:`lue_gpp` clips at zero.

    Args:
        lai: leaf area index in m2 m-2.
        k: extinction coefficient, dimensionless.

    Returns:
        Fraction of absorbed PAR, dimensionless, in [0, 1) for LAI ≥ 0.

    Reference:
        Monsi & Saeki (1953); Campbell & Norman (1998), An Introduction to Environmental
        Biophysics, §15.

    Example:
        >>> round(float(fapar_from_lai(2.0)), 4)
        0.6321
    """
    return -jnp.expm1(-k * jnp.asarray(lai))


def fapar_from_ndvi(
    ndvi: ArrayLike,
    slope: ArrayLike = CANOPY.ndvi_slope,
    intercept: ArrayLike = CANOPY.ndvi_intercept,
) -> jax.Array:
    """Linear fAPAR from NDVI ``fAPAR = clip(a · NDVI + b, 0, 1)``.

    Args:
        ndvi: normalised difference vegetation index, dimensionless.
        slope: a, dimensionless.
        intercept: b, dimensionless.

    Returns:
        Fraction of absorbed PAR in [0, 1].

    Reference:
        Myneni & Williams (1994), Remote Sens. Environ. 49, 200–211.

    Example:
        >>> round(float(fapar_from_ndvi(0.5)), 4)
        0.4393
    """
    return jnp.clip(slope * jnp.asarray(ndvi) + intercept, 0.0, 1.0)


def fapar_from_evi(
    evi: ArrayLike,
    slope: ArrayLike = CANOPY.evi_slope,
    intercept: ArrayLike = CANOPY.evi_intercept,
) -> jax.Array:
    """Linear fAPAR (chlorophyll) from EVI ``fAPAR = clip(a · EVI + b, 0, 1)``.

    Args:
        evi: enhanced vegetation index, dimensionless.
        slope: a, dimensionless (1 in VPM).
        intercept: b, dimensionless (0 in VPM).

    Returns:
        Fraction of absorbed PAR in [0, 1].

    Reference:
        Xiao et al. (2004), Remote Sens. Environ. 91, 256–270 (VPM: fAPAR_chl = EVI).

    Example:
        >>> round(float(fapar_from_evi(0.4)), 2)
        0.4
    """
    return jnp.clip(slope * jnp.asarray(evi) + intercept, 0.0, 1.0)


def lue_gpp(
    par: ArrayLike,
    fapar: ArrayLike,
    eps_max: ArrayLike,
    f_t: ArrayLike = 1.0,
    f_vpd: ArrayLike = 1.0,
    f_w: ArrayLike = 1.0,
) -> jax.Array:
    """Light-use-efficiency GPP ``GPP = ε_max · fAPAR · PAR · f_T · f_VPD · f_W``.

    PAR and fAPAR are clipped at zero, so GPP ≥ 0 for ε_max ≥ 0 and scalars in [0, 1], and
    GPP is non-decreasing in PAR.

    Args:
        par: incident PAR in MJ m-2 d-1.
        fapar: fraction of absorbed PAR, dimensionless.
        eps_max: maximum light-use efficiency ε_max in gC MJ-1 (of absorbed PAR).
        f_t: temperature scalar in [0, 1].
        f_vpd: VPD scalar in [0, 1].
        f_w: water scalar in [0, 1].

    Returns:
        GPP in gC m-2 d-1.

    Reference:
        Monteith (1972), J. Appl. Ecol.; Running & Zhao (2015), MOD17 User's Guide.

    Example:
        >>> round(float(lue_gpp(10.0, 0.5, 1.0, f_t=0.5)), 2)
        2.5
    """
    absorbed = jnp.maximum(jnp.asarray(fapar), 0.0) * jnp.maximum(jnp.asarray(par), 0.0)
    return eps_max * absorbed * f_t * f_vpd * f_w


class LUEParams(NamedTuple):
    """Parameters of :func:`gpp_lue` (a JAX pytree).

    Attributes:
        eps_max: gC MJ-1. Maximum light-use efficiency.
        t_min: °C. Temperature scalar is 0 at and below.
        t_opt: °C. Temperature scalar is 1 at and above.
        vpd_low: hPa. VPD scalar is 1 at and below.
        vpd_high: hPa. VPD scalar is 0 at and above.
        w_low: 1. Water scalar is 0 at and below (relative soil water).
        w_high: 1. Water scalar is 1 at and above.

    Example:
        >>> LUEParams.default().t_opt
        8.31
    """

    eps_max: ArrayLike
    t_min: ArrayLike
    t_opt: ArrayLike
    vpd_low: ArrayLike
    vpd_high: ArrayLike
    w_low: ArrayLike
    w_high: ArrayLike

    @classmethod
    def default(cls, constants: LUEConstants = LUE) -> LUEParams:
        """Literature defaults from :data:`hybridflux.constants.LUE` (MOD17 ENF).

        Args:
            constants: the constants dataclass to read, default ``constants.LUE``.

        Returns:
            A ``LUEParams`` of Python floats.

        Example:
            >>> LUEParams.default().eps_max
            0.962
        """
        return cls(
            eps_max=constants.eps_max,
            t_min=constants.t_min,
            t_opt=constants.t_opt,
            vpd_low=constants.vpd_low,
            vpd_high=constants.vpd_high,
            w_low=constants.w_low,
            w_high=constants.w_high,
        )


def gpp_lue(
    params: LUEParams,
    par: ArrayLike,
    fapar: ArrayLike,
    ta: ArrayLike,
    vpd: ArrayLike,
    w: ArrayLike = 1.0,
) -> jax.Array:
    """Composite LUE GPP ``ε_max · fAPAR · PAR · f(T) · f(VPD) · f(W)`` with ramp scalars.

    Args:
        params: ramp thresholds and ε_max (see :class:`LUEParams` for units).
        par: incident PAR in MJ m-2 d-1.
        fapar: fraction of absorbed PAR, dimensionless.
        ta: air temperature in °C.
        vpd: vapour pressure deficit in hPa.
        w: relative soil water, dimensionless (1 = no stress).

    Returns:
        GPP in gC m-2 d-1.

    Reference:
        Running & Zhao (2015), MOD17 User's Guide; Potter et al. (1993).

    Example:
        >>> p = LUEParams.default()
        >>> round(float(gpp_lue(p, par=10.0, fapar=0.5, ta=-10.0, vpd=5.0)), 2)
        0.0
    """
    return lue_gpp(
        par,
        fapar,
        params.eps_max,
        f_t=temperature_scalar(ta, params.t_min, params.t_opt),
        f_vpd=vpd_scalar(vpd, params.vpd_low, params.vpd_high),
        f_w=water_scalar(w, params.w_low, params.w_high),
    )
