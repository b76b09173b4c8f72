"""Reader for MODIS MCD15A3H (FPAR/LAI, 4-day) point subsets exported from Google Earth Engine.

``CH-Lae_MCD15A3H_gee_subset.csv``: ``id,longitude,latitude,date,Fpar,FparLai_QC,product``, one
row per 4-day composite, ``date`` (``YYYY-mm-dd``) = first day of the composite. Values are the
stored integers of the product (MCD15A3H user guide, Myneni et al. 2015):

=============  ==========  ==============================================================
MODIS          canonical   conversion
=============  ==========  ==============================================================
Fpar           FPAR        × 0.01 → 1; codes 249–255 (fill, water, snow, ...) → NaN
Lai            LAI         × 0.1 → m2 m-2; codes 249–255 → NaN
FparLai_QC     FPAR_QC,    bits 5–7 (``SCF_QC``): 0 main algorithm, 1 main with saturation,
               LAI_QC      2 back-up (geometry), 3 back-up (other), 4 not produced; units 1
=============  ==========  ==============================================================

The composites are placed on a **daily** axis (``time_step`` DD) at their first day; the other
days are ``NaN`` (interpolate or forward-fill downstream as the application needs). The site ID
comes from the file name (``CH-Lae_...``); ``latitude``/``longitude`` of the file give the site
coordinates.

Example:
    >>> from pathlib import Path
    >>> sniff(Path("CH-Lae_MCD15A3H_gee_subset.csv"),
    ...       "id,longitude,latitude,date,Fpar,FparLai_QC,product\\n")
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
    finish,
    lookup_meta,
    read_table,
    rename_convert,
    site_from_name,
)

__all__ = ["NAME", "SCALE", "FIRST_FILL_CODE", "sniff", "read", "scf_qc"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "modis_gee"

#: Scale factors of the stored integers (MCD15A3H user guide, Table 4).
SCALE: dict[str, float] = {"Fpar": 0.01, "Lai": 0.1}
#: Stored values from this code up are fill/classification codes, not data.
FIRST_FILL_CODE = 249
_TARGET = {"Fpar": Column("FPAR", "1"), "Lai": Column("LAI", "m2 m-2")}
_SCF_SHIFT, _SCF_MASK = 5, 0b111


def scf_qc(codes) -> np.ndarray:
    """Algorithm-path flag ``SCF_QC`` (bits 5–7) of MCD15A3H ``FparLai_QC`` bytes.

    Example:
        >>> scf_qc([0, 73, 97, np.nan]).tolist()
        [0.0, 2.0, 3.0, nan]
    """
    codes = np.asarray(codes, dtype=np.float64)
    out = np.full(codes.shape, np.nan)
    ok = np.isfinite(codes)
    out[ok] = (codes[ok].astype(np.int64) >> _SCF_SHIFT) & _SCF_MASK
    return out


def sniff(path: Path, head: str) -> bool:
    """Whether the header is a GEE MCD15A3H export (``date``, ``FparLai_QC``; never raises).

    Example:
        >>> sniff(Path("x.csv"), "date,NDVI\\n")
        False
    """
    try:
        cols = head.splitlines()[0].split(",")
        return "date" in cols and "FparLai_QC" in cols and bool({"Fpar", "Lai"} & set(cols))
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def read(path: Path) -> xr.Dataset:
    """Read a GEE MCD15A3H subset into a daily canonical Dataset (values at composite starts).

    Args:
        path: the CSV file.

    Returns:
        One-site canonical Dataset, ``time_step`` DD.

    Raises:
        DataError: no site ID in the file name, bad numbers or dates.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "CH-Lae_MCD15A3H_gee_subset.csv"
        >>> _ = p.write_text("date,Fpar,FparLai_QC\\n2010-01-01,37,73\\n2010-01-05,250,73\\n")
        >>> ds = read(p)
        >>> ds.FPAR.values[0].tolist()
        [0.37, nan, nan, nan, nan]
    """
    path = Path(path)
    site = site_from_name(path)
    if site is None:
        raise DataError(path, "no site ID (like CH-Lae) in the file name; rename the file")
    raw = read_table(path, text_columns=("id", "date", "product"))
    stored = {name: Column(name, "1") for name in SCALE}
    stored["FparLai_QC"] = Column("FparLai_QC", "1")
    values, _ = rename_convert(raw, stored, path)
    frame, units = pd.DataFrame(index=raw.index), {}
    for name, col in _TARGET.items():
        if name in values:
            data = values[name].where(values[name] < FIRST_FILL_CODE) * SCALE[name]
            frame[col.target], units[col.target] = data, col.units
            if "FparLai_QC" in values:
                frame[f"{col.target}_QC"] = scf_qc(values["FparLai_QC"])
                units[f"{col.target}_QC"] = "1"
    frame.index = pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce"))
    coords = rename_convert(raw, {k: Column(k, "1") for k in ("latitude", "longitude")}, path)[0]
    meta = lookup_meta(
        site,
        lat=float(coords["latitude"].iloc[0]) if "latitude" in coords else None,
        lon=float(coords["longitude"].iloc[0]) if "longitude" in coords else None,
    )
    return finish(frame, units, site=site, time_step="DD", source_format=NAME, path=path, meta=meta)
