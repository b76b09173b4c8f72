"""The detailed process model: hourly, vertically resolved, nonlinear microbial soil carbon.

The model an emulator replaces (DESIGN.md; Liu et al. 2024 emulate ecosys). One cell, one
hour (dt = 1/24 d), vegetation (gC m-2), then the soil of :mod:`.detailed_soil`:

    T(h)   = T̄ + ΔT/2 · cos(2π (h − h_max)/24)                          (diurnal cycle)
    SW(h)  = SW̄ · R_pot(h) / mean_h R_pot                                 (FAO-56 shape)
    VPD(h) = max(e_s(T(h)) − e_a, 0),  e_a = e_s(T̄) − VPD̄                 (Tetens)
    GPP    = ε·fAPAR(SLA·C_f)·PAR(h)·f(T)·f(VPD)·f(W)                     (`gpp_lue`)
    L      = C_lab + GPP·dt                                              (available labile)
    R_m    = r_m·Q10^((T − T_ref)/10)·(C_f + C_r + f_live·C_w)·dt · L/(L + K_lab), ≤ L
    A      = k_lab·dt·(L − R_m),   R_g = f_g·A,   G = A − R_g
    C_lab' = L − R_m − A,          Ra = R_m + R_g
    C_f'   = C_f + f_f·G − k_f·dt·C_f,   C_r' = C_r + f_r·G − k_r·dt·C_r,
    C_w'   = C_w + (1 − f_f − f_r)·G − k_w·dt·C_w
    litter: foliage → top layer, wood → top layer (structural), roots → layers by the Jackson
    profile; leaf and root litter split metabolic/structural by fMET.

Drivers are daily (`DetailedForcings`); each day is disaggregated to 24 hours and stepped with
an inner `lax.scan`, then litter, POM and MAOM mix between layers (bioturbation, one daily
step); days are an outer `lax.scan` (`simulate`) that keeps daily sums of the
fluxes and the pools at the end of each day (`DetailedDaily`); cells are `jax.vmap`
(`simulate_cells`, jitted). Every flux leaves one pool and enters another or the atmosphere,
so ``Δ carbon = Σ (GPP − Ra − Rh)`` to rounding. Spin-up: :mod:`.detailed_spinup`.

Example:
    >>> p = DetailedParams.default()
    >>> met = DetailedForcings(ta=jnp.full(3, 15.0), sw_in=200.0, vpd=8.0, w=0.8, doy=180.0,
    ...                        lat=45.0)
    >>> end, daily = simulate(p, DetailedState.initial(p), met)
    >>> print(daily.gpp.shape, round(float(daily.gpp[0]), 2))
    (3,) 2.66
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import DETAILED, VAPOUR
from hybridflux.process.detailed_soil import (
    SoilGeometry,
    bioturbation_step,
    moisture_scalar,
    soil_carbon_step,
    soil_environment,
    soil_geometry,
    soil_temperature_day,
    soil_temperature_step,
)
from hybridflux.process.detailed_types import (
    POOL_KINDS,
    DetailedDaily,
    DetailedForcings,
    DetailedParams,
    DetailedState,
)
from hybridflux.process.gpp import fapar_from_lai, gpp_lue
from hybridflux.process.radiation import (
    par_from_shortwave,
    potential_radiation,
    w_m2_to_mj_per_day,
)

__all__ = [
    "POOL_KINDS",
    "DetailedDaily",
    "DetailedForcings",
    "DetailedParams",
    "DetailedState",
    "diurnal_cycle",
    "hourly_step",
    "mix_layers",
    "daily_step",
    "simulate",
    "simulate_cells",
    "batch_axes",
]

_HOURS = DETAILED.steps_per_day
_DT = 1.0 / _HOURS
#: Unbatched parameters: a leaf with one axis more than here is per cell (`batch_axes`).
_TEMPLATE = DetailedParams.default()


def _saturation_vapour_pressure(t: ArrayLike) -> jax.Array:
    """Tetens e_s(T) in hPa, T in °C (FAO-56 eq. 11 in hPa)."""
    c = VAPOUR
    return c.tetens_a * jnp.exp(c.tetens_b * t / (t + c.tetens_c))


def diurnal_cycle(day: DetailedForcings) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Hourly air temperature, shortwave and VPD of one day from its daily values.

    Temperature is a cosine with its maximum at 15 h solar time and range ΔT; shortwave has
    the shape of potential radiation at the hour's midpoint (normalised to the daily mean, flat
    in polar night); VPD follows from a constant actual vapour pressure (Tetens).

    Args:
        day: `DetailedForcings` of one day (scalars: ta °C, sw_in W m-2, vpd hPa, doy, lat
            degrees north, ta_range °C).

    Returns:
        (ta °C, sw_in W m-2, vpd hPa), each (24,).

    Reference:
        Allen et al. (1998), FAO-56, eqs. 11 and 28–33.

    Example:
        >>> d = DetailedForcings(10.0, 200.0, 5.0, 1.0, 172.0, 48.0, 8.0)
        >>> ta, sw, vpd = diurnal_cycle(d)
        >>> print(round(float(ta.max() - ta.min()), 1), round(float(sw.mean()), 3))
        7.9 200.0
    """
    hours = jnp.arange(_HOURS, dtype=jnp.result_type(day.ta, float)) + 0.5
    phase = 2.0 * jnp.pi * (hours - DETAILED.t_max_hour) / _HOURS
    ta = day.ta + 0.5 * day.ta_range * jnp.cos(phase)
    shape = potential_radiation(day.lat, 0.0, day.doy, hours)
    total = jnp.sum(shape)
    lit = total > 0
    sw = jnp.where(lit, day.sw_in * _HOURS * shape / jnp.where(lit, total, 1.0), day.sw_in)
    e_a = jnp.maximum(_saturation_vapour_pressure(day.ta) - day.vpd, 0.0)
    vpd = jnp.maximum(_saturation_vapour_pressure(ta) - e_a, 0.0)
    return ta, sw, vpd


