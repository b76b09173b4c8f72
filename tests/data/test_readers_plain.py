"""The plain-table reader: sniffing as the last resort, time step, site IDs, units, errors.

Expected values are written into the test tables here (or read from the shipped CSV with the
csv module), not taken from the reader's output.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridflux.data import UnknownVariableWarning
from hybridflux.data.errors import DataError
from hybridflux.data.io import detect_format, read
from hybridflux.data.readers import READERS, _common, plain
from hybridflux.data.schema import validate

SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "data" / "q10_synthetic_daily.csv"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _sniff(path: Path) -> bool:
    return plain.sniff(path, _common.read_head(path))


def test_plain_is_tried_last():
    assert READERS[-1] is plain
    assert [r.NAME for r in READERS].count("plain") == 1


@pytest.mark.parametrize(
    ("name", "text", "claimed"),
    [
        ("a.csv", "TIMESTAMP,TA_F\n20060101,1.0\n", True),
        ("a.tsv", "TIMESTAMP_START\tTA_F\n200601010000\t1.0\n", True),
        ("a.txt", "# my notes\n# more\nTIMESTAMP,TA_F\n20060101,1.0\n", True),
        ("a.csv", "DATE,TA_F\n20060101,1.0\n", False),  # no TIMESTAMP column
        ("a.dat", "TIMESTAMP,TA_F\n20060101,1.0\n", False),  # not a table suffix
        # claimed by the fluxnet reader (its name), so not by plain
        (
            "FLX_FR-Pue_FLUXNET2015_FULLSET_DD_2006-2007_2-3.csv",
            "TIMESTAMP,TA_F\n20060101,1\n",
            False,
        ),
        ("AT-Neu_MM.csv", "Site,TIMESTAMP,TA_F\nAT-Neu,200601,1.0\n", False),  # monthly_collection
    ],
)
def test_sniff(tmp_path, name, text, claimed):
    assert _sniff(_write(tmp_path, name, text)) is claimed


def test_sniff_gzip_and_binary(tmp_path):
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(b"TIMESTAMP,TA_F\n20060101,1.0\n"))
    assert _sniff(gz)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\x01\x02TIMESTAMP")
    assert not _sniff(binary)
    assert read(gz)["TA_F"].values.tolist() == [[1.0]]


def test_shipped_calibration_file_is_read_by_plain():
    assert detect_format(SHIPPED) == "plain"
    ds = validate(read(SHIPPED), str(SHIPPED))
    with open(SHIPPED, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert ds.attrs["time_step"] == "DD" and ds.site.values.tolist() == ["q10_synthetic_daily"]
    assert ds.sizes["time"] == len(rows) == 730
    assert ds["TA_F"].attrs["units"] == "degC" and ds["RECO_syn"].attrs["units"] == "gC m-2 d-1"
    assert pd.Timestamp(ds.time.values[0]) == pd.Timestamp(rows[0]["TIMESTAMP"])
    np.testing.assert_array_equal(ds["RECO_syn"].values[0], [float(r["RECO_syn"]) for r in rows])


def test_daily_gaps_missing_codes_and_file_stem_site(tmp_path):
    text = "TIMESTAMP,TA_F,NEE_VUT_REF\n20060101,5.0,-9999\n20060102,NA,1.5\n20060104,7.0,2.5\n"
    ds = read(_write(tmp_path, "my_tower.csv", text))
    assert ds.site.values.tolist() == ["my_tower"] and ds.attrs["time_step"] == "DD"
    assert ds.attrs["source_format"] == "plain"
    # the missing 3 January is a NaN row of the regular daily grid
    assert ds.sizes["time"] == 4
    np.testing.assert_array_equal(ds["TA_F"].values[0], [5.0, np.nan, np.nan, 7.0])
    np.testing.assert_array_equal(ds["NEE_VUT_REF"].values[0], [np.nan, 1.5, np.nan, 2.5])
    assert np.isnan(ds.lat.values[0])  # unknown site: unknown coordinates


def test_half_hourly_multi_site_tsv_with_metadata(tmp_path):
    text = (
        "SITE_ID\tTIMESTAMP_START\tTIMESTAMP_END\tNEE_VUT_REF\tVPD_F\n"
        "FR-Pue\t200601010000\t200601010030\t1.0\t2.0\n"
        "FR-Pue\t200601010030\t200601010100\t1.5\t2.5\n"
        "DE-Tha\t200601010000\t200601010030\t3.0\t4.0\n"
        "DE-Tha\t200601010100\t200601010130\t3.5\t4.5\n"
    )
    ds = read(_write(tmp_path, "towers.tsv", text))
    assert ds.attrs["time_step"] == "HH" and ds.site.values.tolist() == ["FR-Pue", "DE-Tha"]
    assert (
        ds["NEE_VUT_REF"].attrs["units"] == "umol m-2 s-1" and ds["VPD_F"].attrs["units"] == "hPa"
    )
    # FR-Pue in the FLUXNET2015 site table: 43.7414 N, EBF
    assert ds.lat.values[0] == pytest.approx(43.7414) and ds.igbp.values[0] == "EBF"
    np.testing.assert_array_equal(ds["NEE_VUT_REF"].sel(site="DE-Tha").values, [3.0, np.nan, 3.5])


def test_unknown_units_are_dropped_with_a_warning(tmp_path):
    path = _write(tmp_path, "x.csv", "TIMESTAMP,TA_F,MY_INDEX\n20060101,1.0,3.0\n20060102,2.0,4\n")
    with pytest.warns(UnknownVariableWarning, match="MY_INDEX"):
        ds = read(path)
    assert list(ds.data_vars) == ["TA_F"]


@pytest.mark.parametrize(
    ("stamps", "step"),
    [
        (["200601", "200602", "200603"], "MM"),
        (["2006", "2007"], "YY"),
        (["200601010000", "200601010100", "200601010300"], "HR"),
        (["20060101", "20060108", "20060115"], "WW"),
        (["20060101"], "DD"),  # a single row: from the YYYYMMDD format
    ],
)
def test_time_step_from_spacing(tmp_path, stamps, step):
    column = "TIMESTAMP_START" if len(stamps[0]) == 12 else "TIMESTAMP"
    rows = "".join(f"{s},1.0\n" for s in stamps)
    ds = read(_write(tmp_path, "x.csv", f"{column},TA_F\n{rows}"))
    assert ds.attrs["time_step"] == step


def test_infer_time_step_rejects_odd_spacing():
    with pytest.raises(DataError, match="2880 minutes apart"):
        infer = plain.infer_time_step
        infer(pd.DatetimeIndex(["2006-01-01", "2006-01-03", "2006-01-05"]), "%Y%m%d", "x.csv")
    with pytest.raises(DataError, match="single timestamp"):
        plain.infer_time_step(pd.DatetimeIndex(["2006-01-01 10:00"]), "%Y%m%d%H%M", "x.csv")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("TIMESTAMP,TA_F\n20060101,1.0\n20060101,2.0\n", "duplicate timestamp"),
        ("SITE_ID,TIMESTAMP,TA_F\nFR-Pue,20060101,1.0\n,20060102,2.0\n", "row 3: missing site"),
        ("TIMESTAMP,TA_F\n20060101,1.0\n20060102,warm\n", "row 3: text 'warm'"),
        ("DATE,TA_F\n20060101,1.0\n", "no TIMESTAMP or TIMESTAMP_START column"),
    ],
)
def test_bad_tables_name_the_problem(tmp_path, text, match):
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError, match=match) as err:
        plain.read(path)
    assert str(path) in str(err.value)
