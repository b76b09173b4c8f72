"""Tests of hybridflux.data.qc: QC flags/fractions turn failing values into NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hybridflux.data.qc import apply_qc, qc_variable
from hybridflux.data.schema import site_dataset


def _ds(columns: dict[str, list[float]], step: str, units: dict[str, str]) -> xr.Dataset:
    n = len(next(iter(columns.values())))
    freq = {"HH": "30min", "DD": "D"}[step]
    index = pd.date_range("2014-06-01", periods=n, freq=freq)
    frame = pd.DataFrame(columns, index=index, dtype=float)
    return site_dataset(
        frame, "DE-Tha", time_step=step, units=units, source_format="test", source_file="t.csv"
    )


def test_hh_flags_keep_up_to_threshold():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    flag = rng.integers(0, 4, size=40).astype(float)
    flag[[3, 7]] = np.nan  # unknown flag keeps the value
    ds = _ds(
        {"NEE_VUT_REF": x, "NEE_VUT_REF_QC": flag},
        "HH",
        {"NEE_VUT_REF": "umol m-2 s-1", "NEE_VUT_REF_QC": "1"},
    )
    for threshold, default in ((1, True), (0, False), (2, False), (3, False)):
        out = apply_qc(ds) if default else apply_qc(ds, threshold=threshold)
        keep = np.isnan(flag) | (flag <= threshold)
        np.testing.assert_array_equal(out["NEE_VUT_REF"].values[0], np.where(keep, x, np.nan))
        np.testing.assert_array_equal(out["NEE_VUT_REF_QC"].values[0], flag)


def test_dd_fraction_keeps_at_or_above_threshold():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    frac = [0.0, 0.49, 0.5, 0.51, 1.0]
    ds = _ds({"TA_F": x, "TA_F_QC": frac}, "DD", {"TA_F": "degC", "TA_F_QC": "1"})
    assert np.array_equal(apply_qc(ds)["TA_F"].values[0], [np.nan, np.nan, 3, 4, 5], equal_nan=True)
    out = apply_qc(ds, threshold=0.9)
    assert np.array_equal(out["TA_F"].values[0], [np.nan] * 4 + [5.0], equal_nan=True)
    assert out["TA_F"].attrs["qc"] == "TA_F_QC >= 0.9"
    assert out["TA_F"].attrs["units"] == "degC"
    assert out.attrs["qc_applied"] == "TA_F: TA_F_QC >= 0.9"


def test_documented_pairs_and_preference_for_own_flag():
    units = {
        "LE_CORR": "W m-2",
        "LE_F_MDS_QC": "1",
        "GPP_NT_VUT_REF": "umol m-2 s-1",
        "NEE_VUT_REF_QC": "1",
        "H_CORR": "W m-2",
        "H_CORR_QC": "1",
        "H_F_MDS_QC": "1",
        "TA_F": "degC",
        "TA_F_MDS_QC": "1",
    }
    cols = {
        "LE_CORR": [10.0, 20.0, 30.0],
        "LE_F_MDS_QC": [0.0, 2.0, 1.0],
        "GPP_NT_VUT_REF": [5.0, 6.0, 7.0],
        "NEE_VUT_REF_QC": [3.0, 0.0, 0.0],
        "H_CORR": [1.0, 2.0, 3.0],
        "H_CORR_QC": [0.0, 0.0, 3.0],
        "H_F_MDS_QC": [3.0, 3.0, 0.0],
        "TA_F": [11.0, 12.0, 13.0],
        "TA_F_MDS_QC": [0.0, 0.0, 2.0],
    }
    ds = _ds(cols, "HH", units)
    assert qc_variable(ds, "LE_CORR") == "LE_F_MDS_QC"
    assert qc_variable(ds, "GPP_NT_VUT_REF") == "NEE_VUT_REF_QC"
    assert qc_variable(ds, "H_CORR") == "H_CORR_QC"
    assert qc_variable(ds, "TA_F") == "TA_F_MDS_QC"
    assert qc_variable(ds, "NEE_VUT_REF_QC") is None
    out = apply_qc(ds)
    expected = {
        "LE_CORR": [10.0, np.nan, 30.0],
        "GPP_NT_VUT_REF": [np.nan, 6.0, 7.0],
        "H_CORR": [1.0, 2.0, np.nan],
        "TA_F": [11.0, 12.0, np.nan],
    }
    for name, values in expected.items():
        np.testing.assert_array_equal(out[name].values[0], values)


def test_input_not_modified_and_new_object():
    ds = _ds(
        {"NEE_VUT_REF": [1.0, 2.0], "NEE_VUT_REF_QC": [0.0, 3.0]},
        "HH",
        {"NEE_VUT_REF": "umol m-2 s-1", "NEE_VUT_REF_QC": "1"},
    )
    before = ds.copy(deep=True)
    out = apply_qc(ds)
    xr.testing.assert_identical(ds, before)
    assert "qc_applied" not in ds.attrs
    assert np.isnan(out["NEE_VUT_REF"].values[0, 1])


@pytest.mark.parametrize(("step", "threshold"), [("HH", 0.5), ("HH", 4), ("DD", 1.5), ("DD", -0.1)])
def test_threshold_outside_flag_range_is_rejected(step, threshold):
    ds = _ds({"TA_F": [1.0], "TA_F_QC": [0.0]}, step, {"TA_F": "degC", "TA_F_QC": "1"})
    with pytest.raises(ValueError, match="threshold"):
        apply_qc(ds, threshold=threshold)


def test_real_fr_pue_daily(shared_data):
    path = shared_data / "sites/fluxdatakit_daily_CH-Lae_FR-Pue"
    raw = pd.read_csv(
        path / "FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv",
        na_values=["NA", -9999],
        parse_dates=["TIMESTAMP"],
        index_col="TIMESTAMP",
    )
    cols = ["NEE_VUT_REF", "NEE_VUT_REF_QC", "GPP_NT_VUT_REF", "LE_CORR", "LE_F_MDS_QC"]
    frame = raw[cols + ["TA_F_MDS", "TA_F_MDS_QC"]].rename(
        columns={"TA_F_MDS": "TA_F", "TA_F_MDS_QC": "TA_F_QC"}
    )
    units = {
        "NEE_VUT_REF": "gC m-2 d-1",
        "GPP_NT_VUT_REF": "gC m-2 d-1",
        "LE_CORR": "W m-2",
        "TA_F": "degC",
        "NEE_VUT_REF_QC": "1",
        "LE_F_MDS_QC": "1",
        "TA_F_QC": "1",
    }
    ds = site_dataset(
        frame, "FR-Pue", time_step="DD", units=units, source_format="test", source_file="FR-Pue.csv"
    )
    out = apply_qc(ds)
    for name, flag in [
        ("NEE_VUT_REF", "NEE_VUT_REF_QC"),
        ("GPP_NT_VUT_REF", "NEE_VUT_REF_QC"),
        ("LE_CORR", "LE_F_MDS_QC"),
        ("TA_F", "TA_F_QC"),
    ]:
        x = raw[name if name != "TA_F" else "TA_F_MDS"].to_numpy()
        q = raw[flag if flag != "TA_F_QC" else "TA_F_MDS_QC"].to_numpy()
        expected = np.where(np.isnan(q) | (q >= 0.5), x, np.nan)
        np.testing.assert_array_equal(out[name].values[0], expected)
    # The filter removed something real: many NEE days have < 50 % good records.
    assert np.isnan(out["NEE_VUT_REF"].values).sum() > np.isnan(ds["NEE_VUT_REF"].values).sum()
