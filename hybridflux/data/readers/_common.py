"""Parsing helpers shared by the text-table readers of the FLUXNET family.

:func:`read_tables` turns delimited text files (plain or gzip) into :class:`Table` objects: float
columns (``-9999``/``NA``/empty → ``NaN``) plus the file line of every row, so that errors name
the row. It rejects, naming the file: a missing or empty file, binary data, a header without
rows, duplicate column names, rows with too few/many fields (a truncated last line) and text in
a numeric column (naming column and row). :func:`parse_timestamps` reads FLUXNET timestamps;
:func:`check_unique` rejects duplicated timestamps, naming them.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = path.write_text("TIMESTAMP,TA_F\\n200701,8.0\\n200702,-9999\\n")
    >>> table = read_table(path, text_columns=("TIMESTAMP",))
    >>> table.frame["TA_F"].tolist(), table.lines.tolist()
    ([8.0, nan], [2, 3])
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hybridflux.data.errors import DataError, UnknownVariableWarning

__all__ = [
    "MISSING_VALUES",
    "Table",
    "read_head",
    "read_bytes",
    "read_table",
    "read_tables",
    "parse_timestamps",
    "check_unique",
    "column_units",
]

#: Cell texts read as missing: the FLUXNET code ``-9999`` and R/pandas spellings of NA.
MISSING_VALUES: tuple[str, ...] = ("-9999", "-9999.0", "NA", "NaN", "nan", "")

_GZIP_MAGIC = b"\x1f\x8b"
_HEAD_BYTES = 4096
# Timestamp formats by length of the cell text.
_TIME_FORMATS = {4: "%Y", 6: "%Y%m", 8: "%Y%m%d", 10: "%Y-%m-%d", 12: "%Y%m%d%H%M"}
_TIME_FORMATS[16] = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Table:
    """A parsed text table, possibly the rows of several files that share one header.

    Attributes:
        path: the file read (for several files: the first, with a count of the others).
        frame: one column per header field, float64 except the requested text columns.
        lines: 1-based line number in its file of each row of ``frame`` (header lines counted).
        sources: index into ``paths`` of each row's file; ``None`` for a single file.
        paths: the files, when there are several.

    Example:
        >>> t = Table("a.csv", pd.DataFrame({"x": [1.0, 2.0]}), np.array([2, 5]),
        ...           np.array([0, 1]), ("a.csv", "b.csv"))
        >>> t.path_of(1), t.row_of(1)
        ('b.csv', 5)
    """

    path: str
    frame: pd.DataFrame
    lines: np.ndarray
    sources: np.ndarray | None = None
    paths: tuple[str, ...] = ()

    def row_of(self, position: int) -> int:
        """File line number of the row at integer ``position`` of ``frame``."""
        return int(self.lines[position])

    def path_of(self, position: int) -> str:
        """File of the row at integer ``position`` of ``frame``."""
        return self.path if self.sources is None else self.paths[self.sources[position]]


def _is_binary(chunk: bytes) -> bool:
    if b"\x00" in chunk:
        return True
    control = sum(chunk.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return control > 0.05 * max(len(chunk), 1)


def read_head(path: Path, nbytes: int = _HEAD_BYTES) -> str:
    """The first ``nbytes`` of a file as text (gzip decompressed); ``""`` for binary files.

    Never raises: missing files, directories and unreadable files give ``""``.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = path.write_text("TIMESTAMP,TA_F\\n")
        >>> read_head(path)
        'TIMESTAMP,TA_F\\n'
    """
    try:
        with open(path, "rb") as fh:
            chunk = fh.read(nbytes)
        if chunk.startswith(_GZIP_MAGIC):
            with gzip.open(path, "rb") as fh:
                chunk = fh.read(nbytes)
    except (OSError, EOFError, zlib.error):
        return ""
    if _is_binary(chunk):
        return ""
    return chunk.decode("utf-8", errors="replace")


def read_bytes(path: Path) -> bytes:
    """The whole content of a text file, gzip decompressed.

    Raises:
        DataError: missing file, a directory, empty file, corrupt gzip or binary content.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = path.write_text("a,b\\n1,2\\n")
        >>> read_bytes(path)
        b'a,b\\n1,2\\n'
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            path, "is a directory, not a data file" if path.is_dir() else "no such file"
        )
    raw = path.read_bytes()
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(path, f"corrupt or truncated gzip file ({err})") from None
    if not raw.strip():
        raise DataError(path, "the file is empty")
    if _is_binary(raw[:_HEAD_BYTES]):
        raise DataError(path, "binary data, not a text table (corrupt file or wrong format?)")
    return raw


