"""Carbon-balance residuals: the flux identity NEE = Reco − GPP and pool mass conservation.

Both residuals are plain differences, so they are differentiable everywhere and can serve as
soft constraints in a loss (the λ·(NEE − (Reco − GPP))² term of TAM-RL, Renganathan et al.
2026; the mass-balance loss of Liu et al. 2024) or as exact checks of a time-stepping scheme.
Sign convention (FLUXNET, Pastorello et al. 2020): NEE > 0 is a net source to the atmosphere,
GPP and Reco are positive.

Example:
    >>> print(float(flux_balance_residual(1.5, 4.0, 2.5)))
    0.0
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

__all__ = [
    "flux_balance_residual",
    "pool_mass_balance_residual",
    "relative_mass_balance_error",
]


def flux_balance_residual(nee: ArrayLike, reco: ArrayLike, gpp: ArrayLike) -> jax.Array:
    """Residual of the net-flux identity, r = NEE − (Reco − GPP).

    Zero when the three fluxes are consistent (FLUXNET sign convention, Pastorello et al. 2020;
    used as a loss term by Renganathan et al. 2026).

    Args:
        nee: Net ecosystem exchange, e.g. gC m-2 d-1 (positive = source).
        reco: Ecosystem respiration, same units (positive).
        gpp: Gross primary production, same units (positive).

    Returns:
        r in the units of the arguments, broadcast shape.

    Example:
        >>> print(round(float(flux_balance_residual(-2.0, 3.0, 4.5)), 3))
        -0.5
    """
    return jnp.asarray(nee) - (jnp.asarray(reco) - jnp.asarray(gpp))


def pool_mass_balance_residual(
    c_before: ArrayLike,
    c_after: ArrayLike,
    inputs: ArrayLike,
    outputs: ArrayLike,
    dt: ArrayLike = 1.0,
) -> jax.Array:
    """Residual of pool mass conservation, r = (Σ C_after − Σ C_before) − (inputs − outputs)·dt.

    Pools are summed over the last axis; a conservative scheme gives r = 0 to rounding
    (Xia et al. 2012 matrix form: carbon only enters as input and leaves as respiration).

    Args:
        c_before: (..., n) gC m-2. Pools at the start of the step.
        c_after: (..., n) gC m-2. Pools at the end of the step.
        inputs: (...) gC m-2 d-1. Mean carbon input rate over the step.
        outputs: (...) gC m-2 d-1. Mean carbon output rate (e.g. respiration) over the step.
        dt: d. Step length.

    Returns:
        (...) gC m-2, the carbon gained by the pools beyond what the fluxes explain.

    Example:
        >>> import jax.numpy as jnp
        >>> r = pool_mass_balance_residual(jnp.array([10.0, 5.0]), jnp.array([10.5, 5.0]),
        ...                                2.0, 1.5)
        >>> print(round(float(r), 3))
        0.0
    """
    change = jnp.sum(jnp.asarray(c_after), axis=-1) - jnp.sum(jnp.asarray(c_before), axis=-1)
    return change - (jnp.asarray(inputs) - jnp.asarray(outputs)) * dt


def relative_mass_balance_error(
    c_before: ArrayLike,
    c_after: ArrayLike,
    inputs: ArrayLike,
    outputs: ArrayLike,
    dt: ArrayLike = 1.0,
) -> jax.Array:
    """Mass-balance residual relative to the carbon involved, |r| / (Σ|C_before| + (|I|+|O|)·dt).

    Dimensionless, comparable with machine epsilon (≈ 1e-16 in float64, 1e-7 in float32) when
    checking a conservative scheme. Zero when all pools and fluxes are zero; gradients stay
    finite there (double `where`, STYLE rule 7).

    Args:
        c_before: (..., n) gC m-2. Pools at the start of the step.
        c_after: (..., n) gC m-2. Pools at the end of the step.
        inputs: (...) gC m-2 d-1. Mean input rate over the step.
        outputs: (...) gC m-2 d-1. Mean output rate over the step.
        dt: d. Step length.

    Returns:
        (...) 1.

    Example:
        >>> import jax.numpy as jnp
        >>> e = relative_mass_balance_error(jnp.array([10.0, 5.0]), jnp.array([10.5, 5.0]),
        ...                                 2.0, 1.0)
        >>> print(round(float(e), 4))
        0.0278
    """
    residual = pool_mass_balance_residual(c_before, c_after, inputs, outputs, dt)
    scale = jnp.sum(jnp.abs(jnp.asarray(c_before)), axis=-1)
    scale = scale + (jnp.abs(jnp.asarray(inputs)) + jnp.abs(jnp.asarray(outputs))) * dt
    positive = scale > 0
    safe_scale = jnp.where(positive, scale, 1.0)
    return jnp.where(positive, jnp.abs(residual) / safe_scale, 0.0)
