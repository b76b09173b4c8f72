"""Reader of AmeriFlux BASE half-hourly/hourly files (``AMF_<SITE>_BASE_<HH|HR>_<VER>.csv[.gz]``).

BASE files start with ``#`` metadata lines (``# Site: US-Tw3``, ``# Version: 5-5``), then a
header with ``TIMESTAMP_START,TIMESTAMP_END,...`` (``YYYYMMDDHHMM``, local standard time);
``-9999`` is missing. They are not gap-filled. Variable names carry position qualifiers
``_<H>_<V>_<R>``: the first position ``_1_1_1`` is dropped (``SWC_1_1_1 → SWC``), the others
kept (``TS_1_2_1``). ``FC`` is the CO2 flux (umol m-2 s-1, positive upward, like NEE but without
storage); ``*_SSITC_TEST`` are flags (``"1"``). Units follow the AmeriFlux variable list; columns
with units outside the vocabulary (``_IU`` instrument units) are left out with a warning.

Example:
    >>> position_name("TS_1_1_1"), position_name("TS_1_2_1")
    ('TS', 'TS_1_2_1')
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.metadata import site_meta
from hybridflux.data.readers import _common
from hybridflux.data.schema import site_dataset
from hybridflux.data.units import fluxnet_units

__all__ = ["NAME", "sniff", "read", "position_name", "base_unit"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "ameriflux_base"

_FILE_NAME = re.compile(
    r"^AMF_(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})_BASE_(?P<step>HH|HR)_.*\.csv(?:\.gz)?$"
)
_SITE_LINE = re.compile(r"^#\s*Site:\s*(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})", re.MULTILINE)
_POSITION = re.compile(r"^(?P<var>.+?)_(?P<pos>\d+_\d+_\d+)$")
_TIMESTAMPS = ("TIMESTAMP_START", "TIMESTAMP_END")
#: AmeriFlux BASE variables that ``fluxnet_units`` does not know (AmeriFlux variable list).
_BASE_UNITS = {
    "H2O": "mmol mol-1",
    "CH4": "nmol mol-1",
    "FCH4": "nmol m-2 s-1",
    "SCH4": "nmol m-2 s-1",
    "WD": "degree",
    "ZL": "1",
    "MO_LENGTH": "m",
    "TAU": "kg m-1 s-2",
    "T_SONIC": "degC",
    "T_SONIC_SIGMA": "degC",
    "T_CANOPY": "degC",
    "U_SIGMA": "m s-1",
    "V_SIGMA": "m s-1",
    "W_SIGMA": "m s-1",
    "WTD": "m",
    "ALB": "%",
    "PBLH": "m",
    "FETCH_MAX": "m",
    "FETCH_70": "m",
    "FETCH_80": "m",
    "FETCH_90": "m",
}
_STEP_MINUTES = {30: "HH", 60: "HR"}
#: Name qualifiers of the AmeriFlux variable list (PI-provided, gap-filled, QC, SD, count, ...).
_QUALIFIERS = frozenset({"PI", "F", "SD", "N", "QC", "IU", "SSITC", "TEST"})


def position_name(name: str) -> str:
    """Drop the position qualifier ``_1_1_1`` (first position); keep any other.

    Example:
        >>> position_name("TA_PI_F_1_1_1"), position_name("FC")
        ('TA_PI_F', 'FC')
    """
    match = _POSITION.match(name)
    return match["var"] if match and match["pos"] == "1_1_1" else name


def base_unit(name: str, time_step: str = "HH") -> str | None:
    """Unit of an AmeriFlux BASE variable (qualifiers ``_PI``, ``_F``, ``_SD``, positions ignored).

    Example:
        >>> base_unit("FC"), base_unit("FC_SSITC_TEST"), base_unit("CH4"), base_unit("TS_1_2_1")
        ('umol m-2 s-1', '1', 'nmol mol-1', 'degC')
        >>> base_unit("FETCH_70_1_1_1"), base_unit("TA_PI_F_1_1_1"), base_unit("SWC_1")
        ('m', 'degC', '%')
    """
    tokens, flags = name.split("_"), set()
    while len(tokens) > 1 and (tokens[-1].isdigit() or tokens[-1] in _QUALIFIERS):
        if "_".join(tokens) in _BASE_UNITS:
            break
        flags.add(tokens.pop())
    stem = "_".join(tokens)
    if flags & {"QC", "TEST", "N"}:
        return "1"
    if "IU" in flags:
        return None
    if stem in _BASE_UNITS:
        return _BASE_UNITS[stem]
    return fluxnet_units(stem, time_step)


def sniff(path: Path, head: str) -> bool:
    """Whether the file is AmeriFlux BASE: by name, or a ``# Site:`` line and TIMESTAMP_START.

    Example:
        >>> sniff(Path("AMF_US-CRT_BASE_HH_2-5.csv"), "")
        True
        >>> sniff(Path("data.csv"), "# Site: US-CRT\\n# Version: 2-5\\nTIMESTAMP_START,FC\\n")
        True
    """
    if _FILE_NAME.match(Path(path).name):
        return True
    return (
        head.lstrip().startswith("#")
        and bool(_SITE_LINE.search(head))
        and ("TIMESTAMP_START" in head)
    )


def _site(path: Path) -> str:
    match = _FILE_NAME.match(path.name) or _SITE_LINE.search(_common.read_head(path))
    if match is None:
        raise DataError(path, "no site ID: neither AMF_<SITE>_BASE_... name nor '# Site:' line")
    return match["site"]


def _time_step(path: Path, times: pd.DatetimeIndex) -> str:
    match = _FILE_NAME.match(path.name)
    if match:
        return match["step"]
    minutes = np.median(np.diff(times.asi8)) / 6e10 if len(times) > 1 else np.nan
    if minutes not in _STEP_MINUTES:
        raise DataError(path, f"cannot tell the time step: median spacing {minutes} min")
    return _STEP_MINUTES[minutes]


def _rename_positions(columns) -> dict[str, str]:
    taken = set(columns)
    renames = {}
    for name in columns:
        new = position_name(name)
        if new != name and new not in taken:
            renames[name] = new
            taken.add(new)
    return renames


def read(path: Path) -> xr.Dataset:
    """Read an AmeriFlux BASE file (plain or gzip) into the canonical Dataset.

    Args:
        path: ``AMF_<SITE>_BASE_<HH|HR>_<VERSION>.csv`` or ``.csv.gz`` (or any name with a
            ``# Site:`` line).

    Returns:
        One-site Dataset, time = TIMESTAMP_START, site metadata from the bundled table.

    Raises:
        DataError: bad content (see ``readers._common``), no site ID, unknown time step.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "AMF_US-CRT_BASE_HH_2-5.csv"
        >>> _ = path.write_text("# Site: US-CRT\\n# Version: 2-5\\n"
        ...     "TIMESTAMP_START,TIMESTAMP_END,FC,TS_1_1_1\\n"
        ...     "201101010000,201101010030,-9999,3.47\\n201101010030,201101010100,1.5,3.61\\n")
        >>> ds = read(path)
        >>> ds["FC"].attrs["units"], float(ds["TS"][0, 0]), str(ds.igbp.values[0])
        ('umol m-2 s-1', 3.47, 'CRO')
    """
    path = Path(path)
    site = _site(path)
    table = _common.read_table(path, comment="#", text_columns=_TIMESTAMPS)
    if "TIMESTAMP_START" not in table.frame.columns:
        raise DataError(path, "no TIMESTAMP_START column (AmeriFlux BASE files start with it)")
    times, _ = _common.parse_timestamps(table, "TIMESTAMP_START")
    _common.check_unique(times, table)
    step = _time_step(path, times)
    frame = table.frame.drop(columns=[c for c in _TIMESTAMPS if c in table.frame.columns])
    frame.index = times
    frame = frame.rename(columns=_rename_positions(frame.columns))
    units = _common.column_units(frame.columns, str(path), lambda name: base_unit(name, step))
    return site_dataset(
        frame[list(units)],
        site,
        time_step=step,
        units=units,
        source_format=NAME,
        source_file=str(path),
        meta=site_meta(site),
    )
