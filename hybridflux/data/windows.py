"""Moving-window features along time, per site: moving means, differences, antecedent sums
and means.

Windows are given in days and converted to steps by the Dataset's time step (48 per day at
HH, 24 at HR, 1 at DD); a window that is not a whole number of steps is an error. Incomplete
windows (record edges, gaps) give NaN. The config names of these features are registered in
:data:`hybridflux.data.features.FEATURES`.
"""

from __future__ import annotations

import xarray as xr

__all__ = ["rolling_mean", "difference", "antecedent_precipitation", "antecedent_mean"]

_STEPS_PER_DAY = {"HH": 48, "HR": 24, "DD": 1}


def _steps(ds: xr.Dataset, days: float, what: str) -> int:
    step = ds.attrs.get("time_step")
    if step not in _STEPS_PER_DAY:
        raise ValueError(f"{what} needs a HH, HR or DD Dataset, not time_step={step!r}")
    steps = days * _STEPS_PER_DAY[step]
    if steps < 1 or abs(steps - round(steps)) > 1e-9:
        raise ValueError(f"{what}: {days} days is not a whole number of {step} steps")
    return int(round(steps))


def _preceding(x: xr.DataArray, n: int, how: str) -> xr.DataArray:
    """``how`` (``"sum"``/``"mean"``) of the n steps before each step, the current one
    excluded; NaN where any of them is missing."""
    return getattr(x.rolling(time=n, min_periods=n), how)().shift(time=1).transpose("site", "time")


def rolling_mean(
    ds: xr.Dataset, var: str, window_days: float, name: str | None = None, *, center: bool = True
) -> xr.Dataset:
    """Add the moving mean of ``var`` over ``window_days`` days, per site along time.

    ``x̃_t = (1/n) Σ_{j in window(t)} x_j`` with ``n = window_days × steps per day``; the window
    is centred on t (``center=True``; for even n it ends n/2 − 1 steps after t, as pandas) or
    ends at t. Where the window is incomplete (record edges, gaps) the mean is NaN.
    ``SW_POT_sm`` is the 10-day mean of ``SW_IN_POT`` (Cohrs et al. 2024).

    Args:
        ds: canonical HH, HR or DD Dataset.
        var: the variable to smooth.
        window_days: window length in days (a whole number of steps).
        name: new variable (default ``"<var>_ROLL<window_days>D"``); units those of ``var``.
        center: centred window (default) or trailing window.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"TA_F": [1.0, 2.0, 3.0, 4.0, 5.0]},
        ...                      index=pd.date_range("2014-06-01", periods=5, freq="D"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv")
        >>> rolling_mean(ds, "TA_F", 3)["TA_F_ROLL3D"].values.tolist()
        [[nan, 2.0, 3.0, 4.0, nan]]
    """
    n = _steps(ds, window_days, "rolling_mean")
    name = name or f"{var}_ROLL{window_days:g}D"
    out = ds.copy()
    smooth = ds[var].rolling(time=n, center=center, min_periods=n).mean()
    out[name] = smooth.transpose("site", "time")
    how = "centred" if center else "trailing"
    out[name].attrs = {
        "units": ds[var].attrs.get("units", ""),
        "long_name": f"{window_days:g}-day {how} moving mean of {var}",
    }
    return out


def difference(ds: xr.Dataset, var: str, name: str | None = None) -> xr.Dataset:
    """Add the backward difference ``Δx_t = x_t − x_{t−1}`` of ``var``, per site; first step NaN.

    Units are those of ``var`` per time step. Cohrs et al. (2024) use the forward difference,
    scaled by 10⁴ and smoothed again; here it is the plain backward difference (inputs are
    standardised before a network sees them, and the backward form uses no future value).

    Args:
        ds: canonical Dataset.
        var: the variable to difference.
        name: new variable (default ``"<var>_diff"``).

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"TA_F": [1.0, 4.0, 2.0]},
        ...                      index=pd.date_range("2014-06-01", periods=3, freq="D"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv")
        >>> difference(ds, "TA_F")["TA_F_diff"].values.tolist()
        [[nan, 3.0, -2.0]]
    """
    name = name or f"{var}_diff"
    out = ds.copy()
    out[name] = (ds[var] - ds[var].shift(time=1)).transpose("site", "time")
    out[name].attrs = {
        "units": ds[var].attrs.get("units", ""),
        "long_name": f"change of {var} per time step (backward difference)",
    }
    return out


