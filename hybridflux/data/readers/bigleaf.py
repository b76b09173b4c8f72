"""Reader for the half-hourly example tables of the R package bigleaf (``DERIVED_*.csv``).

bigleaf ships one month of FLUXNET2015 half-hourly data for AT-Neu, DE-Tha and FR-Pue as R
data; ``DERIVED_AT_Neu_Jul_2010.csv`` etc. are the same values as CSV. Columns
``year, month, doy, hour`` give the interval **start** (``hour`` 0.0 … 23.5, as the FLUXNET
``TIMESTAMP_START`` they come from). The site ID comes from the file name
(``AT_Neu`` → ``AT-Neu``).

Variable mapping (bigleaf unit → canonical unit; ``<name>_qc`` → ``<NAME>_QC``, units ``1``,
FLUXNET flags 0 measured … 3 poor gap-fill):

===========  ==============  =========================================
bigleaf      canonical       units
===========  ==============  =========================================
Tair         TA_F            degC
PPFD         PPFD_IN         umol m-2 s-1
VPD          VPD_F           kPa → hPa
pressure     PA_F            kPa
precip       P_F             mm (per half hour)
ustar        USTAR           m s-1
wind         WS_F            m s-1
Ca           CO2_F_MDS       umol mol-1
LW_up        LW_OUT          W m-2
LW_down      LW_IN_F         W m-2
Rn           NETRAD          W m-2
LE, H, G     LE_F_MDS, H_F_MDS, G_F_MDS   W m-2
NEE          NEE_F           umol m-2 s-1 (gap-filled, no gaps; see NEE_F_QC)
GPP          GPP             umol m-2 s-1
Reco         RECO            umol m-2 s-1
===========  ==============  =========================================

Example:
    >>> from pathlib import Path
    >>> sniff(Path("DERIVED_AT_Neu_Jul_2010.csv"), "year,month,doy,hour,Tair,Tair_qc,PPFD\\n")
    True
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.readers._tables import (
    Column,
    finish,
    read_table,
    rename_convert,
    site_from_name,
    year_doy_hour,
)

__all__ = ["NAME", "COLUMNS", "sniff", "read"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "bigleaf"

_FLUX = "umol m-2 s-1"
#: bigleaf column → canonical variable.
COLUMNS: dict[str, Column] = {
    "Tair": Column("TA_F", "degC"),
    "PPFD": Column("PPFD_IN", "umol m-2 s-1"),
    "VPD": Column("VPD_F", "hPa", source_units="kPa"),
    "pressure": Column("PA_F", "kPa"),
    "precip": Column("P_F", "mm"),
    "ustar": Column("USTAR", "m s-1"),
    "wind": Column("WS_F", "m s-1"),
    "Ca": Column("CO2_F_MDS", "umol mol-1"),
    "LW_up": Column("LW_OUT", "W m-2"),
    "LW_down": Column("LW_IN_F", "W m-2"),
    "Rn": Column("NETRAD", "W m-2"),
    "LE": Column("LE_F_MDS", "W m-2"),
    "H": Column("H_F_MDS", "W m-2"),
    "G": Column("G_F_MDS", "W m-2"),
    "NEE": Column("NEE_F", _FLUX),
    "GPP": Column("GPP", _FLUX),
    "Reco": Column("RECO", _FLUX),
}
_TIME = ["year", "month", "doy", "hour"]


def _with_qc(columns: dict[str, Column]) -> dict[str, Column]:
    out = dict(columns)
    for source, col in columns.items():
        out[f"{source}_qc"] = Column(f"{col.target}_QC", "1")
    return out


def sniff(path: Path, head: str) -> bool:
    """Whether the header starts ``year,month,doy,hour`` and has bigleaf names (never raises).

    Example:
        >>> sniff(Path("x.csv"), "TIMESTAMP_START,TA_F\\n")
        False
    """
    try:
        cols = head.splitlines()[0].split(",")
        return cols[:4] == _TIME and bool({"Tair", "PPFD", "NEE"} & set(cols))
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def read(path: Path) -> xr.Dataset:
    """Read a bigleaf example CSV into the canonical half-hourly Dataset.

    Args:
        path: the CSV file.

    Returns:
        One-site canonical Dataset (``time_step`` HH, interval starts).

    Raises:
        DataError: no site ID in the file name, bad numbers or timestamps.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "DERIVED_FR_Pue_May_2012.csv"
        >>> _ = p.write_text("year,month,doy,hour,Tair,VPD\\n2012,5,122.0,0.5,10.6,0.5\\n")
        >>> ds = read(p)
        >>> str(ds.time.values[0])[:16], float(ds.VPD_F[0, 0]), ds.VPD_F.attrs["units"]
        ('2012-05-01T00:30', 5.0, 'hPa')
    """
    path = Path(path)
    site = site_from_name(path)
    if site is None:
        raise DataError(path, "no site ID (like AT_Neu) in the file name; rename the file")
    raw = read_table(path)
    missing = [c for c in _TIME if c not in raw.columns]
    if missing:
        raise DataError(path, f"time columns {missing} not found", variable=missing[0])
    when = rename_convert(raw, {c: Column(c, "1") for c in _TIME}, path)[0]
    frame, units = rename_convert(raw, _with_qc(COLUMNS), path)
    frame.index = year_doy_hour(when["year"], when["doy"], when["hour"])
    return finish(frame, units, site=site, time_step="HH", source_format=NAME, path=path)