def _vegetation(state, ta, sw, vpd, w, params):
    """Vegetation fluxes of one hour (gC m-2 per step) and the updated vegetation pools."""
    lai = state.foliage * params.sla
    par = w_m2_to_mj_per_day(par_from_shortwave(sw))
    gpp = gpp_lue(params.lue, par, fapar_from_lai(lai, params.k_extinction), ta, vpd, w) * _DT
    tissue = state.foliage + state.root + params.live_wood_fraction * state.wood
    maint_rate = params.r_maint * params.q10_maint ** ((ta - params.t_ref) / 10.0)
    avail = state.labile + gpp
    limit = avail / (avail + params.labile_half)
    r_m = jnp.minimum(maint_rate * tissue * _DT * limit, avail)
    alloc = params.k_labile * _DT * (avail - r_m)
    r_g = params.growth_resp_fraction * alloc
    growth = alloc - r_g
    leaf_fall = params.k_foliage * _DT * state.foliage
    root_fall = params.k_root * _DT * state.root
    wood_fall = params.k_wood * _DT * state.wood
    f_wood = 1.0 - params.f_foliage - params.f_root
    veg = (
        avail - r_m - alloc,
        state.foliage + params.f_foliage * growth - leaf_fall,
        state.wood + f_wood * growth - wood_fall,
        state.root + params.f_root * growth - root_fall,
    )
    return veg, gpp, r_m + r_g, (leaf_fall, root_fall, wood_fall)


def _litter_inputs(falls, params):
    """Metabolic and structural litter input per layer (gC m-2 per step)."""
    leaf_fall, root_fall, wood_fall = falls
    root = root_fall * jnp.asarray(params.root_fraction)
    top = jnp.zeros_like(root).at[0].set(1.0)
    met = params.f_met * (root + leaf_fall * top)
    struct = (1.0 - params.f_met) * (root + leaf_fall * top) + wood_fall * top
    return met, struct


def _hour(state, hour, w, params, geometry):
    """One hour given its soil temperature and rate modifiers (no bioturbation)."""
    ta, sw, vpd, soil_temp, env = hour
    veg, gpp, ra, falls = _vegetation(state, ta, sw, vpd, w, params)
    pools = (state.litter_met, state.litter_str, state.microbes, state.pom, state.maom)
    inputs = _litter_inputs(falls, params)
    pools, soil = soil_carbon_step(pools, inputs, env, params, geometry, _DT)
    new = DetailedState(*veg, *pools, soil_temp)
    return new, jnp.stack([gpp, ra, jnp.sum(soil.rh), falls[0] + falls[1] + falls[2]])