def antecedent_precipitation(
    ds: xr.Dataset, days: float, name: str | None = None, *, var: str = "P_F"
) -> xr.Dataset:
    """Add the precipitation sum of the ``days`` days before each step, in mm.

    ``P_ant(t) = Σ_{j=t−n}^{t−1} P_j · Δt`` with ``n = days × steps per day``; the current
    step is excluded (the window ends at the start of the interval). NaN where any of the
    n steps is missing.

    Args:
        ds: canonical HH/HR Dataset (``var`` in mm per step) or DD Dataset (mm d-1).
        days: window length in days.
        name: new variable (default ``"P_ANT_<days>"``).
        var: the precipitation variable.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"P_F": [1.0, 0.0, 2.0, 4.0]},
        ...                      index=pd.date_range("2014-06-01", periods=4, freq="D"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"P_F": "mm d-1"},
        ...                   source_format="example", source_file="x.csv")
        >>> antecedent_precipitation(ds, 3)["P_ANT_3"].values.tolist()
        [[nan, nan, nan, 3.0]]
    """
    n = _steps(ds, days, "antecedent_precipitation")
    units = ds[var].attrs.get("units")
    if units not in ("mm", "mm d-1"):
        raise ValueError(f"{var} must be in 'mm' per step or 'mm d-1'; it is {units!r}")
    name = name or f"P_ANT_{days:g}"
    out = ds.copy()
    out[name] = _preceding(ds[var], n, "sum")
    out[name].attrs = {"units": "mm", "long_name": f"{var} summed over the preceding {days:g} d"}
    return out


def antecedent_mean(ds: xr.Dataset, var: str, days: float, name: str | None = None) -> xr.Dataset:
    """Add the mean of ``var`` over the ``days`` days before each step (a memory of the weather).

    ``x̄_ant(t) = (1/n) Σ_{j=t−n}^{t−1} x_j`` with ``n = days × steps per day``; the current
    step is excluded, as in :func:`antecedent_precipitation`. NaN where any of the n steps is
    missing. ``TA_F_MEAN_30`` (the preceding month's air temperature) tells a model without
    LAI where the season of this year stands: a warm spring leafs out early.

    Args:
        ds: canonical Dataset with ``var``.
        var: the variable to average, e.g. ``"TA_F"``.
        days: window length in days.
        name: new variable (default ``"<var>_MEAN_<days>"``); units those of ``var``.

    Raises:
        ValueError: ``var`` is not in ``ds``.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"TA_F": [1.0, 2.0, 3.0, 6.0]},
        ...                      index=pd.date_range("2014-06-01", periods=4, freq="D"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv")
        >>> antecedent_mean(ds, "TA_F", 2)["TA_F_MEAN_2"].values.tolist()
        [[nan, nan, 1.5, 2.5]]
    """
    if var not in ds:
        raise ValueError(
            f"feature {name or var + '_MEAN_' + format(days, 'g')!r} needs {var!r}, "
            f"which the data do not have"
        )
    n = _steps(ds, days, "antecedent_mean")
    name = name or f"{var}_MEAN_{days:g}"
    out = ds.copy()
    out[name] = _preceding(ds[var], n, "mean")
    out[name].attrs = {
        "units": ds[var].attrs.get("units", ""),
        "long_name": f"{var} averaged over the preceding {days:g} d",
    }
    return out
