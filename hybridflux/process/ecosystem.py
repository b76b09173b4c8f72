"""Daily ecosystem carbon model (DALEC evergreen structure with light-use-efficiency GPP).

One step of one day (dt = 1 d, rates in d-1) for one cell, pools ``C_f, C_w, C_r, C_lit,
C_som`` in gC m-2 (Williams et al. 2005, Glob. Change Biol. 11, 89–105, appendix):

    LAI   = SLA · C_f,                 fAPAR = 1 − exp(−k · LAI)          (Beer's law)
    GPP   = ε_max · fAPAR · PAR · f(T) · f(VPD) · f(W)                    (LUE, CASA/MOD17)
    Ra    = f_auto · GPP,              NPP = GPP − Ra
    A_f   = f_fol · NPP,   A_r = f_root · (NPP − A_f),   A_w = NPP − A_f − A_r
    L_f   = k_f · C_f,     L_r = k_r · C_r,     L_w = k_w · C_w            (litterfall)
    ξ     = a · exp(θ · T) · (1 − s · (1 − W))                             (decomposition)
    O_lit = (k_dec + k_resp) · ξ · C_lit,   Rh_lit = O_lit · k_resp / (k_dec + k_resp)
    D     = O_lit − Rh_lit                                                 (litter → SOM)
    Rh_som = k_som · ξ · C_som,             Rh = Rh_lit + Rh_som
    C_f' = C_f + A_f − L_f        C_w' = C_w + A_w − L_w        C_r' = C_r + A_r − L_r
    C_lit' = C_lit + L_f + L_r − O_lit      C_som' = C_som + D + L_w − Rh_som
    RECO = Ra + Rh,                NEE = RECO − GPP     (positive = source, FLUXNET)

PAR = 0.5 · SW_IN converted to MJ m-2 d-1 (`process.radiation`); f(T), f(VPD), f(W) are the
ramps of `process.gpp.gpp_lue`. Wood goes straight to SOM as in DALEC (SOM includes coarse woody
debris). Every outflow is computed from the state at the start of the day and each daily loss
fraction ``rate · ξ`` is capped at 1, so pools never go negative and carbon is conserved to
rounding: ``Σ C' − Σ C = GPP − Ra − Rh``. Time is `jax.lax.scan` (`simulate`), cells are
`jax.vmap` (`simulate_cells`), and `spin_up` cycles one year to a cyclo-stationary state.

Example:
    >>> p = EcosystemParams.default()
    >>> s0 = CarbonState(220.0, 8000.0, 200.0, 60.0, 12000.0)
    >>> s1, f = ecosystem_step(s0, Forcings(ta=15.0, sw_in=200.0, vpd=8.0), p)
    >>> print(round(float(f.gpp), 2), round(float(f.nee), 2))
    5.03 -0.67
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.process.ecosystem_types import (
    CarbonState,
    EcosystemParams,
    Fluxes,
    Forcings,
    as_forcings,
    as_state,
)
from hybridflux.process.gpp import fapar_from_lai, gpp_lue
from hybridflux.process.radiation import par_from_shortwave, w_m2_to_mj_per_day
from hybridflux.process.respiration import autotrophic_respiration
from hybridflux.process.soil_steady_state import SpinUpError, SpinUpStatus

__all__ = [
    "CarbonState",
    "EcosystemParams",
    "Fluxes",
    "Forcings",
    "SpinUpError",
    "SpinUpStatus",
    "decomposition_modifier",
    "ecosystem_step",
    "simulate",
    "simulate_cells",
    "spin_up",
]


def decomposition_modifier(ta: ArrayLike, w: ArrayLike, params: EcosystemParams) -> jax.Array:
    """Environmental rate modifier of litter and SOM decomposition ``ξ = a·exp(θ·T)·f_W``.

    ``f_W = 1 − s·(1 − clip(W, 0, 1))``: s = 0 is DALEC (temperature only), s = 0.5 the CASA
    moisture scalar 0.5 + 0.5·W. With DALEC's a = 0.5 and θ = 0.0693 °C-1, ξ = 1 at 10 °C and
    Q10 = exp(10·θ) = 2.

    Args:
        ta: daily mean air temperature T in °C.
        w: relative soil water W (0–1), dimensionless.
        params: `EcosystemParams` (uses theta in °C-1, temperature_rate_factor and
            decomp_water_sensitivity, dimensionless).

    Returns:
        ξ, dimensionless (multiplies the litter and SOM rates in d-1).

    Reference:
        Williams et al. (2005), Glob. Change Biol. 11, 89–105 (DALEC appendix); Potter et al.
        (1993), Glob. Biogeochem. Cycles 7, 811–841 (CASA moisture scalar).

    Example:
        >>> print(round(float(decomposition_modifier(10.0, 1.0, EcosystemParams.default())), 3))
        1.0
    """
    f_w = 1.0 - params.decomp_water_sensitivity * (1.0 - jnp.clip(jnp.asarray(w), 0.0, 1.0))
    return params.temperature_rate_factor * jnp.exp(params.theta * jnp.asarray(ta)) * f_w


def _daily_loss(rate: ArrayLike, pool: ArrayLike) -> jax.Array:
    """Carbon leaving a pool in one day, ``min(rate · 1 d, 1) · C`` (never more than C)."""
    return jnp.minimum(rate, 1.0) * jnp.asarray(pool)


def _litter_outflows(
    state: CarbonState, xi: jax.Array, params: EcosystemParams
) -> tuple[jax.Array, jax.Array]:
    """Litter mineralisation and litter → SOM transfer, split in proportion to the two rates."""
    k_total = params.k_litter_decomp + params.k_litter_resp
    out = _daily_loss(k_total * xi, state.litter)
    has_rate = k_total > 0
    resp_share = params.k_litter_resp / jnp.where(has_rate, k_total, 1.0)
    rh_litter = jnp.where(has_rate, out * resp_share, 0.0)
    return rh_litter, out - rh_litter


def _daily_fluxes(state: CarbonState, forcing: Forcings, params: EcosystemParams) -> Fluxes:
    """All fluxes of one day, every outflow computed from the pools at the start of the day."""
    lai = jnp.asarray(state.foliage) * params.sla
    fapar = fapar_from_lai(lai, params.k_extinction)
    par = w_m2_to_mj_per_day(par_from_shortwave(forcing.sw_in))
    gpp = gpp_lue(params.lue, par, fapar, forcing.ta, forcing.vpd, forcing.w)
    ra = autotrophic_respiration(gpp, params.f_auto)
    npp = gpp - ra
    alloc_foliage = params.f_foliage * npp
    alloc_root = params.f_root * (npp - alloc_foliage)
    litterfall_foliage = _daily_loss(params.k_foliage, state.foliage)
    litterfall_root = _daily_loss(params.k_root, state.root)
    wood_turnover = _daily_loss(params.k_wood, state.wood)
    xi = decomposition_modifier(forcing.ta, forcing.w, params)
    rh_litter, litter_to_som = _litter_outflows(state, xi, params)
    rh_som = _daily_loss(params.k_som * xi, state.som)
    reco = ra + rh_litter + rh_som
    return Fluxes(
        gpp=gpp,
        ra=ra,
        npp=npp,
        rh=rh_litter + rh_som,
        reco=reco,
        nee=reco - gpp,
        litterfall=litterfall_foliage + litterfall_root + wood_turnover,
        alloc_foliage=alloc_foliage,
        alloc_wood=npp - alloc_foliage - alloc_root,
        alloc_root=alloc_root,
        litterfall_foliage=litterfall_foliage,
        litterfall_root=litterfall_root,
        wood_turnover=wood_turnover,
        litter_to_som=litter_to_som,
        rh_litter=rh_litter,
        rh_som=rh_som,
        lai=lai,
        fapar=fapar,
    )


def _apply_fluxes(state: CarbonState, f: Fluxes) -> CarbonState:
    """Pools at the end of the day: each transfer leaves one pool and enters another."""
    litter_in = f.litterfall_foliage + f.litterfall_root
    return CarbonState(
        foliage=state.foliage + f.alloc_foliage - f.litterfall_foliage,
        wood=state.wood + f.alloc_wood - f.wood_turnover,
        root=state.root + f.alloc_root - f.litterfall_root,
        litter=state.litter + litter_in - f.rh_litter - f.litter_to_som,
        som=state.som + f.litter_to_som + f.wood_turnover - f.rh_som,
    )


def ecosystem_step(
    state: CarbonState, forcing: Forcings, params: EcosystemParams
) -> tuple[CarbonState, Fluxes]:
    """Advance the five carbon pools by one day (equations in the module docstring).

    Args:
        state: pools at the start of the day in gC m-2.
        forcing: `Forcings` of the day: ta in °C, sw_in in W m-2 (daily mean), vpd in hPa,
            w relative soil water (1).
        params: `EcosystemParams` (rates in d-1, fractions dimensionless, sla in m2 gC-1).

    Returns:
        (pools at the end of the day in gC m-2, `Fluxes` of the day in gC m-2 d-1).

    Reference:
        Williams et al. (2005), DALEC; Potter et al. (1993), CASA; Monteith (1972).

    Example:
        >>> s0 = CarbonState(100.0, 0.0, 0.0, 0.0, 0.0)
        >>> met = Forcings(ta=20.0, sw_in=250.0, vpd=5.0)
        >>> s, f = ecosystem_step(s0, met, EcosystemParams.default())
        >>> print(round(float(f.gpp), 3), abs(float(s.total() - s0.total() - f.npp)) < 1e-4)
        3.768 True
    """
    fluxes = _daily_fluxes(state, forcing, params)
    return _apply_fluxes(state, fluxes), fluxes


def simulate(
    params: EcosystemParams, state0: CarbonState, forcings: Forcings
) -> tuple[CarbonState, Fluxes]:
    """Run `ecosystem_step` over daily forcings with `jax.lax.scan` (one cell).

    Args:
        params: `EcosystemParams` with scalar leaves.
        state0: initial pools in gC m-2 (scalars).
        forcings: `Forcings` with fields of shape (T,) (ta °C, sw_in W m-2, vpd hPa, w 1);
            scalars (e.g. the default w = 1) are broadcast over time.

    Returns:
        (pools after T days in gC m-2, `Fluxes` with fields of shape (T,) in gC m-2 d-1).

    Raises:
        ValueError: the forcing fields do not broadcast to one time axis.

    Example:
        >>> t = jnp.arange(365.0)
        >>> met = Forcings(ta=12 - 8 * jnp.cos(2 * jnp.pi * t / 365), sw_in=180.0, vpd=8.0)
        >>> s0 = CarbonState(200.0, 5e3, 200.0, 50.0, 1e4)
        >>> s, f = simulate(EcosystemParams.default(), s0, met)
        >>> print(f.gpp.shape, round(float(f.gpp.sum())), round(float(f.nee.sum())))
        (365,) 1561 -409
    """
    forcings = as_forcings(forcings, "simulate", ndim=1)
    state0 = as_state(state0, forcings, ())

    def body(state: CarbonState, forcing: Forcings) -> tuple[CarbonState, Fluxes]:
        return ecosystem_step(state, forcing, params)

    return jax.lax.scan(body, state0, forcings)


@jax.jit
def simulate_cells(
    params: EcosystemParams, state0: CarbonState, forcings: Forcings
) -> tuple[CarbonState, Fluxes]:
    """`simulate` vectorised over cells with `jax.vmap` and compiled with `jax.jit`.

    Each parameter leaf is either a scalar (shared by all cells) or has shape (n_cells,)
    (per cell, e.g. predicted by a network); scalar pools are used for every cell. The function
    compiles once per combination of shapes and dtypes.

    Args:
        params: `EcosystemParams`, leaves scalar or (n_cells,).
        state0: initial pools in gC m-2, leaves scalar or (n_cells,).
        forcings: `Forcings` with fields of shape (n_cells, T) or broadcastable to it (ta °C,
            sw_in W m-2, vpd hPa, w 1).

    Returns:
        (final pools (n_cells,) in gC m-2, `Fluxes` with fields (n_cells, T) in gC m-2 d-1).

    Raises:
        ValueError: forcing fields not broadcastable to (n_cells, T).

    Example:
        >>> met = Forcings(ta=jnp.array([[5.0] * 30, [15.0] * 30]), sw_in=200.0, vpd=8.0)
        >>> p = EcosystemParams.default()._replace(f_auto=jnp.array([0.4, 0.5]))
        >>> s, f = simulate_cells(p, CarbonState(200.0, 5e3, 200.0, 50.0, 1e4), met)
        >>> print(f.nee.shape, s.som.shape)
        (2, 30) (2,)
    """
    forcings = as_forcings(forcings, "simulate_cells", ndim=2)
    state0 = as_state(state0, forcings, forcings.ta.shape[:1])
    param_axes = jax.tree.map(lambda x: 0 if jnp.ndim(x) > 0 else None, params)
    return jax.vmap(simulate, in_axes=(param_axes, 0, 0))(params, state0, forcings)


def _pool_budgets(fluxes: Fluxes) -> tuple[jax.Array, jax.Array]:
    """Inflow and outflow of each pool (foliage, wood, root, litter, som) summed over time."""
    f = jax.tree.map(lambda x: jnp.sum(x, axis=-1), fluxes)
    inflow = (f.alloc_foliage, f.alloc_wood, f.alloc_root)
    inflow += (f.litterfall_foliage + f.litterfall_root, f.litter_to_som + f.wood_turnover)
    outflow = (f.litterfall_foliage, f.wood_turnover, f.litterfall_root)
    outflow += (f.rh_litter + f.litter_to_som, f.rh_som)
    return jnp.stack(inflow), jnp.stack(outflow)


def _periodic_start(loss: jax.Array, inputs: jax.Array) -> jax.Array:
    """Start value of the periodic solution of ``C_{t+1} = (1 − r_t)·C_t + u_t`` over a cycle.

    ``C_0 = Σ_t Π_{s>t}(1 − r_s)·u_t / (1 − Π_s(1 − r_s))``, products as sums of ``log1p``
    (accurate for the tiny wood and SOM rates); r_t is capped at 1 − 1e-6. Where the pool does
    not decay (Π = 1) the periodic solution does not exist and NaN is returned.
    """
    log_keep = jnp.log1p(-jnp.minimum(loss, 1.0 - 1e-6))
    total = jnp.sum(log_keep)
    forced = jnp.sum(jnp.exp(total - jnp.cumsum(log_keep)) * inputs)
    one_minus_p = -jnp.expm1(total)
    decays = one_minus_p > 0
    return jnp.where(decays, forced / jnp.where(decays, one_minus_p, 1.0), jnp.nan)


def _analytic_slow_pools(
    params: EcosystemParams, end: CarbonState, fluxes: Fluxes, forcings: Forcings
) -> CarbonState:
    """Replace wood and SOM by their exact periodic values given the fast pools' last cycle."""
    wood_loss = jnp.broadcast_to(jnp.minimum(params.k_wood, 1.0), fluxes.alloc_wood.shape)
    wood0 = _periodic_start(wood_loss, fluxes.alloc_wood)
    # Wood at the start of every day of the periodic cycle, then its turnover feeds SOM.
    day = lambda c, x: (c - x[0] * c + x[1], c)  # noqa: E731
    _, wood = jax.lax.scan(day, wood0, (wood_loss, fluxes.alloc_wood))
    xi = decomposition_modifier(forcings.ta, forcings.w, params)
    som_loss = jnp.minimum(params.k_som * xi, 1.0)
    som0 = _periodic_start(som_loss, fluxes.litter_to_som + wood_loss * wood)
    return end._replace(wood=wood0.astype(end.wood.dtype), som=som0.astype(end.som.dtype))


