"""Tests of hybridflux.data.bounds: plausibility warnings name variable, units and cause."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.bounds import bound_for, check_plausibility
from hybridflux.data.errors import PlausibilityWarning
from hybridflux.data.schema import site_dataset


def _ds(columns: dict, step: str, units: dict, start: str = "2014-01-01"):
    n = len(next(iter(columns.values())))
    freq = {"HH": "30min", "DD": "D", "YY": "YS"}[step]
    frame = pd.DataFrame(columns, index=pd.date_range(start, periods=n, freq=freq), dtype=float)
    return site_dataset(
        frame, "DE-Tha", time_step=step, units=units, source_format="test", source_file="t.csv"
    )


def _silent(ds) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return check_plausibility(ds, "t.csv")


def _diurnal(days: int, peak: float) -> np.ndarray:
    """A half-hourly daytime bump, zero at night: peak · max(0, sin(π (h − 6)/12))."""
    hour = np.arange(days * 48) % 48 / 2.0
    return peak * np.clip(np.sin(np.pi * (hour - 6.0) / 12.0), 0.0, None)


def read_bigleaf(path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    start = pd.to_datetime(raw["year"].astype(str) + "-01-01")
    index = start + pd.to_timedelta(raw["doy"] - 1, "D") + pd.to_timedelta(raw["hour"], "h")
    return raw.set_index(pd.DatetimeIndex(index))


def test_plausible_values_give_no_warning():
    ds = _ds(
        {"TA_F": [-5.0, 20.0], "VPD_F": [1.0, 30.0], "PA_F": [95.0, 101.0]},
        "DD",
        {"TA_F": "degC", "VPD_F": "hPa", "PA_F": "kPa"},
    )
    assert _silent(ds) == []


def test_kelvin_declared_as_celsius():
    ds = _ds({"TA_F": [271.0, 300.0, 285.0]}, "DD", {"TA_F": "degC"})
    with pytest.warns(PlausibilityWarning) as record:
        messages = check_plausibility(ds, "site.csv")
    assert len(record) == len(messages) == 1
    msg = messages[0]
    for part in ("site.csv", "TA_F", "271..300 degC", "-60..60 degC", "values look like K"):
        assert part in msg


def test_vpd_in_kpa_declared_hpa_on_real_halfhourly_data(shared_data):
    raw = read_bigleaf(shared_data / "sites/bigleaf_hh_3sites/DERIVED_DE_Tha_Jun_2014.csv")
    frame = pd.DataFrame({"VPD_F": raw["VPD"]})  # kPa in the file
    ds = site_dataset(
        frame,
        "DE-Tha",
        time_step="HH",
        units={"VPD_F": "hPa"},
        source_format="test",
        source_file="DE-Tha.csv",
    )
    with pytest.warns(PlausibilityWarning, match=r"VPD_F.*hPa.*values look like kPa"):
        check_plausibility(ds)
    ok = ds.assign(VPD_F=ds["VPD_F"] * 10.0)
    ok["VPD_F"].attrs["units"] = "hPa"
    assert _silent(ok) == []
    declared_kpa = ds.copy()
    declared_kpa["VPD_F"].attrs["units"] = "kPa"  # correct declaration: converted, no warning
    assert _silent(declared_kpa) == []


def test_real_halfhourly_site_is_plausible(shared_data):
    raw = read_bigleaf(shared_data / "sites/bigleaf_hh_3sites/DERIVED_DE_Tha_Jun_2014.csv")
    names = {
        "Tair": ("TA_F", "degC"),
        "VPD": ("VPD_F", "kPa"),
        "PPFD": ("PPFD_IN", "umol m-2 s-1"),
        "NEE": ("NEE_VUT_REF", "umol m-2 s-1"),
        "GPP": ("GPP_NT_VUT_REF", "umol m-2 s-1"),
        "Reco": ("RECO_NT_VUT_REF", "umol m-2 s-1"),
        "precip": ("P_F", "mm"),
        "pressure": ("PA_F", "kPa"),
        "Ca": ("CO2_F_MDS", "umol mol-1"),
        "LE": ("LE_F_MDS", "W m-2"),
        "H": ("H_F_MDS", "W m-2"),
        "G": ("G_F_MDS", "W m-2"),
        "Rn": ("NETRAD", "W m-2"),
        "ustar": ("USTAR", "m s-1"),
        "wind": ("WS_F", "m s-1"),
    }
    frame = raw[list(names)].rename(columns={k: v[0] for k, v in names.items()})
    ds = site_dataset(
        frame,
        "DE-Tha",
        time_step="HH",
        units=dict(names.values()),
        source_format="test",
        source_file="DE-Tha.csv",
    )
    assert _silent(ds) == []
    bad = ds.copy()
    bad["TA_F"] = ds["TA_F"] + 273.15
    bad["TA_F"].attrs["units"] = "degC"
    with pytest.warns(PlausibilityWarning, match="TA_F"):
        assert len(check_plausibility(bad)) == 1


def test_carbon_flux_in_mg_co2_over_a_year_of_half_hours():
    gpp_umol = _diurnal(365, 25.0)
    mg = gpp_umol * 44.0095e-3  # mg CO2 m-2 s-1: peak 1.1, looks tiny in umol
    ds = _ds({"GPP_NT_VUT_REF": mg}, "HH", {"GPP_NT_VUT_REF": "umol m-2 s-1"})
    with pytest.warns(PlausibilityWarning, match="values look like mg CO2 m-2 s-1") as record:
        check_plausibility(ds)
    assert "99th percentile" in str(record[0].message)
    good = _ds({"GPP_NT_VUT_REF": gpp_umol}, "HH", {"GPP_NT_VUT_REF": "umol m-2 s-1"})
    assert _silent(good) == []


def test_daily_carbon_flux_that_is_an_annual_total():
    nee = np.array([-2.0, 1.5, -3.0]) * 365.25  # gC m-2 y-1 values declared as gC m-2 d-1
    ds = _ds({"NEE_VUT_REF": nee}, "DD", {"NEE_VUT_REF": "gC m-2 d-1"})
    with pytest.warns(PlausibilityWarning, match="values look like gC m-2 y-1"):
        check_plausibility(ds)
    ds_umol = _ds({"NEE_VUT_REF": nee / 365.25}, "DD", {"NEE_VUT_REF": "umol m-2 s-1"})
    assert _silent(ds_umol) == []  # 1.0378 apart: converted, not flagged


def test_annual_gpp_declared_per_year_but_daily():
    ds = _ds({"GPP_NT_VUT_REF": [3.1, 2.8]}, "YY", {"GPP_NT_VUT_REF": "gC m-2 y-1"}, "2010-01-01")
    with pytest.warns(PlausibilityWarning, match="values look like gC m-2 d-1"):
        check_plausibility(ds)


def test_missing_code_pressure_units_fraction_and_incompatible_units():
    ds = _ds(
        {
            "P_F": [0.0, -9999.0],
            "PA_F": [98000.0, 97000.0],
            "FPAR": [55.0, 80.0],
            "SWC_F_MDS_1": [12.0, 30.0],
            "LAI": [2.0, 3.0],
        },
        "DD",
        {"P_F": "mm d-1", "PA_F": "kPa", "FPAR": "1", "SWC_F_MDS_1": "degC", "LAI": "m2 m-2"},
    )
    with pytest.warns(PlausibilityWarning) as record:
        messages = check_plausibility(ds)
    assert len(record) == 4
    by_var = {m.split()[2]: m for m in messages}
    assert set(by_var) == {"P_F", "PA_F", "FPAR", "SWC_F_MDS_1"}
    assert "missing-value code" in by_var["P_F"]
    assert "values look like Pa" in by_var["PA_F"]
    assert "values look like %" in by_var["FPAR"]
    assert "cannot express" in by_var["SWC_F_MDS_1"]


def test_bound_lookup():
    assert bound_for("NEE_VUT_REF_QC", "HH") is None
    assert bound_for("NEE_VUT_REF_RANDUNC", "HH") is None
    assert bound_for("TA_F_COVERAGE", "DD") is None
    sw_hh, sw_dd = bound_for("SW_IN_F", "HH"), bound_for("SW_IN_F", "DD")
    assert (sw_hh.high, sw_dd.high) == (1500.0, 500.0)
    assert bound_for("P_F", "HH").units == "mm" and bound_for("P_F", "DD").units == "mm d-1"
    assert bound_for("PA_F", "DD").units == "kPa"  # PA, not P
    assert bound_for("SW_OUT", "DD").floor is None  # reflected light is small: no scale check
    assert bound_for("GPP_DT_VUT_REF", "YY").units == "gC m-2 y-1"
    with pytest.raises(ValueError, match="time step"):
        bound_for("TA_F", "XX")
