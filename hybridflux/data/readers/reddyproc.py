"""Reader for REddyProc input/output files: tab-separated text, CSV and site netCDF.

Three layouts, all half-hourly (or hourly) with the timestamp at the **end** of each interval
(REddyProc convention: ``Hour = 0.5`` is 00:00–00:30); the reader shifts to interval starts.

- text (``Example_DETha98.txt``): tab-separated, columns ``Year DoY Hour ...``, second line =
  units, old-Mac CR line ends accepted. Site ID from the file name (``DETha`` → ``DE-Tha``).
- CSV (``DERIVED_DEGebExample.csv``): comma-separated with a ``DateTime`` column
  (``YYYY-mm-dd HH:MM:SS``), no units line; site ID from the file name.
- netCDF (``Example_DE-Tha.1996.1998.hourly_selVars.nc``): the ``time`` variable has odd units
  (days since 1582-10-14) and is ignored; the ``year``/``month``/``day``/``hour`` variables
  give the timestamps. Site ID, lat/lon, elevation, IGBP and climate from the global attributes
  ``Site_ID``, ``Latitude``, ``Longitude``, ``Elevation``, ``IGBP_class``, ``Climate_class``.

Variable mapping (:data:`COLUMNS`; REddyProc unit → canonical unit):

==========  ==============  ===============
REddyProc   canonical       units
==========  ==============  ===============
NEE         NEE             umol m-2 s-1 (not gap-filled)
NEE_f       NEE_F           umol m-2 s-1 (gap-filled by REddyProc MDS)
GPP_f       GPP             umol m-2 s-1
Reco        RECO            umol m-2 s-1
LE, H       LE, H           W m-2
Rg, rg      SW_IN_F         W m-2
Tair        TA_F            degC
Tsoil       TS_F_MDS_1      degC
rH          RH              %
VPD         VPD_F           hPa (a units line stating kPa or Pa is converted)
Ustar       USTAR           m s-1
==========  ==============  ===============

Other columns (e.g. ``PolicyFlag``) are dropped.

Example:
    >>> from pathlib import Path
    >>> sniff(Path("Example_DETha98.txt"), "Year\\tDoY\\tHour\\tNEE\\r-\\t-\\t-\\tumolm-2s-1\\r")
    True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.readers._tables import (
    Column,
    end_to_start,
    finish,
    lookup_meta,
    normalise_units,
    read_table,
    rename_convert,
    site_from_name,
    year_doy_hour,
)

__all__ = ["NAME", "COLUMNS", "sniff", "read"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "reddyproc"

_FLUX = "umol m-2 s-1"
#: REddyProc column name → canonical variable (also used by the hesseflux test-file reader).
COLUMNS: dict[str, Column] = {
    "NEE": Column("NEE", _FLUX),
    "NEE_f": Column("NEE_F", _FLUX),
    "GPP_f": Column("GPP", _FLUX),
    "Reco": Column("RECO", _FLUX),
    "LE": Column("LE", "W m-2"),
    "H": Column("H", "W m-2"),
    "Rg": Column("SW_IN_F", "W m-2"),
    "rg": Column("SW_IN_F", "W m-2"),
    "Tair": Column("TA_F", "degC"),
    "Tsoil": Column("TS_F_MDS_1", "degC"),
    "rH": Column("RH", "%"),
    "VPD": Column("VPD_F", "hPa", source_units="hPa"),
    "Ustar": Column("USTAR", "m s-1"),
}
_NC_TIME = ("year", "month", "day", "hour")


def _first_line(head: str) -> list[str]:
    line = head.replace("\r", "\n").split("\n", 1)[0]
    return line.split("\t") if "\t" in line else line.split(",")


def sniff(path: Path, head: str) -> bool:
    """Whether ``path`` is a REddyProc text, CSV or netCDF file (never raises).

    Text: header starts ``Year, DoY, Hour``; CSV: header starts ``DateTime`` and has a REddyProc
    variable; netCDF: a ``.nc`` file with ``year``/``month``/``day``/``hour`` variables.

    Example:
        >>> sniff(Path("x.csv"), "DateTime,NEE,Ustar,Tair,rH,Rg\\n")
        True
    """
    try:
        path = Path(path)
        if path.suffix == ".nc":
            return _is_reddyproc_nc(path)
        cols = _first_line(head)
        if cols[:3] == ["Year", "DoY", "Hour"]:
            return True
        return cols[0] == "DateTime" and bool(set(cols[1:]) & set(COLUMNS))
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def _is_reddyproc_nc(path: Path) -> bool:
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        return set(_NC_TIME) <= set(nc.variables) and "site" not in nc.dimensions


def read(path: Path) -> xr.Dataset:
    """Read a REddyProc text, CSV or netCDF file into the canonical Dataset.

    Args:
        path: the file.

    Returns:
        One-site canonical Dataset (``time_step`` HH or HR, times = interval starts).

    Raises:
        DataError: no site ID in the file name / attributes, bad numbers or timestamps.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "Example_DETha98.txt"
        >>> _ = p.write_text("Year\\tDoY\\tHour\\tTair\\r-\\t-\\t-\\tdegC\\r"
        ...                  "1998\\t1\\t0.5\\t7.4\\r1998\\t1\\t1\\t7.5\\r")
        >>> ds = read(p)
        >>> str(ds.site.values[0]), str(ds.time.values[0])[:16], float(ds.TA_F[0, 0])
        ('DE-Tha', '1998-01-01T00:00', 7.4)
    """
    path = Path(path)
    if path.suffix == ".nc":
        return _read_nc(path)
    site = site_from_name(path)
    if site is None:
        raise DataError(path, "no site ID (like DE-Tha or DETha) in the file name; rename it")
    with open(path, "rb") as handle:
        first = handle.read(4096).decode("latin-1")
    if _first_line(first)[:3] == ["Year", "DoY", "Hour"]:
        raw = read_table(path, sep="\t", units_line=True)
        end = _year_doy_hour(raw, path)
        first_line = 3
    else:
        raw = read_table(path, text_columns=("DateTime",))
        end = pd.to_datetime(raw["DateTime"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
        first_line = 2
    frame, units = rename_convert(raw, COLUMNS, path, first_line=first_line)
    start, step = end_to_start(pd.DatetimeIndex(end), path, first_line=first_line)
    frame.index = start
    return finish(
        frame, units, site=site, time_step=step, source_format=NAME, path=path,
        first_line=first_line,
    )  # fmt: skip


def _year_doy_hour(raw: pd.DataFrame, path) -> pd.DatetimeIndex:
    time_columns = {k: Column(k, "1") for k in ("Year", "DoY", "Hour")}
    parts = rename_convert(raw, time_columns, path, first_line=3)[0]
    if len(parts.columns) < 3:
        raise DataError(path, "time columns Year, DoY, Hour not all found")
    return year_doy_hour(parts["Year"], parts["DoY"], parts["Hour"])


def _read_nc(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, decode_times=False, mask_and_scale=True) as nc:
        nc = nc.load()
    flat = {
        name: np.asarray(var.values, dtype=np.float64).reshape(-1)
        for name, var in nc.data_vars.items()
        if "time" in var.dims
    }
    raw = pd.DataFrame(flat)
    raw.attrs["units"] = {
        name: unit
        for name in flat
        if (unit := normalise_units(nc[name].attrs.get("units", ""))) is not None
    }
    date = pd.to_datetime(
        {"year": raw["year"], "month": raw["month"], "day": raw["day"]}, errors="coerce"
    )
    end = pd.DatetimeIndex(date + pd.to_timedelta(raw["hour"], unit="h"))
    frame, units = rename_convert(raw, COLUMNS, path)
    frame.index, step = end_to_start(end, path)
    site = str(nc.attrs.get("Site_ID", "")) or site_from_name(path)
    if not site:
        raise DataError(path, "no global attribute Site_ID and no site ID in the file name")
    meta = lookup_meta(
        site,
        lat=_attr_float(nc, "Latitude"),
        lon=_attr_float(nc, "Longitude"),
        elevation=_attr_float(nc, "Elevation"),
        igbp=str(nc.attrs.get("IGBP_class", "")),
        climate=str(nc.attrs.get("Climate_class", "")),
    )
    return finish(frame, units, site=site, time_step=step, source_format=NAME, path=path, meta=meta)


def _attr_float(nc: xr.Dataset, key: str) -> float:
    try:
        return float(nc.attrs[key])
    except (KeyError, TypeError, ValueError):
        return float("nan")
