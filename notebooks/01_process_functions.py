# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · The process library: pure JAX functions of carbon-flux physics
#
# `hybridflux.process` holds what we know about carbon fluxes as small, pure JAX functions:
# light-use-efficiency GPP with its environmental ramps, Q10 and Lloyd–Taylor respiration,
# potential radiation (FAO-56) and linear soil-carbon pools. Each function is scalar-first,
# so it works on a number, on an array (elementwise), under `jax.vmap`, `jax.jit` and
# `jax.grad`. This notebook plots each of them with units and takes a gradient through one.
#
# Units follow the package conventions: temperature in °C, VPD in hPa, PAR in MJ m⁻² d⁻¹,
# fluxes in gC m⁻² d⁻¹, radiation in W m⁻².
#
# `HYBRIDFLUX_NOTEBOOK_SIZE=tiny` (used by the tests) only shortens the soil-pool simulation.

# %%
import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from hybridflux.constants import LLOYD_TAYLOR, LUE, Q10_RESPIRATION, RADIATION, SOIL_POOLS
from hybridflux.process import (
    LUEParams,
    daily_potential_radiation,
    gpp_lue,
    lloyd_taylor,
    potential_radiation,
    q10_respiration,
    steady_state,
)
from hybridflux.process.gpp import temperature_scalar, vpd_scalar
from hybridflux.process.radiation import w_m2_to_mj_per_day
from hybridflux.process.soil_pools import SoilPoolParams, simulate_soil_pools

SIZE = os.environ.get("HYBRIDFLUX_NOTEBOOK_SIZE", "full")
if SIZE not in ("tiny", "full"):
    raise ValueError(f"HYBRIDFLUX_NOTEBOOK_SIZE must be 'tiny' or 'full', got {SIZE!r}")
TINY = SIZE == "tiny"

# %% [markdown]
# ## Light-use-efficiency GPP and its ramps
#
# `GPP = ε_max · fAPAR · PAR · f(T) · f(VPD) · f(W)` (Monteith 1972) with the MOD17 linear
# ramps (Running & Zhao 2015): f(T) rises from 0 at T_min to 1 at T_opt, f(VPD) falls from 1
# at VPD_low to 0 at VPD_high. The defaults are the MOD17 evergreen-needleleaf values in
# `hybridflux.constants.LUE`.

# %%
params = LUEParams.default()
ta = jnp.linspace(-15.0, 30.0, 181)
vpd = jnp.linspace(0.0, 55.0, 221)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].plot(ta, temperature_scalar(ta, params.t_min, params.t_opt))
axes[0].set(xlabel="air temperature (°C)", ylabel="f(T) (–)", title="temperature ramp")
axes[1].plot(vpd, vpd_scalar(vpd, params.vpd_low, params.vpd_high), color="tab:orange")
axes[1].set(xlabel="VPD (hPa)", ylabel="f(VPD) (–)", title="VPD ramp")
par, fapar = 10.0, 0.8  # MJ m-2 d-1, –
for d in (5.0, 20.0, 35.0):
    axes[2].plot(ta, gpp_lue(params, par=par, fapar=fapar, ta=ta, vpd=d), label=f"VPD {d:g} hPa")
axes[2].set(
    xlabel="air temperature (°C)",
    ylabel="GPP (gC m⁻² d⁻¹)",
    title=f"GPP at PAR {par:g} MJ m⁻² d⁻¹, fAPAR {fapar:g}",
)
axes[2].legend()
fig.tight_layout()
print(
    f"MOD17 defaults: eps_max {LUE.eps_max} gC MJ-1, T_min {LUE.t_min} °C, T_opt {LUE.t_opt} °C,"
    f" VPD_low {LUE.vpd_low} hPa, VPD_high {LUE.vpd_high} hPa"
)

# %% [markdown]
# ## Respiration: Q10 and Lloyd–Taylor
#
# `R = R_b · Q10^((T − T_ref)/10)` has a constant relative sensitivity; Lloyd & Taylor (1994),
# `R = R_ref · exp(E0 · (1/(T_ref − T0) − 1/(T − T0)))`, is steeper in the cold and flatter in
# the warmth. Both curves below pass through 2 gC m⁻² d⁻¹ at their reference temperature
# (15 °C for Q10, 10 °C for Lloyd–Taylor).

# %%
ta = jnp.linspace(-10.0, 35.0, 181)
fig, ax = plt.subplots(figsize=(6, 4))
for q10 in (1.5, 2.0):
    ax.plot(ta, q10_respiration(ta, 2.0, q10), label=f"Q10 = {q10:g}, R_b = 2 at 15 °C")
ax.plot(ta, lloyd_taylor(ta, 2.0), "k--", label=f"Lloyd–Taylor, E0 = {LLOYD_TAYLOR.e0:g} K")
ax.set(xlabel="temperature (°C)", ylabel="respiration (gC m⁻² d⁻¹)")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## A gradient through a process function
#
# The functions are differentiable. `jax.grad` of Q10 respiration with respect to Q10 matches
# the analytic derivative `∂R/∂Q10 = R_b · x · Q10^(x−1)`, `x = (T − T_ref)/10`; and the
# gradient of `ln R` with respect to temperature gives Lloyd–Taylor's *apparent* Q10,
# `exp(10 · ∂ln R/∂T)`, which falls with temperature — one reason why a single Q10 fitted to
# a whole year depends on the climate of the site.

