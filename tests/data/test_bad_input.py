"""Bad input gives a DataError naming the file, what is wrong and, where it applies, variable/row.

The bad files are built in tmp_path from the first lines of real files in ../shared/data.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from hybridflux.data.errors import DataError
from hybridflux.data.io import read
from tests.conftest import SHARED_DATA

SITES = SHARED_DATA / "sites"
MM_NAME = "FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-3.csv"
MM = SITES / "fluxnet2015_MM_YY_FR-Pue" / MM_NAME
CRT = SITES / "ameriflux_base_hh_US-CRT_sample" / "AMF_US-CRT_BASE_HH_2-5.csv"
MONTHLY = SITES / "fluxnet2015_monthly_189sites"

pytestmark = pytest.mark.skipif(not SITES.is_dir(), reason="../shared/data is not present")


def real_lines(path, n):
    """The first n lines of a real file, without line endings."""
    with open(path, encoding="utf-8") as fh:
        return [next(fh).rstrip("\r\n") for _ in range(n)]


def write(path, lines, end="\n"):
    path.write_text(end.join(lines) + end)
    return path


def raises(path, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        read(path, **kwargs)
    assert str(path) in str(info.value), "the message must name the file"
    return info.value


def test_missing_file(tmp_path):
    err = raises(tmp_path / MM_NAME)
    assert "no such file" in err.message


def test_glob_without_match(tmp_path):
    err = raises(tmp_path / "FLX_*_MM_*.csv")
    assert "no file matches" in err.message


def test_empty_file(tmp_path):
    path = tmp_path / MM_NAME
    path.write_bytes(b"")
    assert "empty" in raises(path).message


def test_header_without_rows(tmp_path):
    path = write(tmp_path / MM_NAME, real_lines(MM, 1))
    assert "no data rows" in raises(path).message


def test_no_timestamp_column(tmp_path):
    lines = [line.split(",", 1)[1] for line in real_lines(MM, 4)]  # drop column 1, TIMESTAMP
    err = raises(write(tmp_path / MM_NAME, lines))
    assert "no timestamp column" in err.message


def test_text_in_numeric_column_names_column_and_row(tmp_path):
    lines = real_lines(MM, 6)
    fields = lines[3].split(",")
    assert fields[14] == "9.637"  # line 4 (200703), column 15 = TA_F (awk)
    fields[14] = "9.6x"  # text instead of a number
    lines[3] = ",".join(fields)
    err = raises(write(tmp_path / MM_NAME, lines))
    assert (err.variable, err.row) == ("TA_F", 4)
    assert "'9.6x'" in err.message and "numeric" in err.message


def test_text_in_numeric_column_counts_comment_lines(tmp_path):
    lines = real_lines(CRT, 8)  # 2 '#' lines, header on line 3, data from line 4
    fields = lines[5].split(",")
    assert fields[24] == "12.3723"  # column 25 = TA, file line 6 (awk)
    fields[24] = "n/a"
    lines[5] = ",".join(fields)
    err = raises(write(tmp_path / CRT.name, lines))
    assert (err.variable, err.row) == ("TA", 6)


def test_text_in_one_of_many_monthly_files_names_that_file(tmp_path):
    names = ["AR-SLu_MM.csv", "AR-Vir_MM.csv", "AT-Neu_MM.csv"]
    for name in names:
        write(tmp_path / name, real_lines(MONTHLY / name, 5))
    bad = tmp_path / names[1]
    lines = real_lines(MONTHLY / names[1], 5)
    fields = lines[2].split(",")
    fields[9] = "oops"  # column 10 = NEE_VUT_REF, line 3
    lines[2] = ",".join(fields)
    write(bad, lines)
    with pytest.raises(DataError) as info:
        read(tmp_path / "*_MM.csv")
    assert (info.value.path, info.value.variable, info.value.row) == (str(bad), "NEE_VUT_REF", 3)


def test_duplicate_timestamps_are_named(tmp_path):
    lines = real_lines(MM, 4)
    lines.append(lines[1])  # 200701 again, on line 5
    err = raises(write(tmp_path / MM_NAME, lines))
    assert "duplicate" in err.message
    assert "2007-01-01" in err.message and "rows 2, 5" in err.message


def test_truncated_last_line(tmp_path):
    lines = real_lines(MM, 6)
    lines[5] = lines[5][:40]  # cut mid-line, as in an interrupted download
    path = tmp_path / MM_NAME
    path.write_text("\n".join(lines))
    err = raises(path)
    assert "truncated last line" in err.message and err.row == 6


def test_binary_garbage(tmp_path):
    garbage = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    for name in (MM_NAME, "garbage.dat"):
        path = tmp_path / name
        path.write_bytes(garbage)
        assert "binary" in raises(path).message


def test_corrupt_gzip(tmp_path):
    data = gzip.compress("\n".join(real_lines(CRT, 40)).encode())
    path = tmp_path / "AMF_US-CRT_BASE_HH_2-5.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "gzip" in raises(path).message


def test_unrecognised_text_format(tmp_path):
    path = write(tmp_path / "notes.csv", ["a,b,c", "1,2,3"])
    err = raises(path)
    assert "unrecognised format" in err.message and "fluxnet" in err.message


def test_entirely_missing_target_is_kept_but_can_be_required(tmp_path):
    lines = real_lines(MM, 7)
    column = lines[0].split(",").index("NEE_VUT_REF")
    for i in range(1, len(lines)):
        fields = lines[i].split(",")
        fields[column] = "-9999"
        lines[i] = ",".join(fields)
    path = write(tmp_path / MM_NAME, lines)
    ds = read(path)
    assert "NEE_VUT_REF" in ds and bool(ds["NEE_VUT_REF"].isnull().all())
    err = raises(path, require=["NEE_VUT_REF"])
    assert err.variable == "NEE_VUT_REF" and "entirely missing" in err.message
    assert raises(path, require=["NOT_A_VARIABLE"]).variable == "NOT_A_VARIABLE"
    read(path, require=["TA_F"])  # present: no error