def hourly_step(
    state: DetailedState,
    hour: tuple[jax.Array, jax.Array, jax.Array],
    w: ArrayLike,
    params: DetailedParams,
    geometry: SoilGeometry,
) -> tuple[DetailedState, jax.Array]:
    """Advance one cell by one hour: soil heat, vegetation, microbial soil (no bioturbation).

    `daily_step` is 24 of these (with the day's soil temperatures computed at once) followed
    by one `bioturbation_step` of a day (operator splitting: mixing of 1 cm2 yr-1 is far
    slower than an hour).

    Args:
        state: `DetailedState` at the start of the hour (pools gC m-2, soil T °C).
        hour: (air T °C, shortwave W m-2, VPD hPa) of the hour.
        w: relative soil water, dimensionless.
        params: `DetailedParams`.
        geometry: `soil_geometry(params, 1/24)`.

    Returns:
        (state at the end of the hour, (4,) [GPP, Ra, Rh, litterfall] in gC m-2 per hour).

    Example:
        >>> p = DetailedParams.default()
        >>> s0 = DetailedState.initial(p)
        >>> s1, f = hourly_step(s0, (20.0, 500.0, 10.0), 1.0, p, soil_geometry(p, 1 / 24))
        >>> bool(abs(float(s1.carbon() - s0.carbon() - (f[0] - f[1] - f[2]))) < 1e-3)
        True
    """
    ta, sw, vpd = hour
    soil_temp = soil_temperature_step(state.soil_temp, ta, geometry)
    env = soil_environment(soil_temp[:-1], moisture_scalar(w, params.w_half), params, geometry)
    return _hour(state, (ta, sw, vpd, soil_temp, env), w, params, geometry)


def mix_layers(state: DetailedState, params: DetailedParams, geometry: SoilGeometry, dt=1.0):
    """Bioturbation of litter, POM and MAOM over ``dt`` days (`bioturbation_step`).

    Example:
        >>> p = DetailedParams.default()
        >>> s = DetailedState.initial(p)
        >>> m = mix_layers(s, p, soil_geometry(p, 1 / 24))
        >>> round(float(m.carbon() - s.carbon()), 6)
        0.0
    """
    moved = bioturbation_step(
        jnp.stack([state.litter_met, state.litter_str, state.pom, state.maom]), params, geometry, dt
    )
    return state._replace(litter_met=moved[0], litter_str=moved[1], pom=moved[2], maom=moved[3])


def daily_step(
    state: DetailedState, day: DetailedForcings, params: DetailedParams, geometry: SoilGeometry
) -> tuple[DetailedState, DetailedDaily]:
    """Advance one cell by one day: 24 hours (`lax.scan`), then a day of bioturbation.

    The day's hourly soil temperatures (`soil_temperature_day`) and rate modifiers
    (`soil_environment`) are computed at once before the hourly scan; the result equals 24
    `hourly_step` calls and one `mix_layers` (to rounding).

    Args:
        state: `DetailedState` at the start of the day.
        day: `DetailedForcings` of the day (scalars).
        params: `DetailedParams`.
        geometry: `soil_geometry(params, 1/24)`.

    Returns:
        (state at the end of the day, `DetailedDaily` with fluxes in gC m-2 d-1).

    Example:
        >>> p = DetailedParams.default()
        >>> d = DetailedForcings(15.0, 200.0, 8.0, 1.0, 180.0, 45.0)
        >>> s, out = daily_step(DetailedState.initial(p), d, p, soil_geometry(p, 1 / 24))
        >>> out.pools.shape
        (9,)
    """
    ta, sw, vpd = diurnal_cycle(day)
    temps = soil_temperature_day(state.soil_temp, ta, geometry)
    env = soil_environment(temps[:, :-1], moisture_scalar(day.w, params.w_half), params, geometry)

    def body(s, hour):
        return _hour(s, hour, day.w, params, geometry)

    state, fluxes = jax.lax.scan(body, state, (ta, sw, vpd, temps, env))
    state = mix_layers(state, params, geometry)
    gpp, ra, rh, litterfall = jnp.sum(fluxes, axis=0)
    daily = DetailedDaily(gpp, ra, rh, ra + rh - gpp, litterfall, state.pools())
    return state, daily


def _as_state(state: DetailedState, dtype) -> DetailedState:
    return DetailedState(*(jnp.asarray(x, dtype) for x in state))


