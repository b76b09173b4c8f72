"""Vertically resolved microbial soil carbon of the detailed model (MIMICS/Millennial-like).

Per layer l (pools in gC m-2, concentrations c = pool / Δz_l in gC m-3, one step of dt days):

    s_l    = f_T,V(T_l) · f_W(W) · exp(−z_l / z_τ)                     (rate scalar)
    U_X    = min(V_X · s_l · B · c_X / (K_X · f_T,K(T_l) + c_X) · dt, X)   X ∈ {met, str, pom}
    CUE_X  = clip(CUE_X,ref − m · (T_l − T_ref), 0.05, 0.9)
    B'     = B + Σ CUE_X·U_X − D_B,   D_B = min(k_mic · (c_B / c_ref) · B · dt, B)   (β = 2)
    S      = f_maom · clip(1 − c_MAOM / Q_max, 0, 1) · D_B                (Langmuir sorption)
    Des    = min(k_des · s_l · MAOM · dt, MAOM)
    POM'   = POM + D_B − S + Des − U_pom,     MAOM' = MAOM + S − Des
    Rh     = Σ (1 − CUE_X) · U_X

with Arrhenius ``f_T(T) = exp(−E_a/R · (1/T − 1/T_ref))`` (T in K) for Vmax and Km (Allison et
al. 2010), the saturating moisture scalar ``f_W = (1 + w_h)·W / (w_h + W)`` and the depth
scalar of Koven et al. (2013). Litter, POM and MAOM then diffuse between layers
(bioturbation, zero flux at the surface and the bottom): every transfer leaves one pool and
enters another, so carbon is conserved to rounding. Soil temperature obeys the heat equation
(backward Euler, air temperature at the surface, a thermal-only layer below the carbon column);
its annual wave matches the analytic damped wave A·exp(−z/d) to ~2 %.

Example:
    >>> from hybridflux.process.detailed_types import DetailedParams, DetailedState
    >>> p = DetailedParams.default()
    >>> round(float(arrhenius(30.0, p.ea_vmax, p.t_ref)), 3)
    1.889
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from hybridflux.constants import DETAILED, PHYSICAL
from hybridflux.process.detailed_types import DetailedParams

__all__ = [
    "SoilEnvironment",
    "SoilGeometry",
    "SoilStepFluxes",
    "arrhenius",
    "moisture_scalar",
    "soil_geometry",
    "soil_environment",
    "soil_carbon_step",
    "soil_temperature_step",
    "soil_temperature_day",
    "bioturbation_step",
]


class SoilGeometry(NamedTuple):
    """Quantities derived once from `DetailedParams` before time stepping.

    Attributes:
        thickness: (L,) m. Layer thicknesses Δz.
        depth: (L,) m. Node (mid-layer) depths z.
        depth_scalar: (L,) 1. exp(−z / z_τ).
        spacing: (L−1,) m. Distances between adjacent nodes.
        heat_matrix: (L+1, L+1) 1. A, inverse of the backward-Euler heat-diffusion matrix.
        heat_forcing: (L+1,) 1. r, response of the layers to the air temperature in one step.
        heat_powers: (S, L+1, L+1) 1. A^h for h = 1..S (S steps per day).
        heat_response: (S, L+1, S) 1. A^(h−k)·r for k ≤ h (else 0): the day in one product.

    Example:
        >>> soil_geometry(DetailedParams.default(), 1 / 24).heat_powers.shape
        (24, 11, 11)
    """

    thickness: jax.Array
    depth: jax.Array
    depth_scalar: jax.Array
    spacing: jax.Array
    heat_matrix: jax.Array
    heat_forcing: jax.Array
    heat_powers: jax.Array
    heat_response: jax.Array


class SoilEnvironment(NamedTuple):
    """Rate modifiers of one step, per layer (any leading axes, e.g. the hours of a day).

    Attributes:
        scalar: 1. s = f_T,V(T) · f_W · exp(−z/z_τ), multiplies Vmax and k_des.
        km_scale: 1. f_T,K(T), multiplies the half-saturation constants.
        cue_shift: 1. m · (T − T_ref), subtracted from every CUE.

    Example: see `soil_environment`.
    """

    scalar: jax.Array
    km_scale: jax.Array
    cue_shift: jax.Array


class SoilStepFluxes(NamedTuple):
    """Carbon moved by one soil step (gC m-2 per step, per layer (L,)).

    Attributes:
        rh: heterotrophic respiration.
        uptake: total microbial uptake Σ U_X.

    Example: see `soil_carbon_step`.
    """

    rh: jax.Array
    uptake: jax.Array


def arrhenius(t_celsius: ArrayLike, ea: ArrayLike, t_ref: ArrayLike) -> jax.Array:
    """Arrhenius factor ``exp(−E_a/R · (1/T − 1/T_ref))``, temperatures in kelvin inside.

    Args:
        t_celsius: temperature in °C.
        ea: activation energy E_a in J mol-1.
        t_ref: reference temperature in °C (factor 1 there).

    Returns:
        Dimensionless factor.

    Reference:
        Allison, Wallenstein & Bradford (2010), Nat. Geosci. 3, 336–340.

    Example:
        >>> round(float(arrhenius(20.0, 47000.0, 20.0)), 6)
        1.0
    """
    t_k = jnp.asarray(t_celsius) + PHYSICAL.zero_celsius
    t_ref_k = jnp.asarray(t_ref) + PHYSICAL.zero_celsius
    return jnp.exp(-jnp.asarray(ea) / DETAILED.gas_constant * (1.0 / t_k - 1.0 / t_ref_k))


def moisture_scalar(w: ArrayLike, w_half: ArrayLike) -> jax.Array:
    """Saturating moisture scalar ``f_W = (1 + w_h) · W / (w_h + W)``, W clipped to [0, 1].

    Args:
        w: relative soil water W (0 wilting point, 1 field capacity), dimensionless.
        w_half: w_h > 0, dimensionless.

    Returns:
        f_W in [0, 1] (0 at W = 0, 1 at W = 1).

    Reference:
        Moyano et al. (2013), Biogeosciences 10, 3961–3981 (saturating response to moisture).

    Example:
        >>> round(float(moisture_scalar(0.2, 0.2)), 3)
        0.6
    """
    w = jnp.clip(jnp.asarray(w), 0.0, 1.0)
    return (1.0 + w_half) * w / (w_half + w)


def _heat_operator(thermal_dz: jax.Array, kappa: ArrayLike, dt_s: ArrayLike):
    """Backward-Euler heat diffusion ``(1 + dt·K)·T' = T + dt·b·T_air``: inverse and response.

    ``dT_l/dt = κ/Δz_l · [(T_{l−1} − T_l)/Δ_{l−½} − (T_l − T_{l+1})/Δ_{l+½}]`` with the air
    temperature at the surface (Δ_{−½} = Δz_0/2) and no flux through the bottom.
    """
    depth = jnp.cumsum(thermal_dz) - 0.5 * thermal_dz
    gaps = jnp.concatenate([depth[:1], jnp.diff(depth)])
    up = kappa / (thermal_dz * gaps)  # coupling to the node above (the air for l = 0)
    down = jnp.concatenate([kappa / (thermal_dz[:-1] * gaps[1:]), jnp.zeros(1, up.dtype)])
    k = jnp.diag(up + down) - jnp.diag(up[1:], -1) - jnp.diag(down[:-1], 1)
    inverse = jnp.linalg.inv(jnp.eye(thermal_dz.shape[0], dtype=up.dtype) + dt_s * k)
    return inverse, inverse[:, 0] * dt_s * up[0]


def soil_geometry(
    params: DetailedParams, dt: ArrayLike, steps: int = DETAILED.steps_per_day
) -> SoilGeometry:
    """Node depths, depth scalar, node spacing and the heat-diffusion operator of the layers.

    Heat diffuses through the carbon layers and one thermal-only layer of
    ``DETAILED.deep_thermal_thickness`` below them (a heat reservoir that damps the annual
    wave), backward Euler, so the step is stable for any dt.

    Args:
        params: `DetailedParams` (thickness in m, depth_efold in m, thermal_diffusivity m2 s-1).
        dt: step length in d.
        steps: steps per day (for the day-at-once heat operator).

    Returns:
        `SoilGeometry`.

    Example:
        >>> g = soil_geometry(DetailedParams.default(), 1.0 / 24.0)
        >>> print(g.depth.shape, round(float(g.depth[0]), 3), g.heat_matrix.shape)
        (10,) 0.01 (11, 11)
    """
    dz = jnp.asarray(params.thickness)
    depth = jnp.cumsum(dz, axis=-1) - 0.5 * dz
    thermal = jnp.concatenate([dz, jnp.full(1, DETAILED.deep_thermal_thickness, dz.dtype)])
    dt_s = dt * PHYSICAL.seconds_per_day
    inverse, forcing = _heat_operator(thermal, params.thermal_diffusivity, dt_s)
    powers, response = _heat_day(inverse, forcing, steps)
    return SoilGeometry(
        thickness=dz,
        depth=depth,
        depth_scalar=jnp.exp(-depth / params.depth_efold),
        spacing=jnp.diff(depth, axis=-1),
        heat_matrix=inverse,
        heat_forcing=forcing,
        heat_powers=powers,
        heat_response=response,
    )


def _heat_day(inverse: jax.Array, forcing: jax.Array, steps: int):
    """A^h and the responses A^(h−k)·r of the `steps` hours of a day (a linear map)."""
    powers, response = [inverse], [jnp.zeros((forcing.size, steps), forcing.dtype)]
    response[0] = response[0].at[:, 0].set(forcing)
    for h in range(1, steps):
        powers.append(inverse @ powers[-1])
        response.append((inverse @ response[-1]).at[:, h].set(forcing))
    return jnp.stack(powers), jnp.stack(response)


def soil_temperature_day(
    soil_temp: jax.Array, ta_hours: jax.Array, geometry: SoilGeometry
) -> jax.Array:
    """Soil temperature after each step of a day, ``T_h = A^h·T_0 + Σ_k≤h A^(h−k)·r·T_air,k``.

    The same as `soil_temperature_step` applied hour by hour (to rounding), as one product.

    Args:
        soil_temp: (L+1,) °C at the start of the day.
        ta_hours: (S,) air temperature of each step in °C.
        geometry: `SoilGeometry`.

    Returns:
        (S, L+1) °C at the end of each step.

    Example:
        >>> g = soil_geometry(DetailedParams.default(), 1.0 / 24)
        >>> t = soil_temperature_day(jnp.zeros(11), jnp.full(24, 10.0), g)
        >>> print(t.shape, round(float(t[0, 0]), 2))
        (24, 11) 7.74
    """
    return geometry.heat_powers @ soil_temp + geometry.heat_response @ ta_hours


def soil_environment(
    soil_temp: jax.Array, f_w: ArrayLike, params: DetailedParams, geometry: SoilGeometry
) -> SoilEnvironment:
    """Rate modifiers of the layers at temperatures ``soil_temp`` (..., L) and moisture f_W.

    Args:
        soil_temp: (..., L) °C.
        f_w: moisture scalar, dimensionless.
        params: `DetailedParams` (ea_vmax, ea_km J mol-1, t_ref °C, cue_slope °C-1).
        geometry: `SoilGeometry` (depth scalar).

    Returns:
        `SoilEnvironment` with fields (..., L).

    Example:
        >>> p = DetailedParams.default()
        >>> env = soil_environment(jnp.full(10, 20.0), 1.0, p, soil_geometry(p, 1 / 24))
        >>> round(float(env.scalar[0]), 3), float(env.km_scale[0])
        (0.99, 1.0)
    """
    scalar = arrhenius(soil_temp, params.ea_vmax, params.t_ref) * f_w * geometry.depth_scalar
    return SoilEnvironment(
        scalar=scalar,
        km_scale=arrhenius(soil_temp, params.ea_km, params.t_ref),
        cue_shift=params.cue_slope * (soil_temp - params.t_ref),
    )


def soil_temperature_step(soil_temp: jax.Array, ta: ArrayLike, geometry: SoilGeometry) -> jax.Array:
    """One backward-Euler step of heat diffusion, ``T' = (1 + dt·K)⁻¹·T + r·T_air``.

    Args:
        soil_temp: (L+1,) °C at the start of the step (the last is the deep thermal layer).
        ta: air temperature of the step in °C (the surface boundary).
        geometry: `SoilGeometry` (inverse matrix and air response r).

    Returns:
        (L+1,) °C at the end of the step.

    Reference:
        Campbell & Norman (1998), An Introduction to Environmental Biophysics, ch. 8.

    Example:
        >>> g = soil_geometry(DetailedParams.default(), 1.0 / 24)
        >>> t = soil_temperature_step(jnp.zeros(11), 10.0, g)
        >>> print(round(float(t[0]), 2), float(t[-1]) < 1e-3)
        7.74 True
    """
    return geometry.heat_matrix @ soil_temp + geometry.heat_forcing * ta


def _capped(rate_dt: jax.Array, pool: jax.Array) -> jax.Array:
    """Amount leaving a pool in a step, ``min(rate·dt, pool)`` (never more than is there)."""
    return jnp.minimum(rate_dt, pool)


def soil_carbon_step(
    pools: tuple[jax.Array, ...],
    inputs: tuple[jax.Array, jax.Array],
    env: SoilEnvironment,
    params: DetailedParams,
    geometry: SoilGeometry,
    dt: ArrayLike,
) -> tuple[tuple[jax.Array, ...], SoilStepFluxes]:
    """One microbial step of every layer (equations in the module docstring).

    Args:
        pools: (litter_met, litter_str, microbes, pom, maom), each (L,) gC m-2.
        inputs: (metabolic, structural) litter input of the step, each (L,) gC m-2.
        env: `SoilEnvironment` of the step (`soil_environment`), fields (L,).
        params: `DetailedParams` (rates in d-1, concentrations in gC m-3).
        geometry: `SoilGeometry`.
        dt: step length in d.

    Returns:
        (new pools, `SoilStepFluxes`), all gC m-2 per step.

    Reference:
        Wieder et al. (2014), MIMICS; Abramoff et al. (2022), Millennial v2; Koven et al.
        (2013), Biogeosciences 10, 7109–7131.

    Example:
        >>> p = DetailedParams.default()
        >>> g = soil_geometry(p, 1.0 / 24)
        >>> pools = tuple(jnp.full(10, v) for v in (50.0, 150.0, 5.0, 2e3, 4e3))
        >>> env = soil_environment(jnp.full(10, 15.0), 1.0, p, g)
        >>> new, f = soil_carbon_step(pools, (jnp.zeros(10),) * 2, env, p, g, 1.0 / 24)
        >>> bool(abs(sum(float(x.sum()) for x in new) + float(f.rh.sum()) - 62050.0) < 1e-2)
        True
    """
    met, struct, mic, pom, maom = pools
    dz = geometry.thickness
    attack = env.scalar * mic * dt

    def uptake(pool, vmax, km, cue_ref):
        conc = pool / dz
        u = _capped(vmax * attack * conc / (km * env.km_scale + conc), pool)
        return u, jnp.clip(cue_ref - env.cue_shift, 0.05, 0.9)

    u_met, e_met = uptake(met, params.v_met, params.km_met, params.cue_met)
    u_str, e_str = uptake(struct, params.v_str, params.km_str, params.cue_str)
    u_pom, e_pom = uptake(pom, params.v_pom, params.km_pom, params.cue_pom)
    growth = e_met * u_met + e_str * u_str + e_pom * u_pom
    total = u_met + u_str + u_pom
    death = _capped(params.k_mic * (mic / dz / params.mic_ref) * mic * dt, mic)
    sorbed = params.f_maom * jnp.clip(1.0 - maom / dz / params.q_max, 0.0, 1.0) * death
    desorbed = _capped(params.k_des * env.scalar * maom * dt, maom)
    new = (
        met + inputs[0] - u_met,
        struct + inputs[1] - u_str,
        mic + growth - death,
        pom + (death - sorbed) + desorbed - u_pom,
        maom + sorbed - desorbed,
    )
    return new, SoilStepFluxes(rh=total - growth, uptake=total)


def bioturbation_step(
    pools: jax.Array, params: DetailedParams, geometry: SoilGeometry, dt: ArrayLike
) -> jax.Array:
    """Diffuse pools between adjacent layers, ``F_{l+½} = D·(c_l − c_{l+1})/Δ_{l+½}·dt``.

    Zero flux at the surface and the bottom. Each interface flux is limited to half the pool
    it leaves, so pools stay non-negative; it is subtracted from one layer and added to the
    next, so Σ_l pools is unchanged to rounding.

    Args:
        pools: (..., L) gC m-2 (e.g. (4, L): litter met/str, POM, MAOM).
        params: `DetailedParams` (bioturbation D in m2 d-1).
        geometry: `SoilGeometry` (thickness, node spacing in m).
        dt: step length in d.

    Returns:
        (..., L) gC m-2.

    Reference:
        Koven et al. (2013), Biogeosciences 10, 7109–7131 (bioturbation 1 cm2 yr-1).

    Example:
        >>> g = soil_geometry(DetailedParams.default(), 1.0)
        >>> x = jnp.zeros(10).at[0].set(100.0)
        >>> y = bioturbation_step(x, DetailedParams.default()._replace(bioturbation=1e-4), g, 1.0)
        >>> print(round(float(y.sum()), 6), float(y[1]) > 0)
        100.0 True
    """
    conc = pools / geometry.thickness
    flux = params.bioturbation * (conc[..., :-1] - conc[..., 1:]) / geometry.spacing * dt
    flux = jnp.clip(flux, -0.5 * pools[..., 1:], 0.5 * pools[..., :-1])
    zero = jnp.zeros_like(flux[..., :1])
    return pools - jnp.concatenate([flux, zero], -1) + jnp.concatenate([zero, flux], -1)
