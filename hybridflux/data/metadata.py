"""Static metadata of FLUXNET sites: location, elevation, IGBP class and Köppen climate.

The package ships ``_metadata/fluxnet2015_sites.csv`` (212 FLUXNET2015 sites, one row each),
derived by :func:`build_site_table` from the FLUXNET2015 Badm Information File
``FLX_AA-Flx_BIF_LATEST.csv`` (location, elevation, IGBP) and the site lists
``siteinfo_fluxnet2015.csv`` / ``fluxnet_site_info_all.csv`` (Köppen code). Data:
CC-BY-4.0, Pastorello et al. (2020), Sci. Data 7:225, doi:10.1038/s41597-020-0534-3.

Readers call :func:`site_meta` for what a file does not say itself; :func:`complete_meta` fills
the unknown fields of metadata read from a file.

Example:
    >>> meta = site_meta("FR-Pue")
    >>> meta.igbp, meta.climate, round(meta.lat, 2)
    ('EBF', 'Csa', 43.74)
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pandas as pd

from hybridflux.data.schema import SiteMeta

__all__ = ["SITE_TABLE_PATH", "site_table", "site_meta", "complete_meta", "build_site_table"]

#: The shipped table (``#`` lines are the attribution header).
SITE_TABLE_PATH: Path = Path(__file__).parent / "_metadata" / "fluxnet2015_sites.csv"

#: Sites renamed after FLUXNET2015 (Greenland and Svalbard got their own country codes).
_ALIASES = {
    "GL-NuF": "DK-NuF",
    "GL-ZaF": "DK-ZaF",
    "GL-ZaH": "DK-ZaH",
    "SJ-Adv": "NO-Adv",
    "SJ-Blv": "NO-Blv",
}
_COLUMNS = ["site", "lat", "lon", "elevation", "igbp", "climate", "utc_offset"]


@functools.cache
def site_table() -> pd.DataFrame:
    """The bundled site table, indexed by FLUXNET site ID.

    Returns:
        Columns ``lat`` (degrees_north), ``lon`` (degrees_east), ``elevation`` (m), ``igbp``,
        ``climate`` (Köppen code), ``utc_offset`` (h east of UTC); unknown numbers ``NaN``,
        unknown strings ``""``.

    Example:
        >>> site_table().loc["CH-Lae", "igbp"]
        'MF'
    """
    table = pd.read_csv(SITE_TABLE_PATH, comment="#", keep_default_na=False, na_values=[""])
    for key in ("igbp", "climate"):
        table[key] = table[key].fillna("").astype(str)
    return table.set_index("site")


def site_meta(site_id: str) -> SiteMeta:
    """Metadata of a FLUXNET site from the bundled table; all unknown for an unknown site.

    Args:
        site_id: FLUXNET site ID such as ``"FR-Pue"`` (the post-2015 IDs ``GL-*``/``SJ-*``
            of the Greenland and Svalbard sites are accepted too).

    Returns:
        :class:`~hybridflux.data.schema.SiteMeta` with lat/lon in degrees, elevation in m.

    Example:
        >>> site_meta("US-Tw3").igbp, site_meta("XX-Unk").igbp
        ('CRO', '')
    """
    table = site_table()
    key = _ALIASES.get(site_id, site_id)
    if key not in table.index:
        return SiteMeta()
    row = table.loc[key]
    return SiteMeta(
        lat=float(row["lat"]),
        lon=float(row["lon"]),
        elevation=float(row["elevation"]),
        igbp=str(row["igbp"]),
        climate=str(row["climate"]),
        utc_offset=float(row["utc_offset"]),
    )


def complete_meta(meta: SiteMeta, site_id: str) -> SiteMeta:
    """Fill the unknown fields of ``meta`` (``NaN``/``""``) from the bundled table.

    Example:
        >>> complete_meta(SiteMeta(lat=47.1, igbp="GRA"), "AT-Neu").elevation
        970.0
    """
    bundled = site_meta(site_id)
    filled = {}
    for field in dataclasses.fields(SiteMeta):
        value = getattr(meta, field.name)
        unknown = value == "" if isinstance(value, str) else bool(np.isnan(value))
        filled[field.name] = getattr(bundled, field.name) if unknown else value
    return SiteMeta(**filled)


def _latest_group(bif: pd.DataFrame, group: str, date_variable: str) -> pd.DataFrame:
    """Per site, the rows of the most recent GROUP_ID of a variable group (by its start date)."""
    rows = bif[bif["VARIABLE_GROUP"] == group]
    dates = rows[rows["VARIABLE"] == date_variable].set_index("GROUP_ID")["DATAVALUE"]
    mapped = rows["GROUP_ID"].map(dates)
    order = pd.Series(np.where(mapped.isna(), "", mapped.astype(str)), index=rows.index)
    order = order.str.ljust(12, "0")
    rows = rows.assign(_order=order).sort_values(["SITE_ID", "_order", "GROUP_ID"])
    latest = rows.groupby("SITE_ID")["GROUP_ID"].last()
    return rows[rows["GROUP_ID"].isin(latest.to_numpy())]


def _bif_values(bif_path: Path) -> pd.DataFrame:
    bif = pd.read_csv(bif_path, sep=";", encoding="latin-1", dtype=str).dropna(subset=["SITE_ID"])
    location = _latest_group(bif, "GRP_LOCATION", "LOCATION_DATE_START")
    igbp = _latest_group(bif, "GRP_IGBP", "IGBP_DATE_START")
    utc = _latest_group(bif, "GRP_UTC_OFFSET", "UTC_OFFSET_DATE_START")
    wanted = {
        "LOCATION_LAT": "lat",
        "LOCATION_LONG": "lon",
        "LOCATION_ELEV": "elevation",
        "IGBP": "igbp",
        "UTC_OFFSET": "utc_offset",
    }
    rows = pd.concat([location, igbp, utc])
    rows = rows[rows["VARIABLE"].isin(wanted)]
    wide = rows.pivot_table(
        index="SITE_ID", columns="VARIABLE", values="DATAVALUE", aggfunc="first"
    ).rename(columns=wanted)
    sites = pd.Index(sorted(bif["SITE_ID"].unique()), name="site")
    return wide.reindex(sites)


def build_site_table(
    bif_path: str | Path, siteinfo_path: str | Path, site_info_all_path: str | Path | None = None
) -> pd.DataFrame:
    """Derive the bundled site table from the FLUXNET2015 metadata files.

    Lat/lon/elevation/IGBP come from the BIF (for sites that moved: the latest location); the
    Köppen code from ``siteinfo_fluxnet2015.csv`` (``koeppen_code``), else from the first word of
    ``koeppen_climate`` in ``fluxnet_site_info_all.csv``; a missing elevation from ``elv``.

    Args:
        bif_path: ``FLX_AA-Flx_BIF_LATEST.csv`` (``;``-separated, latin-1, long format).
        siteinfo_path: ``siteinfo_fluxnet2015.csv``.
        site_info_all_path: ``fluxnet_site_info_all.csv`` (optional).

    Returns:
        Columns ``site, lat, lon, elevation, igbp, climate, utc_offset`` (h east of UTC), one
        row per BIF site, sorted.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "bif.csv").write_text(
        ...     "SITE_ID;GROUP_ID;VARIABLE_GROUP;VARIABLE;DATAVALUE\\n"
        ...     "XX-Abc;1;GRP_IGBP;IGBP;GRA\\nXX-Abc;2;GRP_LOCATION;LOCATION_LAT;47.1\\n")
        >>> _ = (d / "info.csv").write_text("sitename,elv,koeppen_code\\nXX-Abc,970,Dfc\\n")
        >>> print(build_site_table(d / "bif.csv", d / "info.csv").to_string(index=False))
          site  lat  lon  elevation igbp climate  utc_offset
        XX-Abc 47.1  NaN      970.0  GRA     Dfc         NaN
    """
    wide = _bif_values(Path(bif_path))
    info = pd.read_csv(siteinfo_path, dtype=str).set_index("sitename")
    climate = info["koeppen_code"].reindex(wide.index)
    if site_info_all_path is not None:
        everything = pd.read_csv(site_info_all_path, dtype=str, na_values=["(null)"])
        everything = everything.drop_duplicates("fluxnetid").set_index("fluxnetid")
        first_word = everything["koeppen_climate"].str.split(" ").str[0]
        climate = climate.fillna(first_word.reindex(wide.index))
    table = pd.DataFrame(index=wide.index)
    for key in ("lat", "lon", "elevation", "utc_offset"):
        column = wide[key] if key in wide else pd.Series(np.nan, index=wide.index)
        table[key] = pd.to_numeric(column, errors="coerce")
    table["elevation"] = table["elevation"].fillna(
        pd.to_numeric(info["elv"].reindex(wide.index), errors="coerce")
    )
    table["igbp"] = wide["igbp"].fillna("") if "igbp" in wide else ""
    table["climate"] = climate.fillna("")
    return table.reset_index()[_COLUMNS]
