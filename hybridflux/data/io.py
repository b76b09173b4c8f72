"""Read flux files of any supported format into one canonical Dataset.

:func:`read` expands paths and glob patterns, finds the reader of each file
(:func:`detect_format`, trying ``hybridflux.data.readers.READERS`` in order), reads the files
(many files of one reader at once where it offers ``read_many``) and combines the sites with
:func:`hybridflux.data.schema.combine_sites`. Files of different time steps are not mixed.

Example:
    >>> import pandas as pd, tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> for site in ("FR-Pue", "CH-Lae"):
    ...     _ = (d / f"FLX_{site}_FLUXNET2015_FULLSET_YY_2007-2008_2-3.csv").write_text(
    ...         "TIMESTAMP,TA_F,NEE_VUT_REF\\n2007,9.5,-9999\\n2008,9.1,-270\\n")
    >>> ds = read(d / "FLX_*_YY_*.csv", require=["TA_F"])
    >>> ds.site.values.tolist(), ds.attrs["time_step"], detect_format(next(d.iterdir()))
    (['CH-Lae', 'FR-Pue'], 'YY', 'fluxnet')
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.readers import _common, reader_modules
from hybridflux.data.readers.canonical import is_zarr_store
from hybridflux.data.schema import TIME_STEPS, combine_sites

__all__ = ["read", "detect_format", "expand_paths", "reader_for"]

PathLike = str | os.PathLike
_GLOB_CHARS = set("*?[")


def expand_paths(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    """Expand paths and glob patterns (sorted matches) into a list of existing paths.

    Args:
        paths: a path, a glob pattern (``"data/FLX_*_DD_*.csv"``), or a list of them.

    Returns:
        Paths in the given order, each once.

    Raises:
        DataError: no paths given, a missing path, a pattern matching nothing, or a directory
            that is not a zarr store.

    Example:
        >>> try:
        ...     expand_paths("no/such/*.csv")
        ... except DataError as err:
        ...     print(err)
        no/such/*.csv: no file matches this pattern
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise DataError("<no paths>", "no files given")
    out: dict[Path, None] = {}
    for item in items:
        text = os.path.expanduser(os.fspath(item))
        if _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise DataError(text, "no file matches this pattern")
            out.update(dict.fromkeys(Path(m) for m in matches))
            continue
        path = Path(text)
        if not path.exists():
            raise DataError(path, "no such file or directory")
        if path.is_dir() and not is_zarr_store(path):
            raise DataError(path, "is a directory; pass the files, e.g. a glob like 'DIR/*.csv'")
        out[path] = None
    return list(out)


def reader_for(path: Path) -> ModuleType:
    """The reader module of a file: the first of ``READERS`` whose ``sniff`` accepts it.

    Raises:
        DataError: missing or empty file, a zip archive, binary data that no reader takes, or an
            unrecognised text format (the message shows the first line and the known formats).

    Example:
        >>> from pathlib import Path
        >>> reader_for(Path("FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-3.csv")).NAME
        'fluxnet'
    """
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(path, "the file is empty")
    if path.suffix.lower() == ".zip":
        raise DataError(path, "a zip archive: extract it and read the CSV files inside")
    head = _common.read_head(path)
    readers = reader_modules()
    for reader in readers:
        try:
            if reader.sniff(path, head):
                return reader
        except Exception:  # noqa: BLE001, S112 - a faulty sniff must not hide the others
            continue
    known = ", ".join(reader.NAME for reader in readers)
    if head == "" and path.is_file():
        raise DataError(
            path, f"binary data that no reader recognises (corrupt file?); known formats: {known}"
        )
    first = head.splitlines()[0][:120] if head else ""
    raise DataError(path, f"unrecognised format (first line: {first!r}); known formats: {known}")


def detect_format(path: PathLike) -> str:
    """Name of the format of a file (the ``NAME`` of its reader).

    Example:
        >>> detect_format("AMF_US-CRT_BASE_HH_2-5.csv")
        'ameriflux_base'
    """
    return reader_for(Path(path)).NAME


def _read_group(reader: ModuleType, paths: list[Path]) -> list[tuple[xr.Dataset, list[Path]]]:
    if len(paths) > 1 and hasattr(reader, "read_many"):
        return [(reader.read_many(paths), paths)]
    return [(reader.read(path), [path]) for path in paths]


def _check_steps(results: Sequence[tuple[xr.Dataset, list[Path]]], time_step: str | None):
    first, first_paths = results[0]
    wanted = time_step or first.attrs["time_step"]
    for ds, paths in results:
        step = ds.attrs["time_step"]
        if step == wanted:
            continue
        than = "the requested" if time_step else f"that of {_short_paths(first_paths)}"
        raise DataError(
            _short_paths(paths),
            f"time step {step} differs from {wanted}, {than}; aggregate the files to one time "
            "step first (hybridflux.data.aggregate) or read them separately",
        )


def _short_paths(paths: Sequence[Path]) -> str:
    return _short("\n".join(map(str, paths)))


def _short(files: str, limit: int = 3) -> str:
    names = files.split("\n")
    more = f" and {len(names) - limit} more files" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _site_files(ds: xr.Dataset, paths: list[Path]) -> dict[str, str]:
    """Site → the file(s) it was read from (by site ID in the file name for multi-file reads)."""
    out = {}
    for site in np.atleast_1d(ds.site.values).tolist():
        own = [str(p) for p in paths if len(paths) == 1 or site in p.name]
        out[site] = ", ".join(own) if own else _short_paths(paths)
    return out


def _check_required(ds: xr.Dataset, require: Iterable[str], files: dict[str, str]) -> None:
    for name in require:
        if name not in ds.data_vars:
            raise DataError(
                _short("\n".join(dict.fromkeys(files.values()))),
                "required variable is not in the files",
                variable=name,
            )
        valid = ds[name].notnull().any("time").values
        empty = [site for site, ok in zip(ds.site.values.tolist(), valid, strict=True) if not ok]
        if empty:
            where = ", ".join(dict.fromkeys(files[site] for site in empty))
            raise DataError(
                where,
                f"required variable is entirely missing (all -9999/NaN) at site(s) {empty}",
                variable=name,
            )


def read(
    paths: PathLike | Iterable[PathLike],
    *,
    time_step: str | None = None,
    require: Iterable[str] = (),
) -> xr.Dataset:
    """Read flux files (any supported format, one or many sites) into one canonical Dataset.

    Args:
        paths: path, glob pattern or a list of them; files and zarr stores.
        time_step: the time step every file must have (``"HH"``, ``"DD"``, ``"MM"``, ...);
            ``None``: whatever the first file has, and all others the same.
        require: variables that must have data at every site (e.g. ``["NEE_VUT_REF"]``).

    Returns:
        Canonical Dataset (docs/design/0002): dims ``(site, time)``, FLUXNET names, units.

    Raises:
        DataError: a missing path or empty glob, an unreadable/bad file (naming file, variable
            and row), files of different time steps, a required variable missing or all-NaN at
            a site, the same site in two files.

    Example:
        >>> try:
        ...     read("nothing-here-*.csv")
        ... except DataError as err:
        ...     print(err.message)
        no file matches this pattern
    """
    if time_step is not None and time_step not in TIME_STEPS:
        raise ValueError(f"time_step={time_step!r}; expected one of {TIME_STEPS}")
    files = expand_paths(paths)
    groups: dict[ModuleType, list[Path]] = {}
    for path in files:
        groups.setdefault(reader_for(path), []).append(path)
    results = [item for reader, group in groups.items() for item in _read_group(reader, group)]
    results.sort(key=lambda item: files.index(item[1][0]))
    datasets = [ds for ds, _ in results]
    _check_steps(results, time_step)
    site_files = {}
    for ds, paths_read in results:
        site_files.update(_site_files(ds, paths_read))
    ds = combine_sites(datasets)
    _check_required(ds, require, site_files)
    return ds
