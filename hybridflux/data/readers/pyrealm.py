"""Reader for the half-hourly P-model driver table of the Python package pyrealm.

pyrealm's subdaily example ``subdaily_BE_Vie_2014.csv`` (BE-Vie, 2014, from FLUXNET2015):
``time,ta,vpd,co2,patm,fapar,ppfd,GPP_JAMES``; ``time`` (``YYYY-mm-dd HH:MM``) is the interval
**start**. The site ID comes from the file name (``BE_Vie`` → ``BE-Vie``).

**Drivers only.** ``GPP_JAMES`` is the output of a subdaily P-model run that pyrealm uses as a
regression reference, not an observation: it is dropped, so that it can never be taken for
observed GPP.

Variable mapping (pyrealm unit → canonical unit):

=======  =========  ==========================
pyrealm  canonical  units
=======  =========  ==========================
ta       TA_F       degC
vpd      VPD_F      Pa → hPa
co2      CO2_F_MDS  umol mol-1
patm     PA_F       Pa → kPa
fapar    FPAR       1
ppfd     PPFD_IN    umol m-2 s-1
=======  =========  ==========================

Example:
    >>> from pathlib import Path
    >>> sniff(Path("subdaily_BE_Vie_2014.csv"), "time,ta,vpd,co2,patm,fapar,ppfd,GPP_JAMES\\n")
    True
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.readers._tables import (
    Column,
    finish,
    infer_step,
    read_table,
    rename_convert,
    site_from_name,
)

__all__ = ["NAME", "COLUMNS", "sniff", "read"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "pyrealm"

#: pyrealm column → canonical variable. ``GPP_JAMES`` (model output) is deliberately absent.
COLUMNS: dict[str, Column] = {
    "ta": Column("TA_F", "degC"),
    "vpd": Column("VPD_F", "hPa", source_units="Pa"),
    "co2": Column("CO2_F_MDS", "umol mol-1"),
    "patm": Column("PA_F", "kPa", source_units="Pa"),
    "fapar": Column("FPAR", "1"),
    "ppfd": Column("PPFD_IN", "umol m-2 s-1"),
}
_HEADER = ["time", "ta", "vpd", "co2", "patm"]


def sniff(path: Path, head: str) -> bool:
    """Whether the header starts ``time,ta,vpd,co2,patm`` (never raises).

    Example:
        >>> sniff(Path("x.csv"), "date,temp,vpd\\n")
        False
    """
    try:
        return head.splitlines()[0].split(",")[:5] == _HEADER
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def read(path: Path) -> xr.Dataset:
    """Read a pyrealm subdaily driver table into the canonical Dataset (drivers only).

    Args:
        path: the CSV file.

    Returns:
        One-site canonical Dataset (``time_step`` from the spacing, HH for the example).

    Raises:
        DataError: no site ID in the file name, bad numbers or timestamps.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "subdaily_BE_Vie_2014.csv"
        >>> _ = p.write_text("time,ta,vpd,co2,patm,fapar,ppfd,GPP_JAMES\\n"
        ...                  "2014-01-01 00:00,3.3,52.2,418.4,95730.1,0,0,NA\\n"
        ...                  "2014-01-01 00:30,2.7,0,418.8,95730.1,0,0,NA\\n")
        >>> ds = read(p)
        >>> float(ds.VPD_F[0, 0]), "GPP_JAMES" in ds, ds.attrs["time_step"]
        (0.522, False, 'HH')
    """
    path = Path(path)
    site = site_from_name(path)
    if site is None:
        raise DataError(path, "no site ID (like BE_Vie) in the file name; rename the file")
    raw = read_table(path, text_columns=("time",))
    frame, units = rename_convert(raw, COLUMNS, path)
    start = pd.to_datetime(raw["time"], format="%Y-%m-%d %H:%M", errors="coerce")
    frame.index = pd.DatetimeIndex(start)
    step = infer_step(frame.index.dropna(), path)
    return finish(frame, units, site=site, time_step=step, source_format=NAME, path=path)
