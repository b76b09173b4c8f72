"""Reader for the CARDAMOM FLUXNET-validation monthly table (many sites, long format).

``cardamom_fluxval_monthly_2000-2015_calibration.csv``: one row per site and month
(``site, IGBP, lat, lon, cbf_gridlat, month, ...``; ``month`` = ``YYYY-MM``, the interval start
is the first of the month). Drivers are **gridded 0.5° reanalysis values at the site's cell**,
not tower measurements, so they carry FLUXNET's ``_ERA`` suffix; observations (``*_cal``) exist
only in each site's calibration window (``NaN`` elsewhere).

Variable mapping (CARDAMOM unit → canonical unit, time step ``MM``):

=============  ===========  ============================================
CARDAMOM       canonical    units
=============  ===========  ============================================
TMIN_C         TMIN_ERA     degC
TMAX_C         TMAX_ERA     degC
SSRD_MJm2d     SW_IN_ERA    MJ m-2 d-1 → W m-2
VPD_hPa        VPD_ERA      hPa
PREC_mmd       P_ERA        mm d-1
CO2_ppm        CO2          umol mol-1 (global record)
BURNED_AREA    BURNED_AREA  1 (fraction of the cell burned in the month)
LAI_cbf        LAI          m2 m-2 (MODIS)
GPP_cal        GPP          gC m-2 d-1 (observed, calibration window)
NEE_cal        NEE          gC m-2 d-1 (observed, calibration window)
ET_cal         ET           mm d-1 (observed, calibration window)
=============  ===========  ============================================

``cbf_gridlat``, ``days_since_2000`` and ``DOY`` are dropped. Site coordinates ``lat``,
``lon``, ``igbp`` come from the file; elevation and climate from the FLUXNET2015 metadata.
Site IDs: CARDAMOM writes Greenland and Svalbard sites as ``GL-``/``SJ-``; FLUXNET2015 calls
the same sites ``DK-``/``NO-`` (``GL-NuF`` → ``DK-NuF``, ``SJ-Adv`` → ``NO-Adv``), which is
what the Dataset uses (see :data:`SITE_PREFIXES`). ``location_fluxnet.csv`` beside it is a
site list, not data.

Example:
    >>> from pathlib import Path
    >>> sniff(Path("x.csv"), "site,IGBP,lat,lon,cbf_gridlat,month,TMIN_C,GPP_cal\\n")
    True
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.readers._tables import Column, lookup_meta, read_table, rename_convert
from hybridflux.data.schema import combine_sites, site_dataset

__all__ = ["NAME", "COLUMNS", "SITE_PREFIXES", "sniff", "read", "fluxnet_site_id"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "cardamom"

#: CARDAMOM column → canonical variable.
COLUMNS: dict[str, Column] = {
    "TMIN_C": Column("TMIN_ERA", "degC"),
    "TMAX_C": Column("TMAX_ERA", "degC"),
    "SSRD_MJm2d": Column("SW_IN_ERA", "W m-2", source_units="MJ m-2 d-1"),
    "VPD_hPa": Column("VPD_ERA", "hPa"),
    "PREC_mmd": Column("P_ERA", "mm d-1"),
    "CO2_ppm": Column("CO2", "umol mol-1"),
    "BURNED_AREA": Column("BURNED_AREA", "1"),
    "LAI_cbf": Column("LAI", "m2 m-2"),
    "GPP_cal": Column("GPP", "gC m-2 d-1"),
    "NEE_cal": Column("NEE", "gC m-2 d-1"),
    "ET_cal": Column("ET", "mm d-1"),
}
#: Country prefixes used by CARDAMOM → the FLUXNET2015 prefix of the same sites.
SITE_PREFIXES: dict[str, str] = {"GL": "DK", "SJ": "NO"}
_REQUIRED = ("site", "month")


def fluxnet_site_id(site: str) -> str:
    """FLUXNET2015 ID of a CARDAMOM site ID.

    Example:
        >>> fluxnet_site_id("GL-ZaH"), fluxnet_site_id("SJ-Blv"), fluxnet_site_id("FR-Pue")
        ('DK-ZaH', 'NO-Blv', 'FR-Pue')
    """
    prefix, _, rest = site.partition("-")
    return f"{SITE_PREFIXES.get(prefix, prefix)}-{rest}" if rest else site


def sniff(path: Path, head: str) -> bool:
    """Whether the header is CARDAMOM's (``site`` … ``month`` … ``GPP_cal``; never raises).

    Example:
        >>> sniff(Path("x.csv"), "site,month,GPP\\n")
        False
    """
    try:
        cols = head.splitlines()[0].split(",")
        return cols[0] == "site" and "month" in cols and "GPP_cal" in cols
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False


def read(path: Path) -> xr.Dataset:
    """Read the CARDAMOM monthly table into one canonical multi-site Dataset.

    Args:
        path: the CSV file.

    Returns:
        Canonical Dataset, ``time_step`` MM, one entry per site on dim ``site``.

    Raises:
        DataError: missing ``site``/``month`` columns, bad numbers or months.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "c.csv"
        >>> _ = p.write_text("site,IGBP,lat,lon,month,SSRD_MJm2d,GPP_cal\\n"
        ...                  "GL-NuF,WET,64.1,-51.4,2000-01,0.864,\\n")
        >>> ds = read(p)
        >>> str(ds.site.values[0]), str(ds.igbp.values[0]), round(float(ds.SW_IN_ERA[0, 0]), 6)
        ('DK-NuF', 'WET', 10.0)
    """
    path = Path(path)
    raw = read_table(path, text_columns=("site", "IGBP", "month"))
    for col in _REQUIRED:
        if col not in raw.columns:
            raise DataError(path, "column not found; is this a CARDAMOM table?", variable=col)
    frame, units = rename_convert(raw, COLUMNS, path)
    start = pd.to_datetime(raw["month"], format="%Y-%m", errors="coerce")
    if start.isna().any():
        row = int(start.isna().to_numpy().argmax())
        raise DataError(path, "month not in YYYY-MM form", variable="month", row=row + 2)
    frame.index = pd.DatetimeIndex(start)
    datasets = []
    for site, rows in raw.groupby("site", sort=False).groups.items():
        part = frame.iloc[raw.index.get_indexer(rows)]
        first = raw.loc[rows[0]]
        fid = fluxnet_site_id(str(site))
        meta = lookup_meta(
            fid,
            lat=_number(first.get("lat")),
            lon=_number(first.get("lon")),
            igbp=str(first.get("IGBP", "") or ""),
        )
        ds = site_dataset(
            part, fid, time_step="MM", units=units, source_format=NAME,
            source_file=str(path), meta=meta,
        )  # fmt: skip
        datasets.append(ds)
    out = combine_sites(datasets)
    out.attrs["source_files"] = str(path)
    return out


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
