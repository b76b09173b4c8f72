"""hybridflux.data.io.read: paths and globs, format detection, multi-site combine, round trips."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.io import detect_format, expand_paths, read
from hybridflux.data.readers import READERS, _common, monthly_collection
from hybridflux.data.schema import combine_sites, validate
from tests.conftest import SHARED_DATA

SITES = SHARED_DATA / "sites"
FR_PUE = SITES / "fluxnet2015_MM_YY_FR-Pue"
MM = FR_PUE / "FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-3.csv"
YY = FR_PUE / "FLX_FR-Pue_FLUXNET2015_FULLSET_YY_2007-2014_2-3.csv"
FDK = SITES / "fluxdatakit_daily_CH-Lae_FR-Pue"
MONTHLY = SITES / "fluxnet2015_monthly_189sites"

pytestmark = pytest.mark.skipif(not SITES.is_dir(), reason="../shared/data is not present")


@pytest.fixture(scope="module")
def fdk_two_sites():
    return read(FDK / "FLX_*_FLUXDATAKIT_FULLSET_DD_*.csv")


def test_glob_reads_two_sites_on_the_union_time_axis(fdk_two_sites):
    ds = validate(fdk_two_sites)
    assert ds.site.values.tolist() == ["CH-Lae", "FR-Pue"]  # sorted glob matches
    # FR-Pue 2000-01-01 .. 2014-12-31, CH-Lae 2004-01-01 .. 2014-12-31 (first/last rows)
    assert ds.time.values[0] == np.datetime64("2000-01-01")
    assert ds.time.values[-1] == np.datetime64("2014-12-31")
    assert ds.sizes["time"] == 5479
    ch_lae = ds["TA_F"].sel(site="CH-Lae")
    assert bool(ch_lae.sel(time=slice(None, "2003-12-31")).isnull().all())
    assert float(ch_lae.sel(time="2004-01-01")) == -2.37681299845375  # row 2, TA_F_MDS
    # NEE_VUT_REF exists only in the FR-Pue file: all NaN at CH-Lae
    assert bool(ds["NEE_VUT_REF"].sel(site="CH-Lae").isnull().all())
    assert ds.igbp.values.tolist() == ["MF", "EBF"]
    assert len(ds.attrs["source_files"].split("\n")) == 2


def test_list_of_paths_and_patterns_keeps_order_and_drops_repeats():
    files = sorted(FDK.glob("FLX_*.csv"))
    paths = expand_paths([files[1], str(FDK / "FLX_*.csv")])
    assert paths == [files[1], files[0]]
    ds = read([files[1], files[0]])
    assert ds.site.values.tolist() == ["FR-Pue", "CH-Lae"]


def test_different_time_steps_are_refused():
    with pytest.raises(DataError) as info:
        read([MM, YY])
    assert "aggregate" in info.value.message and str(YY) in str(info.value)
    with pytest.raises(DataError, match="differs from DD"):
        read(MM, time_step="DD")
    assert read(MM, time_step="MM").attrs["time_step"] == "MM"


def test_same_site_twice_is_refused(tmp_path):
    copy = tmp_path / "FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-4.csv"
    shutil.copy(MM, copy)
    with pytest.raises(DataError, match="FR-Pue"):
        read([MM, copy])


def test_directory_and_zip_are_refused_with_advice(tmp_path):
    with pytest.raises(DataError, match="glob"):
        read(tmp_path)
    archive = tmp_path / "AMF_US-CRT_BASE-BADM_2-5.zip"
    archive.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="extract"):
        read(archive)


def test_netcdf_round_trip_is_identical(tmp_path, fdk_two_sites):
    path = tmp_path / "two_sites.nc"
    fdk_two_sites.to_netcdf(path)
    assert detect_format(path) == "canonical"
    back = read(path)
    xr.testing.assert_identical(back, fdk_two_sites)


def test_zarr_round_trip_is_identical(tmp_path):
    ds = read(MM)
    path = tmp_path / "fr-pue.zarr"
    with warnings.catch_warnings():
        # fixed-length unicode coordinates have no zarr-v3 spec yet; zarr warns when writing
        warnings.simplefilter("ignore")
        ds.to_zarr(path)
    assert detect_format(path) == "canonical"
    xr.testing.assert_identical(read(path), ds)


def test_non_canonical_netcdf_is_not_claimed(tmp_path):
    path = tmp_path / "plain.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(path)
    with pytest.raises(DataError, match="binary data that no reader recognises"):
        read(path)


def test_read_many_equals_combining_single_reads():
    files = sorted(MONTHLY.glob("*_MM.csv"))[:6]
    combined = combine_sites([monthly_collection.read(f) for f in files])
    xr.testing.assert_identical(monthly_collection.read_many(files), combined)
    xr.testing.assert_identical(read(files), combined)


def test_every_shared_sample_file_has_exactly_one_reader():
    """Sniffs are specific: no two readers claim a file, so the READERS order cannot matter."""
    names = [reader.NAME for reader in READERS]
    assert names[:4] == ["fluxnet", "ameriflux_base", "monthly_collection", "canonical"]
    claimed = {}
    for path in sorted(SITES.glob("*/*")):
        head = _common.read_head(path)
        hits = [reader.NAME for reader in READERS if reader.sniff(path, head)]
        assert len(hits) <= 1, f"{path.name} is claimed by {hits}"
        claimed[path.name] = hits[0] if hits else None
    assert claimed[MM.name] == "fluxnet"
    assert claimed["FLX_BE-Bra_PLUMBER_FULLSET_DD_2019_2020_2-3.csv"] == "fluxnet"
    assert claimed["AMF_US-Tw3_BASE_HH_5-5.csv.gz"] == "ameriflux_base"
    assert claimed["AT-Neu_MM.csv"] == "monthly_collection"
    # files of the other formats are not taken by the FLUXNET-family readers
    assert claimed["tutorial3_US_ARM.csv"] not in names[:4]
    assert claimed["cardamom_fluxval_monthly_2000-2015_calibration.csv"] not in names[:4]