@functools.partial(jax.jit, static_argnames=("analytic_slow_pools",))
def _spin_up_loop(params, state0, forcings, tol, max_cycles, analytic_slow_pools):
    """`jax.lax.while_loop` over forcing cycles; returns (state, SpinUpStatus)."""
    forcings = as_forcings(forcings, "spin_up", ndim=1)
    state0 = as_state(state0, forcings, ())

    def cond(carry):
        _, n_cycles, rel = carry
        return (n_cycles < max_cycles) & (rel >= tol)

    def body(carry):
        state, n_cycles, _ = carry
        end, fluxes = simulate(params, state, forcings)
        inflow, outflow = _pool_budgets(fluxes)
        scale = jnp.maximum(jnp.maximum(inflow, outflow), jnp.finfo(inflow.dtype).tiny)
        rel = jnp.max(jnp.abs(inflow - outflow) / scale)
        if analytic_slow_pools:
            end = _analytic_slow_pools(params, end, fluxes, forcings)
        return end, n_cycles + 1, rel

    init = (state0, jnp.asarray(0, jnp.int32), jnp.asarray(jnp.inf, state0.foliage.dtype))
    state, n_cycles, rel = jax.lax.while_loop(cond, body, init)
    return state, SpinUpStatus(converged=rel < tol, n_cycles=n_cycles, rel_change=rel)


