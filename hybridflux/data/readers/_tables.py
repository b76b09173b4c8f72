"""Parsing helpers shared by the readers of non-FLUXNET formats (see ``readers/others.py``).

A reader describes each source column by a :class:`Column` (target FLUXNET name, the unit in the
file, the canonical unit) and lets :func:`rename_convert` coerce, clean (``-9999`` → ``NaN``) and
convert them; :func:`finish` adds site metadata and builds the canonical Dataset.

Example:
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"VPD": ["1.5", "-9999"]})
    >>> frame, units = rename_convert(raw, {"VPD": Column("VPD_F", "hPa", "kPa")}, "x.csv")
    >>> frame["VPD_F"].tolist(), units
    ([15.0, nan], {'VPD_F': 'hPa'})
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.schema import SiteMeta, site_dataset
from hybridflux.data.units import convert

__all__ = [
    "MISSING",
    "Column",
    "read_text",
    "read_table",
    "normalise_units",
    "rename_convert",
    "site_from_name",
    "lookup_meta",
    "infer_step",
    "year_doy_hour",
    "end_to_start",
    "finish",
]

#: Missing-value code of flux files (FLUXNET, REddyProc, ICOS); replaced by ``NaN``.
MISSING = -9999.0

_SITE_SEPARATED = re.compile(r"(?<![A-Za-z])([A-Z]{2})[-_]([A-Za-z0-9]{3})(?![A-Za-z0-9])")
_SITE_CAMEL = re.compile(r"(?<![A-Za-z])([A-Z]{2})([A-Z][a-z0-9]{2})(?![a-z])")
_STEP_BY_MINUTES = {30: "HH", 60: "HR", 1440: "DD"}
# unit labels seen in REddyProc, openeddy and ICOS files (separators removed, lower case)
_UNIT_LABELS = {
    "wm-2": "W m-2",
    "umolm-2s-1": "umol m-2 s-1",
    "umolco2m-2s-1": "umol m-2 s-1",
    "degc": "degC",
    "k": "K",
    "%": "%",
    "hpa": "hPa",
    "kpa": "kPa",
    "pa": "Pa",
    "ms-1": "m s-1",
    "mm": "mm",
    "ppm": "umol mol-1",
    "umolmol-1": "umol mol-1",
}


@dataclass(frozen=True)
class Column:
    """How one source column becomes one canonical variable.

    Attributes:
        target: FLUXNET variable name in the canonical Dataset.
        units: unit of the canonical variable (from ``hybridflux.data.units.UNITS``).
        source_units: unit in the file when :func:`hybridflux.data.units.convert` can convert it
            to ``units``; ``None``: same as ``units``.
        scale: extra factor applied first, for source units outside the vocabulary
            (e.g. ``1e6`` for mol → umol). Default 1.

    Example:
        >>> Column("PA_F", "kPa", source_units="Pa").target
        'PA_F'
    """

    target: str
    units: str
    source_units: str | None = None
    scale: float = 1.0


def read_text(path: Path) -> str:
    """Whole file as text: gzip decompressed, CR / CRLF line ends made ``\\n``.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes(b"a\\tb\\rx\\ty\\r")
        >>> read_text(p).splitlines()
        ['a\\tb', 'x\\ty']
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_table(
    path: Path, *, sep: str = ",", units_line: bool = False, text_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a delimited table (header on the first line).

    Args:
        path: the file (gzip allowed).
        sep: column separator.
        units_line: whether the second line holds units; it is skipped and its recognised
            units are kept in ``frame.attrs["units"]`` (column → vocabulary unit).
        text_columns: columns kept as ``str`` (timestamps, site names); the others are parsed
            as numbers where possible (a column with text stays ``object`` and is reported by
            :func:`rename_convert`).

    Returns:
        Frame with ``NaN`` for empty cells and ``NA``; row ``i`` of the frame is line
        ``i + 2 + units_line`` of the file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
        >>> _ = p.write_text("a,b\\n-,kPa\\n1,2\\n")
        >>> t = read_table(p, units_line=True)
        >>> t["b"].tolist(), t.attrs["units"]
        ([2], {'b': 'kPa'})
    """
    text = read_text(path)
    skip = [1] if units_line else None
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            skiprows=skip,
            dtype=dict.fromkeys(text_columns, str),
            low_memory=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(path, f"not a readable {sep!r}-separated table: {err}") from err
    if units_line:
        tokens = text.split("\n", 2)[1].split(sep)
        known = {col: normalise_units(tok) for col, tok in zip(frame.columns, tokens, strict=False)}
        frame.attrs["units"] = {col: unit for col, unit in known.items() if unit is not None}
    return frame


def normalise_units(token: str) -> str | None:
    """Vocabulary unit for a unit label as written in flux files, ``None`` if not recognised.

    Separators (space, ``_``, ``*``, ``.``) and case are ignored: ``umol_m-2_s-1``,
    ``umolm-2s-1`` and ``umol*m-2*s-1`` all give ``"umol m-2 s-1"``.

    Example:
        >>> normalise_units("W*m-2"), normalise_units("hPa"), normalise_units("deg_from_north")
        ('W m-2', 'hPa', None)
    """
    key = re.sub(r"[\s_*.]", "", str(token)).lower()
    return _UNIT_LABELS.get(key)


def _numeric(values: pd.Series, path, name: str, first_line: int) -> np.ndarray:
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    bad = np.isnan(out) & values.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            path,
            f"text {values.iloc[i]!r} in a numeric column; fix or blank the cell",
            variable=name,
            row=first_line + i,
        )
    out[out == MISSING] = np.nan
    return out


def rename_convert(
    raw: pd.DataFrame, columns: Mapping[str, Column], path, *, first_line: int = 2
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Select, rename, clean and convert the source columns that are present.

    Units recognised in ``raw.attrs["units"]`` (a units line, see :func:`read_table`) override
    :attr:`Column.source_units`, so a file that states ``kPa`` where ``hPa`` is usual is
    converted, and one that states an impossible unit is refused.

    Args:
        raw: source table (strings or numbers), one row per record.
        columns: source name → :class:`Column`; absent sources are skipped.
        path: file name for error messages.
        first_line: file line number of the first row of ``raw`` (for error messages).

    Returns:
        ``(frame, units)``: float columns named by target (index of ``raw``) and their units.

    Raises:
        DataError: text in a numeric column (names file, variable and line), or a stated unit
            that cannot be converted to the canonical one.

    Example:
        >>> raw = pd.DataFrame({"patm": [99000.0], "x": [1.0]})
        >>> frame, units = rename_convert(raw, {"patm": Column("PA_F", "kPa", "Pa")}, "f.csv")
        >>> frame.to_dict("list"), units
        ({'PA_F': [99.0]}, {'PA_F': 'kPa'})
    """
    stated = raw.attrs.get("units", {})
    frame, units = {}, {}
    for source, col in columns.items():
        if source not in raw.columns:
            continue
        values = _numeric(raw[source], path, source, first_line) * col.scale
        from_units = stated.get(source, col.source_units) if col.scale == 1.0 else None
        if from_units is not None:
            try:
                values = np.asarray(convert(values, from_units, col.units), dtype=np.float64)
            except ValueError as err:
                raise DataError(path, f"{err}; expected {col.units!r}", variable=source) from err
        frame[col.target] = values
        units[col.target] = col.units
    return pd.DataFrame(frame, index=raw.index), units


def site_from_name(path: Path) -> str | None:
    """FLUXNET site ID found in a file name (``DERIVED_AT_Neu_Jul_2010.csv`` → ``AT-Neu``).

    Tries ``CC-Xxx`` / ``CC_Xxx`` first, then CamelCase ``CCXxx`` (``Example_DETha98``).

    Example:
        >>> site_from_name(Path("tutorial3_US_ARM.csv")), site_from_name(Path("Example_DETha98"))
        ('US-ARM', 'DE-Tha')
    """
    name = Path(path).name
    for pattern in (_SITE_SEPARATED, _SITE_CAMEL):
        match = pattern.search(name)
        if match:
            return f"{match.group(1)}-{match.group(2)}"
    return None


def lookup_meta(site: str, **from_file) -> SiteMeta:
    """Site metadata from the bundled FLUXNET2015 list, overridden by values from the file.

    Args:
        site: FLUXNET site ID.
        **from_file: ``lat``, ``lon``, ``elevation``, ``igbp``, ``climate`` found in the file
            (``NaN`` / ``""`` / ``None``: not given).

    Example:
        >>> lookup_meta("XX-Abc", lat=50.0).lat
        50.0
    """
    try:
        from hybridflux.data.metadata import site_meta
    except ImportError:
        base = SiteMeta()
    else:
        try:
            base = site_meta(site)
        except (KeyError, LookupError, ValueError):
            base = SiteMeta()
    given = {
        key: value
        for key, value in from_file.items()
        if value is not None and value != "" and not (isinstance(value, float) and np.isnan(value))
    }
    fields = {key: getattr(base, key) for key in SiteMeta.__dataclass_fields__}
    fields.update(given)
    return SiteMeta(**fields)


def infer_step(index: pd.DatetimeIndex, path) -> str:
    """Time step code (``HH``/``HR``/``DD``) from the most common spacing of the timestamps.

    Example:
        >>> infer_step(pd.date_range("2020-01-01", periods=3, freq="30min"), "x")
        'HH'
    """
    minutes = pd.Series(index.sort_values()).diff().dt.total_seconds().div(60).mode()
    step = _STEP_BY_MINUTES.get(int(minutes.iloc[0])) if len(minutes) else None
    if step is None:
        raise DataError(path, "cannot tell the time step (not 30 min, 60 min or 1 day)")
    return step


def end_to_start(
    end: pd.DatetimeIndex, path, *, first_line: int = 2
) -> tuple[pd.DatetimeIndex, str]:
    """Interval starts and time step from interval-end timestamps.

    Raises:
        DataError: a missing/unreadable timestamp (naming its line), or no 30 min / 60 min /
            1 day spacing.

    Example:
        >>> end = pd.DatetimeIndex(["2004-01-01 00:30", "2004-01-01 01:00"])
        >>> start, step = end_to_start(end, "x.csv")
        >>> str(start[0]), step
        ('2004-01-01 00:00:00', 'HH')
    """
    if end.hasnans:
        row = int(np.flatnonzero(end.isna())[0])
        raise DataError(path, "missing or unreadable timestamp", row=row + first_line)
    step = infer_step(end, path)
    minutes = {"HH": 30, "HR": 60, "DD": 1440}[step]
    return end - pd.Timedelta(minutes=minutes), step


def year_doy_hour(year, doy, hour) -> pd.DatetimeIndex:
    """Timestamps from year, day of year (1 = 1 January) and decimal hour; ``NaN`` → ``NaT``.

    Example:
        >>> year_doy_hour([1998.0], [366.0], [0.0])[0]
        Timestamp('1999-01-01 00:00:00')
    """
    year = pd.Series(np.asarray(year, dtype=np.float64))
    base = pd.to_datetime(year.astype("Int64").astype(str), format="%Y", errors="coerce")
    offset = pd.to_timedelta(np.asarray(doy, dtype=np.float64) - 1, unit="D")
    offset = offset + pd.to_timedelta(np.asarray(hour, dtype=np.float64), unit="h")
    return pd.DatetimeIndex(base + offset)


def finish(
    frame: pd.DataFrame,
    units: Mapping[str, str],
    *,
    site: str,
    time_step: str,
    source_format: str,
    path,
    meta: SiteMeta | None = None,
    first_line: int = 2,
) -> xr.Dataset:
    """Canonical one-site Dataset; rows with a missing timestamp raise, duplicates raise.

    ``meta`` ``None``: looked up with :func:`lookup_meta`; ``first_line``: file line number of
    the first data row (for error messages).

    Example:
        >>> f = pd.DataFrame({"TA_F": [1.0]}, index=pd.DatetimeIndex(["2020-01-01"]))
        >>> finish(f, {"TA_F": "degC"}, site="XX-Abc", time_step="DD",
        ...        source_format="demo", path="x.csv").sizes["time"]
        1
    """
    if frame.index.hasnans:
        row = int(np.flatnonzero(frame.index.isna())[0])
        raise DataError(path, "missing or unreadable timestamp", row=row + first_line)
    meta = meta if meta is not None else lookup_meta(site)
    return site_dataset(
        frame,
        site,
        time_step=time_step,
        units=units,
        source_format=source_format,
        source_file=str(path),
        meta=meta,
    )
