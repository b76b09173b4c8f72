"""Tests of hybridflux.process.radiation: reference values, gradients, vmap/jit."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from hybridflux.constants import RADIATION
from hybridflux.process.radiation import (
    daily_potential_radiation,
    par_from_shortwave,
    potential_radiation,
    ppfd_from_shortwave,
    solar_declination,
    w_m2_to_mj_per_day,
)

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "light_respiration_reference.json").read_text()
)
INSTANT = REFERENCE["potential_radiation"]
DAILY = REFERENCE["daily_potential_radiation"]
S0 = REFERENCE["solar_constant"]


def test_reference_uses_library_solar_constant():
    assert S0 == RADIATION.solar_constant


@pytest.mark.parametrize("row", INSTANT, ids=lambda r: f"{r['lat']}_{r['doy']}_{r['hour']}")
def test_potential_radiation_matches_vector_geometry(x64, row):
    got = potential_radiation(row["lat"], row["lon"], row["doy"], row["hour"], row["utc_offset"])
    np.testing.assert_allclose(float(got), row["value"], rtol=1e-10, atol=1e-9)


def test_potential_radiation_float32_close_to_reference():
    args = [jnp.asarray([r[k] for r in INSTANT]) for k in ("lat", "lon", "doy", "hour")]
    offsets = jnp.asarray([r["utc_offset"] for r in INSTANT])
    got = potential_radiation(*args, utc_offset=offsets)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, [r["value"] for r in INSTANT], rtol=1e-4, atol=0.1)


@pytest.mark.parametrize("row", DAILY, ids=lambda r: f"{r['lat']}_{r['doy']}")
def test_daily_potential_radiation_matches_fao56_closed_form(x64, row):
    got = daily_potential_radiation(row["lat"], row["doy"])
    np.testing.assert_allclose(float(got), row["value"], rtol=1e-10, atol=1e-9)


def test_daily_equals_24h_mean_of_instantaneous(x64):
    n = 24 * 60
    hours = (jnp.arange(n) + 0.5) * 24.0 / n
    lat = jnp.asarray([r["lat"] for r in DAILY])
    doy = jnp.asarray([r["doy"] for r in DAILY])
    mean = jnp.mean(potential_radiation(lat[:, None], 7.0, doy[:, None], hours[None, :]), axis=1)
    daily = daily_potential_radiation(lat, doy)
    np.testing.assert_allclose(mean, daily, rtol=1e-3, atol=1e-6 * S0)


def test_fao56_example_8(x64):
    ex = REFERENCE["fao56_example8"]
    gsc_w_m2 = ex["gsc_mj_m2_min"] * 1e6 / 60.0
    ra = w_m2_to_mj_per_day(daily_potential_radiation(ex["lat"], ex["doy"], gsc_w_m2))
    assert abs(float(ra) - ex["ra_mj_m2_d"]) < 0.05


def test_declination_at_june_solstice_is_fao_amplitude():
    # 2π·172/365 − 1.39 = π/2 + 5e-5 by hand, so δ = 0.409 rad (FAO-56 eq. 24 amplitude).
    assert abs(float(solar_declination(172.0)) - 0.409) < 1e-6


def test_polar_day_at_the_pole_float32():
    # At φ = 90° in polar day ω_s = π and R = S0·d_r·sin δ (no tan(π/2) sign flip in float32).
    expected = S0 * (1 + 0.033 * np.cos(2 * np.pi * 172 / 365)) * np.sin(0.409)
    got = daily_potential_radiation(90.0, 172.0)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    assert float(daily_potential_radiation(90.0, 355.0)) == 0.0
    assert float(daily_potential_radiation(-80.0, 172.0)) == 0.0
    assert np.isfinite(float(jax.grad(daily_potential_radiation)(90.0, 172.0)))


def test_unit_conversions_by_hand():
    assert float(par_from_shortwave(300.0, par_fraction=0.45)) == pytest.approx(135.0)
    assert float(ppfd_from_shortwave(100.0)) == pytest.approx(100.0 * 0.5 * 4.57, rel=1e-6)
    assert float(w_m2_to_mj_per_day(250.0)) == pytest.approx(21.6, rel=1e-6)


@pytest.mark.parametrize(
    "lat, lon, doy, hour",
    [(47.3, 8.5, 172.0, 13.0), (-33.9, 151.2, 355.0, 10.5), (45.0, 10.0, 172.0, 0.5)],
    ids=["day", "southern-day", "night"],
)
def test_potential_radiation_gradients(x64, lat, lon, doy, hour):
    def f(lat, lon, doy, hour, utc_offset, s0):
        return potential_radiation(lat, lon, doy, hour, utc_offset, s0)

    check_grads(f, (lat, lon, doy, hour, 1.0, S0), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize(
    "lat, doy",
    [(51.5, 80.0), (-20.0, 246.0), (80.0, 172.0), (80.0, 355.0), (90.0, 172.0), (-90.0, 172.0)],
    ids=["mid", "south", "polar-day", "polar-night", "north-pole", "south-pole"],
)
def test_daily_potential_radiation_gradients(x64, lat, doy):
    check_grads(daily_potential_radiation, (lat, doy, S0), order=1, modes=("fwd", "rev"))


def test_daily_gradient_near_polar_boundary_is_finite():
    # φ where −tanφ·tanδ is just inside (−1, 1): arccos' slope is huge, the result's is not.
    lat_boundary = 90.0 - np.rad2deg(0.409) - 1e-3
    grads = jax.grad(daily_potential_radiation, argnums=(0, 1))(lat_boundary, 172.0)
    assert all(np.isfinite(float(g)) for g in grads)


def test_vmap_and_jit_match_scalar_calls():
    rows = INSTANT
    cols = [jnp.asarray([r[k] for r in rows]) for k in ("lat", "lon", "doy", "hour", "utc_offset")]
    scalar = np.array([float(potential_radiation(*[c[i] for c in cols])) for i in range(len(rows))])
    np.testing.assert_allclose(jax.vmap(potential_radiation)(*cols), scalar, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(jax.jit(potential_radiation)(*cols), scalar, rtol=1e-6, atol=1e-3)
    lat, doy = (jnp.asarray([r[k] for r in DAILY]) for k in ("lat", "doy"))
    scalar = np.array(
        [float(daily_potential_radiation(a, b)) for a, b in zip(lat, doy, strict=True)]
    )
    np.testing.assert_allclose(
        jax.jit(jax.vmap(daily_potential_radiation))(lat, doy), scalar, rtol=1e-6, atol=1e-3
    )
