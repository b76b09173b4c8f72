"""hybridflux.data.inspect: per-file reports for ``hybridflux data inspect``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hybridflux.data.inspect import FileReport, format_report, inspect
from tests.conftest import SHARED_DATA

SITES = SHARED_DATA / "sites"
YY = SITES / "fluxnet2015_MM_YY_FR-Pue" / "FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2014_2-3.csv"
CRT = SITES / "ameriflux_base_hh_US-CRT_sample" / "AMF_US-CRT_BASE_HH_2-5.csv"

pytestmark = pytest.mark.skipif(not SITES.is_dir(), reason="../shared/data is not present")


def test_report_of_a_fluxnet_file():
    (report,) = inspect(YY)
    assert report.error is None and report.format == "fluxnet"
    assert report.sites == ["FR-Pue"] and report.time_step == "YY" and report.n_steps == 8
    assert (report.start, report.end) == (pd.Timestamp("2007-01-01"), pd.Timestamp("2014-01-01"))
    variables = {v.name: v for v in report.variables}
    assert variables["NEE_VUT_REF"].units == "gC m-2 y-1"
    assert variables["NEE_VUT_REF"].valid == 1.0  # 8 values, none -9999
    # the last two columns of the file (tr '\r' '\n' | awk) are -9999 in all 8 years
    last = list(variables)[-1]
    assert variables[last].valid == 0.0


def test_valid_fraction_of_a_base_file():
    (report,) = inspect(CRT)
    fc = {v.name: v for v in report.variables}["FC"]
    # awk: FC (column 5) is -9999 in 58 of the 96 rows
    assert fc.valid == pytest.approx(38 / 96)
    assert fc.units == "umol m-2 s-1"


def test_errors_and_warnings_are_reported_not_raised(tmp_path):
    bad = tmp_path / "FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2008_2-3.csv"
    bad.write_text("TIMESTAMP,TA_F,MYSTERY\n2007,13.5,1\n2008,13.1,2\n")
    missing = tmp_path / "nothing_*.csv"
    reports = inspect([bad, missing])
    assert len(reports) == 2
    assert reports[0].error is None and [v.name for v in reports[0].variables] == ["TA_F"]
    assert any("MYSTERY" in w and "UnknownVariableWarning" in w for w in reports[0].warnings)
    assert reports[1].error is not None and "no file matches" in reports[1].error
    text = format_report(reports)
    assert "warning: UnknownVariableWarning" in text and "ERROR:" in text
    assert "TA_F" in text and "100.0%" in text


def test_format_report_lists_sites_period_and_variables():
    text = format_report([FileReport("x.csv", error="x.csv: the file is empty")])
    assert text == "x.csv\n  ERROR: x.csv: the file is empty"
    (report,) = inspect(YY)
    text = format_report([report])
    assert "format: fluxnet" in text and "FR-Pue" in text and "8 steps of YY" in text
    assert "NEE_VUT_REF" in text and "gC m-2 y-1" in text


# Files in ../shared/data/sites that are metadata or archives, not flux tables.
NOT_FLUX_TABLES = {
    "AMF_AA-Flx_BIF_CCBY4_20201218.xlsx",
    "AMF_US-CRT_BASE-BADM_2-5.zip",
    "location_fluxnet.csv",
    "europe-fluxdata_units.csv",
    "fdk_site_fullyearsequence.csv",
    "fdk_site_info.csv",
    "p_model_drivers_params_siml.csv",
    "p_model_drivers_site_info.csv",
}


def test_inspect_reads_every_flux_file_of_every_shared_folder(shared_data):
    """Issue 3: `hybridflux data inspect` works on all the real datasets (folders expand)."""
    folders = sorted(p for p in (shared_data / "sites").iterdir() if p.is_dir())
    reports = inspect(folders)
    failed = {Path(r.path).name for r in reports if r.error}
    assert failed == NOT_FLUX_TABLES
    read_ok = [r for r in reports if not r.error]
    n_files = sum(1 for d in folders for p in d.iterdir() if p.is_file() and p.name[0] != ".")
    assert len(read_ok) == n_files - len(NOT_FLUX_TABLES)
    assert all(r.sites and r.variables and r.format for r in read_ok)
