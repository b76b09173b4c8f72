"""Spin-up of the detailed model by simulation, and its carbon budget.

The nonlinear microbial soil has no analytic steady state (unlike the linear pools of
:mod:`.soil_steady_state`), so the spin-up cycles the driver years: after every window of
whole cycles (at least ``window_years``) it compares each of the nine pool kinds
(`POOL_KINDS`, soil summed over layers) with the start of the window, and stops when

    max_k |C_k(end) − C_k(start)| / max(C_k(start), C_floor) · 100 yr / window  <  tol

(relative change per century). It runs as one `jax.lax.while_loop` (jit, and vmap over cells
with ``raise_on_failure=False``; a vmapped loop runs until its slowest cell converges, and each
cell reports its own years). `carbon_budget` checks conservation over any run.

Example:
    >>> import jax.numpy as jnp
    >>> from hybridflux.process.detailed import DetailedForcings, DetailedParams, DetailedState
    >>> p = DetailedParams.default()
    >>> met = DetailedForcings(jnp.full(365, 12.0), 150.0, 6.0, 0.8, jnp.arange(1.0, 366), 45.0)
    >>> s, st = spin_up(p, DetailedState.initial(p), met, max_years=2, window_years=1,
    ...                 raise_on_failure=False)
    >>> print(bool(st.converged), int(st.years))
    False 2
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import DETAILED
from hybridflux.process.detailed import (
    DetailedDaily,
    DetailedForcings,
    DetailedParams,
    DetailedState,
    _as_forcings,
    batch_axes,
    simulate,
)
from hybridflux.process.soil_steady_state import SpinUpError

__all__ = [
    "DetailedSpinUpStatus",
    "SpinUpError",
    "carbon_budget",
    "spin_up",
    "spin_up_cells",
]

_DAYS_PER_YEAR = 365


class DetailedSpinUpStatus(NamedTuple):
    """Outcome of a detailed spin-up (STYLE rule 12d).

    Attributes:
        converged: bool. Relative change per century below ``tol`` in the last window.
        years: int. Simulated years (cycles × days per cycle / 365).
        rel_change: 1 per century. Largest relative change of a pool kind in the last window
            (inf when no window ran, NaN when the pools became non-finite).

    Example: see the module docstring.
    """

    converged: jax.Array
    years: jax.Array
    rel_change: jax.Array


def _window_cycles(n_days: int, window_years: float) -> int:
    """Whole cycles per convergence window (at least one, at least ``window_years``)."""
    cycle_years = n_days / _DAYS_PER_YEAR
    return max(1, int(-(-window_years // cycle_years)))


def _spin_up_one(params, state0, forcings, tol, max_years, window_years):
    """`jax.lax.while_loop` over windows of whole cycles for one cell (traceable)."""
    forcings = _as_forcings(forcings, "spin_up", ndim=1)
    n_days = forcings.ta.shape[-1]
    cycles = _window_cycles(n_days, window_years)
    window = cycles * n_days / _DAYS_PER_YEAR
    max_windows = max(1, int(-(-max_years // window)))
    state0 = DetailedState(*(jnp.asarray(x, forcings.ta.dtype) for x in state0))

    def run_window(state):
        def one(s, _):
            return simulate(params, s, forcings)[0], None

        return jax.lax.scan(one, state, None, length=cycles)[0]

    def cond(carry):
        _, k, rel = carry
        return (k < max_windows) & ~(rel < tol)

    def body(carry):
        state, k, _ = carry
        new = run_window(state)
        start, end = state.pools(), new.pools()
        floor = jnp.asarray(DETAILED.pool_floor, start.dtype)
        rel = jnp.max(jnp.abs(end - start) / jnp.maximum(start, floor)) * (100.0 / window)
        return new, k + 1, jnp.where(jnp.isfinite(rel), rel, jnp.nan)

    init = (state0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, forcings.ta.dtype))
    state, k, rel = jax.lax.while_loop(cond, body, init)
    years = jnp.round(k * window).astype(jnp.int32)
    return state, DetailedSpinUpStatus(rel < tol, years, rel)


@functools.partial(jax.jit, static_argnames=("max_years", "window_years"))
def _spin_up_jit(params, state0, forcings, tol, max_years, window_years):
    return _spin_up_one(params, state0, forcings, tol, max_years, window_years)


@functools.partial(jax.jit, static_argnames=("max_years", "window_years"))
def spin_up_cells(
    params: DetailedParams,
    state0: DetailedState,
    forcings: DetailedForcings,
    tol: ArrayLike = DETAILED.spinup_tol,
    max_years: int = 3000,
    window_years: float = 10.0,
) -> tuple[DetailedState, DetailedSpinUpStatus]:
    """`spin_up` vectorised over cells (`jax.vmap`), jitted; never raises.

    Args:
        params: `DetailedParams`, leaves shared or per cell (`batch_axes`).
        state0: `DetailedState` per cell (vegetation pools (n,), soil (n, L)).
        forcings: `DetailedForcings` of one cycle per cell, fields (n, T).
        tol: 1 per century. Convergence tolerance.
        max_years: most simulated years (static).
        window_years: least years per convergence check (static).

    Returns:
        (spun-up states per cell, `DetailedSpinUpStatus` with fields (n,)).

    Example:
        >>> import jax.numpy as jnp
        >>> from hybridflux.process.detailed import DetailedForcings, DetailedParams
        >>> p = DetailedParams.default()
        >>> s0 = DetailedState.initial(p)
        >>> s0 = jax.tree.map(lambda x: jnp.stack([x, x]), s0)
        >>> met = DetailedForcings(jnp.full((2, 30), 10.0), 150.0, 6.0, 1.0, 100.0, 45.0)
        >>> _, st = spin_up_cells(p, s0, met, max_years=1, window_years=0.1)
        >>> st.years.shape
        (2,)
    """
    from hybridflux.process.detailed import _TEMPLATE

    forcings = _as_forcings(forcings, "spin_up_cells", ndim=2)
    axes = batch_axes(params, _TEMPLATE)

    def one(p, s, f):
        return _spin_up_one(p, s, f, tol, max_years, window_years)

    return jax.vmap(one, in_axes=(axes, 0, 0))(params, state0, forcings)


def spin_up(
    params: DetailedParams,
    state0: DetailedState,
    forcings_cycle: DetailedForcings,
    *,
    tol: float = DETAILED.spinup_tol,
    max_years: int = 3000,
    window_years: float = 10.0,
    raise_on_failure: bool = True,
) -> tuple[DetailedState, DetailedSpinUpStatus]:
    """Cycle the driver years until every pool kind changes by less than ``tol`` per century.

    Args:
        params: `DetailedParams` of one cell.
        state0: initial `DetailedState` (e.g. `DetailedState.initial(params)`); foliage > 0.
        forcings_cycle: `DetailedForcings` of one cycle, fields (T,) (whole years of days).
        tol: 1 per century, e.g. 0.01 = 1 % per 100 yr.
        max_years: most simulated years.
        window_years: least years between convergence checks (whole cycles).
        raise_on_failure: raise `SpinUpError` when not converged (STYLE rule 12d).

    Returns:
        (state at the start of the next cycle, `DetailedSpinUpStatus` with the years taken).

    Raises:
        SpinUpError: not converged within ``max_years`` or non-finite pools.
        ValueError: ``max_years`` < 1 or forcing fields that do not broadcast to (T,).

    Reference:
        Koven et al. (2013), Biogeosciences 10, 7109–7131 (spin-up of layered soil carbon).

    Example: see the module docstring (two years of a spin-up that then stops).
    """
    if int(max_years) < 1:
        raise ValueError(f"spin_up: max_years must be >= 1, got {max_years}.")
    state, status = _spin_up_jit(
        params, state0, forcings_cycle, tol, int(max_years), float(window_years)
    )
    if raise_on_failure and not bool(jnp.all(status.converged)):
        raise SpinUpError(
            f"detailed spin-up did not converge in {int(jnp.max(status.years))} years: largest "
            f"relative change {float(jnp.max(status.rel_change)):.3g} per century (tol {tol:g}). "
            "Raise max_years, check that the forcing is finite and foliage > 0, or pass "
            "raise_on_failure=False."
        )
    return state, status


def carbon_budget(
    state0: DetailedState, state1: DetailedState, daily: DetailedDaily
) -> tuple[jax.Array, jax.Array]:
    """Carbon conservation of a run: ``r = ΔC − Σ_days (GPP − Ra − Rh) · 1 d`` and r / C₀.

    Args:
        state0: `DetailedState` at the start (pools gC m-2).
        state1: `DetailedState` at the end.
        daily: `DetailedDaily` of the run (fluxes gC m-2 d-1, days on the last axis).

    Returns:
        (residual in gC m-2, residual relative to the initial total carbon, 1).

    Example:
        >>> import jax.numpy as jnp
        >>> from hybridflux.process.detailed import DetailedForcings, DetailedParams, simulate
        >>> p = DetailedParams.default()
        >>> s0 = DetailedState.initial(p)
        >>> met = DetailedForcings(jnp.full(5, 15.0), 200.0, 8.0, 1.0, 180.0, 45.0)
        >>> s1, d = simulate(p, s0, met)
        >>> bool(abs(float(carbon_budget(s0, s1, d)[1])) < 1e-5)
        True
    """
    net = jnp.sum(daily.gpp - daily.ra - daily.rh, axis=-1)
    residual = (state1.carbon() - state0.carbon()) - net
    return residual, residual / state0.carbon()
