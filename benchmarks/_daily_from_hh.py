"""AmeriFlux BASE half-hourly file → FLUXNET-DD-like daily CSV that the daily configs read.

Used by ``bench_nee_partition.py`` for US-Tw3 (alfalfa), the closest herbaceous site in
``../shared/data``, which exists only as AmeriFlux BASE half-hours (not gap-filled drivers).
The half-hours (local standard time) are aggregated to local days with
:func:`hybridflux.data.aggregate` (``min_coverage`` 0.8), so that each daily value is the
duration-weighted mean ``x̄ = Σ xᵢ / nᵢ`` of the day's ``nᵢ`` non-missing half-hours, kept only
where ``nᵢ / 48 ≥ 0.8`` (NaN, written ``-9999``, elsewhere):

========================  ==================  ====================================================
daily column              BASE half-hourly    daily value
========================  ==================  ====================================================
TA_F, SW_IN_F             TA, SW_IN           mean (degC, W m-2)
VPD_F                     VPD_PI              mean; BASE VPD is hPa (AmeriFlux variable list),
                                              the FLUXNET DD unit, so no conversion
P_F                       P (mm per HH)       ``Σ Pᵢ · 48 / nᵢ`` mm d-1: the daily sum on
                                              complete days
SWC_F_MDS_1, TS_F_MDS_1   SWC, TS (_1_1_1)    mean (%, degC)
NEE_VUT_REF               FC_PI_F             mean × 1.0377504: umol m-2 s-1 → gC m-2 d-1
NEE_VUT_REF_QC            FC                  fraction of the day's 48 half-hours with a
                                              measured (finite) FC
GPP_NT_VUT_REF            GPP_PI_F            mean × 1.0377504 (**PI partition**, not FLUXNET NT)
RECO_NT_VUT_REF           RECO_PI_F           mean × 1.0377504 (**PI partition**, not FLUXNET NT)
========================  ==================  ====================================================

GPP_NT_VUT_REF/RECO_NT_VUT_REF carry the site PI's own partition (``*_PI_F``) under the names
the config's ``evaluate.references`` expects; scores against them are scores against the PI's
partition, not against the FLUXNET night-time method. The file is named
``FLX_<SITE>_FLUXNET2015_FULLSET_DD_<first>-<last>_1-4.csv`` because the FLUXNET reader takes
the site ID (hence lat/lon/IGBP from the bundled FLUXNET2015 site table) and the time step from
the file name; it is a derived file, not a FLUXNET2015 product.

Example:
    >>> import tempfile
    >>> path, coverage = daily_from_base_hh(US_TW3, Path(tempfile.mkdtemp()))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data import aggregate, read
from hybridflux.data.readers.fluxnet import fluxnet_unit

__all__ = ["US_TW3", "COLUMNS", "MIN_COVERAGE", "daily_from_base_hh"]

US_TW3 = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "sites"
    / "ameriflux_base_hh_US-Tw3"
    / "AMF_US-Tw3_BASE_HH_5-5.csv.gz"
)
#: Daily FLUXNET column ← BASE half-hourly variable (after the reader drops ``_1_1_1``).
COLUMNS = {
    "TA_F": "TA",
    "SW_IN_F": "SW_IN",
    "VPD_F": "VPD_PI",
    "P_F": "P",
    "SWC_F_MDS_1": "SWC",
    "TS_F_MDS_1": "TS",
    "NEE_VUT_REF": "FC_PI_F",
    "GPP_NT_VUT_REF": "GPP_PI_F",
    "RECO_NT_VUT_REF": "RECO_PI_F",
}
#: Lowest fraction of a day's half-hours with data for a daily value.
MIN_COVERAGE = 0.8
_MEASURED_FLAG, _MISSING_FLAG = 0.0, 2.0  # aggregate counts HH flags <= 1 as good


def _half_hourly(hh: xr.Dataset) -> xr.Dataset:
    """The BASE variables under their daily names, plus a measured-FC flag as NEE_VUT_REF_QC."""
    missing = [base for base in [*COLUMNS.values(), "FC"] if base not in hh]
    if missing:
        raise ValueError(f"{hh.attrs.get('source_files')}: no {missing} in the BASE file")
    out = hh[list(COLUMNS.values())].rename({base: name for name, base in COLUMNS.items()})
    flag = xr.where(np.isfinite(hh["FC"]), _MEASURED_FLAG, _MISSING_FLAG)
    out["NEE_VUT_REF_QC"] = flag.assign_attrs(units="1")
    return out


def _check_units(daily: xr.Dataset) -> None:
    """Each daily column must have the FLUXNET DD unit the reader will assign it."""
    for name in [*COLUMNS, "NEE_VUT_REF_QC"]:
        have, want = daily[name].attrs.get("units"), fluxnet_unit(name, "DD")
        if have != want:
            raise ValueError(f"{name}: aggregated unit {have!r} is not the FLUXNET DD {want!r}")


def _write_dd(daily: xr.Dataset, out_dir: Path) -> Path:
    """Write the FLUXNET DD CSV (TIMESTAMP YYYYMMDD, -9999 missing)."""
    site = str(daily["site"].values[0])
    names = [*COLUMNS, "NEE_VUT_REF_QC"]
    frame = pd.DataFrame(
        {name: daily[name].transpose("site", "time").values[0] for name in names},
        index=pd.DatetimeIndex(daily["time"].values),
    )
    first, last = frame.index[0].year, frame.index[-1].year
    path = Path(out_dir) / f"FLX_{site}_FLUXNET2015_FULLSET_DD_{first}-{last}_1-4.csv"
    frame.insert(0, "TIMESTAMP", frame.index.strftime("%Y%m%d"))
    frame.fillna(-9999.0).to_csv(path, index=False, float_format="%.6g")
    return path


def daily_from_base_hh(source: Path, out_dir: Path) -> tuple[Path, dict[str, float]]:
    """Convert an AmeriFlux BASE HH file into a FLUXNET-DD-like CSV (see the module docstring).

    Args:
        source: ``AMF_<SITE>_BASE_HH_<VER>.csv[.gz]`` with TA, SW_IN, VPD_PI, P, SWC, TS, FC,
            FC_PI_F, GPP_PI_F, RECO_PI_F.
        out_dir: existing folder for the CSV.

    Returns:
        The CSV path, and per daily column the fraction of the days with NEE_VUT_REF that
        have a value (``NEE_VUT_REF_QC``: its mean on those days, the mean fraction of
        measured FC half-hours).

    Raises:
        ValueError: a BASE variable missing, or a unit other than the FLUXNET DD one.
    """
    daily = aggregate(_half_hourly(read(source)), "DD", min_coverage=MIN_COVERAGE)
    _check_units(daily)
    record = np.isfinite(daily["NEE_VUT_REF"].values)
    coverage = {name: float(np.isfinite(daily[name].values)[record].mean()) for name in COLUMNS}
    coverage["NEE_VUT_REF_QC"] = float(daily["NEE_VUT_REF_QC"].values[record].mean())
    return _write_dd(daily, out_dir), coverage
