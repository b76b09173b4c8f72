"""Plausibility bounds of flux-tower variables and the check that warns about violations.

Values outside a bound are possible but suspicious: a sensor fault, a missing-value code that
was not converted, or — most often — the wrong units. :func:`check_plausibility` emits one
:class:`~hybridflux.data.errors.PlausibilityWarning` per offending variable (STYLE rule 12c)
naming the variable, the observed range and units, the plausible range and units and a likely
cause, found by trying the usual wrong units (K for °C, kPa for hPa, mg CO2 for umol CO2, ...).

Two checks per variable, in the bound's units after converting the declared units:

1. range: every value within ``[low, high]``;
2. scale: for long enough records (``floor_days`` days of data) the 99th percentile of ``|x|``
   reaches ``floor``. This catches values that fit the range but are too small for the declared
   units, e.g. VPD of 0.1–3 declared in hPa (it is kPa) or HH carbon fluxes in mg CO2 m-2 s-1.

Carbon-flux units: 1 umol CO2 m-2 s-1 = 1.0378 gC m-2 d-1, so magnitude cannot tell those two
apart; what it can tell are per-step totals (gC m-2 per half hour, ×1/46), mg CO2 m-2 s-1
(×0.044), and annual or monthly totals declared as daily rates (×365, ×30).

Example:
    >>> import warnings
    >>> import pandas as pd
    >>> from hybridflux.data.schema import site_dataset
    >>> frame = pd.DataFrame({"TA_F": [281.0, 290.0]},
    ...                      index=pd.date_range("2014-06-01", periods=2, freq="D"))
    >>> ds = site_dataset(frame, "DE-Tha", time_step="DD", units={"TA_F": "degC"},
    ...                   source_format="example", source_file="x.csv")
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     messages = check_plausibility(ds, "x.csv")
    >>> "look like K" in messages[0]
    True
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from hybridflux.data.errors import PlausibilityWarning
from hybridflux.data.units import convert

__all__ = ["Bound", "BOUNDS", "bound_for", "check_plausibility"]


@dataclass(frozen=True)
class Bound:
    """Plausible range of a variable at a time-step group.

    Attributes:
        low: lowest plausible value, in ``units``.
        high: highest plausible value, in ``units``.
        units: unit string of the bound (the FLUXNET unit of the variable at the step).
        reason: where the numbers come from.
        floor: lowest plausible 99th percentile of ``|x|`` over ``floor_days`` of data
            (``None``: no scale check).
        floor_days: days of (non-missing) data needed before the scale check applies.
        alternatives: usual wrong units, as ``(label, scale, offset)`` with
            ``value_in_units = scale · raw + offset``.

    Example:
        >>> Bound(-60.0, 60.0, "degC", "air temperature records").high
        60.0
    """

    low: float
    high: float
    units: str
    reason: str
    floor: float | None = None
    floor_days: float = 28.0
    alternatives: tuple[tuple[str, float, float], ...] = ()


# Plausible ranges: (key, step group, low, high, units, reason); group "all" = every step.
_CR = "largest measured fluxes (crops, tropical forest): |NEE| < 80 umol m-2 s-1"
_SWR = "solar constant 1361 W m-2 plus cloud enhancement; pyranometers read < 0 at night"
_ROWS: tuple[tuple[str, str, float, float, str, str], ...] = (
    ("TA", "all", -60.0, 60.0, "degC", "records −89/+57 °C; towers stay within ±60 °C"),
    ("TS", "all", -60.0, 80.0, "degC", "bare soil surfaces reach 70 °C"),
    ("VPD", "all", -1.0, 100.0, "hPa", "e_s(50 °C) = 123 hPa; RH > 100 % gives VPD ≲ 0"),
    ("SW_IN_POT", "sub", 0.0, 1420.0, "W m-2", "solar constant at perihelion ≈ 1407 W m-2"),
    ("SW_IN_POT", "all", 0.0, 550.0, "W m-2", "polar daily mean at June solstice ≈ 525"),
    ("SW_IN", "sub", -10.0, 1500.0, "W m-2", _SWR),
    ("SW_IN", "all", -10.0, 500.0, "W m-2", "clear-sky daily means stay below 400 W m-2"),
    ("SW_OTHER", "sub", -10.0, 1500.0, "W m-2", "reflected/diffuse parts of SW_IN"),
    ("SW_OTHER", "all", -10.0, 500.0, "W m-2", "reflected/diffuse parts of SW_IN"),
    ("PPFD", "sub", -20.0, 3000.0, "umol m-2 s-1", "full sun ≈ 2300 umol m-2 s-1"),
    ("PPFD", "all", -20.0, 1200.0, "umol m-2 s-1", "SW daily mean ≤ 500 W m-2 × 2.3"),
    ("LW_IN", "all", 50.0, 650.0, "W m-2", "σT⁴ of skies at −60..+50 °C"),
    ("LW_OUT", "all", 100.0, 800.0, "W m-2", "σT⁴ of surfaces at −60..+80 °C"),
    ("NETRAD", "sub", -300.0, 1100.0, "W m-2", "SW_IN ≤ 1500 minus outgoing longwave"),
    ("NETRAD", "all", -150.0, 400.0, "W m-2", "daily means of net radiation"),
    ("HEAT", "sub", -500.0, 1000.0, "W m-2", "LE, H, G are bounded by net radiation"),
    ("HEAT", "all", -200.0, 400.0, "W m-2", "a daily LE of 400 W m-2 is 14 mm d-1 of ET"),
    ("PA", "all", 50.0, 110.0, "kPa", "sea level 101.3 kPa; 50 kPa at 5500 m"),
    ("P", "sub", 0.0, 305.0, "mm", "world-record one-hour rainfall 305 mm (WMO)"),
    ("P", "day", 0.0, 2000.0, "mm d-1", "world-record 24-hour rainfall 1825 mm (WMO)"),
    ("P", "year", 0.0, 30000.0, "mm y-1", "wettest places ≈ 12 000–26 000 mm y-1"),
    ("WS", "all", 0.0, 60.0, "m s-1", "30-min mean winds beyond 60 m s-1 destroy towers"),
    ("USTAR", "all", 0.0, 5.0, "m s-1", "u* ≈ 0.1 × wind speed"),
    ("CO2", "all", 150.0, 1500.0, "umol mol-1", "background 280–420; canopy nights ≈ 800"),
    ("RH", "all", 0.0, 105.0, "%", "sensors read a few % above 100 in fog"),
    ("SWC", "all", 0.0, 100.0, "%", "volumetric water content ≤ porosity"),
    ("LAI", "all", 0.0, 15.0, "m2 m-2", "densest canopies LAI ≈ 12 (MODIS ≤ 10)"),
    ("FPAR", "all", 0.0, 1.0, "1", "a fraction by definition"),
    ("VI", "all", -1.0, 1.0, "1", "normalised vegetation indices lie in [−1, 1]"),
    ("NEE", "sub", -100.0, 100.0, "umol m-2 s-1", _CR),
    ("NEE", "day", -40.0, 40.0, "gC m-2 d-1", _CR),
    ("NEE", "year", -3000.0, 3000.0, "gC m-2 y-1", _CR),
    ("GPP", "sub", -50.0, 100.0, "umol m-2 s-1", _CR + "; NT partitioning gives GPP < 0"),
    ("GPP", "day", -20.0, 50.0, "gC m-2 d-1", _CR + "; NT partitioning gives GPP < 0"),
    ("GPP", "year", -500.0, 6000.0, "gC m-2 y-1", _CR),
    ("RECO", "sub", -20.0, 80.0, "umol m-2 s-1", _CR),
    ("RECO", "day", -5.0, 50.0, "gC m-2 d-1", _CR),
    ("RECO", "year", -100.0, 6000.0, "gC m-2 y-1", _CR),
)

#: Name patterns of the keys of ``_ROWS``, in matching order (the first match wins).
_PATTERNS: dict[str, str] = {
    "TA": r"^(TA|TMIN|TMAX)(_|$)",
    "TS": r"^TS(_|$)",
    "VPD": r"^VPD(_|$)",
    "SW_IN_POT": r"^SW_IN_POT(_|$)",
    "SW_IN": r"^SW_IN(_|$)",
    "SW_OTHER": r"^SW_(OUT|DIF)(_|$)",
    "PPFD": r"^PPFD(_|$)",
    "LW_IN": r"^LW_IN(_|$)",
    "LW_OUT": r"^LW_OUT(_|$)",
    "NETRAD": r"^NETRAD(_|$)",
    "HEAT": r"^(LE|H|G)(_|$)",
    "PA": r"^PA(_|$)",
    "P": r"^P(_|$)",
    "WS": r"^WS(_|$)",
    "USTAR": r"^USTAR(_|$)",
    "CO2": r"^CO2(_|$)",
    "RH": r"^RH(_|$)",
    "SWC": r"^SWC(_|$)",
    "LAI": r"^LAI(_|$)",
    "FPAR": r"^FPAR(_|$)",
    "VI": r"^(EVI|NDVI)(_|$)",
    "NEE": r"^(NEE|FC|NEP)(_|$)",
    "GPP": r"^GPP(_|$)",
    "RECO": r"^RECO(_|$)",
}

# Scale checks: (key, group) -> (lowest plausible 99th percentile of |x|, days of data needed).
# A year of HH data anywhere has midday SW_IN > 200 W m-2 and fluxes of several umol m-2 s-1.
_FLOORS: dict[tuple[str, str], tuple[float, float]] = {
    ("VPD", "sub"): (4.0, 28.0),
    ("VPD", "day"): (4.0, 365.0),
    ("SW_IN", "sub"): (200.0, 365.0),
    ("SW_IN", "all"): (50.0, 365.0),
    ("RH", "all"): (5.0, 1.0),
    ("SWC", "all"): (1.0, 28.0),
    ("NEE", "sub"): (1.5, 365.0),
    ("GPP", "sub"): (2.0, 365.0),
    ("RECO", "sub"): (0.8, 365.0),
    ("GPP", "year"): (40.0, 365.0),
    ("RECO", "year"): (20.0, 365.0),
}

# Usual wrong units: (label, scale, offset) with value_in_bound_units = scale · raw + offset.
# umol CO2 per mg CO2 = 1000 / 44.0095; umol CO2 m-2 s-1 per gC m-2 (half hour)-1 =
# 1 / (12.011e-6 · 1800).
_ALTERNATIVES: dict[tuple[str, str], tuple[tuple[str, float, float], ...]] = {
    ("TA", "all"): (("K", 1.0, -273.15), ("degF", 5.0 / 9.0, -160.0 / 9.0)),
    ("TS", "all"): (("K", 1.0, -273.15), ("degF", 5.0 / 9.0, -160.0 / 9.0)),
    ("VPD", "all"): (("kPa", 10.0, 0.0), ("Pa", 0.01, 0.0)),
    ("PA", "all"): (("hPa", 0.1, 0.0), ("Pa", 0.001, 0.0)),
    ("SW_IN", "sub"): (("J m-2 per half hour", 1.0 / 1800.0, 0.0),),
    ("SW_IN", "all"): (("MJ m-2 d-1", 1e6 / 86400.0, 0.0),),
    ("P", "day"): (("m d-1", 1000.0, 0.0),),
    ("WS", "all"): (("km h-1", 1.0 / 3.6, 0.0),),
    ("RH", "all"): (("fraction (1)", 100.0, 0.0),),
    ("SWC", "all"): (("m3 m-3 (fraction)", 100.0, 0.0),),
    ("FPAR", "all"): (("%", 0.01, 0.0),),
    **{
        (key, group): alt
        for key in ("NEE", "GPP", "RECO")
        for group, alt in {
            "sub": (
                ("mg CO2 m-2 s-1", 1000.0 / 44.0095, 0.0),
                ("gC m-2 per half hour", 1.0 / (12.011e-6 * 1800.0), 0.0),
            ),
            "day": (("gC m-2 y-1", 1.0 / 365.25, 0.0), ("gC m-2 per month", 1.0 / 30.44, 0.0)),
            "year": (("gC m-2 d-1", 365.25, 0.0),),
        }.items()
    },
}

_GROUPS = ("sub", "day", "year")


def _build() -> dict[str, dict[str, Bound]]:
    table: dict[str, dict[str, Bound]] = {key: {} for key in _PATTERNS}
    for key, group, low, high, units, reason in _ROWS:
        for g in _GROUPS if group == "all" else (group,):
            if g in table[key] and group == "all":
                continue  # a step-specific row wins over "all"
            floor, days = _FLOORS.get((key, g), _FLOORS.get((key, group), (None, 28.0)))
            alternatives = _ALTERNATIVES.get((key, g), _ALTERNATIVES.get((key, group), ()))
            table[key][g] = Bound(low, high, units, reason, floor, days, alternatives)
    return table


#: Key → bound per step group ("sub": HH/HR, "day": DD/WW/MM, "year": YY); the key of a
#: variable name is the first of ``_PATTERNS`` that matches it (see :func:`bound_for`).
BOUNDS: dict[str, dict[str, Bound]] = _build()

_STEP_GROUP = {"HH": "sub", "HR": "sub", "DD": "day", "WW": "day", "MM": "day", "YY": "year"}
_STEP_DAYS = {"HH": 1 / 48, "HR": 1 / 24, "DD": 1.0, "WW": 7.0, "MM": 30.44, "YY": 365.25}
_SKIP = re.compile(r"(_QC|_COVERAGE|UNC|_SD|_SE|_N)$")
_MISSING_CODES = (-9999.0, -6999.0, -999.0)


def bound_for(name: str, time_step: str) -> Bound | None:
    """The plausibility bound of a FLUXNET variable at a time step (``None``: not checked).

    QC flags, coverage fractions and uncertainty estimates (``*_QC``, ``*_COVERAGE``,
    ``*UNC``, ``*_SD``, ``*_SE``, ``*_N``) are not checked.

    Example:
        >>> b = bound_for("SW_IN_F", "DD")
        >>> b.low, b.high, b.units
        (-10.0, 500.0, 'W m-2')
    """
    if time_step not in _STEP_GROUP:
        raise ValueError(f"unknown time step {time_step!r}; expected one of {list(_STEP_GROUP)}")
    upper = name.upper()
    if _SKIP.search(upper):
        return None
    for key, pattern in _PATTERNS.items():
        if re.match(pattern, upper):
            return BOUNDS[key][_STEP_GROUP[time_step]]
    return None


def _p99(values: np.ndarray) -> float:
    return float(np.percentile(np.abs(values), 99.0))


def _fits(values: np.ndarray, bound: Bound) -> bool:
    inside = bool(np.all((values >= bound.low) & (values <= bound.high)))
    return inside and (bound.floor is None or _p99(values) >= bound.floor)


def _likely_cause(raw: np.ndarray, declared: str, bound: Bound, out_of_range: bool) -> str:
    """A guess at the cause: the first usual wrong unit under which the values fit."""
    for label, scale, offset in bound.alternatives:
        if label != declared and _fits(scale * raw + offset, bound):
            hint = "" if out_of_range else " (unless the record is from a cold or humid season)"
            return f"values look like {label}, not {declared}{hint}"
    if out_of_range and np.isin(raw, _MISSING_CODES).any():
        return "a missing-value code (e.g. -9999) was not converted to NaN"
    if out_of_range:
        return "sensor fault or spikes (check the offending records), or wrong units"
    return "wrong units, or a record from an unusually cold, humid or quiet period"


def _describe_bound(bound: Bound, declared: str) -> str:
    text = f"{bound.low:g}..{bound.high:g} {bound.units}"
    if declared != bound.units:
        lo, hi = convert(np.array([bound.low, bound.high]), bound.units, declared)
        text += f" (= {lo:.4g}..{hi:.4g} {declared})"
    return text


def _check_variable(var: xr.DataArray, name: str, step: str, path: str) -> str | None:
    bound = bound_for(name, step)
    declared = var.attrs.get("units", "")
    if bound is None:
        return None
    raw = var.values
    finite = np.isfinite(raw)
    if not finite.any():
        return None
    try:
        x = np.asarray(convert(raw[finite], declared, bound.units), dtype=float)
    except ValueError:
        return (
            f"{path}: variable {name} is declared in {declared!r}, which cannot express "
            f"{bound.units!r}; likely cause: wrong units attribute"
        )
    outside = (x < bound.low) | (x > bound.high)
    days = float(finite.sum()) * _STEP_DAYS[step]
    too_small = bound.floor is not None and days >= bound.floor_days and _p99(x) < bound.floor
    if not outside.any() and not too_small:
        return None
    cause = _likely_cause(raw[finite], declared, bound, bool(outside.any()))
    observed = f"observed {raw[finite].min():.4g}..{raw[finite].max():.4g} {declared}"
    if outside.any():
        bad = np.zeros(raw.shape, dtype=bool)
        bad[finite] = outside
        sites = [str(s) for s in var["site"].values[bad.any(axis=-1)]][:5]
        detail = f"{int(outside.sum())} of {x.size} values outside, sites {', '.join(sites)}"
    else:
        floor = f"{bound.floor:g} {bound.units}"
        detail = f"99th percentile of |x| {_p99(x):.3g} {bound.units} below {floor}"
    return (
        f"{path}: variable {name} {observed} ({detail}); plausible "
        f"{_describe_bound(bound, declared)} at time step {step} ({bound.reason}); "
        f"likely cause: {cause}"
    )


def check_plausibility(ds: xr.Dataset, path: str = "<dataset>") -> list[str]:
    """Warn about variables outside their plausible range or scale; return the messages.

    One :class:`~hybridflux.data.errors.PlausibilityWarning` per offending variable, naming the
    variable, its observed range and units, the plausible range and units (:func:`bound_for`)
    and a likely cause. Nothing is changed.

    Args:
        ds: canonical Dataset (``attrs["time_step"]``, ``units`` on every variable).
        path: file name used in the messages.

    Returns:
        The warning messages (empty when all is plausible).

    Example:
        >>> import pytest
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"VPD_F": [0.1 + 0.1 * (i % 30) for i in range(48 * 30)]},
        ...                      index=pd.date_range("2014-06-01", periods=48 * 30, freq="30min"))
        >>> ds = site_dataset(frame, "DE-Tha", time_step="HH", units={"VPD_F": "hPa"},
        ...                   source_format="example", source_file="x.csv")
        >>> with pytest.warns(PlausibilityWarning, match="look like kPa"):
        ...     messages = check_plausibility(ds, "x.csv")
        >>> len(messages)
        1
    """
    step = ds.attrs.get("time_step")
    if step not in _STEP_GROUP:
        raise ValueError(f"{path}: attrs['time_step']={step!r} not in {list(_STEP_GROUP)}")
    messages = []
    for name, var in ds.data_vars.items():
        if "site" not in var.dims:
            continue
        message = _check_variable(var, str(name), step, path)
        if message is not None:
            warnings.warn(message, PlausibilityWarning, stacklevel=2)
            messages.append(message)
    return messages