# %%
dr_dq10 = jax.vmap(jax.grad(q10_respiration, argnums=2), in_axes=(0, None, None))
ta = jnp.linspace(-5.0, 30.0, 8)
x = (ta - Q10_RESPIRATION.t_ref) / 10.0
analytic = 2.0 * x * 1.5 ** (x - 1.0)
autodiff = dr_dq10(ta, 2.0, 1.5)
print("T (°C)        :", np.round(np.asarray(ta), 1))
print("jax.grad      :", np.round(np.asarray(autodiff), 5))
print("analytic      :", np.round(np.asarray(analytic), 5))
print("max |difference|:", float(jnp.max(jnp.abs(autodiff - analytic))))

apparent_q10 = jax.vmap(jax.grad(lambda t: 10.0 * jnp.log(lloyd_taylor(t, 1.0))))
ta = jnp.linspace(-5.0, 35.0, 161)
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(ta, jnp.exp(apparent_q10(ta)))
ax.set(
    xlabel="temperature (°C)",
    ylabel="apparent Q10 (–)",
    title="Lloyd–Taylor: exp(10 · d ln R / dT) by jax.grad",
)
fig.tight_layout()

# %% [markdown]
# ## Potential radiation (FAO-56)
#
# Top-of-atmosphere shortwave on a horizontal surface from latitude, longitude, day of year
# and clock time (Allen et al. 1998, eqs. 21–25, 31–33). Left: the daily course at FR-Pue
# (43.74° N, 3.60° E, UTC+1) at the solstices; right: the daily mean through the year at
# four latitudes (polar night at 75° N in winter). The daily function is the 24-hour mean of
# the instantaneous one; the printout checks that numerically.

# %%
lat, lon, utc = 43.74, 3.596, 1.0
hours = jnp.linspace(0.0, 24.0, 24 * 60, endpoint=False) + 0.5 / 60.0
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for doy, name in ((172, "21 June"), (355, "21 December")):
    axes[0].plot(hours, potential_radiation(lat, lon, doy, hours, utc), label=name)
    mean_inst = float(potential_radiation(lat, lon, doy, hours, utc).mean())
    daily = float(daily_potential_radiation(lat, doy))
    print(f"{name}: mean of the minutes {mean_inst:.2f} W m-2, daily function {daily:.2f} W m-2")
axes[0].set(
    xlabel="local standard time (h)",
    ylabel="potential radiation (W m⁻²)",
    title="FR-Pue, instantaneous",
)
axes[0].legend()
doy = jnp.arange(1, 366)
for la in (0.0, 23.4, 45.0, 75.0):
    axes[1].plot(doy, daily_potential_radiation(la, doy), label=f"{la:g}° N")
axes[1].set(xlabel="day of year", ylabel="daily mean (W m⁻²)", title="daily mean")
axes[1].legend()
to_mj = RADIATION.w_m2_to_mj_m2_d  # (MJ m-2 d-1) / (W m-2) = 86400 s / 1e6
ax2 = axes[1].secondary_yaxis("right", functions=(lambda w: w * to_mj, lambda m: m / to_mj))
ax2.set_ylabel("daily sum (MJ m⁻² d⁻¹)")
fig.tight_layout()
print(f"check of the secondary axis: 100 W m-2 = {float(w_m2_to_mj_per_day(100.0)):.2f} MJ m-2 d-1")

# %% [markdown]
# ## Soil carbon pools
#
# Three linear pools (fast, slow, passive; turnover 1.5, 25 and 1000 years after Parton et al.
# 1987) in matrix form `dC/dt = b·I + A·ξ·K·C` (Xia et al. 2012), stepped with implicit
# Euler by `lax.scan`. The analytic steady state `C* = −(A ξ K)⁻¹ b I` is one linear solve.
# Starting from C* and cutting the litter input to zero, each pool decays on its own time
# scale (the slow and passive pools are still fed by the faster ones for a while).

# %%
soil = SoilPoolParams.default()
litter = 1.0  # gC m-2 d-1
c_star = steady_state(litter, 1.0, soil)
print("turnover (yr):", SOIL_POOLS.turnover_years)
print("steady state at 1 gC m-2 d-1 input, xi = 1 (gC m-2):", np.round(np.asarray(c_star), 1))

years = 30 if TINY else 300
days = 365 * years
_, pools, rh = simulate_soil_pools(c_star, jnp.zeros(days), 1.0, soil)
t_years = np.arange(1, days + 1) / 365.25

fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for i, name in enumerate(("fast", "slow", "passive")):
    axes[0].semilogy(t_years, pools[:, i] / c_star[i], label=name)
axes[0].set(xlabel="years without litter input", ylabel="C / C* (–)", title="decay of the pools")
axes[0].set_ylim(1e-3, 1.5)
axes[0].legend()
axes[1].semilogy(t_years, rh)
axes[1].set(
    xlabel="years without litter input", ylabel="Rh (gC m⁻² d⁻¹)", title="heterotrophic respiration"
)
fig.tight_layout()
print(f"after {years} years: {np.round(np.asarray(pools[-1] / c_star), 4)} of the initial pools")

# %% [markdown]
# The fast pool is gone within a few years, the slow pool decays over decades and the passive
# pool has barely changed: the century-scale memory that makes soil-carbon spin-up slow, and
# that the analytic steady state avoids.
