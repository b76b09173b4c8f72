"""Reader for the AmeriFlux/ELM tutorial tables (``tutorial3_BR_Sa1.csv`` and alike).

Daily tables that join land-model output to FLUXNET FULLSET DD observations of one site: a
``TIMESTAMP`` column (``YYYY-mm-dd``), then **11 columns of E3SM Land Model (ELM) output**
(``NEE, GPP, ER, TSOI_10CM, FSH, EFLX_LH_TOT, TSA, PBOT, RAIN, FGR``), the join keys
``year.x, month.x, date.x, doy.x`` (and ``.y``), and the FLUXNET DD columns (``TA_F``,
``NEE_VUT_REF``, ``GPP_NT_VUT_REF``, ``SWC_F_MDS_1``, ...). The site ID comes from the file
name (``BR_Sa1`` → ``BR-Sa1``).

The ELM columns are **model output, not observations**: they are kept under an ``ELM_``
prefix, converted to canonical units, so that an ELM ``NEE`` can never pass for observed
NEE (it would be ``NEE`` in FLUXNET naming):

=============  ===================  ==========================================
ELM            canonical            units
=============  ===================  ==========================================
NEE, GPP, ER   ELM_NEE, ELM_GPP,    gC m-2 s-1 → gC m-2 d-1 (× 86400)
               ELM_ER
TSOI_10CM      ELM_TSOI_10CM        K → degC
TSA            ELM_TSA              K → degC (2 m air temperature)
FSH            ELM_FSH              W m-2 (sensible heat)
EFLX_LH_TOT    ELM_EFLX_LH_TOT      W m-2 (latent heat)
FGR            ELM_FGR              W m-2 (ground heat)
PBOT           ELM_PBOT             Pa → kPa
RAIN           ELM_RAIN             mm s-1 → mm d-1 (× 86400)
=============  ===================  ==========================================

The join keys are dropped. FLUXNET columns keep their names and take the FLUXNET DD units
(``hybridflux.data.units.fluxnet_units``); columns without known units and record counts
(``*_N``) are dropped.

Example:
    >>> from pathlib import Path
    >>> sniff(Path("tutorial3_US_ARM.csv"), '"TIMESTAMP","NEE","TSOI_10CM","FSH","EFLX_LH_TOT"\\n')
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
    read_table,
    rename_convert,
    site_from_name,
)
from hybridflux.data.units import fluxnet_units

__all__ = ["NAME", "ELM_COLUMNS", "sniff", "read"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "elm_tutorial"

_PER_DAY = PHYSICAL.seconds_per_day
#: ELM output column → ``ELM_``-prefixed canonical variable.
ELM_COLUMNS: dict[str, Column] = {
    "NEE": Column("ELM_NEE", "gC m-2 d-1", scale=_PER_DAY),
    "GPP": Column("ELM_GPP", "gC m-2 d-1", scale=_PER_DAY),
    "ER": Column("ELM_ER", "gC m-2 d-1", scale=_PER_DAY),
    "TSOI_10CM": Column("ELM_TSOI_10CM", "degC", source_units="K"),
    "TSA": Column("ELM_TSA", "degC", source_units="K"),
    "FSH": Column("ELM_FSH", "W m-2"),
    "EFLX_LH_TOT": Column("ELM_EFLX_LH_TOT", "W m-2"),
    "FGR": Column("ELM_FGR", "W m-2"),
    "PBOT": Column("ELM_PBOT", "kPa", source_units="Pa"),
    "RAIN": Column("ELM_RAIN", "mm d-1", scale=_PER_DAY),
}
_MARKERS = {"TSOI_10CM", "EFLX_LH_TOT", "FSH"}


def sniff(path: Path, head: str) -> bool:
    """Whether the header has ``TIMESTAMP`` and the ELM output columns (never raises).

    Example:
        >>> sniff(Path("FLX_US-ARM_FLUXNET2015_FULLSET_DD.csv"), "TIMESTAMP,TA_F,NEE_VUT_REF\\n")
        False
    """
    try:
        cols = [c.strip('"') for c in head.splitlines()[0].split(",")]
        return cols[0] == "TIMESTAMP" and _MARKERS <= set(cols)
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def _fluxnet_columns(names) -> dict[str, Column]:
    out = {}
    for name in names:
        if name in ELM_COLUMNS or name == "TIMESTAMP" or name.endswith("_N"):
            continue
        units = fluxnet_units(name, "DD")
        if units is not None:
            out[name] = Column(name, units)
    return out


def read(path: Path) -> xr.Dataset:
    """Read an ELM tutorial table into the canonical daily Dataset.

    Args:
        path: the CSV file.

    Returns:
        One-site canonical Dataset (``time_step`` DD) with FLUXNET observations and
        ``ELM_*`` model output.

    Raises:
        DataError: no site ID in the file name, bad numbers or dates.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "tutorial3_BR_Sa1.csv"
        >>> _ = p.write_text('"TIMESTAMP","NEE","TSOI_10CM","FSH","EFLX_LH_TOT","TA_F"\\n'
        ...                  '2002-01-01,1e-05,300.15,73.4,60.8,25.3\\n')
        >>> ds = read(p)
        >>> round(float(ds.ELM_NEE[0, 0]), 6), float(ds.ELM_TSOI_10CM[0, 0]), "NEE" in ds
        (0.864, 27.0, False)
    """
    path = Path(path)
    site = site_from_name(path)
    if site is None:
        raise DataError(path, "no site ID (like BR_Sa1) in the file name; rename the file")
    raw = read_table(path, text_columns=("TIMESTAMP", "date.x", "date.y"))
    columns = {**ELM_COLUMNS, **_fluxnet_columns(raw.columns)}
    frame, units = rename_convert(raw, columns, path)
    frame.index = pd.DatetimeIndex(
        pd.to_datetime(raw["TIMESTAMP"], format="%Y-%m-%d", errors="coerce")
    )
    return finish(frame, units, site=site, time_step="DD", source_format=NAME, path=path)
