"""Reader of plain tables: any CSV/TSV with a FLUXNET timestamp and FLUXNET-named columns.

The fallback for user files that follow the FLUXNET naming but no product's file-name pattern,
e.g. a daily ``TIMESTAMP,TA_F,RECO_syn`` table written by a script. It claims a ``.csv``,
``.tsv`` or ``.txt`` file (plain or ``.gz``) only when

- the header (first line that is not a ``#`` comment) has a ``TIMESTAMP`` or
  ``TIMESTAMP_START`` column, and
- no other reader of :data:`hybridflux.data.readers.READERS` claims the file,

so it never competes with a specific reader; it is tried last (lowest ``PRIORITY``).

What it reads:

- **time**: ``TIMESTAMP_START`` (interval start) or ``TIMESTAMP`` (the named day/month/year),
  in any format of :func:`hybridflux.data.readers._common.parse_timestamps` (``YYYYMMDD``,
  ``YYYYMMDDHHMM``, ISO dates, ...); ``TIMESTAMP_END`` is dropped.
- **time step**: the most common spacing of the timestamps (30 min → HH, 1 h → HR,
  1 d → DD, 7 d → WW, 28–31 d → MM, 365–366 d → YY); a single row uses the timestamp format.
- **site**: a ``SITE_ID`` / ``Site`` / ``site`` column (several sites per file allowed), else
  the file stem; lat/lon/IGBP from the bundled FLUXNET2015 site table when the ID is known.
- **units**: the FLUXNET2015 units of each name at that time step
  (:func:`hybridflux.data.units.fluxnet_units`, via ``fluxnet.fluxnet_unit`` for counts and
  flags); columns with unknown units are dropped with an ``UnknownVariableWarning``.
  ``-9999`` and ``NA`` are missing.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "my_site.csv"
    >>> _ = path.write_text("TIMESTAMP,TA_F,RECO_syn\\n20060101,5.0,1.6\\n20060102,-9999,1.7\\n")
    >>> ds = read(path)
    >>> ds.site.values.tolist(), ds.attrs["time_step"], ds["RECO_syn"].attrs["units"]
    (['my_site'], 'DD', 'gC m-2 d-1')
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.metadata import site_meta
from hybridflux.data.readers import _common
from hybridflux.data.readers.fluxnet import fluxnet_unit
from hybridflux.data.schema import combine_sites, site_dataset

__all__ = ["NAME", "PRIORITY", "SITE_COLUMNS", "sniff", "read", "infer_time_step"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "plain"
#: Tried after every other reader.
PRIORITY = -100
#: Columns that hold the site ID, in order of preference.
SITE_COLUMNS: tuple[str, ...] = ("SITE_ID", "Site", "site")

_SUFFIXES = (".csv", ".tsv", ".txt")
_TIME_COLUMNS = ("TIMESTAMP_START", "TIMESTAMP")
_DROPPED = ("TIMESTAMP_START", "TIMESTAMP", "TIMESTAMP_END")
#: Spacing in minutes → time step; MM and YY by ranges of days.
_MINUTES = {30: "HH", 60: "HR", 1440: "DD", 7 * 1440: "WW"}
_DAY_RANGES = ((28, 31, "MM"), (365, 366, "YY"))
#: Timestamp format → step, for files of a single row.
_FORMAT_STEP = {"%Y": "YY", "%Y%m": "MM", "%Y%m%d": "DD", "%Y-%m-%d": "DD"}


def _header(head: str) -> tuple[list[str], str] | None:
    """Column names of the first non-comment line and the separator (tab or comma)."""
    for line in head.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            sep = "\t" if "\t" in line else ","
            return [name.strip() for name in next(csv.reader([line], delimiter=sep))], sep
    return None


def _has_table_suffix(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(_SUFFIXES)


def _claimed_by_another(path: Path, head: str) -> bool:
    from hybridflux.data.readers import reader_modules

    me = sys.modules[__name__]
    for reader in reader_modules():
        if reader is me:
            continue
        try:
            if reader.sniff(path, head):
                return True
        except Exception:  # noqa: BLE001, S112 - a faulty sniff claims nothing
            continue
    return False


def sniff(path: Path, head: str) -> bool:
    """Whether ``path`` is a plain FLUXNET-named table that no other reader claims.

    Example:
        >>> sniff(Path("reco.csv"), "TIMESTAMP,TA_F,RECO_syn\\n20060101,5.0,1.6\\n")
        True
        >>> sniff(Path("FLX_FR-Pue_FLUXNET2015_FULLSET_DD_2007-2008_2-3.csv"), "TIMESTAMP,TA_F\\n")
        False
    """
    path = Path(path)
    header = _header(head) if head and _has_table_suffix(path) else None
    if header is None or not set(_TIME_COLUMNS) & set(header[0]):
        return False
    return not _claimed_by_another(path, head)


def infer_time_step(
    times: pd.DatetimeIndex, fmt: str = "", path: str = "<table>", keys: np.ndarray | None = None
) -> str:
    """FLUXNET time step of timestamps from their most common spacing (ties: the shortest).

    Args:
        times: the timestamps (any order, unique per key).
        fmt: their text format (used when no two timestamps share a key).
        path: the file, for the error message.
        keys: optional per-timestamp site ID; spacings are taken within each site.

    Returns:
        One of ``"HH"``, ``"HR"``, ``"DD"``, ``"WW"``, ``"MM"``, ``"YY"``.

    Raises:
        DataError: a spacing that is no FLUXNET time step, or one timestamp of unknown step.

    Example:
        >>> infer_time_step(pd.date_range("2006-01-01", periods=4, freq="MS"))
        'MM'
        >>> infer_time_step(pd.DatetimeIndex(["2006-01-01 00:00", "2006-01-01 00:30",
        ...                                   "2006-01-01 00:00", "2006-01-01 01:00"]),
        ...                 keys=np.array(["FR-Pue", "FR-Pue", "DE-Tha", "DE-Tha"]))
        'HH'
    """
    minutes = np.asarray(times, dtype="datetime64[m]").astype(np.int64)
    keys = (
        np.zeros(len(minutes), np.int64)
        if keys is None
        else np.unique(keys, return_inverse=True)[1]
    )
    order = np.lexsort((minutes, keys))
    same = keys[order][1:] == keys[order][:-1]
    steps = np.diff(minutes[order])[same]
    if steps.size == 0:
        if fmt in _FORMAT_STEP:
            return _FORMAT_STEP[fmt]
        raise DataError(path, "cannot infer the time step from a single timestamp")
    values, counts = np.unique(steps, return_counts=True)
    spacing = int(values[np.argmax(counts)])
    if spacing in _MINUTES:
        return _MINUTES[spacing]
    for low, high, step in _DAY_RANGES:
        if low * 1440 <= spacing <= high * 1440:
            return step
    raise DataError(
        path,
        f"the timestamps are {spacing} minutes apart, which is no FLUXNET time step "
        "(30 min, 1 h, 1 d, 7 d, 1 month, 1 year)",
    )


def _sites(table: _common.Table, path: Path) -> np.ndarray:
    """Site ID of every row: from the site column, else the file stem."""
    column = next((c for c in SITE_COLUMNS if c in table.frame.columns), None)
    if column is None:
        stem = path.name.removesuffix(".gz").rsplit(".", 1)[0]
        return np.full(len(table.frame), stem, dtype=object)
    values = table.frame[column].astype(object)
    missing = np.flatnonzero(values.isna().to_numpy() | (values.astype(str).str.strip() == ""))
    if missing.size:
        at = missing[0]
        raise DataError(table.path_of(at), "missing site ID", variable=column, row=table.row_of(at))
    return values.astype(str).str.strip().to_numpy(dtype=object)


def read(path: Path) -> xr.Dataset:
    """Read a plain FLUXNET-named table into the canonical Dataset.

    Args:
        path: a ``.csv``/``.tsv``/``.txt`` file (or ``.gz``) with a ``TIMESTAMP`` or
            ``TIMESTAMP_START`` column.

    Returns:
        Canonical Dataset, one site per distinct site ID (time = interval start).

    Raises:
        DataError: no timestamp column, bad or duplicated timestamps, an unknown time step,
            a missing site ID, or bad content (see ``readers._common``).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "two.tsv"
        >>> _ = path.write_text("SITE_ID\\tTIMESTAMP_START\\tNEE_VUT_REF\\n"
        ...                     "FR-Pue\\t200601010000\\t1.0\\nFR-Pue\\t200601010030\\t2.0\\n")
        >>> ds = read(path)
        >>> ds.attrs["time_step"], str(ds.igbp.values[0]), ds["NEE_VUT_REF"].attrs["units"]
        ('HH', 'EBF', 'umol m-2 s-1')
    """
    path = Path(path)
    header = _header(_common.read_head(path))
    sep = header[1] if header else ","
    texts = (*_DROPPED, *SITE_COLUMNS)
    table = _common.read_table(path, sep=sep, comment="#", text_columns=texts)
    column = next((c for c in _TIME_COLUMNS if c in table.frame.columns), None)
    if column is None:
        raise DataError(path, "no TIMESTAMP or TIMESTAMP_START column")
    times, fmt = _common.parse_timestamps(table, column)
    sites = _sites(table, path)
    _common.check_unique(times, table, keys=sites)
    order = list(dict.fromkeys(sites))
    step = infer_time_step(times, fmt, str(path), keys=sites)
    frame = table.frame.drop(columns=[c for c in texts if c in table.frame.columns])
    units = _common.column_units(frame.columns, str(path), lambda name: fluxnet_unit(name, step))
    frame = frame[list(units)].astype(np.float64).set_axis(times, axis=0)
    datasets = [
        site_dataset(
            frame[sites == site],
            site,
            time_step=step,
            units=units,
            source_format=NAME,
            source_file=str(path),
            meta=site_meta(site),
        )
        for site in order
    ]
    return combine_sites(datasets)
