"""Ecosystem respiration: Q10 and Lloyd–Taylor temperature responses, Ra/Rh split.

Temperatures are in °C at the interface (Lloyd–Taylor converts to K inside); respiration fluxes
are in the units of their base rate, gC m-2 d-1 by convention. Powers, logarithms and divisions
use the double-``where`` pattern, so values and gradients stay finite for invalid or edge inputs
(Q10 ≤ 0, temperatures at or below T0 of Lloyd–Taylor).

Example:
    >>> from hybridflux.process.respiration import q10_respiration
    >>> round(float(q10_respiration(25.0, r_base=2.0, q10=1.5)), 2)
    3.0
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import AUTOTROPHIC, LLOYD_TAYLOR, PHYSICAL, Q10_RESPIRATION

__all__ = [
    "q10_respiration",
    "lloyd_taylor",
    "autotrophic_respiration",
    "split_respiration",
]

#: K per 10 K step of the Q10 exponent.
_Q10_STEP = 10.0


def q10_respiration(
    ta: ArrayLike,
    r_base: ArrayLike,
    q10: ArrayLike,
    t_ref: ArrayLike = Q10_RESPIRATION.t_ref,
) -> jax.Array:
    """Q10 respiration ``R = R_b · Q10^((T − T_ref)/10) = R_b · exp(ln Q10 · (T − T_ref)/10)``.

    Q10 must be positive; for Q10 ≤ 0 the result is 0 with zero gradient (safe log), so an
    invalid learned parameter cannot put NaN into the gradient.

    Args:
        ta: temperature T in °C (air or soil).
        r_base: base respiration R_b at T_ref in gC m-2 d-1.
        q10: temperature sensitivity Q10, dimensionless (> 0).
        t_ref: reference temperature T_ref in °C.

    Returns:
        Respiration in the units of ``r_base`` (gC m-2 d-1).

    Reference:
        Reichstein et al. (2022), hybrid Q10 experiment; Mahecha et al. (2010), Science 329,
        838–840.

    Example:
        >>> round(float(q10_respiration(5.0, r_base=2.0, q10=2.0)), 2)
        1.0
    """
    q10 = jnp.asarray(q10)
    valid = q10 > 0
    log_q10 = jnp.log(jnp.where(valid, q10, 1.0))
    factor = jnp.exp(log_q10 * (jnp.asarray(ta) - t_ref) / _Q10_STEP)
    return jnp.where(valid, r_base * factor, 0.0)


def lloyd_taylor(
    ta: ArrayLike,
    r_ref: ArrayLike,
    e0: ArrayLike = LLOYD_TAYLOR.e0,
    t_ref: ArrayLike = LLOYD_TAYLOR.t_ref,
    t0: ArrayLike = LLOYD_TAYLOR.t0,
) -> jax.Array:
    """Lloyd–Taylor respiration ``R = R_ref · exp(E0 · (1/(T_ref − T0) − 1/(T − T0)))``.

    ``T = ta + 273.15`` K. For ``T ≤ T0`` the result is 0 with a zero (finite) gradient: the
    reciprocal is formed only where ``T > T0`` (double ``where``); the function tends to 0
    smoothly as T approaches T0 from above. Requires ``T_ref > T0``.

    Args:
        ta: temperature in °C (air or soil).
        r_ref: respiration R_ref at T_ref in gC m-2 d-1.
        e0: activation-energy-like parameter E0 in K.
        t_ref: reference temperature T_ref in K.
        t0: temperature T0 in K at which respiration vanishes.

    Returns:
        Respiration in the units of ``r_ref`` (gC m-2 d-1).

    Reference:
        Lloyd & Taylor (1994), Funct. Ecol. 8, 315–323, eq. 11.

    Example:
        >>> round(float(lloyd_taylor(10.0, r_ref=2.0)), 3)
        2.0
        >>> float(lloyd_taylor(-60.0, r_ref=2.0))
        0.0
    """
    above = jnp.asarray(ta) + PHYSICAL.zero_celsius - t0
    warm = above > 0
    inv_above = 1.0 / jnp.where(warm, above, 1.0)
    value = r_ref * jnp.exp(e0 * (1.0 / (t_ref - t0) - inv_above))
    return jnp.where(warm, value, 0.0)


def autotrophic_respiration(
    gpp: ArrayLike, ra_fraction: ArrayLike = AUTOTROPHIC.ra_fraction_of_gpp
) -> jax.Array:
    """Autotrophic respiration as a fixed fraction of GPP, ``Ra = f_Ra · GPP``.

    Args:
        gpp: gross primary production in gC m-2 d-1.
        ra_fraction: f_Ra = Ra/GPP, dimensionless (1 − NPP/GPP).

    Returns:
        Ra in gC m-2 d-1.

    Reference:
        Waring et al. (1998), Tree Physiol. 18, 129–134; Williams et al. (2005), DALEC.

    Example:
        >>> round(float(autotrophic_respiration(10.0)), 2)
        5.3
    """
    return ra_fraction * jnp.asarray(gpp)


def split_respiration(reco: ArrayLike, ra: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """Split ecosystem respiration into autotrophic and heterotrophic parts, ``Rh = Reco − Ra``.

    Ra is first limited to ``[0, max(Reco, 0)]``. The pair is then rounded so that
    ``Ra + Rh == Reco`` holds exactly in floating point: whichever of the two is not smaller
    than Reco/2 is subtracted from Reco, which is exact by Sterbenz's lemma. Both parts are
    ≥ 0 for Reco ≥ 0; for Reco < 0 (e.g. noisy data) Ra = 0 and Rh = Reco.

    Args:
        reco: ecosystem respiration in gC m-2 d-1.
        ra: proposed autotrophic respiration in gC m-2 d-1.

    Returns:
        ``(ra, rh)`` in gC m-2 d-1.

    Reference:
        Reichstein et al. (2022); Liu et al. (2024), Nat. Commun. 15, 357 (carbon balance).

    Example:
        >>> ra, rh = split_respiration(3.0, 5.0)
        >>> float(ra), float(rh)
        (3.0, 0.0)
    """
    reco = jnp.asarray(reco)
    ra_limited = jnp.clip(jnp.asarray(ra), 0.0, jnp.maximum(reco, 0.0))
    rh = reco - ra_limited
    # Exact when ra_limited >= reco/2 (Sterbenz); otherwise rh >= reco/2 and this is exact.
    ra_out = reco - rh
    return ra_out, rh
