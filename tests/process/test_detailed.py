"""Tests of the detailed process model (process.detailed, detailed_soil, detailed_spinup).

Tiers (STYLE rule 13): float64 reference hours from an independent re-implementation
(reference/make_detailed_reference.py), hand-computed kinetics, the analytic damped heat wave,
invariants (carbon conserved per simulated year to 1e-6 in float64, non-negative pools, mixing
conserves), gradients against finite differences, spin-up to a cyclo-stationary state with its
years reported, vmap = loop, compile-once, and real FR-Pue drivers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.data import read
from hybridflux.data.sample import sample_path
from hybridflux.process.detailed import (
    DetailedForcings,
    DetailedParams,
    DetailedState,
    daily_step,
    diurnal_cycle,
    hourly_step,
    mix_layers,
    simulate,
    simulate_cells,
)
from hybridflux.process.detailed_soil import (
    arrhenius,
    bioturbation_step,
    moisture_scalar,
    soil_carbon_step,
    soil_environment,
    soil_geometry,
    soil_temperature_day,
    soil_temperature_step,
)
from hybridflux.process.detailed_spinup import (
    SpinUpError,
    carbon_budget,
    spin_up,
    spin_up_cells,
)
from hybridflux.process.detailed_types import root_profile
from hybridflux.process.gpp import LUEParams

REFERENCE = Path(__file__).parent / "reference" / "detailed_reference.json"
DT = 1.0 / 24.0


def seasonal(n_days: int, seed: int = 0, lat: float = 45.0) -> DetailedForcings:
    """Seasonal daily drivers with weather noise, frost and dry spells (numpy)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_days)
    season = -np.cos(2 * np.pi * t / 365)
    ta = 9 + 11 * season + rng.normal(0, 3, n_days)
    sw = np.clip(160 + 110 * season + rng.normal(0, 40, n_days), 5, None)
    vpd = np.clip(7 + 8 * season + rng.normal(0, 2, n_days), 0.2, None)
    w = np.clip(0.75 - 0.35 * season + rng.normal(0, 0.1, n_days), 0.05, 1.0)
    doy = (t % 365) + 1.0
    return DetailedForcings(*(jnp.asarray(x) for x in (ta, sw, vpd, w, doy)), lat, 9.0)


def fast_params() -> DetailedParams:
    """Defaults with a soil ~5x faster, so a spin-up takes ~100 years (test speed)."""
    p = DetailedParams.default()
    return p._replace(v_pom=0.5, k_des=1e-3, k_wood=3e-4, depth_efold=3.0)


