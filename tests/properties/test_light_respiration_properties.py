"""Property tests (hypothesis) of radiation, LUE GPP and respiration invariants.

Functions are jitted once at import so that each example costs one dispatch, not a trace.
"""

from __future__ import annotations

import jax
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridflux.constants import RADIATION
from hybridflux.process.gpp import (
    LUEParams,
    fapar_from_evi,
    fapar_from_lai,
    fapar_from_ndvi,
    gpp_lue,
    temperature_scalar,
    vpd_scalar,
    water_scalar,
)
from hybridflux.process.radiation import daily_potential_radiation, potential_radiation
from hybridflux.process.respiration import lloyd_taylor, q10_respiration, split_respiration

SETTINGS = settings(max_examples=60, deadline=None)
S0_MAX = RADIATION.solar_constant * 1.0331  # perihelion: d_r ≤ 1.033
HOURS = (np.arange(288) + 0.5) / 12.0  # 5-minute midpoints of one day

_potential = jax.jit(potential_radiation)
_daily = jax.jit(daily_potential_radiation)
_gpp = jax.jit(gpp_lue)
_q10 = jax.jit(q10_respiration)
_lloyd_taylor = jax.jit(lloyd_taylor)
_split = jax.jit(split_respiration)
_scalars = jax.jit(
    lambda x, lo, hi: (
        temperature_scalar(x, lo, hi),
        vpd_scalar(x, lo, hi),
        water_scalar(x, lo, hi),
    )
)


def _finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


lat = _finite(-90.0, 90.0)
lon = _finite(-180.0, 180.0)
doy = _finite(1.0, 366.0)
hour = _finite(0.0, 24.0)
temperature = _finite(-60.0, 50.0)


@SETTINGS
@given(lat, lon, doy, hour, _finite(-12.0, 14.0))
def test_potential_radiation_bounded(la, lo, d, h, offset):
    value = float(_potential(la, lo, d, h, offset))
    assert 0.0 <= value <= S0_MAX


@SETTINGS
@given(_finite(-55.0, 55.0), lon, doy, _finite(-1.5, 1.5))
def test_potential_radiation_zero_at_night(la, lo, d, hours_from_midnight):
    # Clock time chosen as local mean solar midnight ± 1.5 h: below the horizon for |φ| ≤ 55°.
    clock = (hours_from_midnight - lo / 15.0) % 24.0
    assert float(_potential(la, lo, d, clock, 0.0)) == 0.0


@SETTINGS
@given(lat, doy)
def test_daily_potential_radiation_is_bounded_24h_mean(la, d):
    value = float(_daily(la, d))
    mean = float(np.mean(np.asarray(_potential(la, 0.0, d, HOURS, 0.0), dtype=np.float64)))
    assert 0.0 <= value <= S0_MAX
    assert abs(value - mean) <= 2e-3 * value + 0.05


@SETTINGS
@given(_finite(-30.0, 50.0), _finite(-20.0, 20.0), _finite(0.01, 30.0))
def test_environmental_scalars_in_unit_interval(x, lo, width):
    for s in _scalars(x, lo, lo + width):
        assert 0.0 <= float(s) <= 1.0


@SETTINGS
@given(_finite(0.0, 20.0), _finite(-1.0, 1.5), _finite(-1.0, 1.5))
def test_fapar_in_unit_interval(lai, ndvi, evi):
    for f in (fapar_from_lai(lai), fapar_from_ndvi(ndvi), fapar_from_evi(evi)):
        assert 0.0 <= float(f) <= 1.0


@SETTINGS
@given(
    _finite(-5.0, 40.0),
    _finite(-5.0, 40.0),
    _finite(-0.2, 1.0),
    temperature,
    _finite(0.0, 80.0),
    _finite(0.0, 1.0),
)
def test_gpp_non_negative_and_monotone_in_par(par_a, par_b, fapar, ta, vpd, w):
    p = LUEParams.default()
    low, high = sorted((par_a, par_b))
    g_low, g_high = float(_gpp(p, low, fapar, ta, vpd, w)), float(_gpp(p, high, fapar, ta, vpd, w))
    assert 0.0 <= g_low <= g_high


@SETTINGS
@given(temperature, temperature, _finite(0.1, 10.0), _finite(1.0, 4.0))
def test_q10_respiration_monotone_in_temperature(t_a, t_b, r_base, q10):
    low, high = sorted((t_a, t_b))
    r_low, r_high = float(_q10(low, r_base, q10)), float(_q10(high, r_base, q10))
    assert 0.0 < r_low <= r_high
    if q10 >= 1.1 and high - low >= 1.0:
        assert r_low < r_high


@SETTINGS
@given(temperature, temperature, _finite(0.1, 10.0))
def test_lloyd_taylor_monotone_in_temperature(t_a, t_b, r_ref):
    low, high = sorted((t_a, t_b))
    r_low, r_high = float(_lloyd_taylor(low, r_ref)), float(_lloyd_taylor(high, r_ref))
    assert 0.0 <= r_low <= r_high
    if low > -30.0 and high - low >= 1.0:
        assert r_low < r_high


def _float32(lo: float, hi: float) -> st.SearchStrategy[float]:
    # float32-representable normal numbers (XLA flushes float32 subnormals to zero).
    return st.floats(lo, hi, width=32, allow_nan=False, allow_subnormal=False)


@SETTINGS
@given(_float32(-5.0, 1e4), _float32(-1e4, 1e4))
def test_split_respiration_conserves(reco, ra):
    got_ra, got_rh = _split(np.float32(reco), np.float32(ra))
    assert float(got_ra + got_rh) == reco
    if reco >= 0.0:
        assert float(got_ra) >= 0.0 and float(got_rh) >= 0.0
