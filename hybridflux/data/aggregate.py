"""Temporal aggregation of the canonical flux dataset: HH/HR → DD → WW/MM → YY.

Every variable becomes the duration-weighted mean of its non-missing sub-steps,
``x̄ = Σ dᵢ xᵢ / Σ dᵢ`` (``dᵢ`` the length of sub-step i in days, so monthly values are
weighted by month length when aggregating MM → YY), followed by the unit change of the
FLUXNET2015 product at the new step (Pastorello et al. 2020):

- carbon fluxes in umol CO2 m-2 s-1 → gC m-2 d-1 (× 1.0377504,
  :func:`hybridflux.data.units.convert`);
- precipitation per step (``"mm"`` per half hour) → ``"mm d-1"``: ``Σ Pᵢ / Σ dᵢ``
  (the daily sum when the day is complete, as FLUXNET DD ``P_F``);
- at YY, daily rates become annual totals, ``x̄ · (days in the year)``:
  gC m-2 d-1 → gC m-2 y-1, mm d-1 → mm y-1 (as FLUXNET YY files; note that
  :func:`~hybridflux.data.units.convert` uses the mean year of 365.25 days);
- everything else (°C, hPa, W m-2, ...) keeps its units.

Coverage ``<X>_COVERAGE`` (units ``"1"``) is the fraction of the period's duration covered by
non-missing sub-steps, ``Σ dᵢ [xᵢ valid] / D`` (an existing coverage of the input, e.g. of DD
values made from HH, is carried: ``Σ dᵢ cᵢ / D``); values with coverage below ``min_coverage``
are NaN. QC flags ``<X>_QC`` become FLUXNET DD-style fractions: from HH/HR the fraction of the
period's records with flag ≤ 1, from DD and coarser the duration-weighted fraction; missing
records count as not good, a period without any flag is NaN.

Periods are labelled by their start. Weeks follow FLUXNET2015 WW: 7-day blocks from 1 January,
the 52nd week extended to 31 December (8 or 9 days).

Example:
    >>> import pandas as pd
    >>> from hybridflux.data.schema import site_dataset
    >>> frame = pd.DataFrame({"P_F": [0.5] * 48},
    ...                      index=pd.date_range("2014-06-01", periods=48, freq="30min"))
    >>> ds = site_dataset(frame, "DE-Tha", time_step="HH", units={"P_F": "mm"},
    ...                   source_format="example", source_file="x.csv")
    >>> daily = aggregate(ds, "DD")
    >>> float(daily["P_F"][0, 0]), daily["P_F"].attrs["units"], float(daily["P_F_COVERAGE"][0, 0])
    (24.0, 'mm d-1', 1.0)
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hybridflux.data.units import convert, is_carbon_flux

__all__ = ["AGGREGATIONS", "aggregate", "interval_days"]

#: Allowed (from, to) time-step pairs: each target period is a union of whole source steps.
AGGREGATIONS: frozenset[tuple[str, str]] = frozenset(
    {(src, dst) for src in ("HH", "HR") for dst in ("DD", "WW", "MM", "YY")}
    | {("DD", "WW"), ("DD", "MM"), ("DD", "YY"), ("WW", "YY"), ("MM", "YY")}
)

_GOOD_FLAG = 1  # HH/HR flags 0 (measured) and 1 (good gap-fill) count as good records
_WEEKS_PER_YEAR = 52
_MINUTES_PER_DAY = 1440.0


def _days(stamps: np.ndarray, unit: str) -> np.ndarray:
    return stamps.astype(f"datetime64[{unit}]").astype("datetime64[D]")


def _labels(time: np.ndarray, to: str) -> np.ndarray:
    """Start of the ``to`` period that contains each time stamp."""
    if to == "DD":
        start = _days(time, "D")
    elif to == "MM":
        start = _days(time, "M")
    else:
        year = _days(time, "Y")
        start = year
        if to == "WW":
            week = np.minimum((_days(time, "D") - year).astype(int) // 7, _WEEKS_PER_YEAR - 1)
            start = year + (7 * week).astype("timedelta64[D]")
    return start.astype("datetime64[ns]")


def _duration_minutes(starts: np.ndarray, step: str) -> np.ndarray:
    """Length in minutes of the ``step`` intervals beginning at ``starts`` (whole numbers, so
    that sums of durations and coverage fractions are exact in floating point)."""
    fixed = {"HH": 30.0, "HR": 60.0, "DD": _MINUTES_PER_DAY}
    if step in fixed:
        return np.full(starts.shape, fixed[step])
    return _MINUTES_PER_DAY * interval_days(starts, step)


def interval_days(starts: np.ndarray, step: str) -> np.ndarray:
    """Length in days of the ``step`` intervals that begin at ``starts``.

    HH 1/48, HR 1/24, DD 1, WW 7 (the 52nd week of a year 8 or 9, FLUXNET2015 WW), MM the
    month length, YY the year length.

    Args:
        starts: interval starts, ``datetime64``.
        step: one of HH, HR, DD, WW, MM, YY.

    Example:
        >>> import numpy as np
        >>> interval_days(np.array(["2020-02-01", "2020-12-23"], "datetime64[ns]"), "MM")
        array([29., 31.])
        >>> interval_days(np.array(["2020-12-23"], "datetime64[ns]"), "WW")
        array([9.])
    """
    starts = np.asarray(starts)
    fixed = {"HH": 1.0 / 48.0, "HR": 1.0 / 24.0, "DD": 1.0}
    if step in fixed:
        return np.full(starts.shape, fixed[step])
    if step == "MM":
        month = starts.astype("datetime64[M]")
        return ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(float)
    year = starts.astype("datetime64[Y]")
    year_days = ((year + 1).astype("datetime64[D]") - year.astype("datetime64[D]")).astype(float)
    if step == "YY":
        return year_days
    week = (_days(starts, "D") - year.astype("datetime64[D]")).astype(int) // 7
    last = year_days - 7 * (_WEEKS_PER_YEAR - 1)
    return np.where(week >= _WEEKS_PER_YEAR - 1, last, 7.0)


def _sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum over contiguous groups along time (axis 1)."""
    return np.add.reduceat(values, starts, axis=1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _aggregate_qc(flags, d, starts, period, from_step):
    """QC flags → fraction of the period's duration with good records (NaN: no flag)."""
    present = np.isfinite(flags)
    good = flags <= _GOOD_FLAG if from_step in ("HH", "HR") else np.where(present, flags, 0.0)
    fraction = _sum(np.where(present, good, 0.0) * d, starts) / period
    return np.where(_sum(present.astype(float), starts) > 0, fraction, np.nan)


def _aggregate_var(values, coverage_in, d, starts, period, units):
    """Weighted mean (or per-day rate for per-step amounts) and its coverage."""
    valid = np.isfinite(values)
    covered = d * valid if coverage_in is None else d * np.nan_to_num(coverage_in) * valid
    den = _sum(d * valid, starts)
    if units == "mm":  # an amount per step: the rate is Σ amounts / Σ durations (in days)
        amount = _sum(np.where(valid, values, 0.0), starts) * _MINUTES_PER_DAY
        mean, units = _ratio(amount, den), "mm d-1"
    else:
        mean = _ratio(_sum(np.where(valid, values, 0.0) * d, starts), den)
    return mean, _sum(covered, starts) / period, units


def _to_units(mean, name, units, to, period):
    """FLUXNET units at the new step; returns (values, units, cell method)."""
    if units == "umol m-2 s-1" and is_carbon_flux(name):
        mean, units = convert(mean, units, "gC m-2 d-1"), "gC m-2 d-1"
    if to == "YY" and units in ("gC m-2 d-1", "mm d-1"):
        return mean * period / _MINUTES_PER_DAY, units.replace("d-1", "y-1"), "time: sum"
    return mean, units, "time: mean"


def aggregate(ds: xr.Dataset, to: str, *, min_coverage: float = 0.5) -> xr.Dataset:
    """Aggregate a canonical Dataset to a coarser time step (see the module docstring).

    Args:
        ds: canonical Dataset with ``attrs["time_step"]`` in HH, HR, DD, WW or MM.
        to: target step, one of DD, WW, MM, YY (a pair in :data:`AGGREGATIONS`).
        min_coverage: lowest accepted fraction of the period covered by data, 0–1.

    Returns:
        A new Dataset at step ``to``: each variable X aggregated, ``X_COVERAGE`` beside it,
        QC flags as good-record fractions, ``time`` = period starts, attrs ``time_step``,
        ``aggregated_from`` and ``min_coverage`` set.

    Raises:
        ValueError: a pair not in :data:`AGGREGATIONS` or ``min_coverage`` outside 0–1.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"NEE_VUT_REF": [1.0] * 24 + [None] * 24},
        ...                      index=pd.date_range("2014-06-01", periods=48, freq="30min"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="HH",
        ...                   units={"NEE_VUT_REF": "umol m-2 s-1"},
        ...                   source_format="example", source_file="x.csv")
        >>> out = aggregate(ds, "DD", min_coverage=0.5)
        >>> round(float(out["NEE_VUT_REF"][0, 0]), 7), out["NEE_VUT_REF"].attrs["units"]
        (1.0377504, 'gC m-2 d-1')
    """
    src = ds.attrs.get("time_step")
    if (src, to) not in AGGREGATIONS:
        raise ValueError(
            f"cannot aggregate time step {src!r} to {to!r}; possible: {sorted(AGGREGATIONS)}"
        )
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError(f"min_coverage must lie in [0, 1]; got {min_coverage!r}")
    time = ds["time"].values
    labels = _labels(time, to)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    new_time = labels[starts]
    d = _duration_minutes(time, src)[None, :]  # minutes: sums of durations stay exact
    period = _duration_minutes(new_time, to)[None, :]
    data_vars = {}
    for name, var in ds.data_vars.items():
        name = str(name)
        if name.endswith("_COVERAGE") or "time" not in var.dims:
            continue
        values = var.transpose("site", "time").values
        attrs = dict(var.attrs)
        if name.endswith("_QC"):
            qc = _aggregate_qc(values, d, starts, period, src)
            data_vars[name] = (("site", "time"), qc, {**attrs, "units": "1"})
            continue
        cov_in = ds[f"{name}_COVERAGE"].values if f"{name}_COVERAGE" in ds else None
        units = attrs.get("units", "")
        mean, coverage, units = _aggregate_var(values, cov_in, d, starts, period, units)
        mean, units, method = _to_units(mean, name, units, to, period)
        mean = np.where(coverage >= min_coverage, mean, np.nan)
        data_vars[name] = (
            ("site", "time"),
            mean,
            {**attrs, "units": units, "cell_methods": method},
        )
        data_vars[f"{name}_COVERAGE"] = (("site", "time"), coverage, {"units": "1"})
    coords = {key: c for key, c in ds.coords.items() if "time" not in c.dims}
    out = xr.Dataset(data_vars, coords={**coords, "time": new_time})
    out.attrs.update(ds.attrs, time_step=to, aggregated_from=src, min_coverage=min_coverage)
    return out
