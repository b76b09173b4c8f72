"""Known values of the non-FLUXNET readers (hybridflux.data.readers.others) on the real files.

Every expected number below was read from the raw file with grep/awk/netCDF4 (the comment names
file and line), not from the readers' output. Timestamps are interval starts, so a value on a
line stamped at the interval end appears one step earlier.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.readers import (
    bigleaf,
    cardamom,
    elm_tutorial,
    hesseflux,
    modis_gee,
    openeddy,
    others,
    pyrealm,
    reddyproc,
    rsofun,
)
from hybridflux.data.schema import validate


@functools.cache
def _read(module, path: Path):
    return validate(module.read(path), str(path))


def _value(ds, name, time, site=None):
    site = site if site is not None else str(ds.site.values[0])
    return float(ds[name].sel(site=site, time=pd.Timestamp(time)))


def _head(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return handle.read(4096).decode("latin-1")


@pytest.fixture
def sites(shared_data) -> Path:
    return shared_data / "sites"


def test_reddyproc_text_cr_line_ends(sites):
    ds = _read(reddyproc, sites / "reddyproc_hh_DE-Tha_DE-Geb" / "Example_DETha98.txt")
    assert ds.site.values.tolist() == ["DE-Tha"] and ds.attrs["time_step"] == "HH"
    # line 3: "1998 1 0.5 -1.21 1.49 -11.77 0 7.4 4.19 55.27 4.6 0.72" (end 00:30)
    assert _value(ds, "NEE", "1998-01-01 00:00") == -1.21
    assert _value(ds, "TA_F", "1998-01-01 00:00") == 7.4
    assert _value(ds, "VPD_F", "1998-01-01 00:00") == 4.6
    # line 5: "1998 1 1.5 -9999 ..." → NaN
    assert np.isnan(_value(ds, "NEE", "1998-01-01 01:00"))
    # last line: "1998 366 0 0.32 -1.3 -32.25 0 -1.3 1.41 73.74 1.5 0.7"
    assert _value(ds, "NEE", "1998-12-31 23:30") == 0.32
    assert str(ds.time.values[-1])[:16] == "1998-12-31T23:30"
    # awk: 11263 data lines with NEE != -9999
    assert int(ds.NEE.notnull().sum()) == 11263
    assert ds.VPD_F.attrs["units"] == "hPa" and ds.SW_IN_F.attrs["units"] == "W m-2"


def test_reddyproc_netcdf_uses_year_month_day_hour(sites):
    path = sites / "reddyproc_hh_DE-Tha_DE-Geb" / "Example_DE-Tha.1996.1998.hourly_selVars.nc"
    ds = _read(reddyproc, path)
    # global attributes Site_ID, Latitude, IGBP_class, Climate_class
    assert ds.site.values.tolist() == ["DE-Tha"]
    assert float(ds.lat[0]) == pytest.approx(50.9636) and str(ds.igbp.values[0]) == "ENF"
    assert str(ds.climate.values[0]) == "Cfb" and float(ds.elevation[0]) == 380.0
    # 3 years × 48 half-hours (1996 leap): 52608 records, first end 1996-01-01 00:30
    assert ds.sizes["time"] == 52608 and str(ds.time.values[0])[:16] == "1996-01-01T00:00"
    # netCDF4, record 6080: year 1996 month 5 day 6 hour 16.5, NEE masked, NEE_f -12.446,
    # Tair 11.02, rH 95.33 (float32)
    t = "1996-05-06 16:00"
    assert np.isnan(_value(ds, "NEE", t))
    assert _value(ds, "NEE_F", t) == pytest.approx(-12.446, abs=1e-5)
    assert _value(ds, "TA_F", t) == pytest.approx(11.02, abs=1e-5)
    assert _value(ds, "RH", t) == pytest.approx(95.33, abs=1e-4)
    assert int(ds.NEE.notnull().sum()) == 24885  # netCDF4: unmasked NEE records


def test_reddyproc_csv(sites):
    ds = _read(reddyproc, sites / "reddyproc_hh_DE-Tha_DE-Geb" / "DERIVED_DEGebExample.csv")
    assert ds.site.values.tolist() == ["DE-Geb"]
    # line 2: "2004-01-01 00:30:00,,0.092,-0.06,96.13,0.0" (DateTime = interval end)
    assert np.isnan(_value(ds, "NEE", "2004-01-01 00:00"))
    assert _value(ds, "USTAR", "2004-01-01 00:00") == 0.092
    assert _value(ds, "RH", "2004-01-01 00:00") == 96.13
    # line 11: "2004-01-01 05:00:00,0.346,..."
    assert _value(ds, "NEE", "2004-01-01 04:30") == 0.346
    assert int(ds.NEE.notnull().sum()) == 30759  # awk: non-empty NEE cells


def test_hesseflux_gapfill_file_is_reddyproc_detha_1998(sites):
    test = _read(hesseflux, sites / "hesseflux_hh_FR-Hes_DE-Tha" / "test_gapfill.csv")
    ref = _read(reddyproc, sites / "reddyproc_hh_DE-Tha_DE-Geb" / "Example_DETha98.txt")
    assert test.site.values.tolist() == ["DE-Tha"]
    np.testing.assert_array_equal(test.time.values, ref.time.values)
    for name in ("NEE", "TA_F", "VPD_F", "USTAR"):
        np.testing.assert_array_equal(test[name].values, ref[name].values)


def test_hesseflux_nee2gpp_file_is_fr_lbr_2006(sites):
    ds = _read(hesseflux, sites / "hesseflux_hh_FR-Hes_DE-Tha" / "test_nee2gpp.csv")
    assert ds.site.values.tolist() == ["FR-LBr"]
    # last line "31,12,2006,23,45,-9999,0,13.5,2.27545,0.01228,4.10949" (mid-interval 23:45)
    assert _value(ds, "GPP", "2006-12-31 23:30") == 0.01228
    assert _value(ds, "RECO", "2006-12-31 23:30") == 4.10949
    assert np.isnan(_value(ds, "NEE", "2006-12-31 23:30"))
    # fluxnet2015_monthly_189sites/FR-LBr_MM.csv, TA_F of 200601..200612 (lines 122-133)
    fr_lbr = [4.401, 4.305, 9.562, 11.637, 15.352, 19.886, 23.41, 18.383, 19.667, 16.626]
    fr_lbr += [11.279, 5.048]
    monthly = ds.TA_F.isel(site=0).resample(time="MS").mean().values
    np.testing.assert_allclose(monthly, fr_lbr, atol=0.02)


def test_hesseflux_europe_fluxdata(sites):
    ds = _read(
        hesseflux, sites / "hesseflux_hh_FR-Hes_DE-Tha" / "FR-Hes_europe-fluxdata_2016.txt.gz"
    )
    assert ds.site.values.tolist() == ["FR-Hes"] and ds.sizes["time"] == 17568
    # line 3: TIMESTAMP_END 201601010100: FC -9999, FC_SSITC_TEST 2, TA 5.78, PA 98.6787,
    # VPD_PI 0.4320, TS_6_2_1 6.6816
    t = "2016-01-01 00:30"
    assert np.isnan(_value(ds, "FC", t)) and _value(ds, "FC_QC", t) == 2
    assert _value(ds, "TA", t) == 5.78 and _value(ds, "PA", t) == 98.6787
    assert _value(ds, "VPD_PI", t) == 0.432 and _value(ds, "TS_6_2_1", t) == 6.6816
    # line 4 (end 01:30): FC 1.2347, flag 1; last line (end 201701010000): TA -8.1478
    assert _value(ds, "FC", "2016-01-01 01:00") == 1.2347
    assert _value(ds, "TA", "2016-12-31 23:30") == -8.1478
    assert int(ds.FC.notnull().sum()) == 13956  # awk: FC_1_1_1 != -9999
    assert ds.PA.attrs["units"] == "kPa" and ds.FC.attrs["units"] == "umol m-2 s-1"
    assert "TAU" not in ds and "WD" not in ds and "TAU_QC" not in ds  # units not in vocabulary


def test_bigleaf_units_and_qc(sites):
    ds = _read(bigleaf, sites / "bigleaf_hh_3sites" / "DERIVED_AT_Neu_Jul_2010.csv")
    assert ds.site.values.tolist() == ["AT-Neu"] and ds.sizes["time"] == 31 * 48
    # line 2: 2010,7,182.0,0.0, Tair 12.04, VPD 0.1483 kPa, ustar 0.22596, NEE 15.1744 (qc 1)
    t = "2010-07-01 00:00"
    assert _value(ds, "TA_F", t) == pytest.approx(12.04)
    assert _value(ds, "VPD_F", t) == pytest.approx(1.483) and ds.VPD_F.attrs["units"] == "hPa"
    assert _value(ds, "NEE_F", t) == pytest.approx(15.1744) and _value(ds, "NEE_F_QC", t) == 1
    assert _value(ds, "RECO", t) == pytest.approx(14.6328)
    assert np.isnan(_value(ds, "USTAR", "2010-07-01 00:30"))  # line 3: ustar empty


def test_rsofun_units_and_validation_gpp(sites):
    ds = _read(rsofun, sites / "rsofun_daily_FR-Pue" / "p_model_drivers_forcing.csv")
    assert ds.site.values.tolist() == ["FR-Pue"] and ds.attrs["time_step"] == "DD"
    # forcing line 2: 2007-01-01, vpd 183.014285564423 Pa, ppfd 1.0626462027914829e-4 mol,
    # patm 99943.75 Pa, snow 0, rain 2.5462962488139354e-5 mm s-1, fapar 0.604885101318359
    t = "2007-01-01"
    assert _value(ds, "VPD_F", t) == pytest.approx(1.83014285564423)
    assert _value(ds, "PPFD_IN", t) == pytest.approx(106.26462027914829)
    assert _value(ds, "PA_F", t) == pytest.approx(99.94375)
    assert _value(ds, "P_F", t) == pytest.approx(2.5462962488139354e-5 * 86400)
    assert _value(ds, "FPAR", t) == pytest.approx(0.604885101318359)
    # p_model_validation.csv line 2: FR-Pue,2007-01-01,2.20837,0.0107997
    assert _value(ds, "GPP", t) == 2.20837 and ds.GPP.attrs["units"] == "gC m-2 d-1"
    # site_info: lon 3.5957, lat 43.7413, elv 270
    assert float(ds.lat[0]) == 43.7413 and float(ds.elevation[0]) == 270.0
    # no 29 February in the forcing table (lines 425-426 jump 2008-02-28 → 2008-03-01)
    assert np.isnan(_value(ds, "TA_F", "2008-02-29"))


def test_pyrealm_drivers_only(sites):
    ds = _read(pyrealm, sites / "pyrealm_hh_BE-Vie" / "subdaily_BE_Vie_2014.csv")
    assert ds.site.values.tolist() == ["BE-Vie"] and ds.sizes["time"] == 17520
    # line 2: 2014-01-01 00:00,3.33,52.2,418.407,95730.1,0,0,NA
    assert _value(ds, "VPD_F", "2014-01-01 00:00") == pytest.approx(0.522)
    assert _value(ds, "PA_F", "2014-01-01 00:00") == pytest.approx(95.7301)
    # line 26: 2014-01-01 12:00,4.24,49.6,415.485,95730.1,0.522243996,152,2.742215025
    assert _value(ds, "PPFD_IN", "2014-01-01 12:00") == 152
    model_gpp = 2.742215025
    assert not any(name.startswith(("GPP", "NEE", "RECO")) for name in ds.data_vars)
    assert all(_value(ds, n, "2014-01-01 12:00") != model_gpp for n in ds.data_vars)


def test_openeddy_units_line_and_end_stamps(sites):
    ds = _read(openeddy, sites / "openeddy_hh_CZ-Lnz" / "eddy_data.csv")
    assert ds.site.values.tolist() == ["CZ-Lnz"] and ds.sizes["time"] == 14 * 48
    # line 3: 2023-07-23 00:30, Tair 18.5336, VPD 8.78692, NEE -1.60378, qc_NEE_forGF_UF 2,
    # NEE_uStar_f 4.70612, GPP_uStar_f 0.436388
    t = "2023-07-23 00:00"
    assert _value(ds, "TA_F", t) == 18.5336 and _value(ds, "VPD_F", t) == 8.78692
    assert _value(ds, "NEE", t) == -1.60378 and _value(ds, "NEE_QC", t) == 2
    assert _value(ds, "NEE_F", t) == 4.70612 and _value(ds, "GPP_NT", t) == 0.436388
    # last line 2023-08-06 00:00: NEE -9999, NEE_uStar_f 5.92436
    assert np.isnan(_value(ds, "NEE", "2023-08-05 23:30"))
    assert _value(ds, "NEE_F", "2023-08-05 23:30") == 5.92436
    assert int(ds.NEE.notnull().sum()) == 667  # awk


def test_cardamom_sites_ids_and_units(sites):
    path = (
        sites
        / "cardamom_fluxval_monthly_204sites"
        / "cardamom_fluxval_monthly_2000-2015_calibration.csv"
    )
    ds = _read(cardamom, path)
    site_ids = ds.site.values.tolist()
    assert len(site_ids) == 204 and ds.attrs["time_step"] == "MM" and ds.sizes["time"] == 192
    assert {"DK-NuF", "DK-ZaF", "DK-ZaH", "NO-Adv", "NO-Blv"} <= set(site_ids)
    assert not any(s.startswith(("GL-", "SJ-")) for s in site_ids)
    # first GL-NuF line: WET, 64.131, -51.386, 2000-01, TMIN_C -11.964, SSRD 0.43709 MJ m-2 d-1
    nuf = ds.sel(site="DK-NuF")
    assert str(nuf.igbp.values) == "WET" and float(nuf.lat) == 64.131
    assert _value(ds, "TMIN_ERA", "2000-01-01", "DK-NuF") == -11.964
    assert _value(ds, "SW_IN_ERA", "2000-01-01", "DK-NuF") == pytest.approx(0.43709 / 0.0864)
    # line 109: AR-SLu 2008-12, GPP_cal 9.096, NEE_cal -6.0624, ET_cal 2.0926, LAI 0.9
    assert _value(ds, "GPP", "2008-12-01", "AR-SLu") == 9.096
    assert _value(ds, "NEE", "2008-12-01", "AR-SLu") == -6.0624
    assert int(ds.GPP.notnull().sum()) == 6434  # awk: non-empty GPP_cal
    assert int(ds.GPP.sel(site="NO-Adv").notnull().sum()) == 10  # awk: SJ-Adv rows
    assert ds.GPP.attrs["units"] == "gC m-2 d-1" and ds.ET.attrs["units"] == "mm d-1"


def test_elm_output_never_passes_as_observation(sites):
    ds = _read(elm_tutorial, sites / "ameriflux_daily_3sites" / "tutorial3_BR_Sa1.csv")
    assert ds.site.values.tolist() == ["BR-Sa1"]
    for name in ("NEE", "GPP", "ER", "TSA", "RAIN", "year.x", "date.y"):
        assert name not in ds
    # line 2 (2002-01-01): ELM NEE 5.56078873614752e-07 gC m-2 s-1, TSOI_10CM 303.446380615234 K,
    # FLUXNET TA_F 25.299, NEE_VUT_REF 0.444362, GPP_NT_VUT_REF 8.31603, P_F 11.803
    t = "2002-01-01"
    assert _value(ds, "ELM_NEE", t) == pytest.approx(5.56078873614752e-07 * 86400)
    assert _value(ds, "ELM_TSOI_10CM", t) == pytest.approx(303.446380615234 - 273.15)
    assert _value(ds, "NEE_VUT_REF", t) == 0.444362 and _value(ds, "GPP_NT_VUT_REF", t) == 8.31603
    assert _value(ds, "TA_F", t) == 25.299 and _value(ds, "P_F", t) == 11.803
    assert ds.NEE_VUT_REF.attrs["units"] == "gC m-2 d-1" and ds.P_F.attrs["units"] == "mm d-1"


def test_modis_fpar_scaled_and_qc(sites):
    ds = _read(modis_gee, sites / "fluxnet2015_MM_YY_FR-Pue" / "CH-Lae_MCD15A3H_gee_subset.csv")
    assert ds.site.values.tolist() == ["CH-Lae"] and ds.attrs["time_step"] == "DD"
    # line 2: 2010-01-01, Fpar 37, FparLai_QC 73 (bits 5-7 = 2); line 100: 2011-01-25, 1, 107 (3)
    assert _value(ds, "FPAR", "2010-01-01") == pytest.approx(0.37)
    assert _value(ds, "FPAR_QC", "2010-01-01") == 2
    assert _value(ds, "FPAR", "2011-01-25") == pytest.approx(0.01)
    assert _value(ds, "FPAR_QC", "2011-01-25") == 3
    assert np.isnan(_value(ds, "FPAR", "2010-01-02"))  # between composites
    assert int(ds.FPAR.notnull().sum()) == 276  # 277 lines - header


def test_sniffs_never_claim_fluxnet_family_files(sites):
    fluxnet_like = [
        *sorted((sites / "fluxnet2015_MM_YY_FR-Pue").glob("FLX_*.csv")),
        *sorted((sites / "fluxdatakit_daily_CH-Lae_FR-Pue").glob("*.csv")),
        *sorted((sites / "plumber_daily_26sites").glob("FLX_*.csv"))[:3],
        *sorted((sites / "fluxnet2015_monthly_189sites").glob("*.csv"))[:3],
        sites / "ameriflux_base_hh_US-CRT_sample" / "AMF_US-CRT_BASE_HH_2-5.csv",
        sites / "ameriflux_base_hh_US-Tw3" / "AMF_US-Tw3_BASE_HH_5-5.csv.gz",
    ]
    for path in fluxnet_like:
        claimed = [m.NAME for m in others.READERS if m.sniff(path, _head(path))]
        assert claimed == [], f"{path.name} claimed by {claimed}"


def test_each_file_is_claimed_by_exactly_its_reader(sites):
    expected = {
        "reddyproc_hh_DE-Tha_DE-Geb/Example_DETha98.txt": "reddyproc",
        "reddyproc_hh_DE-Tha_DE-Geb/DERIVED_DEGebExample.csv": "reddyproc",
        "bigleaf_hh_3sites/DERIVED_FR_Pue_May_2012.csv": "bigleaf",
        "rsofun_daily_FR-Pue/p_model_validation.csv": "rsofun",
        "pyrealm_hh_BE-Vie/subdaily_BE_Vie_2014.csv": "pyrealm",
        "openeddy_hh_CZ-Lnz/eddy_data.csv": "openeddy",
        "hesseflux_hh_FR-Hes_DE-Tha/FR-Hes_europe-fluxdata_2016.txt.gz": "hesseflux",
        "hesseflux_hh_FR-Hes_DE-Tha/test_nee2gpp.csv": "hesseflux",
        "ameriflux_daily_3sites/tutorial3_US_Syv.csv": "elm_tutorial",
    }
    for rel, name in expected.items():
        path = sites / rel
        claimed = [m.NAME for m in others.READERS if m.sniff(path, _head(path))]
        assert claimed == [name], rel
    for rel in (
        "hesseflux_hh_FR-Hes_DE-Tha/europe-fluxdata_units.csv",
        "rsofun_daily_FR-Pue/p_model_drivers_site_info.csv",
    ):
        path = sites / rel
        assert not any(m.sniff(path, _head(path)) for m in others.READERS), rel


def test_errors_name_file_variable_and_row(tmp_path):
    path = tmp_path / "DERIVED_AT_Neu_Jul_2010.csv"
    path.write_text("year,month,doy,hour,Tair\n2010,7,182,0.0,12.0\n2010,7,182,0.5,warm\n")
    with pytest.raises(DataError) as err:
        bigleaf.read(path)
    assert (err.value.variable, err.value.row) == ("Tair", 3)
    assert str(path) in str(err.value)
    nameless = tmp_path / "subdaily.csv"
    nameless.write_text("time,ta,vpd,co2,patm\n2014-01-01 00:00,3.3,52.2,418.4,95730.1\n")
    with pytest.raises(DataError, match="no site ID"):
        pyrealm.read(nameless)
    wrong_units = tmp_path / "CZ-Lnz.csv"
    wrong_units.write_text("timestamp,Tair\n-,W*m-2\n2023-07-23 00:30,18.5\n")
    with pytest.raises(DataError, match="degC"):
        openeddy.read(wrong_units)
    bad_time = tmp_path / "CZ-Lnz_eddy.csv"
    bad_time.write_text("timestamp,Tair\n-,degC\n2023-07-23 00:30,18.5\n23/07/2023 01:00,17\n")
    with pytest.raises(DataError) as err:
        openeddy.read(bad_time)
    assert err.value.row == 4 and "timestamp" in err.value.message


def test_reader_modules_follow_the_contract():
    for module in others.READERS:
        assert isinstance(module.NAME, str) and module.__doc__
        assert module.sniff.__doc__ and module.read.__doc__
        assert module.sniff(Path("nothing.csv"), "") is False
    assert len({m.NAME for m in others.READERS}) == len(others.READERS)


def test_netcdf_round_trip(sites, tmp_path):
    from hybridflux.data import io

    ds = _read(openeddy, sites / "openeddy_hh_CZ-Lnz" / "eddy_data.csv")
    path = tmp_path / "cz-lnz.nc"
    ds.to_netcdf(path)
    xr.testing.assert_identical(io.read(path), ds)
