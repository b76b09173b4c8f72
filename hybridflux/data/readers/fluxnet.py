"""Reader of FLUXNET-format files: FLUXNET2015, AmeriFlux FLUXNET, FluxDataKit and PLUMBER.

Files are recognised by their name, ``<FLX|AMF>_<SITE>_<PRODUCT>_[<SET>_]<STEP>_...csv``
(PRODUCT ``FLUXNET2015``, ``FLUXNET``, ``FLUXNET-CH4``, ``FLUXDATAKIT`` or ``PLUMBER``; SET
``FULLSET``, ``SUBSET``, ``ERAI``, ``ERA5``; STEP ``HH``, ``HR``, ``DD``, ``WW``, ``MM``, ``YY``),
which gives the site ID and time step; lat/lon/elevation/IGBP/climate come from the bundled
FLUXNET2015 site table. Time is the interval start (``TIMESTAMP_START``, or the day/month/year
named by ``TIMESTAMP``); ``-9999`` and ``NA`` are missing; units are the FLUXNET2015 ones.

FluxDataKit/PLUMBER files differ from FLUXNET2015 in two ways that the reader undoes:

- met names carry ``_MDS``: ``TA_F_MDS → TA_F``, ``SW_IN_F_MDS → SW_IN_F``, ``LW_IN_F_MDS →
  LW_IN_F``, ``VPD_F_MDS → VPD_F``, ``TMIN_F_MDS → TMIN_F``, ``TMAX_F_MDS → TMAX_F``,
  ``TA_DAY_F_MDS → TA_F_DAY``, ``VPD_DAY_F_MDS → VPD_F_DAY`` (and their ``_QC``);
- daily carbon fluxes are means of the half-hourly rates in umol m-2 s-1 (FluxDataKit
  ``fdk_downsample_fluxnet``), converted here to the FLUXNET DD unit gC m-2 d-1 (× 1.0377504).
  Checked on FR-Pue: monthly means of the FluxDataKit DD GPP_NT_VUT_REF × 1.0377504 equal the
  FLUXNET2015 MM values to 1e-4.

Example:
    >>> from pathlib import Path
    >>> parse_file_name(Path("FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-3.csv"))
    FluxnetName(site='FR-Pue', product='FLUXNET2015', subset='FULLSET', time_step='MM')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.metadata import site_meta
from hybridflux.data.readers import _common
from hybridflux.data.schema import STEP_FREQUENCY, site_dataset
from hybridflux.data.units import convert, fluxnet_units, is_carbon_flux

__all__ = ["NAME", "FluxnetName", "parse_file_name", "sniff", "read", "fluxnet_unit"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "fluxnet"

_FILE_NAME = re.compile(
    r"^(?:FLX|AMF)_(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})_"
    r"(?P<product>FLUXNET2015|FLUXNET-CH4|FLUXNET|FLUXDATAKIT|PLUMBER)_"
    r"(?:(?P<subset>FULLSET|SUBSET|ERAI|ERA5)_)?(?P<step>HH|HR|DD|WW|MM|YY)_"
    r".*\.(?:csv|txt)(?:\.gz)?$"
)
_FLUXDATAKIT = ("FLUXDATAKIT", "PLUMBER")
_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_START", "TIMESTAMP_END")
#: FluxDataKit helper columns (calendar and gap-filling aids), not variables.
_FDK_AUX = ("doy", "WS_F_meandoy")
_FDK_RENAME = {
    "TA_F_MDS": "TA_F",
    "SW_IN_F_MDS": "SW_IN_F",
    "LW_IN_F_MDS": "LW_IN_F",
    "VPD_F_MDS": "VPD_F",
    "TMIN_F_MDS": "TMIN_F",
    "TMAX_F_MDS": "TMAX_F",
    "TA_DAY_F_MDS": "TA_F_DAY",
    "VPD_DAY_F_MDS": "VPD_F_DAY",
    "TA_DAY_F_QC": "TA_F_DAY_QC",
}
#: FLUXNET2015 counts, flags and method codes (dimensionless).
_DIMENSIONLESS = ("NIGHT", "DAY", "NIGHT_D", "DAY_D", "EBC_CF_METHOD")


@dataclass(frozen=True)
class FluxnetName:
    """What a FLUXNET file name says.

    Attributes:
        site: FLUXNET site ID.
        product: ``FLUXNET2015``, ``FLUXNET``, ``FLUXNET-CH4``, ``FLUXDATAKIT`` or ``PLUMBER``.
        subset: ``FULLSET``, ``SUBSET``, ``ERAI``, ``ERA5`` or ``""``.
        time_step: ``HH``, ``HR``, ``DD``, ``WW``, ``MM`` or ``YY``.

    Example:
        >>> FluxnetName("FR-Pue", "FLUXNET2015", "FULLSET", "MM").time_step
        'MM'
    """

    site: str
    product: str
    subset: str
    time_step: str


def parse_file_name(path: Path) -> FluxnetName | None:
    """Site, product, subset and time step from a FLUXNET file name; ``None`` if it is not one.

    Example:
        >>> parse_file_name(Path("FLX_CH-Lae_FLUXDATAKIT_FULLSET_DD_2004_2014_2-3.csv")).product
        'FLUXDATAKIT'
        >>> parse_file_name(Path("FLX_AA-Flx_BIF_LATEST.csv")) is None
        True
    """
    match = _FILE_NAME.match(Path(path).name)
    if match is None:
        return None
    return FluxnetName(
        site=match["site"],
        product=match["product"],
        subset=match["subset"] or "",
        time_step=match["step"],
    )


def sniff(path: Path, head: str) -> bool:
    """Whether ``path`` is named like a FLUXNET file (the content is checked by :func:`read`).

    Example:
        >>> sniff(Path("FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2014_2-3.csv"), "")
        True
    """
    return parse_file_name(Path(path)) is not None


def fluxnet_unit(name: str, time_step: str) -> str | None:
    """Unit of a FLUXNET variable at a time step, including counts and flags (``"1"``).

    Example:
        >>> fluxnet_unit("NIGHT_RANDUNC_N", "MM"), fluxnet_unit("GPP_NT_VUT_REF", "YY")
        ('1', 'gC m-2 y-1')
    """
    if name in _DIMENSIONLESS or name.endswith(("_N", "_QC", "_METHOD")):
        return "1"
    if name.startswith("FCH4"):
        return "nmol m-2 s-1" if time_step in ("HH", "HR") else None
    return fluxnet_units(name, time_step)


def _interval_starts(table: _common.Table, time_step: str) -> pd.DatetimeIndex:
    """Interval starts from ``TIMESTAMP_START``, ``TIMESTAMP`` or ``TIMESTAMP_END`` (in that order).

    ``TIMESTAMP`` (DD/MM/YY files) names the period, so its start is the day/month/year start;
    ``TIMESTAMP_END`` alone is shifted back by one ``time_step``. Duplicates raise.

    Raises:
        DataError: no timestamp column, or a bad/duplicated timestamp (naming the row).
    """
    for column in ("TIMESTAMP_START", "TIMESTAMP", "TIMESTAMP_END"):
        if column in table.frame.columns:
            times, _ = _common.parse_timestamps(table, column)
            if column == "TIMESTAMP_END":
                times = times - pd.tseries.frequencies.to_offset(STEP_FREQUENCY[time_step])
            _common.check_unique(times, table)
            return times
    shown = ", ".join(list(table.frame.columns)[:8])
    raise DataError(
        table.path,
        f"no timestamp column (TIMESTAMP, TIMESTAMP_START or TIMESTAMP_END); "
        f"the header starts with: {shown}",
    )


def _from_fluxdatakit(frame: pd.DataFrame, time_step: str) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in _FDK_AUX if c in frame.columns])
    renames = {}
    for old in frame.columns:
        new = _FDK_RENAME.get(old)
        if new is None and old.endswith("_QC"):
            new = _FDK_RENAME.get(old[: -len("_QC")])
            new = new and f"{new}_QC"
        if new and new not in frame.columns:
            renames[old] = new
    frame = frame.rename(columns=renames)
    if time_step not in ("HH", "HR"):
        for name in frame.columns:
            if is_carbon_flux(name):
                target = fluxnet_units(name, time_step)
                frame[name] = convert(frame[name].to_numpy(), "umol m-2 s-1", target)
    return frame


def read(path: Path) -> xr.Dataset:
    """Read a FLUXNET-format file into the canonical Dataset.

    Args:
        path: a file named ``<FLX|AMF>_<SITE>_<PRODUCT>_[<SET>_]<STEP>_...csv`` (or ``.gz``).

    Returns:
        One-site canonical Dataset (time = interval start, FLUXNET names and units).

    Raises:
        DataError: name not FLUXNET-like, or bad content (see ``readers._common``).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2008_2-3.csv"
        >>> _ = path.write_text("TIMESTAMP,TA_F,NEE_VUT_REF\\n2007,13.5,-9999\\n2008,13.1,-270\\n")
        >>> ds = read(path)
        >>> ds["NEE_VUT_REF"].attrs["units"], float(ds["NEE_VUT_REF"][0, 1]), str(ds.igbp.values[0])
        ('gC m-2 y-1', -270.0, 'EBF')
    """
    path = Path(path)
    info = parse_file_name(path)
    if info is None:
        raise DataError(path, "not a FLUXNET file name (FLX_<SITE>_<PRODUCT>_..._<STEP>_)")
    table = _common.read_table(path, text_columns=_TIMESTAMPS)
    times = _interval_starts(table, info.time_step)
    frame = table.frame.drop(columns=[c for c in _TIMESTAMPS if c in table.frame.columns])
    frame.index = times
    if info.product in _FLUXDATAKIT:
        frame = _from_fluxdatakit(frame, info.time_step)
    units = _common.column_units(
        frame.columns, str(path), lambda name: fluxnet_unit(name, info.time_step)
    )
    frame = frame[list(units)].astype(np.float64)
    return site_dataset(
        frame,
        info.site,
        time_step=info.time_step,
        units=units,
        source_format=NAME,
        source_file=str(path),
        meta=site_meta(info.site),
    )
