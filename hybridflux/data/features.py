"""Derived input features of the canonical Dataset, and the registry that configs name them by.

- ``SW_IN_POT`` — potential (top-of-atmosphere) shortwave from lat/lon/time
  (:mod:`hybridflux.process.radiation`, FAO-56): at HH/HR the instantaneous value at the
  interval midpoint, at DD the daily mean, at WW/MM/YY the mean of the daily means;
- ``SW_POT_sm`` — its 10-day centred moving mean and ``SW_POT_sm_diff`` the per-step change of
  that mean: the covariates of the hybrid Q10 experiment (Reichstein et al. 2022; Cohrs et al.
  2024), which proxy the seasonal cycle without carrying air temperature;
- ``DOY_SIN_k``/``DOY_COS_k`` — harmonics of the time of year;
- ``P_ANT_<days>`` — precipitation summed over the preceding days.

Rolling windows run along time, per site, with the window in days converted to steps by the
time step (48 per day at HH, 24 at HR, 1 at DD).

Example:
    >>> import pandas as pd
    >>> from hybridflux.data.schema import SiteMeta, site_dataset
    >>> frame = pd.DataFrame({"P_F": [1.0, 0.0, 2.0, 4.0]},
    ...                      index=pd.date_range("2014-06-01", periods=4, freq="D"))
    >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"P_F": "mm d-1"},
    ...                   source_format="example", source_file="x.csv",
    ...                   meta=SiteMeta(lat=50.96, lon=13.57))
    >>> out = add_features(ds, ["P_ANT_2", "DOY_SIN_1"])
    >>> out["P_ANT_2"].values.tolist()
    [[nan, nan, 1.0, 2.0]]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.aggregate import interval_days
from hybridflux.data.windows import (
    antecedent_mean,
    antecedent_precipitation,
    difference,
    rolling_mean,
)
from hybridflux.process.radiation import daily_potential_radiation, potential_radiation

__all__ = ["FEATURES", "sw_in_pot", "doy_harmonics", "add_features"]
# rolling_mean, difference, antecedent_precipitation and antecedent_mean live in
# hybridflux.data.windows and stay importable from here.

_HALF_STEP_MINUTES = {"HH": 15, "HR": 30}


def _utc_offsets(ds: xr.Dataset, utc_offset) -> tuple[np.ndarray, str]:
    """Per-site hours east of UTC of the local standard time of ``time``, and their source."""
    sites = [str(s) for s in ds["site"].values]
    lon = ds["lon"].values.astype(float)
    if isinstance(utc_offset, Mapping):
        missing = [s for s in sites if s not in utc_offset]
        if missing:
            raise ValueError(f"utc_offset has no value for site(s) {missing}")
        return np.array([float(utc_offset[s]) for s in sites]), "argument"
    if utc_offset is not None:
        return np.full(len(sites), float(utc_offset)), "argument"
    offsets = ds["utc_offset"].values.astype(float) if "utc_offset" in ds.coords else lon * np.nan
    guess = ~np.isfinite(offsets) & np.isfinite(lon)
    if guess.any():
        named = [s for s, g in zip(sites, guess, strict=True) if g]
        warnings.warn(
            f"UTC offset of site(s) {named} unknown; estimated as round(lon/15) h (off by an "
            "hour or more where time zones depart from longitude); pass utc_offset=",
            UserWarning,
            stacklevel=3,
        )
        offsets = np.where(guess, np.round(lon / 15.0), offsets)
        return offsets, "estimated from longitude"
    return offsets, "utc_offset coordinate"


def sw_in_pot(ds: xr.Dataset, *, utc_offset=None, name: str = "SW_IN_POT") -> xr.Dataset:
    """Add potential shortwave radiation ``SW_IN_POT`` (W m-2) from lat, lon and time.

    HH/HR: ``R = S0 · d_r · max(cos θz, 0)`` at the interval midpoint (``time`` is the local
    standard time of the interval start). DD: the daily mean ``S0 d_r/π (ω_s sin φ sin δ +
    cos φ cos δ sin ω_s)``. WW/MM/YY: the mean of the daily means over the interval.
    See :mod:`hybridflux.process.radiation` (Allen et al. 1998, FAO-56).

    Args:
        ds: canonical Dataset with ``lat``/``lon`` (degrees) per site.
        utc_offset: hours east of UTC of the site's standard time (HH/HR only): a number,
            a mapping site → hours, or ``None`` to use a ``utc_offset`` coordinate, else an
            estimate ``round(lon/15)`` with a ``UserWarning``.
        name: name of the new variable.

    Returns:
        A copy of ``ds`` with ``name`` in W m-2.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import SiteMeta, site_dataset
        >>> frame = pd.DataFrame({"TA_F": [15.0] * 24},
        ...                      index=pd.date_range("2014-06-21", periods=24, freq="h"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="HR", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv",
        ...                   meta=SiteMeta(lat=50.96, lon=13.57))
        >>> out = sw_in_pot(ds, utc_offset=1.0)
        >>> sw = out["SW_IN_POT"].values[0]
        >>> bool(sw[0] == 0.0), bool(sw[12] > 1000.0)
        (True, True)
    """
    step = ds.attrs.get("time_step")
    lat = ds["lat"].values.astype(float)[:, None]
    time = ds["time"].values
    attrs = {"units": "W m-2", "long_name": "potential (top-of-atmosphere) shortwave radiation"}
    if step in ("HH", "HR"):
        offsets, source = _utc_offsets(ds, utc_offset)
        mid = pd.DatetimeIndex(time + np.timedelta64(_HALF_STEP_MINUTES[step], "m"))
        hour = (mid.hour + mid.minute / 60.0 + mid.second / 3600.0).to_numpy()[None, :]
        lon = ds["lon"].values.astype(float)[:, None]
        values = potential_radiation(
            lat, lon, mid.day_of_year.to_numpy()[None, :], hour, offsets[:, None]
        )
        attrs.update(utc_offset_hours=offsets.tolist(), utc_offset_source=source)
    else:
        values = _daily_mean_over_intervals(lat, time, step)
    out = ds.copy()
    out[name] = (("site", "time"), np.asarray(values, dtype=np.float64), attrs)
    return out


def _daily_mean_over_intervals(lat: np.ndarray, time: np.ndarray, step: str) -> np.ndarray:
    lengths = np.round(interval_days(time, step)).astype(int)
    days = np.concatenate(
        [t.astype("datetime64[D]") + np.arange(n) for t, n in zip(time, lengths, strict=True)]
    )
    doy = pd.DatetimeIndex(days).day_of_year.to_numpy()[None, :]
    daily = np.asarray(daily_potential_radiation(lat, doy), dtype=np.float64)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    return np.add.reduceat(daily, starts, axis=1) / lengths[None, :]


def _year_fraction(time: np.ndarray) -> np.ndarray:
    """Fraction of the calendar year elapsed at each time stamp, in [0, 1)."""
    year = time.astype("datetime64[Y]")
    start = year.astype("datetime64[ns]")
    length = (year + 1).astype("datetime64[ns]") - start
    return (time - start) / length


def doy_harmonics(ds: xr.Dataset, n: int = 1) -> xr.Dataset:
    """Add ``DOY_SIN_k = sin(2πk f)`` and ``DOY_COS_k = cos(2πk f)`` for k = 1..n (units 1).

    ``f`` is the fraction of the calendar year elapsed at the interval start,
    ``f = (t − 1 January) / (length of that year)``, so the harmonics are continuous across
    the new year also in leap years.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"TA_F": [1.0]}, index=pd.DatetimeIndex(["2021-07-02T12:00"]))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="HH", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv")
        >>> round(float(doy_harmonics(ds)["DOY_COS_1"][0, 0]), 6)
        -1.0
    """
    if n < 1:
        raise ValueError(f"doy_harmonics needs n >= 1; got {n}")
    f = _year_fraction(ds["time"].values)
    out = ds.copy()
    for k in range(1, n + 1):
        for fn, label in ((np.sin, "SIN"), (np.cos, "COS")):
            values = np.broadcast_to(fn(2.0 * np.pi * k * f), (ds.sizes["site"], f.size))
            out[f"DOY_{label}_{k}"] = (("site", "time"), values.copy(), {"units": "1"})
    return out


_Feature = Callable[[xr.Dataset, "re.Match[str]", dict], xr.DataArray]


def _with(ds: xr.Dataset, name: str, options: dict) -> xr.Dataset:
    """``ds`` with feature ``name`` present (computed if missing)."""
    return ds if name in ds else ds.assign({name: _compute(ds, name, options)})


def _sm(ds, m, options):
    return rolling_mean(_with(ds, "SW_IN_POT", options), "SW_IN_POT", 10, "SW_POT_sm")["SW_POT_sm"]


#: Feature name (a regular expression matched in full) → function of (Dataset, match,
#: options) returning the new variable. The one place that maps config names to code.
FEATURES: dict[str, _Feature] = {
    r"SW_IN_POT": lambda ds, m, o: sw_in_pot(ds, **o)["SW_IN_POT"],
    r"SW_POT_sm": _sm,
    r"SW_POT_sm_diff": lambda ds, m, o: difference(
        _with(ds, "SW_POT_sm", o), "SW_POT_sm", "SW_POT_sm_diff"
    )["SW_POT_sm_diff"],
    r"DOY_(SIN|COS)_([1-9]\d*)": lambda ds, m, o: doy_harmonics(ds, int(m[2]))[m[0]],
    r"P_ANT_([1-9]\d*)": lambda ds, m, o: antecedent_precipitation(ds, int(m[1]), m[0])[m[0]],
    r"([A-Za-z][A-Za-z0-9_]*?)_MEAN_([1-9]\d*)": lambda ds, m, o: antecedent_mean(
        ds, m[1], int(m[2]), m[0]
    )[m[0]],
}


def _compute(ds: xr.Dataset, name: str, options: dict) -> xr.DataArray:
    for pattern, feature in FEATURES.items():
        match = re.fullmatch(pattern, name)
        if match:
            return feature(ds, match, options)
    raise ValueError(
        f"unknown feature {name!r}; known features (regular expressions): {list(FEATURES)}"
    )


def add_features(ds: xr.Dataset, names: list[str], *, utc_offset=None) -> xr.Dataset:
    """Add the derived features named in a config (see :data:`FEATURES`).

    Names already in ``ds`` (e.g. ``SW_IN_POT`` of a FLUXNET file) are kept as they are;
    intermediate features (``SW_IN_POT`` for ``SW_POT_sm``) are used but not added.

    Args:
        ds: canonical Dataset.
        names: e.g. ``["SW_IN_POT", "SW_POT_sm", "SW_POT_sm_diff", "DOY_SIN_1", "P_ANT_30"]``.
        utc_offset: passed to :func:`sw_in_pot`.

    Returns:
        A copy of ``ds`` with the features added.

    Raises:
        ValueError: an unknown name (the message lists the known ones).

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import SiteMeta, site_dataset
        >>> frame = pd.DataFrame({"TA_F": [10.0] * 40},
        ...                      index=pd.date_range("2014-01-01", periods=40, freq="D"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv",
        ...                   meta=SiteMeta(lat=50.96, lon=13.57))
        >>> out = add_features(ds, ["SW_POT_sm", "SW_POT_sm_diff"])
        >>> sorted(out.data_vars), out["SW_POT_sm_diff"].attrs["units"]
        (['SW_POT_sm', 'SW_POT_sm_diff', 'TA_F'], 'W m-2')
    """
    options = {} if utc_offset is None else {"utc_offset": utc_offset}
    work, new = ds, {}
    for name in names:
        if name not in work:
            new[name] = _compute(work, name, options)
            work = work.assign({name: new[name]})
    return ds.assign(new)
