"""Linear soil carbon pools in matrix form, with CENTURY-like defaults.

N first-order pools obey (matrix form of Xia et al. 2012, Geosci. Model Dev. 5, 1259–1271)

    dC/dt = b·I + A·(ξ·K·C),        Rh = −1ᵀ·A·(ξ·K·C),

with C (n,) the pool sizes (gC m-2), I the litter input (gC m-2 d-1), b (n,) its partition
(sums to 1), K = diag(k) the turnover rates at reference conditions (d-1), A (n, n) the
transfer matrix (diagonal −1; A[i, j] ≥ 0 is the fraction of the carbon leaving pool j that
enters pool i; what a column does not pass on, −Σ_i A[i, j] ≥ 0, is respired) and ξ ≥ 0 the
environmental scalar. Defaults: three pools after Parton et al. (1987), `SOIL_POOLS`.

Time stepping is backward (implicit) Euler, first order, unconditionally stable and
non-negative. Steady states and spin-up live in :mod:`hybridflux.process.soil_steady_state`.

Example:
    >>> params = SoilPoolParams.default()
    >>> c, rh = soil_pool_step(jnp.zeros(3), 2.0, 1.0, params)
    >>> print(round(float(c.sum() + rh), 6))  # all input either stored or respired
    2.0
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import SOIL_POOLS, SoilPoolConstants

__all__ = [
    "SoilPoolParams",
    "environmental_scalar",
    "simulate_soil_pools",
    "soil_pool_step",
    "soil_pool_tendency",
    "soil_respiration",
]

#: d yr-1. Julian year (IAU), converts turnover times in years to rates in d-1.
_DAYS_PER_YEAR = 365.25


class SoilPoolParams(NamedTuple):
    """Parameters of the linear pool model (a JAX pytree).

    Attributes:
        k: (n,) d-1. Turnover rates at reference conditions (ξ = 1), k = 1 / residence time.
        transfer: (n, n) 1. Transfer matrix A: diagonal −1, A[i, j] ≥ 0 for i ≠ j the fraction
            of carbon leaving pool j that enters pool i; column sums ≤ 0 (the deficit is
            respired).
        b: (n,) 1. Partition of the litter input among the pools, sums to 1.
    """

    k: jax.Array
    transfer: jax.Array
    b: jax.Array

    @classmethod
    def default(cls, constants: SoilPoolConstants = SOIL_POOLS) -> SoilPoolParams:
        """Build parameters from literature constants, k = 1 / (365.25 d yr-1 · τ).

        Args:
            constants: turnover times τ (yr), transfer matrix (1), input partition (1); default
                the CENTURY-like three pools of Parton et al. (1987), `SOIL_POOLS`.

        Example:
            >>> p = SoilPoolParams.default()
            >>> print(p.transfer.shape, round(float(1.0 / p.k[0]), 1))
            (3, 3) 547.9
        """
        tau = jnp.asarray(constants.turnover_years)
        return cls(
            k=1.0 / (_DAYS_PER_YEAR * tau),
            transfer=jnp.asarray(constants.transfer),
            b=jnp.asarray(constants.input_partition),
        )


def environmental_scalar(
    ta: ArrayLike,
    w: ArrayLike = 1.0,
    q10: ArrayLike = SOIL_POOLS.q10,
    t_ref: ArrayLike = SOIL_POOLS.t_ref,
) -> jax.Array:
    """Decomposition rate modifier ξ = Q10^((T − T_ref)/10) · clip(W, 0, 1).

    The temperature term is the Q10 form of CENTURY-type matrix models (Xia et al. 2012). The
    moisture term is the simplest choice, linear in relative soil water, 0 at wilting point and 1
    at field capacity, like the CASA-style water scalar of `LUEConstants` (Potter et al. 1993);
    CENTURY itself uses a nonlinear curve of the rain/PET ratio (Parton et al. 1987).

    Args:
        ta: °C. Air or soil temperature.
        w: 1. Relative soil water (0 = wilting point, 1 = field capacity), clipped to [0, 1].
        q10: 1. Rate increase per 10 °C, > 0 (default 2.0).
        t_ref: °C. Temperature at which the temperature term is 1 (default 15).

    Returns:
        ξ ≥ 0 (1), same shape as the broadcast arguments.

    Example:
        >>> print(round(float(environmental_scalar(25.0, 0.6)), 4))
        1.2
    """
    f_temperature = jnp.power(q10, (jnp.asarray(ta) - t_ref) / 10.0)
    return f_temperature * jnp.clip(w, 0.0, 1.0)


def _check_pools(c: jax.Array, params: SoilPoolParams, name: str) -> None:
    """Raise a ValueError naming the function when c and params disagree on the pool count."""
    n = jnp.shape(params.k)
    ok = len(n) == 1 and jnp.shape(params.transfer) == n * 2 and jnp.shape(params.b) == n
    if not ok or jnp.shape(c) != n:
        raise ValueError(
            f"hybridflux/process/soil_pools.py::{name}: pools c {jnp.shape(c)}, params.k {n}, "
            f"params.transfer {jnp.shape(params.transfer)}, params.b {jnp.shape(params.b)}; "
            "need c, k, b of shape (n,) and transfer (n, n) for one cell (vmap over cells)."
        )


def _rates(c: ArrayLike, xi: ArrayLike, params: SoilPoolParams) -> jax.Array:
    """Carbon leaving each pool, ξ·K·C (gC m-2 d-1)."""
    return xi * params.k * c


def _implicit_matrix(xi: ArrayLike, dt: ArrayLike, params: SoilPoolParams) -> jax.Array:
    """Backward-Euler matrix I − dt·ξ·A·K, a non-singular M-matrix for ξ, k, dt ≥ 0."""
    n = params.k.shape[-1]
    return jnp.eye(n) - dt * xi * params.transfer * params.k


def soil_pool_tendency(
    c: ArrayLike, inputs: ArrayLike, xi: ArrayLike, params: SoilPoolParams
) -> jax.Array:
    """Pool tendency dC/dt = b·I + A·(ξ·K·C) (matrix form of Xia et al. 2012).

    Args:
        c: (n,) gC m-2. Pool sizes.
        inputs: gC m-2 d-1. Litter input I (scalar).
        xi: 1. Environmental scalar ξ ≥ 0.
        params: `SoilPoolParams`.

    Returns:
        (n,) gC m-2 d-1.

    Example:
        >>> p = SoilPoolParams.default()
        >>> print(round(float(soil_pool_tendency(jnp.zeros(3), 2.0, 1.0, p)[0]), 3))
        2.0
    """
    _check_pools(c, params, "soil_pool_tendency")
    return params.b * inputs + params.transfer @ _rates(c, xi, params)


def soil_respiration(c: ArrayLike, xi: ArrayLike, params: SoilPoolParams) -> jax.Array:
    """Heterotrophic respiration Rh = −1ᵀ·A·(ξ·K·C), the carbon not passed to another pool.

    Args:
        c: (n,) gC m-2. Pool sizes.
        xi: 1. Environmental scalar ξ ≥ 0.
        params: `SoilPoolParams`.

    Returns:
        Rh ≥ 0, gC m-2 d-1 (scalar).

    Reference: Xia et al. (2012), Geosci. Model Dev. 5, 1259–1271.

    Example:
        >>> p = SoilPoolParams.default()
        >>> c = jnp.array([547.875, 0.0, 0.0])  # one day of fast-pool turnover = 1 gC m-2
        >>> print(round(float(soil_respiration(c, 1.0, p)), 4))
        0.576
    """
    _check_pools(c, params, "soil_respiration")
    return -jnp.sum(params.transfer @ _rates(c, xi, params))


def soil_pool_step(
    c: ArrayLike,
    inputs: ArrayLike,
    xi: ArrayLike,
    params: SoilPoolParams,
    dt: ArrayLike = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """One backward-Euler step, (1 − dt·ξ·A·K)·C' = C + dt·b·I, and the step's respiration.

    Backward Euler is first order in dt and, because 1 − dt·ξ·A·K is an M-matrix (column
    diagonally dominant with non-positive off-diagonal), unconditionally stable and
    non-negative: C' ≥ 0 for C ≥ 0, I ≥ 0, any dt ≥ 0. The respiration consistent with the
    scheme is Rh = −1ᵀ·A·(ξ·K·C'), so ΣC' − ΣC = (I − Rh)·dt holds to rounding.

    Args:
        c: (n,) gC m-2. Pools at the start of the step.
        inputs: gC m-2 d-1. Litter input over the step.
        xi: 1. Environmental scalar over the step.
        params: `SoilPoolParams`.
        dt: d. Step length.

    Returns:
        (c_next (n,) gC m-2, rh gC m-2 d-1 as the mean rate over the step).

    Example:
        >>> c, rh = soil_pool_step(jnp.zeros(3), 2.0, 1.0, SoilPoolParams.default())
        >>> print(round(float(c.sum()), 4), round(float(rh), 4))
        1.9979 0.0021
    """
    _check_pools(c, params, "soil_pool_step")
    rhs = c + dt * params.b * inputs
    c_next = jnp.linalg.solve(_implicit_matrix(xi, dt, params), rhs)
    return c_next, soil_respiration(c_next, xi, params)


def _check_forcing(inputs: ArrayLike, xi: ArrayLike, name: str) -> tuple[jax.Array, jax.Array]:
    """Broadcast the forcing to two (T,) arrays or raise a ValueError naming the function."""
    inputs, xi = jnp.broadcast_arrays(jnp.asarray(inputs), jnp.asarray(xi))
    if inputs.ndim != 1:
        raise ValueError(
            f"hybridflux/process/soil_pools.py::{name}: forcing inputs/xi broadcast to shape "
            f"{inputs.shape}; need time series of shape (T,) for one cell (vmap over cells)."
        )
    return inputs, xi


def _as_state(c0: ArrayLike, params: SoilPoolParams, *forcing: jax.Array) -> jax.Array:
    """Cast the initial pools to the dtype the step produces, so lax loops keep one dtype."""
    c0 = jnp.asarray(c0)
    return c0.astype(jnp.result_type(c0, *params, *forcing, float))


def simulate_soil_pools(
    c0: ArrayLike,
    inputs: ArrayLike,
    xi: ArrayLike,
    params: SoilPoolParams,
    dt: ArrayLike = 1.0,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Run `soil_pool_step` over a forcing series with `jax.lax.scan`.

    Args:
        c0: (n,) gC m-2. Initial pools.
        inputs: (T,) gC m-2 d-1. Litter input per step (a scalar broadcasts).
        xi: (T,) 1. Environmental scalar per step (a scalar broadcasts).
        params: `SoilPoolParams`.
        dt: d. Step length.

    Returns:
        (c_final (n,) gC m-2, c_series (T, n) gC m-2 the pools after each step,
        rh_series (T,) gC m-2 d-1).

    Example:
        >>> c, cs, rh = simulate_soil_pools(jnp.zeros(3), jnp.full(365, 2.0), 1.0,
        ...                                 SoilPoolParams.default())
        >>> print(cs.shape, round(float(c[0]), 1))
        (365, 3) 532.6
    """
    inputs, xi = _check_forcing(inputs, xi, "simulate_soil_pools")
    c0 = _as_state(c0, params, inputs, xi)
    _check_pools(c0, params, "simulate_soil_pools")

    def body(c, forcing):
        c_next, rh = soil_pool_step(c, forcing[0], forcing[1], params, dt)
        return c_next, (c_next, rh)

    c_final, (c_series, rh_series) = jax.lax.scan(body, c0, (inputs, xi))
    return c_final, c_series, rh_series
