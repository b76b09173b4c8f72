"""Tests of the daily ecosystem carbon model (hybridflux.process.ecosystem).

Tiers (STYLE rule 13): float64 reference steps from an independent re-implementation
(reference/make_ecosystem_reference.py), invariants (carbon conservation over 100 years,
flux balance, non-negativity, monotonicity in light), gradients against central finite
differences, spin-up to a cyclo-stationary state, compile-once, and real FR-Pue drivers.
"""

from __future__ import annotations

import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.process.balance import flux_balance_residual, pool_mass_balance_residual
from hybridflux.process.ecosystem import (
    CarbonState,
    EcosystemParams,
    Forcings,
    SpinUpError,
    ecosystem_step,
    simulate,
    simulate_cells,
    spin_up,
)
from hybridflux.process.gpp import LUEParams

REFERENCE = Path(__file__).parent / "reference" / "ecosystem_reference.json"
FR_PUE = Path(
    "sites/fluxdatakit_daily_CH-Lae_FR-Pue/FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv"
)
DAYS = 365


def params_from_dict(d: dict) -> EcosystemParams:
    """EcosystemParams from the JSON dictionary of the reference script."""
    fields = {k: v for k, v in d.items() if k != "lue"}
    return EcosystemParams(lue=LUEParams(**d["lue"]), **fields)


