"""ERA5 hourly single-level fields → a daily covariate grid with FLUXNET names and units.

From hourly ``t2m`` (K, instantaneous at the time stamp) and ``ssrd`` (J m-2, accumulated
over the hour that **ends** at the time stamp — ERA5's convention), per day:

- ``TA_F`` (degC) — mean of the 24 hourly ``t2m − 273.15``;
- ``SW_IN_F`` (W m-2) — daily mean shortwave, ``Σ ssrd / 86400 s`` over the 24 hours;
- ``VPD_F`` (hPa) — ERA5 single levels here carry no humidity, so by default it is
  **estimated** from the daily temperature range (FAO-56, Allen et al. 1998, eqs. 11, 12
  and 48): ``e°(T) = 6.1078 · exp(17.27 T / (T + 237.3))`` hPa,
  ``VPD = (e°(Tmax) + e°(Tmin)) / 2 − e°(Tmin)``, i.e. the dew point taken as the daily
  minimum temperature. FAO-56 recommends it where the air is near saturation at dawn
  (humid and sub-humid climates such as Bavaria); in arid climates it underestimates VPD.
  The variable says so in its ``comment``. ``vpd=None`` leaves VPD out (then use a model
  trained without VPD).

Days are those of ``UTC + utc_offset`` hours (FLUXNET days are local standard time:
``utc_offset=1`` for central Europe). A day needs all 24 hours of a field, else it is NaN:
in the 2022 Bavarian files the first hour of 1 January (t2m) and the last of 31 December
(ssrd, stamped 2023-01-01 00:00) are missing, so with ``utc_offset=0`` those two days are NaN.

Example:
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> time = pd.date_range("2022-06-01", periods=48, freq="h")
    >>> hourly = xr.Dataset(
    ...     {"t2m": (("time", "lat", "lon"), np.full((48, 1, 1), 293.15)),
    ...      "ssrd": (("time", "lat", "lon"), np.full((48, 1, 1), 3600.0 * 200.0))},
    ...     coords={"time": time, "lat": [48.0], "lon": [11.0]})
    >>> day = era5_daily(hourly)
    >>> [round(float(day[v][0, 0, 0]), 3) for v in ("TA_F", "SW_IN_F", "VPD_F")]
    [20.0, 200.0, 0.0]
    >>> bool(np.isnan(day["SW_IN_F"][1, 0, 0]))  # 2 June lacks the hour stamped 3 June 00:00
    True
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.constants import PHYSICAL, VAPOUR

__all__ = ["open_era5", "era5_daily", "saturation_vapour_pressure"]

_HOURS = 24


def saturation_vapour_pressure(ta):
    """Saturation vapour pressure over water, ``e°(T) = a · exp(b T / (T + c))``, in hPa.

    Args:
        ta: air temperature, °C (numpy or xarray).

    Reference:
        Tetens (1930); Allen et al. (1998), FAO-56, eq. 11 (a = 6.1078 hPa, b = 17.27,
        c = 237.3 °C: ``hybridflux.constants.VAPOUR``).

    Example:
        >>> round(float(saturation_vapour_pressure(20.0)), 2)
        23.38
    """
    c = VAPOUR
    return c.tetens_a * np.exp(c.tetens_b * ta / (ta + c.tetens_c))


def open_era5(paths: str | Sequence[str]) -> xr.Dataset:
    """Open ERA5 hourly files (a glob or a list) as one lazy Dataset on ``time, lat, lon``.

    Args:
        paths: netCDF files or a glob pattern, e.g. ``".../era5_modis_bavaria_2022/era5/*.nc"``.

    Raises:
        FileNotFoundError: no file matches.
    """
    files = sorted(glob.glob(paths)) if isinstance(paths, str) else [os.fspath(p) for p in paths]
    if not files:
        raise FileNotFoundError(f"no ERA5 file matches {paths!r}")
    ds = xr.open_mfdataset(
        files,
        combine="by_coords",
        chunks={},
        data_vars="all",
        coords="minimal",
        compat="override",
        join="exact",
    )
    aliases = {"latitude": "lat", "longitude": "lon", "valid_time": "time"}
    return ds.rename({k: v for k, v in aliases.items() if k in ds.dims or k in ds.coords})


def _by_day(var: xr.DataArray) -> xr.DataArray:
    """Hourly ``(time, ...)`` → ``(time=days, hour, ...)``, missing hours NaN (no resample:
    a reshape, blockwise under dask with whole days per chunk)."""
    time = pd.DatetimeIndex(var["time"].values)
    if not (np.diff(time.values) == np.timedelta64(1, "h")).all():
        raise ValueError("ERA5 input must be hourly with no repeated or irregular stamps")
    days = pd.date_range(time[0].floor("D"), time[-1].floor("D"), freq="D")
    full = pd.date_range(days[0], periods=days.size * _HOURS, freq="h")
    var = var.reindex(time=full)
    if var.chunks is not None:
        var = var.chunk({"time": _HOURS * 31})
    data = var.data.reshape((days.size, _HOURS, *var.shape[1:]))
    dims = ("time", "hour", *var.dims[1:])
    coords = {"time": days.values, **{d: var[d] for d in var.dims[1:]}}
    return xr.DataArray(data, dims=dims, coords=coords)


def _daily(var: xr.DataArray, how: str) -> xr.DataArray:
    """Daily reduction over complete days: NaN unless all 24 hourly values are present."""
    return getattr(var, how)("hour", skipna=False)


def era5_daily(
    hourly: xr.Dataset, *, vpd: str | None = "tmin", utc_offset: float = 0.0
) -> xr.Dataset:
    """Daily ``TA_F`` (degC), ``SW_IN_F`` (W m-2) and estimated ``VPD_F`` (hPa) from ERA5 hours.

    Args:
        hourly: ERA5 hourly ``t2m`` (K) and ``ssrd`` (J m-2 per hour), e.g. from
            :func:`open_era5`.
        vpd: ``"tmin"`` — VPD estimated with the dew point at the daily minimum temperature
            (FAO-56 eq. 48, see the module docstring); ``None`` — no VPD_F.
        utc_offset: hours east of UTC of the days to form (0: UTC days).

    Returns:
        A daily Dataset on ``time, lat, lon`` (float32, ``units`` and ``long_name`` set),
        ``time`` the start of each day.

    Raises:
        KeyError: ``t2m`` or ``ssrd`` missing.
        ValueError: an unknown ``vpd`` method.
    """
    if vpd not in ("tmin", None):
        raise ValueError(f"vpd must be 'tmin' or None, got {vpd!r}")
    for name in ("t2m", "ssrd"):
        if name not in hourly:
            raise KeyError(
                f"ERA5 variable {name!r} is missing (variables: {list(hourly.data_vars)})"
            )
    shift = np.timedelta64(int(round(utc_offset * 60)), "m")
    hour = np.timedelta64(1, "h")
    ta = _by_day((hourly["t2m"] - PHYSICAL.zero_celsius).assign_coords(time=hourly["time"] + shift))
    ssrd = _by_day(hourly["ssrd"].assign_coords(time=hourly["time"] - hour + shift))  # starts
    out = {
        "TA_F": (_daily(ta, "mean"), "degC", "air temperature at 2 m, daily mean (ERA5 t2m)"),
        "SW_IN_F": (
            _daily(ssrd, "sum") / PHYSICAL.seconds_per_day,
            "W m-2",
            "incoming shortwave radiation, daily mean (ERA5 ssrd)",
        ),
    }
    if vpd == "tmin":
        tmin, tmax = _daily(ta, "min"), _daily(ta, "max")
        es = 0.5 * (saturation_vapour_pressure(tmax) + saturation_vapour_pressure(tmin))
        out["VPD_F"] = (es - saturation_vapour_pressure(tmin), "hPa", "vapour pressure deficit")
    data = {}
    for name, (values, units, long_name) in out.items():
        attrs = {"units": units, "long_name": long_name}
        if name == "VPD_F":
            attrs["comment"] = (
                "estimated, not observed: FAO-56 eq. 48 (dew point = daily "
                "minimum of ERA5 t2m), eqs. 11-12"
            )
        data[name] = values.astype(np.float32).transpose("time", "lat", "lon").assign_attrs(attrs)
    data = dict(zip(data, xr.align(*data.values(), join="inner"), strict=True))  # common days
    attrs = {
        "source": "ERA5 hourly single levels aggregated to days by hybridflux",
        "day_utc_offset_hours": float(utc_offset),
        "licence": "Contains modified Copernicus Climate Change Service information",
    }
    ds = xr.Dataset(data, attrs=attrs)
    return ds.assign_coords(time=ds["time"].values.astype("datetime64[ns]"))
