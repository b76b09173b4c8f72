"""Reader for the daily P-model driver and validation tables of the R package rsofun.

rsofun's example ``p_model_drivers`` (FR-Pue, 2007–2012) as CSV:

- ``p_model_drivers_forcing.csv`` — ``date,temp,vpd,ppfd,netrad,patm,snow,rain,tmin,tmax,
  fapar,co2,ccov``. Read together with the files beside it when present:
  ``p_model_validation.csv`` (observed GPP, which is added) and
  ``p_model_drivers_site_info.csv`` (``lon, lat, elv`` → site coordinates).
- ``p_model_validation.csv`` — ``sitename,date,gpp,gpp_unc`` read on its own: GPP only.

The site ID is the validation table's ``sitename``, else found in the file or folder name
(``rsofun_daily_FR-Pue``).

Variable mapping (rsofun unit → canonical unit):

=============  ==========  =====================================================
rsofun         canonical   units
=============  ==========  =====================================================
temp           TA_F        degC
tmin, tmax     TMIN_F, TMAX_F   degC
vpd            VPD_F       Pa → hPa
ppfd           PPFD_IN     mol m-2 s-1 → umol m-2 s-1 (× 1e6)
netrad         NETRAD      W m-2
patm           PA_F        Pa → kPa
rain + snow    P_F         mm s-1 → mm d-1 (× 86400; liquid + solid precipitation)
fapar          FPAR        1 (MODIS fAPAR, interpolated daily)
co2            CO2         umol mol-1 (ambient CO2 record, not measured at the tower)
gpp            GPP         gC m-2 d-1 (observed, from FLUXNET2015)
gpp_unc        GPP_UNC     gC m-2 d-1
=============  ==========  =====================================================

``ccov`` (cloud cover, all zero in the example) is dropped.

Example:
    >>> from pathlib import Path
    >>> sniff(Path("p_model_drivers_forcing.csv"), "date,temp,vpd,ppfd,netrad,patm\\n")
    True
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from hybridflux.constants import PHYSICAL
from hybridflux.data.errors import DataError
from hybridflux.data.readers._tables import (
    Column,
    finish,
    lookup_meta,
    read_table,
    rename_convert,
    site_from_name,
)

__all__ = ["NAME", "COLUMNS", "sniff", "read"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "rsofun"

_UMOL_PER_MOL = 1e6
#: rsofun column → canonical variable (``rain``/``snow`` are summed into ``P_F``).
COLUMNS: dict[str, Column] = {
    "temp": Column("TA_F", "degC"),
    "tmin": Column("TMIN_F", "degC"),
    "tmax": Column("TMAX_F", "degC"),
    "vpd": Column("VPD_F", "hPa", source_units="Pa"),
    "ppfd": Column("PPFD_IN", "umol m-2 s-1", scale=_UMOL_PER_MOL),
    "netrad": Column("NETRAD", "W m-2"),
    "patm": Column("PA_F", "kPa", source_units="Pa"),
    "fapar": Column("FPAR", "1"),
    "co2": Column("CO2", "umol mol-1"),
    "gpp": Column("GPP", "gC m-2 d-1"),
    "gpp_unc": Column("GPP_UNC", "gC m-2 d-1"),
}
_PRECIP = {
    "rain": Column("rain", "mm d-1", scale=PHYSICAL.seconds_per_day),
    "snow": Column("snow", "mm d-1", scale=PHYSICAL.seconds_per_day),
}
_FORCING = ["date", "temp", "vpd", "ppfd"]
_VALIDATION = ["sitename", "date", "gpp"]
_TEXT = ("sitename", "date")


def _header(head: str) -> list[str]:
    return head.splitlines()[0].split(",") if head else []


def sniff(path: Path, head: str) -> bool:
    """Whether the file is an rsofun forcing or validation table (never raises).

    Example:
        >>> sniff(Path("p_model_validation.csv"), "sitename,date,gpp,gpp_unc\\n")
        True
    """
    try:
        cols = _header(head)
        return cols[:4] == _FORCING or cols[:3] == _VALIDATION
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def read(path: Path) -> xr.Dataset:
    """Read an rsofun forcing table (with its validation GPP) or a validation table alone.

    Args:
        path: ``p_model_drivers_forcing.csv``-like or ``p_model_validation.csv``-like file.

    Returns:
        One-site daily canonical Dataset.

    Raises:
        DataError: no site ID found, bad numbers or dates.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "p_model_validation.csv"
        >>> _ = p.write_text("sitename,date,gpp,gpp_unc\\nFR-Pue,2007-01-01,2.2,0.01\\n")
        >>> ds = read(p)
        >>> str(ds.site.values[0]), float(ds.GPP[0, 0]), ds.GPP.attrs["units"]
        ('FR-Pue', 2.2, 'gC m-2 d-1')
    """
    path = Path(path)
    raw = read_table(path, text_columns=_TEXT)
    if list(raw.columns[:3]) == _VALIDATION:
        frame, units, site = _validation(raw, path)
        return _finish(frame, units, site, path)
    frame, units = rename_convert(raw, COLUMNS, path)
    precip = rename_convert(raw, _PRECIP, path)[0]
    if len(precip.columns):
        frame["P_F"] = precip.sum(axis=1, min_count=len(precip.columns))
        units["P_F"] = "mm d-1"
    frame.index = _dates(raw, path)
    site = None
    sibling = path.with_name("p_model_validation.csv")
    if sibling.is_file():
        gpp, gpp_units, site = _validation(read_table(sibling, text_columns=_TEXT), sibling)
        frame = frame.join(gpp, how="left")
        units.update(gpp_units)
    site = site or site_from_name(path) or site_from_name(path.parent)
    if site is None:
        raise DataError(path, "no site ID: add p_model_validation.csv or name the file/folder")
    return _finish(frame, units, site, path)


def _finish(frame: pd.DataFrame, units: dict[str, str], site: str, path: Path) -> xr.Dataset:
    meta = lookup_meta(site, **_site_info(path.with_name("p_model_drivers_site_info.csv")))
    return finish(frame, units, site=site, time_step="DD", source_format=NAME, path=path, meta=meta)


def _dates(raw: pd.DataFrame, path) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce"))


def _validation(raw: pd.DataFrame, path) -> tuple[pd.DataFrame, dict[str, str], str]:
    sites = raw["sitename"].dropna().unique()
    if len(sites) != 1:
        raise DataError(path, f"expected one site in column sitename, found {list(sites)}")
    frame, units = rename_convert(raw, COLUMNS, path)
    frame.index = _dates(raw, path)
    return frame, units, str(sites[0])


def _site_info(path: Path) -> dict[str, float]:
    if not path.is_file():
        return {}
    info = read_table(path)
    keys = {"lat": "lat", "lon": "lon", "elevation": "elv"}
    return {
        key: float(pd.to_numeric(info[col], errors="coerce").iloc[0])
        for key, col in keys.items()
        if col in info.columns and len(info)
    }
