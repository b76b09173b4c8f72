"""Solar geometry, potential (top-of-atmosphere) radiation and shortwave unit conversions.

Potential radiation drives the light-use-efficiency GPP and is the smoothed covariate of the
hybrid Q10 experiment (Reichstein et al. 2022; Cohrs et al. 2024). The solar geometry follows
FAO-56 (Allen, R. G., Pereira, L. S., Raes, D., Smith, M. 1998, Crop evapotranspiration, FAO
Irrigation and Drainage Paper 56, ch. 3, eqs. 21–25 and 31–33), so that the instantaneous and
the daily forms agree exactly: the 24-hour mean of :func:`potential_radiation` equals
:func:`daily_potential_radiation` for the same day of year.

All functions are scalar-first, elementwise on arrays and safe under ``jit``/``vmap``/``grad``.

Example:
    >>> from hybridflux.process.radiation import daily_potential_radiation
    >>> round(float(daily_potential_radiation(0.0, 80.0)), 0)
    436.0
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import RADIATION

__all__ = [
    "solar_declination",
    "potential_radiation",
    "daily_potential_radiation",
    "par_from_shortwave",
    "ppfd_from_shortwave",
    "w_m2_to_mj_per_day",
]

#: Days per year in the FAO-56 annual cycles (eqs. 23–24).
_DAYS_PER_YEAR = 365.0
#: 1. Amplitude of the inverse relative Earth–Sun distance, FAO-56 eq. 23.
_ECCENTRICITY_AMPLITUDE = 0.033
#: rad. Amplitude and phase of the FAO-56 declination (eq. 24).
_DECLINATION_AMPLITUDE = 0.409
_DECLINATION_PHASE = 1.39
#: deg h-1. Rotation of the Earth relative to the Sun.
_DEGREES_PER_HOUR = 15.0


def solar_declination(doy: ArrayLike) -> jax.Array:
    """Solar declination ``δ = 0.409 · sin(2π·J/365 − 1.39)``.

    Args:
        doy: day of year J, 1..366 (may be fractional).

    Returns:
        Declination δ in rad.

    Reference:
        Allen et al. (1998), FAO-56, eq. 24.

    Example:
        >>> round(float(solar_declination(172.0)), 3)
        0.409
    """
    doy = jnp.asarray(doy)
    return _DECLINATION_AMPLITUDE * jnp.sin(
        2.0 * jnp.pi * doy / _DAYS_PER_YEAR - _DECLINATION_PHASE
    )


def _inverse_relative_distance(doy: ArrayLike) -> jax.Array:
    """Inverse relative Earth–Sun distance ``d_r = 1 + 0.033·cos(2π·J/365)`` (FAO-56 eq. 23)."""
    return 1.0 + _ECCENTRICITY_AMPLITUDE * jnp.cos(2.0 * jnp.pi * jnp.asarray(doy) / _DAYS_PER_YEAR)


def _equation_of_time_hours(doy: ArrayLike) -> jax.Array:
    """Seasonal correction for solar time S_c in hours (FAO-56 eqs. 32–33).

    ``b = 2π(J − 81)/364``, ``S_c = 0.1645 sin 2b − 0.1255 cos b − 0.025 sin b``.
    """
    b = 2.0 * jnp.pi * (jnp.asarray(doy) - 81.0) / 364.0
    return 0.1645 * jnp.sin(2.0 * b) - 0.1255 * jnp.cos(b) - 0.025 * jnp.sin(b)


def potential_radiation(
    lat: ArrayLike,
    lon: ArrayLike,
    doy: ArrayLike,
    hour: ArrayLike,
    utc_offset: ArrayLike = 0.0,
    solar_constant: ArrayLike = RADIATION.solar_constant,
) -> jax.Array:
    """Instantaneous top-of-atmosphere shortwave on a horizontal surface.

    ``R = S0 · d_r · max(cos θz, 0)`` with ``d_r = 1 + 0.033 cos(2πJ/365)``,
    ``cos θz = sin φ sin δ + cos φ cos δ cos ω`` and the hour angle
    ``ω = π/12 · (t + (λ − 15·Δ)/15 + S_c − 12)`` from clock time t, longitude λ (east
    positive), the time zone offset Δ and the equation of time S_c.

    Args:
        lat: latitude φ in degrees north.
        lon: longitude λ in degrees east.
        doy: day of year J, 1..366.
        hour: local standard (clock) time t in decimal hours, 0..24.
        utc_offset: Δ, hours east of UTC of the site's standard time zone.
        solar_constant: S0 in W m-2.

    Returns:
        Potential shortwave radiation in W m-2, zero when the sun is below the horizon.

    Reference:
        Allen et al. (1998), FAO-56, eqs. 23–25 and 31–33.

    Example:
        >>> round(float(potential_radiation(0.0, 0.0, 80.0, 12.0)), 0)
        1369.0
        >>> float(potential_radiation(45.0, 10.0, 172.0, 0.5, utc_offset=1.0))
        0.0
    """
    phi = jnp.deg2rad(jnp.asarray(lat))
    delta = solar_declination(doy)
    solar_time = (
        jnp.asarray(hour)
        + (jnp.asarray(lon) - _DEGREES_PER_HOUR * jnp.asarray(utc_offset)) / _DEGREES_PER_HOUR
        + _equation_of_time_hours(doy)
    )
    omega = jnp.pi / 12.0 * (solar_time - 12.0)
    cos_zenith = jnp.sin(phi) * jnp.sin(delta) + jnp.cos(phi) * jnp.cos(delta) * jnp.cos(omega)
    return solar_constant * _inverse_relative_distance(doy) * jnp.maximum(cos_zenith, 0.0)


def _sunset_hour_angle(sin_term: jax.Array, cos_term: jax.Array) -> jax.Array:
    """Sunset hour angle ω_s = arccos(−a/b), clipped to [0, π] (polar night / polar day).

    ``a = sin φ sin δ`` and ``b = cos φ cos δ ≥ 0``; ``a ≥ b`` is polar day (ω_s = π) and
    ``a ≤ −b`` polar night (ω_s = 0). The ratio is formed only where it lies in (−1, 1)
    (double ``where``), so no NaN/inf reaches the gradient at the poles.
    """
    polar_day = sin_term >= cos_term
    polar_night = sin_term <= -cos_term
    inside = ~(polar_day | polar_night)
    ratio = -sin_term / jnp.where(inside, cos_term, 1.0)
    omega_s = jnp.arccos(jnp.where(inside, ratio, 0.0))
    return jnp.where(polar_day, jnp.pi, jnp.where(polar_night, 0.0, omega_s))


def daily_potential_radiation(
    lat: ArrayLike,
    doy: ArrayLike,
    solar_constant: ArrayLike = RADIATION.solar_constant,
) -> jax.Array:
    """Daily-mean top-of-atmosphere shortwave on a horizontal surface.

    ``R̄ = S0 · d_r / π · (ω_s sin φ sin δ + cos φ cos δ sin ω_s)`` with the sunset hour angle
    ``ω_s = arccos(−tan φ tan δ)`` clipped to [0, π] for polar night and polar day. This is the
    24-hour mean of :func:`potential_radiation` (FAO-56 eq. 21 divided by 24 h).

    Because ``∂R̄/∂ω_s = 0`` at the sunset angle, ω_s carries no gradient (``stop_gradient``);
    the result is exact and avoids the infinite slope of ``arccos`` at the polar boundary.

    Args:
        lat: latitude φ in degrees north.
        doy: day of year J, 1..366.
        solar_constant: S0 in W m-2 (FAO-56 uses 0.0820 MJ m-2 min-1 = 1366.7 W m-2).

    Returns:
        Daily-mean potential radiation in W m-2 (``w_m2_to_mj_per_day`` gives MJ m-2 d-1).

    Reference:
        Allen et al. (1998), FAO-56, eqs. 21, 23–25.

    Example:
        >>> r = daily_potential_radiation(-20.0, 246.0, solar_constant=0.0820e6 / 60.0)
        >>> round(float(w_m2_to_mj_per_day(r)), 1)
        32.2
    """
    phi = jnp.deg2rad(jnp.asarray(lat))
    delta = solar_declination(doy)
    sin_term = jnp.sin(phi) * jnp.sin(delta)
    cos_term = jnp.maximum(jnp.cos(phi), 0.0) * jnp.cos(delta)
    omega_s = jax.lax.stop_gradient(_sunset_hour_angle(sin_term, cos_term))
    shape = omega_s * sin_term + cos_term * jnp.sin(omega_s)
    return solar_constant * _inverse_relative_distance(doy) / jnp.pi * shape


def par_from_shortwave(
    sw_in: ArrayLike, par_fraction: ArrayLike = RADIATION.par_fraction
) -> jax.Array:
    """Photosynthetically active radiation ``PAR = f_PAR · SW_in`` (energy units).

    The conversion is linear; negative night-time ``SW_IN`` values pass through unchanged
    (:func:`hybridflux.process.gpp.lue_gpp` clips PAR at zero).

    Args:
        sw_in: incoming shortwave radiation in W m-2 (any time mean).
        par_fraction: f_PAR, fraction of shortwave in 400–700 nm, dimensionless.

    Returns:
        PAR in W m-2.

    Reference:
        Monteith & Unsworth (2013), Principles of Environmental Physics, ch. 11.

    Example:
        >>> round(float(par_from_shortwave(200.0)), 1)
        100.0
    """
    return jnp.asarray(sw_in) * par_fraction


def ppfd_from_shortwave(
    sw_in: ArrayLike,
    par_fraction: ArrayLike = RADIATION.par_fraction,
    ppfd_per_par_watt: ArrayLike = RADIATION.ppfd_per_par_watt,
) -> jax.Array:
    """Photosynthetic photon flux density ``PPFD = c · f_PAR · SW_in``.

    Args:
        sw_in: incoming shortwave radiation in W m-2.
        par_fraction: f_PAR, fraction of shortwave in 400–700 nm, dimensionless.
        ppfd_per_par_watt: c, photon content of PAR in umol J-1 (4.57 for sunlight).

    Returns:
        PPFD in umol m-2 s-1.

    Reference:
        McCree (1972), Agric. Meteorol. 9, 191–216.

    Example:
        >>> round(float(ppfd_from_shortwave(200.0)), 1)
        457.0
    """
    return par_from_shortwave(sw_in, par_fraction) * ppfd_per_par_watt


def w_m2_to_mj_per_day(x: ArrayLike) -> jax.Array:
    """Convert a daily-mean flux density to a daily sum: ``X_d = X · 86400 s / 1e6``.

    Args:
        x: daily-mean energy flux density in W m-2.

    Returns:
        Daily sum in MJ m-2 d-1.

    Reference:
        SI units; FAO-56 (Allen et al. 1998), Annex 1.

    Example:
        >>> round(float(w_m2_to_mj_per_day(100.0)), 2)
        8.64
    """
    return jnp.asarray(x) * RADIATION.w_m2_to_mj_m2_d
