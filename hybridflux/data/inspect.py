"""What a file holds, for ``hybridflux data inspect PATH...``: format, sites, period, variables.

:func:`inspect` reads each file on its own (warnings captured, errors reported rather than
raised) and returns one :class:`FileReport` per file; :func:`format_report` renders them as text.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2008_2-3.csv"
    >>> _ = path.write_text("TIMESTAMP,TA_F,NEE_VUT_REF\\n2007,13.5,-9999\\n2008,13.1,-270\\n")
    >>> report = inspect(path)[0]
    >>> report.format, report.sites, report.time_step, report.variables[1]
    ('fluxnet', ['FR-Pue'], 'YY', VariableReport(name='NEE_VUT_REF', units='gC m-2 y-1', valid=0.5))
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.io import PathLike, expand_paths, reader_for
from hybridflux.data.readers.canonical import is_zarr_store

__all__ = ["VariableReport", "FileReport", "inspect", "format_report"]


@dataclass(frozen=True)
class VariableReport:
    """One variable of a file.

    Attributes:
        name: FLUXNET variable name.
        units: its ``units`` attribute.
        valid: fraction (0–1) of non-missing values over all sites and time steps.

    Example:
        >>> f"{VariableReport('TA_F', 'degC', 0.5).valid:.0%}"
        '50%'
    """

    name: str
    units: str
    valid: float


@dataclass
class FileReport:
    """What :func:`inspect` found in one file (or why it could not be read).

    Attributes:
        path: the file or pattern.
        format: reader name (``""`` if unknown).
        sites: site IDs.
        start: first interval start (``None`` if unread).
        end: last interval start.
        time_step: ``HH`` … ``YY``.
        n_steps: length of the time axis.
        variables: one :class:`VariableReport` per data variable.
        warnings: messages of the warnings raised while reading.
        error: the error message if the file could not be read, else ``None``.

    Example:
        >>> FileReport("x.csv", error="x.csv: the file is empty").sites
        []
    """

    path: str
    format: str = ""
    sites: list[str] = field(default_factory=list)
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    time_step: str = ""
    n_steps: int = 0
    variables: list[VariableReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def _describe(report: FileReport, ds: xr.Dataset) -> None:
    report.sites = [str(s) for s in np.atleast_1d(ds["site"].values)]
    report.start = pd.Timestamp(ds["time"].values[0])
    report.end = pd.Timestamp(ds["time"].values[-1])
    report.time_step = str(ds.attrs.get("time_step", ""))
    report.n_steps = int(ds.sizes["time"])
    report.variables = [
        VariableReport(
            str(name), str(var.attrs.get("units", "")), float(var.notnull().mean().values)
        )
        for name, var in ds.data_vars.items()
    ]


def _inspect_file(path) -> FileReport:
    report = FileReport(str(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reader = reader_for(path)
            report.format = reader.NAME
            _describe(report, reader.read(path))
        except DataError as err:
            report.error = str(err)
    report.warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    return report


def inspect(paths: PathLike | Iterable[PathLike]) -> list[FileReport]:
    """Read each file and report what it holds; errors become reports, not exceptions.

    Args:
        paths: paths and glob patterns, as for :func:`hybridflux.data.io.read`; a folder
            stands for all the files in it.

    Returns:
        One :class:`FileReport` per file (per pattern that matches nothing, one with ``error``).

    Example:
        >>> inspect("no-such-file.csv")[0].error
        'no-such-file.csv: no such file or directory'
    """
    items = [paths] if isinstance(paths, str) or not isinstance(paths, Iterable) else paths
    reports = []
    for item in _expand_folders(items):
        try:
            files = expand_paths(item)
        except DataError as err:
            reports.append(FileReport(str(item), error=str(err)))
            continue
        reports.extend(_inspect_file(path) for path in files)
    return reports


def _expand_folders(items: Iterable[PathLike]) -> list[PathLike]:
    """Folders (other than zarr stores) become their visible files, sorted."""
    out: list[PathLike] = []
    for item in items:
        path = Path(os.path.expanduser(os.fspath(item)))
        if path.is_dir() and not is_zarr_store(path):
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.name[0] != "."))
        else:
            out.append(item)
    return out


def _period(report: FileReport) -> str:
    if report.start is None:
        return ""
    return f"{report.start} .. {report.end} ({report.n_steps} steps of {report.time_step})"


def format_report(reports: Iterable[FileReport]) -> str:
    """Render reports as plain text: one block per file, a table of variables.

    Example:
        >>> report = FileReport("x.csv", "fluxnet", ["FR-Pue"], pd.Timestamp("2007-01-01"),
        ...     pd.Timestamp("2008-01-01"), "YY", 2, [VariableReport("TA_F", "degC", 1.0)])
        >>> print(format_report([report]))
        x.csv
          format: fluxnet   sites (1): FR-Pue
          period: 2007-01-01 00:00:00 .. 2008-01-01 00:00:00 (2 steps of YY)
          variable  units  valid
          TA_F      degC   100.0%
    """
    blocks = []
    for report in reports:
        lines = [report.path]
        if report.error is not None:
            lines.append(f"  ERROR: {report.error}")
        else:
            sites = ", ".join(report.sites[:10]) + (" ..." if len(report.sites) > 10 else "")
            lines.append(f"  format: {report.format}   sites ({len(report.sites)}): {sites}")
            lines.append(f"  period: {_period(report)}")
            lines.extend(_variable_table(report.variables))
        lines.extend(f"  warning: {message}" for message in report.warnings)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _variable_table(variables: list[VariableReport]) -> list[str]:
    if not variables:
        return ["  (no variables)"]
    width = max(len("variable"), *(len(v.name) for v in variables))
    unit_width = max(len("units"), *(len(v.units) for v in variables))
    rows = [f"  {'variable':<{width}}  {'units':<{unit_width}}  valid"]
    rows += [f"  {v.name:<{width}}  {v.units:<{unit_width}}  {v.valid:.1%}" for v in variables]
    return rows
