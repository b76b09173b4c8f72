"""Reader for the hesseflux files: ICOS europe-fluxdata exports and two test tables.

hesseflux (a Python package for eddy-covariance post-processing) reads half-hourly exports of
the ICOS/European Fluxes Database and ships two REddyProc-like test tables.

**europe-fluxdata export** (``FR-Hes_europe-fluxdata_2016.txt.gz``, raw ICOS data of FR-Hes):
comma-separated, first column ``TIMESTAMP_END`` (``YYYYMMDDHHMM``, interval **end**), ``-9999``
missing, names ``<VAR>_<H>_<V>_<R>`` as in ``europe-fluxdata_units.csv`` (that file is the units
table of the format, not data). The data are **not gap-filled** and keep their ICOS names:
the position suffix ``_1_1_1`` is dropped (``TA_1_1_1`` → ``TA``), other positions are kept
(``TS_6_2_1``); ``<VAR>_SSITC_TEST`` flags (0 best … 2 worst) become ``<VAR>_QC`` (units
``1``); filled variables ``<VAR>_f`` become ``<VAR>_F``. Units are those of the format
(``TA`` degC, ``PA`` kPa, ``VPD_PI`` hPa, ``P`` mm, ``FC``/``NEE_PI``/``SC`` umol m-2 s-1,
``CO2`` umol mol-1, radiation W m-2, ``PPFD_*`` umol m-2 s-1, ``SWC``/``RH`` %; see
:data:`EXTRA_UNITS` for names outside FLUXNET's list). Variables with units outside the
vocabulary are dropped: ``TAU``, ``ZL``, ``FETCH_*``, ``WD``, non-CO2 trace-gas fluxes
(``FCH4`` nmol m-2 s-1, ...). Site ID from the file name.

**hesseflux test tables** (REddyProc-like, second line = units, ``-9999`` missing):

- ``test_gapfill.csv`` — tab-separated ``Day Hour NEE qcNEE LE qcLE H qcH Rg Tair Tsoil rH VPD
  Ustar``, interval **end**, no year: the values are those of REddyProc's
  ``Example_DETha98.txt``, so site DE-Tha, year 1998.
- ``test_nee2gpp.csv`` — ``Day,Month,Year,Hour,Minute,NEE,rg,Tair,VPD,GPP_f,Reco``, timestamps
  at the interval **middle** (hh:15, hh:45). No site in the file; its monthly mean ``Tair`` of
  2006 equals FLUXNET2015 ``FR-LBr`` ``TA_F`` (within 0.01 degC), so site FR-LBr.

Columns are mapped as in :data:`hybridflux.data.readers.reddyproc.COLUMNS`; the ``qcNEE``-type
flags (1 valid, 2 missing — the same as the ``NaN`` pattern) are dropped.

Example:
    >>> from pathlib import Path
    >>> sniff(Path("FR-Hes_europe-fluxdata_2016.txt.gz"), "TIMESTAMP_END,TAU_1_1_1\\n")
    True
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.readers._tables import (
    Column,
    end_to_start,
    finish,
    read_table,
    rename_convert,
    site_from_name,
    year_doy_hour,
)
from hybridflux.data.readers.reddyproc import COLUMNS as REDDYPROC_COLUMNS
from hybridflux.data.units import fluxnet_units

__all__ = ["NAME", "EXTRA_UNITS", "TEST_FILES", "sniff", "read", "europe_fluxdata_columns"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "hesseflux"

#: Units of europe-fluxdata names that ``hybridflux.data.units.fluxnet_units`` does not know.
EXTRA_UNITS: dict[str, str] = {
    "T_SONIC": "degC",
    "T_CANOPY": "degC",
    "U_SIGMA": "m s-1",
    "V_SIGMA": "m s-1",
    "W_SIGMA": "m s-1",
    "WS_MAX": "m s-1",
    "ALB": "%",
    "APAR": "umol m-2 s-1",
    "SH": "W m-2",
    "SLE": "W m-2",
    "SB": "W m-2",
    "SG": "W m-2",
}
_NOT_CO2 = ("FCH4", "FN2O", "FNO", "FO3", "SCH4")

#: hesseflux test tables: file name → (site, year used when the file has none).
TEST_FILES: dict[str, tuple[str, int | None]] = {
    "test_gapfill.csv": ("DE-Tha", 1998),
    "test_nee2gpp.csv": ("FR-LBr", None),
}
_POSITION = re.compile(r"^(?P<base>.+?)(?P<pos>_\d+_\d+_\d+)$")


def sniff(path: Path, head: str) -> bool:
    """Whether the file is a europe-fluxdata export or a hesseflux test table (never raises).

    Example:
        >>> sniff(Path("test_gapfill.csv"), "Day\\tHour\\tNEE\\tqcNEE\\n")
        True
    """
    try:
        path = Path(path)
        cols = re.split(r"[,\t;]", head.splitlines()[0]) if head else []
        if cols and cols[0] == "TIMESTAMP_END" and "TIMESTAMP_START" not in cols:
            return True
        layout = cols[:2] == ["Day", "Hour"] or cols[:3] == ["Day", "Month", "Year"]
        return path.name in TEST_FILES and layout
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def europe_fluxdata_columns(names) -> dict[str, Column]:
    """Canonical :class:`Column` of each europe-fluxdata column name with known units.

    Example:
        >>> cols = europe_fluxdata_columns(["TA_1_1_1", "TS_6_2_1", "FC_SSITC_TEST_1_1_1",
        ...                                 "FC_1_1_1", "WD_1_1_1", "TAU_SSITC_TEST_1_1_1"])
        >>> {k: (c.target, c.units) for k, c in cols.items()}  # doctest: +NORMALIZE_WHITESPACE
        {'TA_1_1_1': ('TA', 'degC'), 'TS_6_2_1': ('TS_6_2_1', 'degC'),
         'FC_1_1_1': ('FC', 'umol m-2 s-1'), 'FC_SSITC_TEST_1_1_1': ('FC_QC', '1')}
    """
    out, flags = {}, {}
    for name in names:
        match = _POSITION.match(name)
        base, pos = (match["base"], match["pos"]) if match else (name, "")
        pos = "" if pos == "_1_1_1" else pos
        if base.endswith("_SSITC_TEST"):
            flags[name] = base.removesuffix("_SSITC_TEST") + pos
            continue
        if base.upper().startswith(_NOT_CO2):
            continue
        stem = base.removesuffix("_f")
        units = EXTRA_UNITS.get(stem) or fluxnet_units(stem, "HH")
        if units is not None:
            out[name] = Column(stem + ("_F" if base.endswith("_f") else "") + pos, units)
    kept = {col.target for col in out.values()}
    out.update({name: Column(f"{var}_QC", "1") for name, var in flags.items() if var in kept})
    return out


def read(path: Path) -> xr.Dataset:
    """Read a europe-fluxdata export or a hesseflux test table into the canonical Dataset.

    Args:
        path: the file (gzip allowed).

    Returns:
        One-site canonical half-hourly Dataset (interval starts).

    Raises:
        DataError: unknown site, bad numbers or timestamps.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "FR-Hes_europe-fluxdata_2016.txt"
        >>> _ = p.write_text("TIMESTAMP_END,TA_1_1_1,PA_1_1_1\\n"
        ...                  "201601010030,5.78,98.68\\n201601010100,-9999,98.67\\n")
        >>> ds = read(p)
        >>> str(ds.time.values[0])[:16], float(ds.TA[0, 0]), ds.PA.attrs["units"]
        ('2016-01-01T00:00', 5.78, 'kPa')
    """
    path = Path(path)
    if path.name in TEST_FILES:
        return _read_test_file(path)
    site = site_from_name(path)
    if site is None:
        raise DataError(path, "no site ID (like FR-Hes) in the file name; rename the file")
    raw = read_table(path, text_columns=("TIMESTAMP_END",))
    frame, units = rename_convert(raw, europe_fluxdata_columns(raw.columns), path)
    end = pd.to_datetime(raw["TIMESTAMP_END"], format="%Y%m%d%H%M", errors="coerce")
    frame.index, step = end_to_start(pd.DatetimeIndex(end), path)
    return finish(frame, units, site=site, time_step=step, source_format=NAME, path=path)


def _read_test_file(path: Path) -> xr.Dataset:
    site, year = TEST_FILES[path.name]
    with open(path, "rb") as handle:
        tab = b"\t" in handle.readline()
    raw = read_table(path, sep="\t" if tab else ",", units_line=True)
    frame, units = rename_convert(raw, REDDYPROC_COLUMNS, path, first_line=3)
    parts = {c: Column(c, "1") for c in ("Day", "Month", "Year", "Hour", "Minute")}
    when = rename_convert(raw, parts, path, first_line=3)[0]
    if "Year" in when:  # test_nee2gpp: day, month, year, hour, minute at mid-interval
        mid = pd.to_datetime(
            {k.lower(): when[k] for k in ("Year", "Month", "Day", "Hour", "Minute")},
            errors="coerce",
        )
        frame.index = pd.DatetimeIndex(mid) - pd.Timedelta(minutes=15)
        step = "HH"
    else:  # test_gapfill: day of year and hour at interval end, year not in the file
        end = year_doy_hour([year] * len(when), when["Day"], when["Hour"])
        frame.index, step = end_to_start(end, path, first_line=3)
    return finish(
        frame, units, site=site, time_step=step, source_format=NAME, path=path, first_line=3
    )