def _split(raw: bytes, path: Path, comment: bytes | None) -> tuple[bytes, list[bytes], np.ndarray]:
    lines = raw.splitlines()
    kept = [
        (number, line)
        for number, line in enumerate(lines, 1)
        if line.strip() and not (comment and line.lstrip().startswith(comment))
    ]
    if not kept:
        raise DataError(path, "no header line (the file has only comments or blank lines)")
    (_, header), rows = kept[0], kept[1:]
    if not rows:
        raise DataError(path, "the header has no data rows below it")
    return header, [line for _, line in rows], np.fromiter((n for n, _ in rows), dtype=np.int64)


def _check_fields(path, header: bytes, rows: list[bytes], numbers: np.ndarray, sep: bytes):
    n_fields = len(next(csv.reader([header.decode("utf-8", "replace")], delimiter=sep.decode())))
    counts = np.fromiter((line.count(sep) for line in rows), dtype=np.int64, count=len(rows))
    for i in np.flatnonzero(counts != n_fields - 1):
        text = rows[i].decode("utf-8", "replace")
        found = len(next(csv.reader([text], delimiter=sep.decode())))
        if found == n_fields:  # separators inside quotes
            continue
        what = "truncated last line" if i == len(rows) - 1 and found < n_fields else "bad row"
        message = f"{what}: {found} fields, the header has {n_fields}"
        raise DataError(path, message, row=int(numbers[i]))


def read_table(path: Path, **options) -> Table:
    """Read one delimited text table (plain or gzip); ``options`` as for :func:`read_tables`.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = path.write_text("# meta\\nA,B\\n1,x\\n")
        >>> try:
        ...     read_table(path, comment="#")
        ... except DataError as err:
        ...     print(err.variable, err.row, err.message)
        B 3 text 'x' in a numeric column
    """
    return read_tables([path], **options)[0]


def read_tables(
    paths: Iterable[Path],
    *,
    sep: str = ",",
    comment: str | None = None,
    text_columns: Iterable[str] = (),
    na_values: Iterable[str] = MISSING_VALUES,
) -> list[Table]:
    """Read delimited text tables (plain or gzip); files with one header are parsed together.

    Much faster than one :func:`read_table` per file for many small files.

    Args:
        paths: the files.
        sep: field separator.
        comment: lines starting with this character are skipped (e.g. ``"#"``).
        text_columns: columns kept as text (timestamps, site IDs, classes); absent ones ignored.
        na_values: cell texts read as missing (default :data:`MISSING_VALUES`).

    Returns:
        One :class:`Table` per distinct header, in order of first appearance; numeric columns
        are float64 with ``NaN`` for missing.

    Raises:
        DataError: see the module docstring; names the file and, where it applies, column/row.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("a", "b"):
        ...     _ = (d / f"{name}.csv").write_text("TIMESTAMP,TA_F\\n200701,1.0\\n")
        >>> [len(t.frame) for t in read_tables(sorted(d.glob("*.csv")))]
        [2]
    """
    marker = comment.encode() if comment else None
    groups: dict[bytes, list[tuple[str, list[bytes], np.ndarray]]] = {}
    for path in map(Path, paths):
        header, rows, numbers = _split(read_bytes(path), path, marker)
        _check_fields(path, header, rows, numbers, sep.encode())
        groups.setdefault(header, []).append((str(path), rows, numbers))
    tables = []
    for header, files in groups.items():
        names = _names(header, sep, files[0][0])
        text = set(text_columns) & set(names)
        rows = [row for _, file_rows, _ in files for row in file_rows]
        frame = _parse_rows(rows, names, text, sep, list(na_values), files)
        lines = np.concatenate([numbers for _, _, numbers in files])
        if len(files) == 1:
            table = Table(files[0][0], frame, lines)
        else:
            sources = np.repeat(np.arange(len(files)), [len(r) for _, r, _ in files])
            first = f"{files[0][0]} (and {len(files) - 1} more files)"
            table = Table(first, frame, lines, sources, tuple(p for p, _, _ in files))
        _check_numeric(table, text)
        tables.append(table)
    return tables


def _names(header: bytes, sep: str, path: str) -> list[str]:
    names = next(csv.reader([header.decode("utf-8", "replace")], delimiter=sep))
    names = [name.strip() for name in names]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(path, f"duplicate column names in the header: {dup}")
    return names


def _parse_rows(rows, names, text, sep, na_values, files) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.BytesIO(b"\n".join(rows)),
            sep=sep,
            header=None,
            names=names,
            dtype={name: str for name in text},
            na_values=na_values,
            keep_default_na=False,
            engine="c",
            low_memory=False,
            encoding_errors="replace",
        )
    except (pd.errors.ParserError, ValueError) as err:
        where = ", ".join(path for path, _, _ in files)
        raise DataError(where, f"cannot parse the table: {err}") from None


def _check_numeric(table: Table, text: set[str]) -> None:
    frame = table.frame
    for name in frame.columns:
        if name in text or pd.api.types.is_float_dtype(frame[name].dtype):
            continue
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
            frame[name] = column.astype(np.float64)
            continue
        values = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & column.notna().to_numpy())
        if len(bad) == 0:
            frame[name] = values.astype(np.float64)
            continue
        at, message = bad[0], f"text {column.iloc[bad[0]]!r} in a numeric column"
        raise DataError(table.path_of(at), message, variable=name, row=table.row_of(at))


