"""Known values of the FLUXNET-family readers, checked against the raw files in ../shared/data.

Every expected number below was read from the raw CSV with awk/grep (file and row named in the
comment), not from the readers' output.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.io import detect_format, read
from tests.conftest import SHARED_DATA

SITES = SHARED_DATA / "sites"
FR_PUE_MM = (
    SITES / "fluxnet2015_MM_YY_FR-Pue" / "FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-3.csv"
)
FR_PUE_YY = (
    SITES / "fluxnet2015_MM_YY_FR-Pue" / "FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2014_2-3.csv"
)
FDK = SITES / "fluxdatakit_daily_CH-Lae_FR-Pue"
FDK_FR_PUE = FDK / "FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv"
FDK_CH_LAE = FDK / "FLX_CH-Lae_FLUXDATAKIT_FULLSET_DD_2004_2014_2-3.csv"
US_TW3 = SITES / "ameriflux_base_hh_US-Tw3" / "AMF_US-Tw3_BASE_HH_5-5.csv.gz"
US_CRT = SITES / "ameriflux_base_hh_US-CRT_sample" / "AMF_US-CRT_BASE_HH_2-5.csv"
MONTHLY = SITES / "fluxnet2015_monthly_189sites"
#: gC m-2 d-1 per umol CO2 m-2 s-1 = 1e-6 mol/umol * 12.011 g/mol * 86400 s/d.
UMOL_TO_GC_PER_DAY = 1e-6 * 12.011 * 86400

pytestmark = pytest.mark.skipif(not SITES.is_dir(), reason="../shared/data is not present")


def value(ds, name, site, when):
    return float(ds[name].sel(site=site, time=pd.Timestamp(when)))


@pytest.fixture(scope="module")
def fr_pue_mm():
    return read(FR_PUE_MM)


@pytest.fixture(scope="module")
def us_tw3():
    return read(US_TW3)


def test_fluxnet2015_mm_values_units_and_coordinates(fr_pue_mm):
    ds = fr_pue_mm
    assert ds.attrs["time_step"] == "MM" and ds.attrs["source_format"] == "fluxnet"
    # 96 data rows, TIMESTAMP 200701 .. 201412 (awk 'END{print NR}' gives 97 with the header)
    assert ds.sizes["time"] == 96
    assert ds.time.values[0] == np.datetime64("2007-01-01") == ds.time.values.min()
    assert ds.time.values[-1] == np.datetime64("2014-12-01")
    # row 2 (TIMESTAMP 200701): TA_F col 15, VPD_F col 42, P_F col 48, NEE_VUT_REF col 88
    assert value(ds, "TA_F", "FR-Pue", "2007-01") == 8.009
    assert value(ds, "VPD_F", "FR-Pue", "2007-01") == 3.237
    assert value(ds, "P_F", "FR-Pue", "2007-01") == 0.755
    assert value(ds, "NEE_VUT_REF", "FR-Pue", "2007-01") == -0.730855
    # row 97 (201412): NEE_VUT_REF -0.523612, GPP_NT_VUT_REF col 255 = 0.883383
    assert value(ds, "NEE_VUT_REF", "FR-Pue", "2014-12") == -0.523612
    assert value(ds, "GPP_NT_VUT_REF", "FR-Pue", "2014-12") == 0.883383
    # row 2 col 68 (TS_F_MDS_2) is -9999
    assert np.isnan(value(ds, "TS_F_MDS_2", "FR-Pue", "2007-01"))
    units = {name: ds[name].attrs["units"] for name in ("NEE_VUT_REF", "VPD_F", "P_F", "TA_F")}
    assert units == {"NEE_VUT_REF": "gC m-2 d-1", "VPD_F": "hPa", "P_F": "mm d-1", "TA_F": "degC"}
    assert ds["NEE_VUT_REF_QC"].attrs["units"] == "1"
    # FLX_AA-Flx_BIF_LATEST.csv: FR-Pue LOCATION_LAT 43.7414, LOCATION_LONG 3.5958, IGBP EBF;
    # siteinfo_fluxnet2015.csv: elv 270, koeppen_code Csa
    assert ds.lat.item() == 43.7414 and ds.lon.item() == 3.5958
    assert ds.elevation.item() == 270.0
    assert ds.igbp.item() == "EBF" and ds.climate.item() == "Csa"


def test_fluxnet2015_yy_with_cr_line_endings():
    ds = read(FR_PUE_YY)  # old-Mac CR line endings (`file` says "with CR line terminators")
    assert ds.attrs["time_step"] == "YY" and ds.sizes["time"] == 8
    # tr '\r' '\n': NEE_VUT_REF 2007 = -375.847, P_F 2014 = 1264.117
    assert value(ds, "NEE_VUT_REF", "FR-Pue", "2007") == -375.847
    assert value(ds, "P_F", "FR-Pue", "2014") == 1264.117
    assert ds["NEE_VUT_REF"].attrs["units"] == "gC m-2 y-1"
    assert ds["P_F"].attrs["units"] == "mm y-1"


def test_fluxdatakit_renames_met_and_converts_carbon_fluxes():
    ds = read(FDK_FR_PUE)
    assert ds.attrs["time_step"] == "DD" and ds.sizes["time"] == 5479  # rows 2000-01-01..2014-12-31
    for old, new in [("TA_F_MDS", "TA_F"), ("SW_IN_F_MDS", "SW_IN_F"), ("VPD_F_MDS", "VPD_F")]:
        assert old not in ds and new in ds
    assert "LW_IN_F" in ds and "TMIN_F" in ds and "TA_F_DAY" in ds
    # row 2 (2000-01-01): TA_F_MDS 7.59643580118817, VPD_F_MDS 5.11141667763392,
    # LW_IN_F_MDS 300.508374532064, GPP_NT_VUT_REF 2.88171871130665 (umol m-2 s-1 daily mean)
    assert value(ds, "TA_F", "FR-Pue", "2000-01-01") == 7.59643580118817
    assert value(ds, "VPD_F", "FR-Pue", "2000-01-01") == 5.11141667763392
    assert value(ds, "LW_IN_F", "FR-Pue", "2000-01-01") == 300.508374532064
    gpp = value(ds, "GPP_NT_VUT_REF", "FR-Pue", "2000-01-01")
    assert gpp == pytest.approx(2.88171871130665 * UMOL_TO_GC_PER_DAY, rel=1e-12)
    assert ds["GPP_NT_VUT_REF"].attrs["units"] == "gC m-2 d-1"
    assert np.isnan(value(ds, "NETRAD", "FR-Pue", "2000-01-01"))  # "NA" in row 2, col 25


def test_fluxdatakit_daily_mean_matches_fluxnet2015_monthly(fr_pue_mm):
    """Independent check of the unit conversion: FLUXNET2015 MM GPP of Jan 2007 (row 2, col 255:
    2.37041 gC m-2 d-1) is the mean of the daily values; the raw FluxDataKit mean over Jan 2007
    (awk: 2.28423824 umol m-2 s-1) differs from it by exactly the unit factor."""
    ds = read(FDK_FR_PUE)
    jan = ds["GPP_NT_VUT_REF"].sel(site="FR-Pue", time=slice("2007-01-01", "2007-01-31"))
    assert float(jan.mean()) == pytest.approx(2.37041, rel=1e-4)
    assert float(jan.mean()) == pytest.approx(2.28423824 * UMOL_TO_GC_PER_DAY, rel=1e-7)
    assert value(fr_pue_mm, "GPP_NT_VUT_REF", "FR-Pue", "2007-01") == 2.37041


def test_fluxdatakit_ch_lae():
    ds = read(FDK_CH_LAE)
    assert ds.sizes["time"] == 4018  # awk: 4018 data rows, 2004-01-01 .. 2014-12-31
    assert ds.time.values[0] == np.datetime64("2004-01-01")
    assert value(ds, "TA_F", "CH-Lae", "2004-01-01") == -2.37681299845375  # row 2, col 8
    assert value(ds, "TMIN_F", "CH-Lae", "2014-12-31") == -4.17499389648435  # last row, col 4
    assert "TA_F_QC" in ds  # CH-Lae already calls it TA_F_QC
    assert ds.igbp.item() == "MF" and ds.climate.item() == "Cfb"  # BIF / siteinfo


def test_ameriflux_base_hh_gzip(us_tw3):
    ds = us_tw3
    assert detect_format(US_TW3) == "ameriflux_base"
    assert ds.attrs["time_step"] == "HH"
    # grep -c '^20': 95088 rows, TIMESTAMP_START 201301010000 .. 201806042330, no gaps
    assert ds.sizes["time"] == 95088
    assert ds.time.values[0] == np.datetime64("2013-01-01T00:00")
    assert ds.time.values[-1] == np.datetime64("2018-06-04T23:30")
    # row with TIMESTAMP_START 201806042300: FC 3.790438, SWC_1_1_1 26.0555, SWC_1_2_1 16.0235,
    # TS_1_1_1 20.526667, GPP_PI_F 0.507362
    when = "2018-06-04T23:00"
    assert value(ds, "FC", "US-Tw3", when) == 3.790438
    assert value(ds, "SWC", "US-Tw3", when) == 26.0555
    assert value(ds, "SWC_1_2_1", "US-Tw3", when) == 16.0235
    assert value(ds, "TS", "US-Tw3", when) == 20.526667
    assert value(ds, "GPP_PI_F", "US-Tw3", when) == 0.507362
    assert "SWC_1_1_1" not in ds and "TS_1_1_1" not in ds
    assert int(ds["FC"].notnull().sum()) == 65458  # awk: FC != -9999 in 65458 rows
    assert ds["FC"].attrs["units"] == "umol m-2 s-1"
    assert ds["FCH4"].attrs["units"] == "nmol m-2 s-1"
    assert ds["FC_SSITC_TEST"].attrs["units"] == "1"
    assert ds.igbp.item() == "CRO" and ds.lat.item() == 38.1159  # BIF: US-Tw3


def test_ameriflux_base_sample_us_crt():
    ds = read(US_CRT)
    assert ds.sizes["time"] == 96  # grep -c '^2011': 96 half hours
    # data row 1 (201101010000): G_1_1_1 27.4496, G_2_1_1 37.31582, TA 11.17954, FC -9999
    assert value(ds, "G", "US-CRT", "2011-01-01T00:00") == 27.4496
    assert value(ds, "G_2_1_1", "US-CRT", "2011-01-01T00:00") == 37.31582
    assert value(ds, "TA", "US-CRT", "2011-01-01T00:00") == 11.17954
    assert np.isnan(value(ds, "FC", "US-CRT", "2011-01-01T00:00"))
    # data row 40 (201101011930): FC 0.20542406, TS_2_1_1 4.652451
    assert value(ds, "FC", "US-CRT", "2011-01-01T19:30") == 0.20542406
    assert value(ds, "TS_2_1_1", "US-CRT", "2011-01-01T19:30") == 4.652451
    assert ds.igbp.item() == "CRO" and ds.climate.item() == "Dfa"


def test_monthly_collection_189_sites_fast():
    start = time.perf_counter()
    ds = read(MONTHLY / "*_MM.csv")
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"reading the 189 monthly files took {elapsed:.1f} s"
    assert ds.sizes["site"] == 189 and ds.attrs["time_step"] == "MM"
    # union of TIMESTAMP: 199101 .. 201412 = 288 months
    assert ds.time.values[0] == np.datetime64("1991-01-01") and ds.sizes["time"] == 288
    # awk 'FNR>1' *.csv | wc -l: 16692 site-months, each with TA_F
    has_data = ds.to_array().notnull().any("variable")
    assert int(has_data.sum()) == 16692
    # awk: 16236 non-empty NEE_VUT_REF cells, 16092 non-empty RECO cells
    assert int(ds["NEE_VUT_REF"].notnull().sum()) == 16236
    assert int(ds["RECO"].notnull().sum()) == 16092
    # AT-Neu_MM.csv row 2 (200201): GPP_NT_VUT_REF 0.354427, RECO 0.9950019999999999
    assert value(ds, "GPP_NT_VUT_REF", "AT-Neu", "2002-01") == 0.354427
    assert value(ds, "RECO", "AT-Neu", "2002-01") == 0.9950019999999999
    # US-Ha1_MM.csv row 2 (199101): NEE_VUT_REF 0.700704
    assert value(ds, "NEE_VUT_REF", "US-Ha1", "1991-01") == 0.700704
    assert ds["RECO"].attrs["units"] == "gC m-2 d-1"
    neu = ds.sel(site="AT-Neu")
    # coordinates from the file (Lat 47.11667, PFT GRA, Climate Continental), elevation from the
    # bundled table (BIF LOCATION_ELEV 970)
    assert neu.lat.item() == 47.11667 and neu.igbp.item() == "GRA"
    assert neu.climate.item() == "Continental" and neu.elevation.item() == 970.0
    # GL-NuF is DK-NuF in FLUXNET2015 (BIF LOCATION_ELEV 50)
    assert ds.sel(site="GL-NuF").elevation.item() == 50.0