def _as_forcings(forcings: DetailedForcings, where: str, ndim: int) -> DetailedForcings:
    """Broadcast the forcing fields to one shape with ``ndim`` axes (time last), or raise."""
    arrays = [jnp.asarray(x) for x in forcings]
    dtype = jnp.result_type(arrays[0], float)
    try:
        shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as err:
        shapes = dict(zip(DetailedForcings._fields, (a.shape for a in arrays), strict=True))
        raise ValueError(f"{where}: forcing fields do not broadcast together: {shapes}.") from err
    if len(shape) != ndim:
        want = "(T,)" if ndim == 1 else "(n_cells, T)"
        raise ValueError(f"{where}: forcings must have shape {want} (days last), got {shape}.")
    return DetailedForcings(*(jnp.broadcast_to(a.astype(dtype), shape) for a in arrays))


def simulate(
    params: DetailedParams, state0: DetailedState, forcings: DetailedForcings
) -> tuple[DetailedState, DetailedDaily]:
    """Run the model over daily forcings of one cell (days: `lax.scan`, hours: inner scan).

    Args:
        params: `DetailedParams` of one cell (scalars; geometry (L,)).
        state0: `DetailedState` (pools gC m-2, soil T °C).
        forcings: `DetailedForcings` with fields (T,) or scalars broadcast over the days.

    Returns:
        (state after T days, `DetailedDaily` with fields (T,) / pools (T, 9)).

    Raises:
        ValueError: forcing fields that do not broadcast to (T,).

    Example:
        >>> p = DetailedParams.default()
        >>> met = DetailedForcings(jnp.zeros(2), 100.0, 3.0, 1.0, 10.0, 50.0)
        >>> _, d = simulate(p, DetailedState.initial(p), met)
        >>> d.pools.shape
        (2, 9)
    """
    forcings = _as_forcings(forcings, "simulate", ndim=1)
    state0 = _as_state(state0, forcings.ta.dtype)
    geometry = soil_geometry(params, _DT)

    def body(state, day):
        return daily_step(state, day, params, geometry)

    return jax.lax.scan(body, state0, forcings)


def batch_axes(tree, template) -> object:
    """vmap ``in_axes`` of a pytree: 0 where a leaf has one axis more than the template's.

    Args:
        tree: pytree (e.g. `DetailedParams` with some leaves per cell).
        template: the same structure unbatched (e.g. `DetailedParams.default()`).

    Returns:
        A pytree of 0 / None for `jax.vmap`.

    Example:
        >>> p = DetailedParams.default()
        >>> axes = batch_axes(p._replace(k_mic=jnp.ones(3)), p)
        >>> axes.k_mic, axes.v_met, axes.thickness
        (0, None, None)
    """
    return jax.tree.map(lambda x, t: 0 if jnp.ndim(x) > jnp.ndim(t) else None, tree, template)


@jax.jit
def simulate_cells(
    params: DetailedParams, state0: DetailedState, forcings: DetailedForcings
) -> tuple[DetailedState, DetailedDaily]:
    """`simulate` over cells: `jax.vmap` of the day/hour scans, compiled with `jax.jit`.

    A parameter leaf is per cell when it has one axis more than in `DetailedParams.default()`
    (scalars → (n,), geometry (L,) → (n, L)); the state is per cell when its vegetation pools
    have shape (n,). Compiles once per combination of shapes and dtypes.

    Args:
        params: `DetailedParams`, leaves shared or per cell.
        state0: `DetailedState`, shared or per cell.
        forcings: `DetailedForcings` with fields (n_cells, T) or broadcastable to it.

    Returns:
        (states (n,) / (n, L), `DetailedDaily` with fields (n, T) / pools (n, T, 9)).

    Example:
        >>> p = DetailedParams.default()
        >>> met = DetailedForcings(jnp.zeros((2, 3)), 100.0, 3.0, 1.0, 10.0, 50.0)
        >>> s, d = simulate_cells(p._replace(k_mic=jnp.array([0.01, 0.02])),
        ...                       DetailedState.initial(p), met)
        >>> print(d.nee.shape, s.maom.shape)
        (2, 3) (2, 10)
    """
    forcings = _as_forcings(forcings, "simulate_cells", ndim=2)
    n = forcings.ta.shape[0]
    state_axes = 0 if jnp.ndim(state0.labile) == 1 else None
    state0 = _as_state(state0, forcings.ta.dtype)
    if state_axes is None:
        state0 = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), state0)
    axes = batch_axes(params, _TEMPLATE)
    return jax.vmap(simulate, in_axes=(axes, 0, 0))(params, state0, forcings)