def spin_up(
    params: EcosystemParams,
    state0: CarbonState,
    forcings_year: Forcings,
    *,
    tol: float = 1e-4,
    max_cycles: int = 300,
    analytic_slow_pools: bool = True,
    raise_on_failure: bool = True,
) -> tuple[CarbonState, SpinUpStatus]:
    """Cycle one year of forcing until every pool is in cyclo-stationary balance.

    Criterion: over the last cycle, for every pool, ``|In − Out| / max(In, Out) < tol`` with In
    and Out its summed inflows and outflows (`SpinUpStatus.rel_change` holds the largest value).
    For a pool with a fixed loss rate this is the relative distance to its steady state,
    ``|1 − C/C*|``, so the criterion, unlike the relative change per cycle, also means something
    for the slow pools: wood (τ = 1/k_wood ≈ 1330 yr) and SOM (τ ≈ 1000 yr at ξ = 1) would need
    ≈ τ·ln(1/tol) ≈ 10⁴ cycles of plain cycling. With ``analytic_slow_pools=True`` (default)
    wood and SOM are reset after every cycle to the exact periodic solution of their linear
    equations given that cycle's allocation, litter transfer and ξ (semi-analytic spin-up,
    Xia et al. 2012); the fast pools (foliage, roots ≈ 1 yr, litter ≈ 0.1 yr) converge by
    cycling in a few tens of cycles. Runs jitted (`jax.lax.while_loop`); vmap it over cells with
    ``raise_on_failure=False``.

    Args:
        params: `EcosystemParams` with scalar leaves.
        state0: initial pools in gC m-2; foliage must be > 0 (zero foliage means zero GPP).
        forcings_year: `Forcings` of one cycle, fields of shape (T,), usually T = 365 days.
        tol: 1. Largest relative annual imbalance of a pool counted as converged.
        max_cycles: maximum number of cycles.
        analytic_slow_pools: reset wood and SOM analytically after each cycle.
        raise_on_failure: raise `SpinUpError` when not converged (STYLE rule 12d).

    Returns:
        (pools at the start of the next cycle in gC m-2, `SpinUpStatus`).

    Raises:
        SpinUpError: not converged within ``max_cycles`` or the pools became non-finite.
        TypeError: ``raise_on_failure=True`` under `jit`/`vmap`/`grad`.

    Reference:
        Xia et al. (2012), Geosci. Model Dev. 5, 1259–1271; Williams et al. (2005), DALEC.

    Example:
        >>> t = jnp.arange(365.0)
        >>> met = Forcings(ta=12 - 8 * jnp.cos(2 * jnp.pi * t / 365), sw_in=180.0, vpd=8.0)
        >>> s0 = CarbonState(100.0, 0.0, 100.0, 0.0, 0.0)
        >>> s, status = spin_up(EcosystemParams.default(), s0, met)
        >>> print(bool(status.converged), int(status.n_cycles), round(float(s.foliage)))
        True 18 322
    """
    if int(max_cycles) < 1:
        raise ValueError(f"spin_up: max_cycles must be >= 1, got {max_cycles}.")
    state, status = _spin_up_loop(
        params, state0, forcings_year, tol, max_cycles, analytic_slow_pools=analytic_slow_pools
    )
    if not raise_on_failure:
        return state, status
    try:
        converged = bool(jnp.all(status.converged))
    except jax.errors.ConcretizationTypeError as err:
        raise TypeError(
            "spin_up(raise_on_failure=True) cannot check convergence under jit/vmap/grad; "
            "pass raise_on_failure=False and check status.converged."
        ) from err
    if not converged:
        raise SpinUpError(
            f"ecosystem spin-up did not converge after {int(jnp.max(status.n_cycles))} cycles: "
            f"largest relative annual pool imbalance {float(jnp.max(status.rel_change)):.3g} "
            f"(tol {tol:g}). Raise max_cycles, keep analytic_slow_pools=True, check that "
            "foliage > 0 and the forcing is finite, or pass raise_on_failure=False."
        )
    return state, status
