"""Every folder of ../shared/data/sites read through ``hybridflux.data.io.read``.

For each folder: the files read (one ``io.read`` call per group that forms one Dataset), the
sites, time step, period, units and a few values. Expected values were read from the raw files
with grep/awk (file and line in the comments), not from the readers. Files that are not flux
tables are listed in :data:`SKIPPED` with the reason; a test fails if a file is neither read
nor skipped, so a new folder cannot be forgotten.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.schema import validate
from tests.conftest import SHARED_DATA

SITES = SHARED_DATA / "sites"

#: Files that are not flux tables: metadata, model settings, units tables.
SKIPPED: dict[str, str] = {
    "ameriflux_base_hh_US-CRT_sample/AMF_AA-Flx_BIF_CCBY4_20201218.xlsx": "BIF metadata (xlsx)",
    "ameriflux_base_hh_US-CRT_sample/AMF_US-CRT_BASE-BADM_2-5.zip": "BADM metadata archive",
    "cardamom_fluxval_monthly_204sites/location_fluxnet.csv": "site list (checked below)",
    "hesseflux_hh_FR-Hes_DE-Tha/europe-fluxdata_units.csv": "units table of the format",
    "plumber_daily_26sites/fdk_site_fullyearsequence.csv": "FluxDataKit site-year table",
    "plumber_daily_26sites/fdk_site_info.csv": "FluxDataKit site table",
    "rsofun_daily_FR-Pue/p_model_drivers_params_siml.csv": "rsofun model settings",
    "rsofun_daily_FR-Pue/p_model_drivers_site_info.csv": "site coordinates, used by rsofun",
}


@dataclass(frozen=True)
class Read:
    """One ``io.read`` call and what it must give.

    ``values``: (variable, site, interval start, expected value) — exact to 1e-6 relative.
    """

    files: tuple[str, ...]
    sites: tuple[str, ...]
    step: str
    period: tuple[str, str]
    units: dict[str, str] = field(default_factory=dict)
    values: tuple[tuple[str, str, str, float], ...] = ()


_FLUX_HH, _FLUX_DD = "umol m-2 s-1", "gC m-2 d-1"
# FluxDataKit/PLUMBER DD files hold carbon fluxes as daily means in umol m-2 s-1 (their Jan 2007
# FR-Pue GPP_NT mean 2.28424 × 1.0377504 = 2.3705 = FLUXNET2015 MM 2.37041 gC m-2 d-1).
_UMOL_TO_GC = 1e-6 * 12.011 * 86400
READS: dict[str, Read] = {
    "US-CRT BASE": Read(
        ("ameriflux_base_hh_US-CRT_sample/AMF_US-CRT_BASE_HH_2-5.csv",),
        ("US-CRT",),
        "HH",
        ("2011-01-01 00:00", "2011-01-02 23:30"),
        {"FC": _FLUX_HH, "TA": "degC"},
        # line 5: TIMESTAMP_START 201101010030, TA 11.69442, P 0.254; last line: FC 0.774572044
        (
            ("TA", "US-CRT", "2011-01-01 00:30", 11.69442),
            ("P", "US-CRT", "2011-01-01 00:30", 0.254),
            ("FC", "US-CRT", "2011-01-02 23:30", 0.774572044),
        ),
    ),
    "US-Tw3 BASE": Read(
        ("ameriflux_base_hh_US-Tw3/AMF_US-Tw3_BASE_HH_5-5.csv.gz",),
        ("US-Tw3",),
        "HH",
        ("2013-01-01 00:00", "2018-06-04 23:30"),
        {"FC": _FLUX_HH, "TA": "degC"},
        # zcat | awk: first FC != -9999 at 201305241230: FC -25.015616, TA 23.07, GPP_PI_F 31.915271
        (
            ("FC", "US-Tw3", "2013-05-24 12:30", -25.015616),
            ("TA", "US-Tw3", "2013-05-24 12:30", 23.07),
            ("GPP_PI_F", "US-Tw3", "2013-05-24 12:30", 31.915271),
        ),
    ),
    "AmeriFlux/ELM tutorial": Read(
        ("ameriflux_daily_3sites/tutorial3_*.csv",),
        ("BR-Sa1", "US-ARM", "US-Syv"),
        "DD",
        ("2001-01-01", "2016-01-01"),
        {"NEE_VUT_REF": _FLUX_DD, "ELM_NEE": _FLUX_DD, "VPD_F": "hPa"},
        # tutorial3_BR_Sa1.csv line 2 (2002-01-01): NEE_VUT_REF 0.444362, TA_F 25.299,
        # ELM NEE 5.56078873614752e-07 gC m-2 s-1
        (
            ("NEE_VUT_REF", "BR-Sa1", "2002-01-01", 0.444362),
            ("TA_F", "BR-Sa1", "2002-01-01", 25.299),
            ("ELM_NEE", "BR-Sa1", "2002-01-01", 5.56078873614752e-07 * 86400),
        ),
    ),
    "bigleaf": Read(
        ("bigleaf_hh_3sites/DERIVED_*.csv",),
        ("AT-Neu", "DE-Tha", "FR-Pue"),
        "HH",
        ("2010-07-01 00:00", "2014-06-30 23:30"),
        {"VPD_F": "hPa", "NEE_F": _FLUX_HH},
        # DERIVED_AT_Neu_Jul_2010.csv line 2: Tair 12.03999996185303, VPD 0.1483000040054321 kPa
        (
            ("TA_F", "AT-Neu", "2010-07-01 00:00", 12.03999996185303),
            ("VPD_F", "AT-Neu", "2010-07-01 00:00", 1.483000040054321),
        ),
    ),
    "CARDAMOM": Read(
        ("cardamom_fluxval_monthly_204sites/cardamom_fluxval_monthly_2000-2015_calibration.csv",),
        (),
        "MM",
        ("2000-01-01", "2015-12-01"),
        {"GPP": _FLUX_DD, "SW_IN_ERA": "W m-2"},
        # first GL-NuF line: TMIN_C -11.964; line 109: AR-SLu 2008-12 GPP_cal 9.096
        (("TMIN_ERA", "DK-NuF", "2000-01-01", -11.964), ("GPP", "AR-SLu", "2008-12-01", 9.096)),
    ),
    "FluxDataKit": Read(
        ("fluxdatakit_daily_CH-Lae_FR-Pue/FLX_*.csv",),
        ("CH-Lae", "FR-Pue"),
        "DD",
        ("2000-01-01", "2014-12-31"),
        {"TA_F": "degC", "VPD_F": "hPa", "GPP_NT_VUT_REF": _FLUX_DD},
        # CH-Lae line 2 (2004-01-01): TA_F_MDS -2.37681299845375; FR-Pue line 2 (2000-01-01):
        # GPP_NT_VUT_REF 2.88171871130665, NEE_VUT_REF -1.04012658136586
        (
            ("TA_F", "CH-Lae", "2004-01-01", -2.37681299845375),
            ("GPP_NT_VUT_REF", "FR-Pue", "2000-01-01", 2.88171871130665 * _UMOL_TO_GC),
            ("NEE_VUT_REF", "FR-Pue", "2000-01-01", -1.04012658136586 * _UMOL_TO_GC),
        ),
    ),
    "FLUXNET2015 MM": Read(
        ("fluxnet2015_MM_YY_FR-Pue/FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-3.csv",),
        ("FR-Pue",),
        "MM",
        ("2007-01-01", "2014-12-01"),
        {"TA_F": "degC", "NEE_VUT_REF": _FLUX_DD},
        # line 2 (200701): TA_F 8.009, GPP_NT_VUT_REF 2.37041, NEE_VUT_REF -0.730855
        (
            ("TA_F", "FR-Pue", "2007-01-01", 8.009),
            ("GPP_NT_VUT_REF", "FR-Pue", "2007-01-01", 2.37041),
            ("NEE_VUT_REF", "FR-Pue", "2007-01-01", -0.730855),
        ),
    ),
    "FLUXNET2015 YY (CR line ends)": Read(
        ("fluxnet2015_MM_YY_FR-Pue/FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2014_2-3.csv",),
        ("FR-Pue",),
        "YY",
        ("2007-01-01", "2014-01-01"),
        {"GPP_NT_VUT_REF": "gC m-2 y-1"},
        # tr '\r' '\n' | awk: 2007: TA_F 13.734, GPP_NT_VUT_REF 1471.48
        (
            ("TA_F", "FR-Pue", "2007-01-01", 13.734),
            ("GPP_NT_VUT_REF", "FR-Pue", "2007-01-01", 1471.48),
        ),
    ),
    "MODIS GEE subset": Read(
        ("fluxnet2015_MM_YY_FR-Pue/CH-Lae_MCD15A3H_gee_subset.csv",),
        ("CH-Lae",),
        "DD",
        ("2010-01-01", "2012-12-30"),
        {"FPAR": "1"},
        (("FPAR", "CH-Lae", "2010-01-01", 0.37),),  # line 2: Fpar 37 (scale 0.01)
    ),
    "monthly 189 sites": Read(
        ("fluxnet2015_monthly_189sites/*_MM.csv",),
        (),
        "MM",
        ("1991-01-01", "2014-12-01"),  # awk over all files: 199101 … 201412
        {"TA_F": "degC", "GPP_NT_VUT_REF": _FLUX_DD},
        # AT-Neu_MM.csv line 2 (200201): GPP_NT_VUT_REF 0.354427, TA_F -4.161
        (
            ("GPP_NT_VUT_REF", "AT-Neu", "2002-01-01", 0.354427),
            ("TA_F", "AT-Neu", "2002-01-01", -4.161),
        ),
    ),
    "hesseflux FR-Hes": Read(
        ("hesseflux_hh_FR-Hes_DE-Tha/FR-Hes_europe-fluxdata_2016.txt.gz",),
        ("FR-Hes",),
        "HH",
        ("2016-01-01 00:00", "2016-12-31 23:30"),
        {"FC": _FLUX_HH, "PA": "kPa"},
        (("FC", "FR-Hes", "2016-01-01 01:00", 1.2347),),  # line 4: TIMESTAMP_END 201601010130
    ),
    "hesseflux test_gapfill": Read(
        ("hesseflux_hh_FR-Hes_DE-Tha/test_gapfill.csv",),
        ("DE-Tha",),
        "HH",
        ("1998-01-01 00:00", "1998-12-31 23:30"),
        {"NEE": _FLUX_HH},
        (("NEE", "DE-Tha", "1998-01-01 00:00", -1.21),),  # line 3: 1 0.5 -1.21
    ),
    "hesseflux test_nee2gpp": Read(
        ("hesseflux_hh_FR-Hes_DE-Tha/test_nee2gpp.csv",),
        ("FR-LBr",),
        "HH",
        ("2006-01-01 00:00", "2006-12-31 23:30"),
        {"GPP": _FLUX_HH},
        (("RECO", "FR-LBr", "2006-12-31 23:30", 4.10949),),  # last line, 23:45 mid-interval
    ),
    "openeddy": Read(
        ("openeddy_hh_CZ-Lnz/eddy_data.csv",),
        ("CZ-Lnz",),
        "HH",
        ("2023-07-23 00:00", "2023-08-05 23:30"),
        {"NEE": _FLUX_HH, "VPD_F": "hPa"},
        (("NEE", "CZ-Lnz", "2023-07-23 00:00", -1.60378),),  # line 3, end 00:30
    ),
    "PLUMBER": Read(
        ("plumber_daily_26sites/FLX_*.csv",),
        (),
        "DD",
        ("2019-01-01", "2021-12-31"),
        {"TA_F": "degC", "GPP_NT_VUT_REF": _FLUX_DD, "LAI": "m2 m-2"},
        # FLX_BE-Bra line 2 (2019-01-01): TA_F_MDS 7.12964655558271, GPP_NT -0.154990007140441,
        # LAI 0.6372
        (
            ("TA_F", "BE-Bra", "2019-01-01", 7.12964655558271),
            ("GPP_NT_VUT_REF", "BE-Bra", "2019-01-01", -0.154990007140441 * _UMOL_TO_GC),
            ("LAI", "BE-Bra", "2019-01-01", 0.6372),
        ),
    ),
    "pyrealm": Read(
        ("pyrealm_hh_BE-Vie/subdaily_BE_Vie_2014.csv",),
        ("BE-Vie",),
        "HH",
        ("2014-01-01 00:00", "2014-12-31 23:30"),
        {"VPD_F": "hPa", "PA_F": "kPa"},
        (("VPD_F", "BE-Vie", "2014-01-01 00:00", 0.522),),  # line 2: vpd 52.2 Pa
    ),
    "REddyProc text": Read(
        ("reddyproc_hh_DE-Tha_DE-Geb/Example_DETha98.txt",),
        ("DE-Tha",),
        "HH",
        ("1998-01-01 00:00", "1998-12-31 23:30"),
        {"NEE": _FLUX_HH},
        (("TA_F", "DE-Tha", "1998-01-01 00:00", 7.4),),  # line 3
    ),
    "REddyProc netCDF": Read(
        ("reddyproc_hh_DE-Tha_DE-Geb/Example_DE-Tha.1996.1998.hourly_selVars.nc",),
        ("DE-Tha",),
        "HH",
        ("1996-01-01 00:00", "1998-12-31 23:30"),
        {"NEE_F": _FLUX_HH},
        (("RH", "DE-Tha", "1996-01-01 00:00", float(np.float32(92.65))),),  # rH[0]
    ),
    "REddyProc CSV": Read(
        ("reddyproc_hh_DE-Tha_DE-Geb/DERIVED_DEGebExample.csv",),
        ("DE-Geb",),
        "HH",
        ("2004-01-01 00:00", "2006-12-31 23:30"),
        {"NEE": _FLUX_HH},
        (("NEE", "DE-Geb", "2004-01-01 04:30", 0.346),),  # line 11, end 05:00
    ),
    "rsofun forcing": Read(
        ("rsofun_daily_FR-Pue/p_model_drivers_forcing.csv",),
        ("FR-Pue",),
        "DD",
        ("2007-01-01", "2012-12-31"),
        {"VPD_F": "hPa", "GPP": _FLUX_DD},
        (("VPD_F", "FR-Pue", "2007-01-01", 1.83014285564423),),  # line 2: vpd 183.01 Pa
    ),
    "rsofun validation": Read(
        ("rsofun_daily_FR-Pue/p_model_validation.csv",),
        ("FR-Pue",),
        "DD",
        ("2007-01-01", "2012-12-31"),
        {"GPP": _FLUX_DD},
        (("GPP", "FR-Pue", "2007-01-01", 2.20837),),  # line 2
    ),
}
_SITE_COUNTS = {"CARDAMOM": 204, "monthly 189 sites": 189, "PLUMBER": 26}


def _paths(read: Read) -> list[Path]:
    out = []
    for pattern in read.files:
        out.extend(sorted(SITES.glob(pattern)))
    return out


@functools.cache
def _load(key: str):
    from hybridflux.data import io

    return validate(io.read(_paths(READS[key])), key)


def test_every_file_is_read_or_skipped(shared_data):
    covered = {p.relative_to(SITES).as_posix() for r in READS.values() for p in _paths(r)}
    files = {p.relative_to(SITES).as_posix() for p in SITES.glob("*/*") if p.is_file()}
    assert files - covered - set(SKIPPED) == set()
    assert set(SKIPPED) <= files and not covered & set(SKIPPED)
    folders = {p.name for p in SITES.iterdir() if p.is_dir()}
    assert folders == {f.split("/")[0] for f in covered}


@pytest.mark.parametrize("key", list(READS))
def test_folder(shared_data, key):
    read = READS[key]
    ds = _load(key)
    sites = ds.site.values.tolist()
    if read.sites:
        assert sorted(sites) == sorted(read.sites)
    else:
        assert len(sites) == _SITE_COUNTS[key]
    assert ds.attrs["time_step"] == read.step
    start, end = pd.DatetimeIndex(ds.time.values[[0, -1]])
    assert (start, end) == (pd.Timestamp(read.period[0]), pd.Timestamp(read.period[1]))
    for name, unit in read.units.items():
        assert ds[name].attrs["units"] == unit, name
    for name, site, time, expected in read.values:
        got = float(ds[name].sel(site=site, time=pd.Timestamp(time)))
        assert got == pytest.approx(expected, rel=1e-6), (name, site, time)


def test_elm_output_is_not_observed_nee(shared_data):
    ds = _load("AmeriFlux/ELM tutorial")
    assert not {"NEE", "GPP", "ER"} & set(ds.data_vars)


def test_cardamom_igbp_matches_location_table(shared_data):
    ds = _load("CARDAMOM")
    table = pd.read_csv(SITES / "cardamom_fluxval_monthly_204sites" / "location_fluxnet.csv")
    ids = table["Flux_name"].str.replace("^GL-", "DK-", regex=True)
    ids = ids.str.replace("^SJ-", "NO-", regex=True)
    expected = dict(zip(ids, table["LC"], strict=True))
    got = dict(zip(ds.site.values.tolist(), ds.igbp.values.tolist(), strict=True))
    assert got == expected
