"""Reader for half-hourly tables in the layout of the R package openeddy.

openeddy's example ``eddy_data.csv`` (CZ-Lnz, two weeks of 2023): comma-separated, first
column ``timestamp`` (``YYYY-mm-dd HH:MM``) at the **end** of each interval, second line =
units (``W*m-2``, ``umol*m-2*s-1``, ``-``), ``-9999`` for missing. The file has no site ID:
it is taken from the file or folder name (``openeddy_hh_CZ-Lnz``).

Variable mapping (openeddy → canonical; units from the units line, converted to):

=======================  ==================  ===========================================
openeddy                 canonical           units
=======================  ==================  ===========================================
GR                       SW_IN_F             W m-2
PAR                      PPFD_IN             umol m-2 s-1
Rn                       NETRAD              W m-2
Tair, Tsoil              TA_F, TS_F_MDS_1    degC
RH                       RH                  %
VPD                      VPD_F               hPa
SWC                      SWC_F_MDS_1         %
P                        P_F                 mm (per half hour)
G                        G                   W m-2
H, LE, NEE               H, LE, NEE          W m-2, umol m-2 s-1 (not gap-filled)
wind_speed, ustar        WS, USTAR           m s-1
H_f, LE_f                H_F_MDS, LE_F_MDS   W m-2 (gap-filled)
NEE_uStar_f              NEE_F               umol m-2 s-1 (u*-filtered, gap-filled)
Reco_uStar, GPP_uStar_f  RECO_NT, GPP_NT     umol m-2 s-1 (night-time partitioning)
Reco_DT_uStar            RECO_DT             umol m-2 s-1 (day-time partitioning)
GPP_DT_uStar             GPP_DT              umol m-2 s-1
=======================  ==================  ===========================================

QC flags (openeddy: 0 good, 1 acceptable, 2 discard; units ``1``): ``qc_G`` → ``G_QC``,
``qc_H_forGF`` → ``H_QC``, ``qc_LE_forGF`` → ``LE_QC``, ``qc_NEE_forGF_UF`` → ``NEE_QC`` (the
flag that includes u* filtering, the one that chose the records used for gap-filling).
Dropped: ``Tau`` (kg m-1 s-2), ``wind_dir`` (degrees), ``ET_f`` (mm h-1), the ``_SSITC`` flags.

Example:
    >>> from pathlib import Path
    >>> sniff(Path("eddy_data.csv"), "timestamp,GR,PAR,Rn,Tair\\n-,W*m-2,umol*m-2*s-1\\n")
    True
"""

from __future__ import annotations

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
)

__all__ = ["NAME", "COLUMNS", "sniff", "read"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "openeddy"

_FLUX = "umol m-2 s-1"
#: openeddy column → canonical variable.
COLUMNS: dict[str, Column] = {
    "GR": Column("SW_IN_F", "W m-2"),
    "PAR": Column("PPFD_IN", "umol m-2 s-1"),
    "Rn": Column("NETRAD", "W m-2"),
    "Tair": Column("TA_F", "degC"),
    "Tsoil": Column("TS_F_MDS_1", "degC"),
    "RH": Column("RH", "%"),
    "VPD": Column("VPD_F", "hPa"),
    "SWC": Column("SWC_F_MDS_1", "%"),
    "P": Column("P_F", "mm"),
    "G": Column("G", "W m-2"),
    "qc_G": Column("G_QC", "1"),
    "H": Column("H", "W m-2"),
    "qc_H_forGF": Column("H_QC", "1"),
    "LE": Column("LE", "W m-2"),
    "qc_LE_forGF": Column("LE_QC", "1"),
    "NEE": Column("NEE", _FLUX),
    "qc_NEE_forGF_UF": Column("NEE_QC", "1"),
    "wind_speed": Column("WS", "m s-1"),
    "ustar": Column("USTAR", "m s-1"),
    "H_f": Column("H_F_MDS", "W m-2"),
    "LE_f": Column("LE_F_MDS", "W m-2"),
    "NEE_uStar_f": Column("NEE_F", _FLUX),
    "Reco_uStar": Column("RECO_NT", _FLUX),
    "GPP_uStar_f": Column("GPP_NT", _FLUX),
    "Reco_DT_uStar": Column("RECO_DT", _FLUX),
    "GPP_DT_uStar": Column("GPP_DT", _FLUX),
}


def sniff(path: Path, head: str) -> bool:
    """Whether the file starts with ``timestamp`` and a units line of openeddy (never raises).

    Example:
        >>> sniff(Path("x.csv"), "timestamp,NEE\\n2020-01-01 00:30,1.0\\n")
        False
    """
    try:
        lines = head.splitlines()
        cols, units = lines[0].split(","), lines[1].split(",")
        return cols[0] == "timestamp" and units[0] == "-" and bool(set(cols) & set(COLUMNS))
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def read(path: Path) -> xr.Dataset:
    """Read an openeddy-style table into the canonical Dataset.

    Args:
        path: the CSV file.

    Returns:
        One-site canonical Dataset (interval starts; HH for the example).

    Raises:
        DataError: no site ID in the file or folder name, bad numbers, units or timestamps.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "CZ-Lnz_eddy.csv"
        >>> _ = p.write_text("timestamp,Tair,NEE\\n-,degC,umol*m-2*s-1\\n"
        ...                  "2023-07-23 00:30,18.5,-1.6\\n2023-07-23 01:00,17.0,-9999\\n")
        >>> ds = read(p)
        >>> str(ds.time.values[0])[:16], float(ds.TA_F[0, 0]), bool(ds.NEE.isnull()[0, 1])
        ('2023-07-23T00:00', 18.5, True)
    """
    path = Path(path)
    site = site_from_name(path) or site_from_name(path.parent)
    if site is None:
        raise DataError(path, "no site ID (like CZ-Lnz) in the file or folder name")
    raw = read_table(path, units_line=True, text_columns=("timestamp",))
    frame, units = rename_convert(raw, COLUMNS, path, first_line=3)
    end = pd.to_datetime(raw["timestamp"], format="%Y-%m-%d %H:%M", errors="coerce")
    frame.index, step = end_to_start(pd.DatetimeIndex(end), path, first_line=3)
    return finish(
        frame, units, site=site, time_step=step, source_format=NAME, path=path, first_line=3
    )
