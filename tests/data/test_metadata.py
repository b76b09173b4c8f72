"""The bundled FLUXNET2015 site table and site_meta, against values grepped from the raw files."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hybridflux.data.metadata import (
    SITE_TABLE_PATH,
    build_site_table,
    complete_meta,
    site_meta,
    site_table,
)
from hybridflux.data.schema import SiteMeta
from tests.conftest import SHARED_DATA

META = SHARED_DATA / "metadata"


def test_known_sites():
    # FLX_AA-Flx_BIF_LATEST.csv: FR-Pue LOCATION_LAT 43.7414, LOCATION_LONG 3.5958, IGBP EBF;
    # siteinfo_fluxnet2015.csv: FR-Pue elv 270, koeppen_code Csa; BIF UTC_OFFSET 1
    assert site_meta("FR-Pue") == SiteMeta(43.7414, 3.5958, 270.0, "EBF", "Csa", 1.0)
    # BIF: US-Tw3 LOCATION_ELEV -9 (below sea level), IGBP CRO
    assert site_meta("US-Tw3").elevation == -9.0 and site_meta("US-Tw3").igbp == "CRO"


def test_moved_tower_uses_latest_location():
    # BIF: RU-Sam has three locations; the latest (LOCATION_DATE_START 200907090000) is
    # 72.3738 N 126.4958 E; DE-RuS latest (201410270920) has LOCATION_ELEV 102.76
    assert (site_meta("RU-Sam").lat, site_meta("RU-Sam").lon) == (72.3738, 126.4958)
    assert site_meta("DE-RuS").elevation == 102.76


def test_climate_fallback_to_site_info_all():
    # US-CRT is not in siteinfo_fluxnet2015.csv; fluxnet_site_info_all.csv says
    # "Dfa - Snow with fully humid hot summer"
    assert site_meta("US-CRT").climate == "Dfa"
    # CN-HaM: koeppen_code NA in siteinfo, absent from fluxnet_site_info_all: unknown
    assert site_meta("CN-HaM").climate == ""


def test_unknown_site_and_renamed_sites():
    meta = site_meta("XX-Unk")
    assert math.isnan(meta.lat) and meta.igbp == "" and meta.climate == ""
    # the 189-site monthly collection calls DK-NuF "GL-NuF" (BIF: DK-NuF IGBP WET, LAT 64.1308)
    assert site_meta("GL-NuF") == site_meta("DK-NuF")
    assert site_meta("GL-NuF").igbp == "WET" and site_meta("GL-NuF").lat == 64.1308


def test_complete_meta_fills_only_unknown_fields():
    filled = complete_meta(SiteMeta(lat=47.11667, igbp="GRA", climate="Continental"), "AT-Neu")
    # lat/igbp/climate from the argument; lon, elevation, UTC offset from the BIF (11.3175, 970, 1)
    assert filled == SiteMeta(47.11667, 11.3175, 970.0, "GRA", "Continental", 1.0)


def test_table_is_small_and_attributed():
    text = SITE_TABLE_PATH.read_text()
    assert len(text) < 20_000
    assert "CC-BY-4.0" in text and "Pastorello" in text and "10.1038/s41597-020-0534-3" in text
    assert (SITE_TABLE_PATH.parent / "README.md").is_file()
    table = site_table()
    assert len(table) == 212  # cut -d';' -f1 FLX_AA-Flx_BIF_LATEST.csv | sort -u: 212 sites
    assert list(table.columns) == ["lat", "lon", "elevation", "igbp", "climate", "utc_offset"]
    assert (table["igbp"] != "").all()


def test_utc_offsets_from_the_bif():
    # grep ';UTC_OFFSET;' FLX_AA-Flx_BIF_LATEST.csv: AT-Neu 1, AR-SLu -3, AU-How 9.5
    assert site_meta("AT-Neu").utc_offset == 1.0
    assert site_meta("AR-SLu").utc_offset == -3.0
    assert site_meta("AU-How").utc_offset == 9.5


@pytest.mark.skipif(not META.is_dir(), reason="../shared/data/metadata is not present")
def test_shipped_table_is_what_the_builder_derives():
    built = build_site_table(
        META / "FLX_AA-Flx_BIF_LATEST.csv",
        META / "siteinfo_fluxnet2015.csv",
        META / "fluxnet_site_info_all.csv",
    )
    shipped = site_table().reset_index()
    pd.testing.assert_frame_equal(shipped, built, check_dtype=False)
