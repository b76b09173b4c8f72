"""Steady states and spin-up of the linear soil pools (:mod:`hybridflux.process.soil_pools`).

- :func:`steady_state`: the analytic steady state of constant forcing, one linear solve
  ``C* = −(A·ξ·K)⁻¹·b·I`` (Xia et al. 2012, Geosci. Model Dev. 5, 1259–1271), no loop.
- :func:`periodic_steady_state`: the exact cyclo-stationary state of a periodic forcing, one
  solve of the affine one-cycle map; differentiable.
- :func:`spin_up`: cycles the forcing until the pools change less than ``tol`` per cycle and
  returns a :class:`SpinUpStatus`, raising :class:`SpinUpError` by default when it does not
  converge (STYLE rule 12d); :func:`spin_up_core` is the jittable part.

Example:
    >>> from hybridflux.process.soil_pools import SoilPoolParams
    >>> params = SoilPoolParams.default()
    >>> c_star = steady_state(2.0, 1.0, params)
    >>> print([round(float(x)) for x in c_star])
    [1096, 7670, 12126]
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.process.soil_pools import (
    SoilPoolParams,
    _as_state,
    _check_forcing,
    _check_pools,
)

__all__ = [
    "SpinUpError",
    "SpinUpStatus",
    "periodic_steady_state",
    "spin_up",
    "spin_up_core",
    "steady_state",
]


class SpinUpStatus(NamedTuple):
    """Outcome of a spin-up (STYLE rule 12d).

    Attributes:
        converged: bool. True when the last cycle changed every pool by less than ``tol``.
        n_cycles: int. Number of forcing cycles run.
        rel_change: 1. Largest relative change of a pool over the last cycle
            (inf when no cycle ran, NaN when the pools became non-finite).
    """

    converged: jax.Array
    n_cycles: jax.Array
    rel_change: jax.Array


class SpinUpError(RuntimeError):
    """Raised by `spin_up` when the pools did not reach a cyclo-stationary state."""


def steady_state(inputs_mean: ArrayLike, xi_mean: ArrayLike, params: SoilPoolParams) -> jax.Array:
    """Analytic steady state C* = −(A·ξ·K)⁻¹·b·I, one linear solve (Xia et al. 2012).

    Exact for constant forcing (and a fixed point of `soil_pool_step` for any dt). With seasonal
    forcing it is the usual approximation from mean input and mean ξ; `periodic_steady_state`
    gives the exact cyclo-stationary state of the stepping scheme. Requires ξ > 0.

    Args:
        inputs_mean: gC m-2 d-1. Mean litter input.
        xi_mean: 1. Mean environmental scalar, > 0.
        params: `SoilPoolParams`.

    Returns:
        (n,) gC m-2.

    Example:
        >>> print(round(float(steady_state(2.0, 0.5, SoilPoolParams.default())[0]), 1))
        2191.5
    """
    matrix = xi_mean * params.transfer * params.k
    return jnp.linalg.solve(matrix, -params.b * inputs_mean)


def _cycle_map(
    inputs: jax.Array, xi: jax.Array, params: SoilPoolParams, dt: ArrayLike
) -> tuple[jax.Array, jax.Array]:
    """Affine map of one cycle, C_end = C_start + D·C_start + g, as (D, g) = (Φ − 1, g).

    Each step maps C ↦ L⁻¹(C + dt·b·I) with L = 1 − dt·M, so D ↦ L⁻¹(D + dt·M) and
    g ↦ L⁻¹(g + dt·b·I). Carrying D = Φ − 1 rather than Φ avoids cancellation for slow pools
    (Φ ≈ 1 − 1e-3 for τ = 1000 yr), which would cost several digits in float32.
    """
    n = params.k.shape[-1]
    dtype = jnp.result_type(*params, inputs, xi, float)

    def body(x, forcing):
        dt_m = dt * forcing[1] * params.transfer * params.k  # dt·M = 1 − L
        source = jnp.concatenate([dt_m, (dt * params.b * forcing[0])[:, None]], axis=1)
        return jnp.linalg.solve(jnp.eye(n) - dt_m, x + source), None

    x, _ = jax.lax.scan(body, jnp.zeros((n, n + 1), dtype), (inputs, xi))
    return x[:, :n], x[:, n]


def periodic_steady_state(
    inputs: ArrayLike, xi: ArrayLike, params: SoilPoolParams, dt: ArrayLike = 1.0
) -> jax.Array:
    """Pools at the start of a forcing cycle that one cycle returns unchanged, (1 − Φ)⁻¹·g.

    The backward-Euler cycle is affine, C_end = Φ·C_start + g, so the state a spin-up would reach
    after infinitely many cycles is one linear solve (the semi-analytic spin-up idea of Xia et
    al. 2012). Differentiable in reverse mode, unlike `spin_up`.

    Args:
        inputs: (T,) gC m-2 d-1. Litter input over one cycle.
        xi: (T,) 1. Environmental scalar over one cycle.
        params: `SoilPoolParams`.
        dt: d. Step length.

    Returns:
        (n,) gC m-2.

    Example:
        >>> c = periodic_steady_state(2.0 * jnp.ones(4), 1.0, SoilPoolParams.default())
        >>> print(round(float(c[0]), 1))
        1095.8
    """
    inputs, xi = _check_forcing(inputs, xi, "periodic_steady_state")
    d, g = _cycle_map(inputs, xi, params, dt)
    return jnp.linalg.solve(-d, g)


def spin_up_core(
    c0: ArrayLike,
    inputs: ArrayLike,
    xi: ArrayLike,
    params: SoilPoolParams,
    *,
    tol: ArrayLike = 1e-6,
    max_cycles: ArrayLike = 10_000,
    dt: ArrayLike = 1.0,
    c_floor: ArrayLike = 1e-6,
) -> tuple[jax.Array, SpinUpStatus]:
    """Jittable spin-up: cycle the forcing until max_i |ΔC_i| / max(|C_i|, c_floor) < tol.

    Each cycle applies the affine map C ← Φ·C + g of one `simulate_soil_pools` run over the
    forcing (equal to rerunning the scan, to rounding, for the cost of a matrix-vector product)
    inside `jax.lax.while_loop`; never raises; forward-mode differentiable only. Pools approach
    their fixed point geometrically, ~exp(−ξ·k·cycle length) per cycle, so the remaining error
    is about tol / (ξ·k·cycle length): ~1e-3 for the default passive pool (τ = 1000 yr, yearly
    cycles, tol = 1e-6) after ~8000 cycles. Start from `steady_state` or use
    `periodic_steady_state` (exact, one solve) when that matters.

    Args:
        c0: (n,) gC m-2. Initial pools.
        inputs: (T,) gC m-2 d-1. Litter input over one cycle (e.g. a year).
        xi: (T,) 1. Environmental scalar over one cycle.
        params: `SoilPoolParams`.
        tol: 1. Relative change per cycle below which the pools count as converged.
        max_cycles: Maximum number of cycles.
        dt: d. Step length.
        c_floor: gC m-2. Pools smaller than this are measured against it (empty pools).

    Returns:
        (pools at the end of the last cycle (n,) gC m-2, `SpinUpStatus`).

    Example:
        >>> p = SoilPoolParams.default()
        >>> fast = p._replace(k=p.k * 100)  # residence times of 5.5 d to 10 yr
        >>> c, status = spin_up_core(jnp.zeros(3), jnp.full(365, 2.0), 1.0, fast)
        >>> print(bool(status.converged), int(status.n_cycles) < 200)
        True True
    """
    inputs, xi = _check_forcing(inputs, xi, "spin_up_core")
    c0 = _as_state(c0, params, inputs, xi)
    _check_pools(c0, params, "spin_up_core")
    d, g = _cycle_map(inputs, xi, params, dt)

    def cond(state):
        _, n_cycles, rel = state
        return (n_cycles < max_cycles) & (rel >= tol)

    def body(state):
        c, n_cycles, _ = state
        change = d @ c + g
        c_new = c + change
        rel = jnp.max(jnp.abs(change) / jnp.maximum(jnp.abs(c_new), c_floor))
        return c_new, n_cycles + 1, rel

    init = (c0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, c0.dtype))
    c, n_cycles, rel = jax.lax.while_loop(cond, body, init)
    return c, SpinUpStatus(converged=rel < tol, n_cycles=n_cycles, rel_change=rel)


_spin_up_core_jit = jax.jit(spin_up_core)


def spin_up(
    c0: ArrayLike,
    inputs: ArrayLike,
    xi: ArrayLike,
    params: SoilPoolParams,
    *,
    tol: float = 1e-6,
    max_cycles: int = 10_000,
    dt: float = 1.0,
    raise_on_failure: bool = True,
    c_floor: float = 1e-6,
) -> tuple[jax.Array, SpinUpStatus]:
    """Spin up the pools under a periodic forcing; raise `SpinUpError` if they do not converge.

    A thin Python wrapper around the jitted `spin_up_core` (see there for the criterion). With
    ``raise_on_failure=True`` it must run outside `jit`/`vmap`/`grad` because it inspects the
    status; inside transformations use `spin_up_core` and check the returned status.

    Args:
        c0, inputs, xi, params, tol, max_cycles, dt, c_floor: as in `spin_up_core` (c0 gC m-2,
            inputs gC m-2 d-1, xi 1, tol 1, dt d, c_floor gC m-2).
        raise_on_failure: Raise `SpinUpError` when not converged (STYLE rule 12d).

    Returns:
        (pools (n,) gC m-2, `SpinUpStatus`).

    Raises:
        SpinUpError: not converged within ``max_cycles`` (or the pools became non-finite).
        TypeError: ``raise_on_failure=True`` under a JAX transformation.

    Example:
        >>> c, s = spin_up(jnp.zeros(3), 2.0 * jnp.ones(365), 1.0, SoilPoolParams.default(),
        ...                max_cycles=3, raise_on_failure=False)
        >>> print(bool(s.converged), int(s.n_cycles))
        False 3
    """
    if isinstance(max_cycles, int) and max_cycles < 1:
        raise ValueError(f"spin_up: max_cycles must be >= 1, got {max_cycles}.")
    kwargs = dict(tol=tol, max_cycles=max_cycles, dt=dt, c_floor=c_floor)
    c, status = _spin_up_core_jit(c0, inputs, xi, params, **kwargs)
    if not raise_on_failure:
        return c, status
    try:
        converged = bool(jnp.all(status.converged))
    except jax.errors.ConcretizationTypeError as err:
        raise TypeError(
            "spin_up(raise_on_failure=True) cannot check convergence under jit/vmap/grad; "
            "call spin_up_core (or raise_on_failure=False) and check status.converged."
        ) from err
    if not converged:
        raise SpinUpError(
            f"soil-pool spin-up did not converge after {int(jnp.max(status.n_cycles))} cycles: "
            f"relative change per cycle {float(jnp.max(status.rel_change)):.3g} (tol {tol:g}). "
            "Raise max_cycles, start from steady_state(...) or periodic_steady_state(...), "
            "or pass raise_on_failure=False and inspect the status."
        )
    return c, status