# --- reference values -------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["default", "unusual"])
def test_hours_match_independent_float64_reference(x64, case):
    ref = json.loads(REFERENCE.read_text())
    data = ref["cases"][case]
    pr = data["params"]
    thickness = np.asarray(ref["thickness"])
    params = DetailedParams(
        lue=LUEParams(*(pr[k] for k in LUEParams._fields)),
        thickness=thickness,
        root_fraction=np.asarray(root_profile(pr["root_beta"], thickness)),
        **{k: pr[k] for k in DetailedParams._fields if k in pr},
    )
    state = DetailedState(**{k: jnp.asarray(v) for k, v in data["state0"].items()})
    met = jnp.asarray(data["drivers"])
    geometry = soil_geometry(params, DT)

    def body(s, m):
        return hourly_step(s, (m[0], m[1], m[2]), m[3], params, geometry)

    fluxes = []
    for day in (met[:24], met[24:]):  # 24 hours, then a day of bioturbation
        state, f = jax.lax.scan(body, state, day)
        state = mix_layers(state, params, geometry)
        fluxes.append(f)
    fluxes = jnp.concatenate(fluxes)
    for name, expected in data["state48"].items():
        np.testing.assert_allclose(getattr(state, name), expected, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(jnp.sum(fluxes, axis=0), data["flux_sums"], rtol=1e-11)


def test_kinetics_by_hand(x64):
    assert float(arrhenius(10.0, 47000.0, 20.0)) == pytest.approx(
        math.exp(-47000.0 / 8.314462618 * (1 / 283.15 - 1 / 293.15)), rel=1e-12
    )
    assert float(moisture_scalar(0.5, 0.2)) == pytest.approx(1.2 * 0.5 / 0.7)
    assert float(moisture_scalar(1.7, 0.2)) == pytest.approx(1.0)  # W clipped to 1
    p = DetailedParams.default()
    g = soil_geometry(p, DT)
    temp = jnp.full(10, 20.0)  # Arrhenius factors 1: uptake = V·z-scalar·B·dt·c/(K + c)
    for conc in (p.km_met, 1e9):  # half saturation, and saturated
        share = conc / (p.km_met + conc)
        met = conc * g.thickness
        pools = (met, jnp.zeros(10), jnp.full(10, 30.0), jnp.zeros(10), jnp.zeros(10))
        env = soil_environment(temp, 1.0, p, g)
        _, f = soil_carbon_step(pools, (jnp.zeros(10),) * 2, env, p, g, DT)
        hand = p.v_met * np.exp(-np.asarray(g.depth) / p.depth_efold) * 30.0 * DT * share
        np.testing.assert_allclose(f.uptake, np.minimum(hand, met), rtol=1e-6)
        np.testing.assert_allclose(f.rh, (1 - p.cue_met) * f.uptake, rtol=1e-12)


def test_diurnal_cycle_keeps_daily_means():
    day = DetailedForcings(12.0, 230.0, 9.0, 1.0, 172.0, 48.0, 9.0)
    ta, sw, vpd = diurnal_cycle(day)
    assert float(ta.mean()) == pytest.approx(12.0, abs=1e-5)
    assert float(sw.mean()) == pytest.approx(230.0, rel=1e-5)
    assert int(jnp.argmax(ta)) == 14  # the hour 14:00-15:00 (midpoint 14.5 h)
    assert float(sw[1]) == 0.0 and float(sw[12]) > 2 * 230.0  # night; noon at 48 N in June
    es = lambda t: 6.1078 * np.exp(17.27 * t / (t + 237.3))  # noqa: E731
    np.testing.assert_allclose(vpd, np.maximum(es(np.asarray(ta)) - (es(12.0) - 9.0), 0), 1e-5)
    dark = diurnal_cycle(day._replace(doy=355.0, lat=80.0))[1]  # polar night: flat
    np.testing.assert_allclose(dark, 230.0, rtol=1e-6)


def test_daily_step_equals_24_hourly_steps_and_a_day_of_mixing(x64):
    p = DetailedParams.default()._replace(bioturbation=1e-3)
    g = soil_geometry(p, DT)
    s0 = DetailedState.initial(p)._replace(soil_temp=jnp.linspace(2.0, 9.0, 11))
    day = DetailedForcings(14.0, 220.0, 9.0, 0.6, 150.0, 47.0, 11.0)
    s_day, out = daily_step(s0, day, p, g)
    ta, sw, vpd = diurnal_cycle(day)
    s, total = s0, 0.0
    for h in range(24):
        s, f = hourly_step(s, (ta[h], sw[h], vpd[h]), 0.6, p, g)
        total = total + f
    s = mix_layers(s, p, g)
    for a, b in zip(s_day, s, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose([out.gpp, out.ra, out.rh, out.litterfall], total, rtol=1e-10)
    temps = soil_temperature_day(s0.soil_temp, ta, g)
    np.testing.assert_allclose(temps[-1], s.soil_temp, rtol=1e-12)


def test_heat_diffusion_matches_the_analytic_damped_wave(x64):
    g = soil_geometry(DetailedParams.default(), DT)
    hours = jnp.arange(24 * 365 * 4.0)
    ta = 10 + 10 * jnp.sin(2 * jnp.pi * hours / (24 * 365))

    def body(t, a):
        t = soil_temperature_step(t, a, g)
        return t, t

    temp = np.asarray(jax.lax.scan(body, jnp.full(11, 10.0), ta)[1][-24 * 365 :])
    amplitude = (temp.max(0) - temp.min(0))[:10] / 2
    damping = np.sqrt(2 * 5e-7 / (2 * np.pi / (365 * 86400.0)))  # 2.24 m
    np.testing.assert_allclose(amplitude, 10 * np.exp(-np.asarray(g.depth) / damping), rtol=0.03)
    lag = np.argmax(temp[:, :10], axis=0)
    assert np.all(np.diff(lag) >= 0) and lag[-1] - lag[0] > 24 * 10  # deeper = later
    _, still = jax.lax.scan(body, jnp.zeros(11), jnp.full(24 * 365 * 6, 7.0))
    np.testing.assert_allclose(still[-1], 7.0, atol=0.02)  # relaxes to constant air T


def test_bioturbation_by_hand_and_conserves(x64):
    p = DetailedParams.default()._replace(bioturbation=2e-4)
    g = soil_geometry(p, 1.0)
    pools = jnp.asarray(np.linspace(100.0, 10.0, 10))[None].repeat(2, 0)
    out = bioturbation_step(pools, p, g, 1.0)
    c = np.asarray(pools[0]) / np.asarray(g.thickness)
    flux0 = 2e-4 * (c[0] - c[1]) / (float(g.depth[1]) - float(g.depth[0]))
    assert float(out[0, 0]) == pytest.approx(100.0 - flux0, rel=1e-12)
    np.testing.assert_allclose(out.sum(-1), pools.sum(-1), rtol=1e-14)


# --- invariants -------------------------------------------------------------------------------


def test_carbon_conserved_per_simulated_year_in_float64(x64):
    p = DetailedParams.default()
    s0 = DetailedState.initial(p)
    met = seasonal(730, seed=1)
    s1, daily = jax.jit(simulate)(p, s0, met)
    _, rel_total = carbon_budget(s0, s1, daily)
    assert abs(float(rel_total)) < 1e-6
    year_end = jax.tree.map(lambda x: x[364], daily.pools)
    for a, b, days in (
        (s0.pools(), year_end, slice(0, 365)),
        (year_end, s1.pools(), slice(365, 730)),
    ):
        net = float(jnp.sum(daily.gpp[days] - daily.ra[days] - daily.rh[days]))
        residual = float(jnp.sum(b) - jnp.sum(a)) - net
        assert abs(residual) / float(jnp.sum(a)) < 1e-6
        assert abs(residual) < 1e-8  # in fact rounding: ~1e-11 gC m-2
    np.testing.assert_allclose(daily.nee, daily.ra + daily.rh - daily.gpp, atol=1e-12)


def test_pools_stay_nonnegative_in_a_hot_dry_starving_cell(x64):
    p = DetailedParams.default()._replace(r_maint=0.05, k_mic=2.0, v_met=30.0, km_met=1.0)
    met = seasonal(120, seed=2)._replace(ta=jnp.full(120, 35.0), w=0.02, sw_in=jnp.full(120, 5.0))
    s, daily = jax.jit(simulate)(p, DetailedState.initial(p), met)
    assert float(jnp.min(daily.pools)) >= 0.0
    assert all(float(jnp.min(x)) >= 0.0 for x in s[:9])
    # starving: maintenance has (nearly) emptied the labile pool; substrate-limited, never < 0
    assert 0.0 <= float(s.labile) < 1e-3


def test_gradient_matches_finite_differences(x64):
    met = seasonal(4, seed=3)
    s0 = DetailedState.initial(DetailedParams.default())

    @jax.jit
    def annual_nee(eps, vmet):
        p = DetailedParams.default()
        p = p._replace(lue=p.lue._replace(eps_max=eps), v_met=vmet)
        return jnp.sum(simulate(p, s0, met)[1].nee)

    grad = jax.grad(annual_nee, argnums=(0, 1))(0.9, 0.3)
    h = 1e-5
    fd0 = (annual_nee(0.9 + h, 0.3) - annual_nee(0.9 - h, 0.3)) / (2 * h)
    fd1 = (annual_nee(0.9, 0.3 + h) - annual_nee(0.9, 0.3 - h)) / (2 * h)
    assert float(grad[0]) == pytest.approx(float(fd0), rel=1e-5)
    assert float(grad[1]) == pytest.approx(float(fd1), rel=1e-5)
    assert float(grad[0]) < 0  # more light use efficiency, more uptake


# --- spin-up ----------------------------------------------------------------------------------


def test_spin_up_reaches_a_cyclostationary_state_and_reports_years():
    p = fast_params()
    met = seasonal(365, seed=4)
    state, status = spin_up(p, DetailedState.initial(p), met, tol=0.01, window_years=10)
    years = int(status.years)
    assert bool(status.converged) and years % 10 == 0 and 30 <= years < 3000
    # independent check: ten more cycles change every pool kind by < 1 % per century
    after = state
    for _ in range(10):
        after = jax.jit(simulate)(p, after, met)[0]
    change = np.abs(np.asarray(after.pools()) - np.asarray(state.pools()))
    assert np.all(change / np.maximum(np.asarray(state.pools()), 1.0) * 10 < 0.01)
    # vmap over two cells (one the same cell) reports the same years for that cell
    pair = p._replace(k_mic=jnp.asarray([p.k_mic, 0.02], jnp.float32))
    s0 = jax.tree.map(lambda x: jnp.stack([jnp.asarray(x)] * 2), DetailedState.initial(p))
    met2 = jax.tree.map(lambda x: jnp.stack([jnp.broadcast_to(x, (365,))] * 2), met)
    _, both = spin_up_cells(pair, s0, met2, tol=0.01, max_years=3000, window_years=10.0)
    assert int(both.years[0]) == years and bool(jnp.all(both.converged))
    with pytest.raises(SpinUpError, match="did not converge in 20 years"):
        spin_up(p, DetailedState.initial(p), met, max_years=20)


# --- vectorisation and real drivers -----------------------------------------------------------


def test_simulate_cells_equals_per_cell_runs_and_traces_once():
    counted = jax.jit(eqx.debug.assert_max_traces(simulate_cells.__wrapped__, max_traces=1))
    single = jax.jit(simulate)  # the per-cell reference, compiled once for all four runs
    p = DetailedParams.default()
    for seed in (5, 6):
        met = jax.tree.map(lambda x: jnp.stack([jnp.broadcast_to(x, (6,))] * 2), seasonal(6, seed))
        met = met._replace(ta=met.ta + jnp.asarray([[0.0], [4.0]]))
        params = p._replace(k_mic=jnp.asarray([0.01, 0.03], jnp.float32))
        _, daily = counted(params, DetailedState.initial(p), met)
        for i in range(2):
            one = jax.tree.map(lambda x, i=i: x[i], met)
            _, ref = single(p._replace(k_mic=params.k_mic[i]), DetailedState.initial(p), one)
            np.testing.assert_allclose(daily.nee[i], ref.nee, rtol=2e-5, atol=1e-6)


def test_one_year_of_real_fr_pue_drivers_gives_plausible_fluxes():
    ds = read(sample_path("fr-pue-daily")).isel(site=0).sel(time=slice("2006-01-01", "2006-12-31"))
    met = DetailedForcings(
        *(jnp.asarray(ds[v].values, jnp.float32) for v in ("TA_F", "SW_IN_F", "VPD_F")),
        w=0.6,
        doy=jnp.asarray(ds.time.dt.dayofyear.values, jnp.float32),
        lat=float(ds.lat),
    )
    p = DetailedParams.default()
    s0 = DetailedState.initial(p)._replace(foliage=200.0, root=200.0, wood=9000.0)
    _, daily = jax.jit(simulate)(p, s0, met)
    gpp = float(daily.gpp.sum())
    assert 700 < gpp < 2500  # FR-Pue FLUXNET GPP_NT ~ 1300 gC m-2 yr-1
    assert 0.3 < float(daily.ra.sum()) / gpp < 0.7
    summer, winter = daily.gpp[150:240].mean(), daily.gpp[:40].mean()
    assert float(summer) > 0 and float(winter) > 0