def parse_timestamps(table: Table, column: str) -> tuple[pd.DatetimeIndex, str]:
    """Parse a FLUXNET timestamp column (``YYYY`` … ``YYYYMMDDHHMM`` or ISO date).

    Args:
        table: the table; ``column`` must have been read as a text column.
        column: e.g. ``"TIMESTAMP"``, ``"TIMESTAMP_START"``.

    Returns:
        The timestamps and the format used (``"%Y%m"``, ...).

    Raises:
        DataError: a missing, malformed or mixed-format timestamp, naming the row.

    Example:
        >>> t = Table("x.csv", pd.DataFrame({"T": ["201301010000", "201301010030"]}),
        ...           np.array([2, 3]))
        >>> parse_timestamps(t, "T")[0][1]
        Timestamp('2013-01-01 00:30:00')
    """
    values = table.frame[column].astype(object)
    for at in np.flatnonzero(values.isna().to_numpy())[:1]:
        raise DataError(
            table.path_of(at), "missing timestamp", variable=column, row=table.row_of(at)
        )
    text = values.astype(str).str.strip()
    if text.str.endswith(".0").all():  # written as floats by some tools
        text = text.str[:-2]
    lengths = text.str.len().to_numpy()
    fmt = _TIME_FORMATS.get(int(lengths[0]))
    odd = np.flatnonzero(lengths != lengths[0])
    if fmt is None or len(odd):
        at = 0 if fmt is None else odd[0]
        raise DataError(
            table.path_of(at),
            f"timestamp {text.iloc[at]!r} is not YYYY, YYYYMM, YYYYMMDD, YYYYMMDDHHMM or an ISO "
            "date (or the column mixes formats)",
            variable=column,
            row=table.row_of(at),
        )
    times = pd.to_datetime(text, format=fmt, errors="coerce")
    for at in np.flatnonzero(times.isna().to_numpy())[:1]:
        message = f"invalid timestamp {text.iloc[at]!r} for format {fmt}"
        raise DataError(table.path_of(at), message, variable=column, row=table.row_of(at))
    return pd.DatetimeIndex(times).as_unit("ns"), fmt


def check_unique(times: pd.DatetimeIndex, table: Table, keys: np.ndarray | None = None) -> None:
    """Raise if a timestamp (or a ``(key, timestamp)`` pair) occurs more than once.

    Args:
        times: one timestamp per row of ``table``.
        table: the table the rows come from (for the file and row numbers).
        keys: optional per-row key, e.g. the site ID of multi-site files.

    Raises:
        DataError: naming the first duplicated timestamps and their rows.

    Example:
        >>> t = Table("x.csv", pd.DataFrame(), np.array([2, 3]))
        >>> try:
        ...     check_unique(pd.DatetimeIndex(["2020-01-01", "2020-01-01"]), t)
        ... except DataError as err:
        ...     print(err.message)
        1 duplicate timestamp(s): 2020-01-01 00:00:00 (rows 2, 3)
    """
    pairs = pd.MultiIndex.from_arrays([keys, times]) if keys is not None else times
    dup = np.flatnonzero(pairs.duplicated(keep=False))
    if len(dup) == 0:
        return
    groups: dict[object, list[int]] = {}
    for i in dup:
        groups.setdefault(pairs[i], []).append(int(i))
    shown = []
    for pair, positions in list(groups.items())[:5]:
        label = f"{pair[0]} {pd.Timestamp(pair[1])}" if keys is not None else pd.Timestamp(pair)
        shown.append(f"{label} (rows {', '.join(str(table.row_of(i)) for i in positions)})")
    message = f"{len(groups)} duplicate timestamp(s): {'; '.join(shown)}"
    raise DataError(table.path_of(dup[0]), message)


def column_units(
    columns: Iterable[str], path: str, unit_of: Callable[[str], str | None]
) -> dict[str, str]:
    """Units of each column by ``unit_of``; columns without units are left out with a warning.

    Args:
        columns: variable names.
        path: the file (named in the warning).
        unit_of: name → unit string from ``hybridflux.data.units.UNITS``, or ``None``.

    Returns:
        ``{name: unit}`` for the columns with known units, in input order.

    Example:
        >>> column_units(["TA_F"], "x.csv", lambda name: "degC")
        {'TA_F': 'degC'}
    """
    found = {name: unit_of(name) for name in columns}
    units = {name: unit for name, unit in found.items() if unit is not None}
    unknown = [name for name, unit in found.items() if unit is None]
    if unknown:
        warnings.warn(
            f"{path}: left out {len(unknown)} column(s) with unknown units: {', '.join(unknown)}",
            UnknownVariableWarning,
            stacklevel=3,
        )
    return units