def seasonal_forcing(n_days: int, seed: int = 0) -> Forcings:
    """Seasonal cycle with weather noise: frost in winter, dark days, dry summers (numpy)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_days)
    season = -np.cos(2 * np.pi * t / DAYS)
    ta = 10 + 12 * season + rng.normal(0, 3, n_days)
    sw = np.clip(170 + 120 * season + rng.normal(0, 50, n_days), 0, None)
    sw[rng.random(n_days) < 0.02] = 0.0
    vpd = np.clip(8 + 10 * season + rng.normal(0, 3, n_days), 0.1, None)
    w = np.clip(0.8 - 0.4 * season + rng.normal(0, 0.1, n_days), 0.0, 1.0)
    return Forcings(*(jnp.asarray(x) for x in (ta, sw, vpd, w)))


def trajectory(params: EcosystemParams, state0: CarbonState, forcings: Forcings):
    """Scan returning the pools before and after every day and the fluxes (test helper)."""

    def body(state, forcing):
        new, fluxes = ecosystem_step(state, forcing, params)
        return new, (jnp.stack(state), jnp.stack(new), fluxes)

    return jax.lax.scan(body, jax.tree.map(jnp.asarray, state0), forcings)[1]


# --- reference values -------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["default", "unusual"])
def test_matches_independent_float64_reference(x64, case):
    ref = json.loads(REFERENCE.read_text())
    data = ref["cases"][case]
    forcing = Forcings(**{k: jnp.asarray(v) for k, v in ref["forcing"].items()})
    state0 = CarbonState(**data["state0"])
    final, fluxes = simulate(params_from_dict(data["params"]), state0, forcing)
    before, after, _ = trajectory(params_from_dict(data["params"]), state0, forcing)
    for i, name in enumerate(CarbonState._fields):
        np.testing.assert_allclose(after[:, i], data["states"][name], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(getattr(final, name), data["states"][name][-1], rtol=1e-10)
    for name, expected in data["fluxes"].items():
        np.testing.assert_allclose(getattr(fluxes, name), expected, rtol=1e-10, atol=1e-12)


def test_default_params_follow_constants():
    p = EcosystemParams.default()
    assert p.theta == pytest.approx(0.0693) and p.temperature_rate_factor == 0.5
    assert p.lue == LUEParams.default()
    assert 1.0 / p.sla == pytest.approx(111.0)


# --- invariants -------------------------------------------------------------------------------


def test_carbon_conserved_over_100_years(x64):
    n_days = 36_525
    params = EcosystemParams.default()._replace(decomp_water_sensitivity=0.5)
    state0 = CarbonState(50.0, 100.0, 50.0, 10.0, 500.0)
    before, after, f = trajectory(params, state0, seasonal_forcing(n_days))
    # Per-step pool mass balance: inputs GPP, outputs Ra + Rh.
    residual = pool_mass_balance_residual(before, after, f.gpp, f.ra + f.rh)
    assert float(jnp.max(jnp.abs(residual) / jnp.sum(before, axis=-1))) < 1e-13
    # Whole century: change of total carbon equals integrated NPP − Rh = −ΣNEE.
    change = float(jnp.sum(after[-1]) - jnp.sum(before[0]))
    assert change > 1e4  # the pools grew a lot: the check is not trivially 0 = 0
    assert abs(change + float(jnp.sum(f.nee))) < 1e-6 * float(jnp.sum(f.gpp))
    # Flux balance, signs and non-negativity along the whole trajectory.
    assert float(jnp.max(jnp.abs(flux_balance_residual(f.nee, f.reco, f.gpp)))) < 1e-12
    assert float(jnp.min(f.gpp)) >= 0.0 and float(jnp.min(after)) >= 0.0
    assert float(jnp.max(f.gpp)) > 1.0  # the forest does photosynthesise
    np.testing.assert_allclose(f.reco, f.ra + f.rh, rtol=1e-14)


def test_pools_stay_non_negative_when_loss_rates_exceed_one_per_day():
    ref = json.loads(REFERENCE.read_text())
    params = params_from_dict(ref["cases"]["unusual"]["params"])._replace(k_foliage=1.5, k_root=3.0)
    forcing = seasonal_forcing(3 * DAYS, seed=3)
    before, after, f = trajectory(params, CarbonState(90.0, 3e3, 150.0, 400.0, 5e3), forcing)
    assert float(jnp.min(after)) >= 0.0
    assert float(jnp.min(f.rh_litter)) >= 0.0 and float(jnp.min(f.litter_to_som)) >= 0.0
    residual = pool_mass_balance_residual(before, after, f.gpp, f.ra + f.rh)
    assert float(jnp.max(jnp.abs(residual))) < 1e-3


def test_gpp_monotone_in_shortwave():
    sw = jnp.linspace(-20.0, 400.0, 101)
    state = CarbonState(150.0, 5e3, 150.0, 50.0, 1e4)

    def gpp(sw_in):
        return ecosystem_step(state, Forcings(ta=18.0, sw_in=sw_in, vpd=10.0, w=0.4), p)[1].gpp

    p = EcosystemParams.default()
    values = np.asarray(jax.vmap(gpp)(sw))
    assert np.all(values[sw <= 0] == 0.0)
    assert np.all(np.diff(values[sw >= 0]) > 0.0)


def test_zero_light_gives_zero_gpp_and_nee_equals_reco():
    s, f = ecosystem_step(
        CarbonState(200.0, 5e3, 200.0, 50.0, 1e4),
        Forcings(ta=5.0, sw_in=0.0, vpd=3.0),
        EcosystemParams.default(),
    )
    assert float(f.gpp) == 0.0 and float(f.reco) > 0.0
    assert float(f.nee) == pytest.approx(float(f.reco))
    assert float(s.foliage) < 200.0  # litterfall continues in the dark


# --- gradients --------------------------------------------------------------------------------


def annual_nee(params: EcosystemParams, forcing: Forcings) -> jax.Array:
    return jnp.sum(simulate(params, CarbonState(150.0, 5e3, 150.0, 60.0, 1e4), forcing)[1].nee)


def test_gradient_matches_central_differences(x64):
    params = jax.tree.map(
        jnp.asarray, EcosystemParams.default()._replace(decomp_water_sensitivity=0.3)
    )
    forcing = seasonal_forcing(DAYS, seed=1)
    loss = jax.jit(annual_nee)
    grads = jax.tree.leaves(jax.grad(annual_nee)(params, forcing))
    leaves, treedef = jax.tree.flatten(params)
    for i, (x, g) in enumerate(zip(leaves, grads, strict=True)):
        h = 1e-5 * max(abs(float(x)), 1e-2)
        shifted = [list(leaves), list(leaves)]
        shifted[0][i], shifted[1][i] = x + h, x - h
        up, down = (loss(jax.tree.unflatten(treedef, s), forcing) for s in shifted)
        fd = float(up - down) / (2 * h)
        name = jax.tree_util.keystr(jax.tree.leaves_with_path(params)[i][0])
        assert fd == pytest.approx(float(g), rel=1e-7, abs=1e-6), name


def test_gradient_finite_in_darkness_and_frost(x64):
    params = jax.tree.map(jnp.asarray, EcosystemParams.default())
    dark = Forcings(ta=jnp.full(60, -15.0), sw_in=jnp.zeros(60), vpd=jnp.full(60, 1.0))
    grads = jax.grad(annual_nee)(params, dark)
    assert all(bool(jnp.isfinite(g)) for g in jax.tree.leaves(grads))
    assert float(grads.lue.eps_max) == 0.0  # no light, no GPP sensitivity
    assert float(grads.k_som) > 0.0  # SOM respiration still runs


# --- batching and compilation -----------------------------------------------------------------


def test_simulate_cells_matches_per_cell_simulate():
    forcing = seasonal_forcing(2 * DAYS, seed=2)
    offsets = jnp.array([-3.0, 0.0, 4.0])
    cells = forcing._replace(ta=forcing.ta[None, :] + offsets[:, None])
    cells = jax.tree.map(lambda x: jnp.broadcast_to(x, (3, 2 * DAYS)), cells)
    f_auto = jnp.array([0.4, 0.473, 0.55])
    params = EcosystemParams.default()._replace(f_auto=f_auto)
    state0 = CarbonState(150.0, 5e3, 150.0, 60.0, jnp.array([8e3, 1e4, 1.2e4]))
    final, fluxes = simulate_cells(params, state0, cells)
    assert fluxes.nee.shape == (3, 2 * DAYS) and final.som.shape == (3,)
    for c in range(3):
        one = EcosystemParams.default()._replace(f_auto=f_auto[c])
        s0 = state0._replace(som=state0.som[c])
        s, f = simulate(one, s0, jax.tree.map(lambda x, c=c: x[c], cells))
        np.testing.assert_allclose(fluxes.nee[c], f.nee, rtol=2e-5, atol=1e-5)
        np.testing.assert_allclose(final.wood[c], s.wood, rtol=1e-5)


def test_simulate_cells_traces_once():
    counted = jax.jit(eqx.debug.assert_max_traces(simulate_cells.__wrapped__, max_traces=1))
    cache_before = simulate_cells._cache_size()
    for seed in (10, 11):
        forcing = seasonal_forcing(DAYS, seed=seed)
        cells = jax.tree.map(lambda x: jnp.stack([x, x + 1.0]).astype(jnp.float32), forcing)
        params = jax.tree.map(
            lambda x, s=seed: jnp.full(2, x * (1 + 0.01 * s), jnp.float32),
            EcosystemParams.default(),
        )
        state0 = CarbonState(
            *(jnp.full(2, v + seed, jnp.float32) for v in (150, 5e3, 150, 60, 1e4))
        )
        jax.block_until_ready(counted(params, state0, cells))
        jax.block_until_ready(simulate_cells(params, state0, cells))
    assert simulate_cells._cache_size() - cache_before <= 1


def test_bad_forcing_shapes_raise():
    p, s = EcosystemParams.default(), CarbonState(1.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"simulate: forcings must have shape \(T,\)"):
        simulate(p, s, Forcings(ta=jnp.zeros((2, 5)), sw_in=0.0, vpd=0.0))
    with pytest.raises(ValueError, match="do not broadcast"):
        simulate(p, s, Forcings(ta=jnp.zeros(5), sw_in=jnp.zeros(4), vpd=0.0))
    with pytest.raises(ValueError, match=r"\(n_cells, T\)"):
        simulate_cells(p, s, Forcings(ta=jnp.zeros(5), sw_in=0.0, vpd=0.0))


# --- spin-up ----------------------------------------------------------------------------------


def test_spin_up_reaches_cyclo_stationary_state(x64):
    forcing = seasonal_forcing(DAYS, seed=4)
    params = EcosystemParams.default()
    state, status = spin_up(params, CarbonState(100.0, 0.0, 100.0, 0.0, 0.0), forcing, tol=1e-9)
    assert bool(status.converged) and float(status.rel_change) < 1e-9
    assert 5 < int(status.n_cycles) < 100
    # One more year from the spun-up state returns to it: every pool, wood and SOM included.
    after, fluxes = simulate(params, state, forcing)
    for name in CarbonState._fields:
        assert float(getattr(after, name)) == pytest.approx(float(getattr(state, name)), rel=1e-8)
    assert abs(float(jnp.sum(fluxes.nee))) < 1e-7 * float(jnp.sum(fluxes.gpp))
    # Steady-state wood equals its annual allocation over its loss rate (τ = 1/k_wood).
    expected_wood = float(jnp.sum(fluxes.alloc_wood)) / (DAYS * params.k_wood)
    assert float(state.wood) == pytest.approx(expected_wood, rel=1e-3)


def test_spin_up_without_analytic_start_reports_and_raises():
    forcing = seasonal_forcing(DAYS, seed=5)
    s0 = CarbonState(100.0, 0.0, 100.0, 0.0, 0.0)
    p = EcosystemParams.default()
    _, status = spin_up(
        p, s0, forcing, max_cycles=20, analytic_slow_pools=False, raise_on_failure=False
    )
    assert not bool(status.converged) and int(status.n_cycles) == 20
    assert float(status.rel_change) > 0.5  # wood and SOM are far from their inputs' balance
    with pytest.raises(SpinUpError, match="did not converge after 20 cycles"):
        spin_up(p, s0, forcing, max_cycles=20, analytic_slow_pools=False)
    with pytest.raises(ValueError, match="max_cycles"):
        spin_up(p, s0, forcing, max_cycles=0)


def test_spin_up_vmaps_over_cells_and_refuses_to_raise_under_vmap():
    forcing = seasonal_forcing(DAYS, seed=6)
    cells = forcing._replace(ta=jnp.stack([forcing.ta - 2.0, forcing.ta + 2.0]))
    cells = jax.tree.map(lambda x: jnp.broadcast_to(x, (2, DAYS)), cells)
    s0 = CarbonState(100.0, 0.0, 100.0, 0.0, 0.0)
    p = EcosystemParams.default()

    def run(f, raise_on_failure):
        return spin_up(p, s0, f, raise_on_failure=raise_on_failure)

    states, status = jax.vmap(lambda f: run(f, False))(cells)
    assert status.converged.shape == (2,) and bool(jnp.all(status.converged))
    for c in range(2):  # converged cells are frozen while the other one keeps cycling
        one, one_status = run(jax.tree.map(lambda x, c=c: x[c], cells), True)
        assert int(one_status.n_cycles) == int(status.n_cycles[c])
        np.testing.assert_allclose(jnp.stack(one), jnp.stack(states)[:, c], rtol=1e-5)
    with pytest.raises(TypeError, match="raise_on_failure=False"):
        jax.vmap(lambda f: run(f, True))(cells)


# --- real drivers -----------------------------------------------------------------------------


def test_fr_pue_real_drivers_give_plausible_annual_gpp(shared_data):
    """Puéchabon (FR-Pue), Mediterranean evergreen Quercus ilex forest, 2000–2014.

    Plausible range 500–3000 gC m-2 yr-1: forest GPP compiled by Luyssaert et al. (2007, Glob.
    Change Biol. 13, 2509–2537) spans roughly this range outside the boreal and humid tropical
    extremes. The model has no soil-water limitation (W = 1) while FR-Pue has summer drought, so
    it should sit above the site's own partitioned GPP (GPP_NT_VUT_REF of the same file, about
    1200 gC m-2 yr-1) but within a factor of two of it.
    """
    pd = pytest.importorskip("pandas")
    columns = ["TIMESTAMP", "TA_F_MDS", "SW_IN_F_MDS", "VPD_F_MDS", "GPP_NT_VUT_REF"]
    data = pd.read_csv(shared_data / FR_PUE, usecols=columns, na_values=[-9999])
    time = pd.to_datetime(data["TIMESTAMP"])
    data = data[~((time.dt.month == 2) & (time.dt.day == 29))].reset_index(drop=True)
    drivers = data[["TA_F_MDS", "SW_IN_F_MDS", "VPD_F_MDS"]]
    assert not drivers.isna().any().any()
    day = np.arange(len(data)) % DAYS
    climatology = drivers.groupby(day).mean()
    to_forcing = lambda df: Forcings(*(jnp.asarray(df[c].to_numpy()) for c in drivers.columns))  # noqa: E731
    params = EcosystemParams.default()
    state, _ = spin_up(params, CarbonState(100.0, 0.0, 100.0, 0.0, 0.0), to_forcing(climatology))
    _, fluxes = simulate(params, state, to_forcing(drivers))
    year = pd.to_datetime(data["TIMESTAMP"]).dt.year.to_numpy()
    annual_gpp = pd.Series(np.asarray(fluxes.gpp)).groupby(year).sum()
    assert len(annual_gpp) == 15
    assert annual_gpp.between(500.0, 3000.0).all(), annual_gpp
    observed = data["GPP_NT_VUT_REF"].groupby(year).sum().mean()
    assert observed < annual_gpp.mean() < 2.0 * observed
    # Near steady state after spin-up: mean NEE small against GPP; LAI in a forest range.
    assert abs(float(jnp.sum(fluxes.nee))) < 0.1 * float(jnp.sum(fluxes.gpp))
    assert 1.0 < float(jnp.mean(fluxes.lai)) < 4.0
