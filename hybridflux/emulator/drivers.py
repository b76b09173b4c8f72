"""Real daily drivers for synthetic cells: site years and ERA5 cells, perturbed and recombined.

The detailed model needs daily air temperature, its diurnal range, shortwave, VPD and relative
soil water. They come from real data (DESIGN.md, issue 7):

- flux-tower sites in the canonical daily schema (:func:`hybridflux.data.read`): ``TA_F``,
  ``SW_IN_F``, ``VPD_F``, ``P_F`` and ``TMAX_F − TMIN_F`` where the file has a real range;
- ERA5 hourly ``t2m``/``ssrd`` files (the gridded Bavarian sample), in
  :mod:`hybridflux.emulator.era5_drivers`.

Relative soil water is a bucket driven by precipitation and Priestley–Taylor evaporation
(`soil_water_bucket`). Years are 365 days (29 February dropped); gaps are filled from the
site's day-of-year climatology. `sample_cells` then draws cells: a place, consecutive (or, for
short records, resampled) years, and per-cell perturbations of temperature, light, VPD and
water.

Example:
    >>> import numpy as np
    >>> w = soil_water_bucket(np.full(30, 10.0), np.full(30, 15.0), np.full(30, 200.0))
    >>> float(w.min())  # 10 mm of rain a day keeps the bucket full
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from hybridflux.constants import DETAILED, PHYSICAL, VAPOUR
from hybridflux.data.errors import DataError
from hybridflux.data.schema import first_source

__all__ = [
    "DriverYears",
    "CellDrivers",
    "DRIVER_NAMES",
    "soil_water_bucket",
    "site_driver_years",
    "concat_years",
    "select_years",
    "sample_cells",
]

#: Daily driver variables, in the order of the last axis of `CellDrivers.values`.
DRIVER_NAMES = ("ta", "sw_in", "vpd", "w", "ta_range")
_DAYS = 365
_BUCKET_MM = 150.0  # mm, plant-available water capacity (a typical loam root zone)
_PT_ALPHA = 1.26  # Priestley & Taylor (1972), Mon. Weather Rev. 100, 81-92
_LATENT_HEAT = 2.45  # MJ kg-1 (FAO-56 p. 31)
_NET_FRACTION = 0.6  # net / incoming shortwave over a day (albedo and long-wave loss)


@dataclass(frozen=True)
class DriverYears:
    """Whole years of daily drivers from real data (`site_driver_years`, `era5_driver_years`).

    Example:
        >>> concat_years().values.shape
        (0, 365, 5)

    Attributes:
        values: (n_years, 365, 5) drivers `DRIVER_NAMES` (°C, W m-2, hPa, 1, °C).
        lat: (n_years,) degrees north.
        place: (n_years,) int, which place (site or grid cell) each year comes from.
        label: (n_years,) str, e.g. ``"FR-Pue 2005"`` or ``"ERA5 48.2N 11.3E 2022"``.
        source: (n_years,) int, which data source (cells draw a source first, then a place).
    """

    values: np.ndarray
    lat: np.ndarray
    place: np.ndarray
    label: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class CellDrivers:
    """Daily drivers of synthetic cells (`sample_cells`).

    Example:
        >>> c = CellDrivers(np.zeros((1, 365, 5)), np.arange(1.0, 366.0), np.zeros(1),
        ...                 np.array(["x"]))
        >>> c.values.shape[1] // 365
        1

    Attributes:
        values: (n_cells, T, 5) drivers `DRIVER_NAMES`, T = years · 365.
        doy: (T,) day of year 1..365.
        lat: (n_cells,) degrees north.
        label: (n_cells,) str, the source years and perturbations.
    """

    values: np.ndarray
    doy: np.ndarray
    lat: np.ndarray
    label: np.ndarray


def _es(t):
    """Tetens saturation vapour pressure, hPa (FAO-56 eq. 11)."""
    c = VAPOUR
    return c.tetens_a * np.exp(c.tetens_b * t / (t + c.tetens_c))


def soil_water_bucket(
    precip: np.ndarray, ta: np.ndarray, sw_in: np.ndarray, capacity: float = _BUCKET_MM
) -> np.ndarray:
    """Relative soil water W of a bucket: ``S' = clip(S + P − W·PET, 0, S_max)``, ``W = S/S_max``.

    PET is Priestley–Taylor, ``α·Δ/(Δ + γ)·R_n/λ`` with R_n = 0.6·SW (MJ m-2 d-1), γ = 0.665
    hPa K-1 and Δ the slope of Tetens' curve. Starts full, spun up over the first year.

    Args:
        precip: (..., T) mm d-1.
        ta: (..., T) °C.
        sw_in: (..., T) W m-2 (daily mean).
        capacity: S_max in mm.

    Returns:
        (..., T) W in [0, 1].

    Reference:
        Priestley & Taylor (1972), Mon. Weather Rev. 100, 81–92; Allen et al. (1998), FAO-56.

    Example:
        >>> w = soil_water_bucket(np.zeros(60), np.full(60, 20.0), np.full(60, 250.0))
        >>> round(float(w[-1]), 2)
        0.02
    """
    slope = 4098.0 * _es(ta) / (ta + VAPOUR.tetens_c) ** 2
    net = _NET_FRACTION * np.maximum(sw_in, 0.0) * PHYSICAL.seconds_per_day / 1e6
    pet = _PT_ALPHA * slope / (slope + 0.665) * net / _LATENT_HEAT
    out = np.empty_like(np.asarray(ta, float))
    for _ in range(2):  # second pass starts from the end of the first (spin-up)
        store = capacity * np.ones(out.shape[:-1]) if _ == 0 else out[..., -1] * capacity
        for t in range(out.shape[-1]):
            store = np.clip(store + precip[..., t] - pet[..., t] * store / capacity, 0, capacity)
            out[..., t] = store / capacity
    return out


def _fill(x: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """NaN replaced by the day-of-year mean of the record, then by the record mean."""
    x = np.array(x, float)
    ok = np.isfinite(x)
    if not ok.any():
        return x
    sums = np.bincount(doy[ok], weights=x[ok], minlength=367)
    counts = np.bincount(doy[ok], minlength=367)
    clim = np.where(counts > 0, sums / np.maximum(counts, 1), x[ok].mean())
    return np.where(ok, x, clim[doy])


def _whole_years(time: np.ndarray, min_valid: int, valid: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the calendar years with ≥ min_valid valid days (29 Feb dropped)."""
    times = time.astype("datetime64[D]")
    years = times.astype("datetime64[Y]").astype(int) + 1970
    leap = (times - times.astype("datetime64[Y]")).astype(int) == 59
    leap &= (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    out = []
    for year in np.unique(years):
        idx = np.flatnonzero((years == year) & ~leap)
        if idx.size == _DAYS and int(valid[idx].sum()) >= min_valid:
            out.append(idx)
    return out


def site_driver_years(ds: xr.Dataset, min_valid: int = 300, place0: int = 0) -> DriverYears:
    """Whole years of drivers of every site of a canonical daily Dataset.

    Args:
        ds: canonical Dataset (docs/design/0002) at daily step with ``TA_F``, ``SW_IN_F``,
            ``VPD_F``; ``P_F`` (mm d-1) for the bucket (else W = 0.7), ``TMIN_F``/``TMAX_F``
            for the range (else the `DETAILED` default).
        min_valid: least days of a year with all of TA_F, SW_IN_F, VPD_F observed.
        place0: number of the first site (places are numbered consecutively).

    Returns:
        `DriverYears` (possibly empty).

    Raises:
        DataError: the Dataset is not daily or lacks a driver variable (named with its file).

    Example:
        >>> from hybridflux.data import read
        >>> from hybridflux.data.sample import sample_path
        >>> years = site_driver_years(read(sample_path("fr-pue-daily")))
        >>> years.values.shape[1:], years.label[0][:6]
        ((365, 5), 'FR-Pue')
    """
    where = first_source(ds, "the site data")
    if ds.attrs.get("time_step") != "DD":
        step = ds.attrs.get("time_step")
        raise DataError(where, f"site drivers must be daily (DD), this file is {step!r}")
    missing = [v for v in ("TA_F", "SW_IN_F", "VPD_F") if v not in ds]
    if missing:
        raise DataError(where, "the emulator's site drivers need this column", variable=missing[0])
    time = ds["time"].values
    doy = ds["time"].dt.dayofyear.values
    blocks, lat, place, label = [], [], [], []
    for i, site in enumerate(ds["site"].values):
        one = ds.isel(site=i)
        raw = [one[v].values.astype(float) for v in ("TA_F", "SW_IN_F", "VPD_F")]
        valid = np.all([np.isfinite(r) for r in raw], axis=0)
        years = _whole_years(time, min_valid, valid)
        if not years:
            continue
        ta, sw, vpd = (_fill(r, doy) for r in raw)
        ta_range = np.full_like(ta, DETAILED.ta_range)
        if "TMIN_F" in one and "TMAX_F" in one:
            rng = _fill(one["TMAX_F"].values - one["TMIN_F"].values, doy)
            if np.isfinite(rng).any() and np.nanmean(rng) > 1.0:  # some repeat TA in TMIN/TMAX
                ta_range = np.clip(rng, 0.0, 30.0)
        w = np.full_like(ta, 0.7)
        if "P_F" in one and np.any(np.isfinite(one["P_F"].values)):
            w = soil_water_bucket(np.nan_to_num(_fill(one["P_F"].values, doy)), ta, sw)
        series = np.stack([ta, np.maximum(sw, 0), np.maximum(vpd, 0), w, ta_range], -1)
        for idx in years:
            blocks.append(series[idx])
            lat.append(float(one["lat"]))
            place.append(place0 + i)
            label.append(f"{site} {str(time[idx[0]])[:4]}")
    return _years(blocks, lat, place, label)


def _years(blocks, lat, place, label) -> DriverYears:
    values = np.stack(blocks) if blocks else np.zeros((0, _DAYS, len(DRIVER_NAMES)))
    n = values.shape[0]
    return DriverYears(
        values,
        np.asarray(lat, float),
        np.asarray(place, int),
        np.asarray(label, str),
        np.zeros(n, int),
    )


def concat_years(*parts: DriverYears) -> DriverYears:
    """Stack several `DriverYears` (places renumbered to stay distinct).

    Example:
        >>> y = concat_years(_years([], [], [], []), _years([], [], [], []))
        >>> y.values.shape
        (0, 365, 5)
    """
    parts = [p for p in parts if p.values.shape[0]]
    if not parts:
        return _years([], [], [], [])
    offset, places = 0, []
    for p in parts:
        places.append(p.place - p.place.min() + offset)
        offset = int(places[-1].max()) + 1
    return DriverYears(
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.lat for p in parts]),
        np.concatenate(places),
        np.concatenate([p.label for p in parts]),
        np.concatenate([np.full(p.lat.size, k) for k, p in enumerate(parts)]),
    )


def select_years(bank: DriverYears, mask: np.ndarray) -> DriverYears:
    """The years of ``bank`` where ``mask`` is true.

    Raises:
        ValueError: no year is left.

    Example:
        >>> y = DriverYears(np.zeros((2, 365, 5)), np.zeros(2), np.arange(2), np.array(["a", "b"]),
        ...                 np.zeros(2, int))
        >>> select_years(y, np.array([False, True])).label.tolist()
        ['b']
    """
    mask = np.asarray(mask, bool)
    if not mask.any():
        raise ValueError("no driver year is left after the selection (e.g. cells.min_mean_ta)")
    return DriverYears(
        bank.values[mask], bank.lat[mask], bank.place[mask], bank.label[mask], bank.source[mask]
    )


def _draw_cell(bank: DriverYears, years: int, rng, delta_t, sw_scale, vpd_scale, water_exponent):
    """One perturbed cell of `sample_cells`: (values (years · 365, 5), year indices, label)."""
    places = np.unique(bank.place[bank.source == rng.choice(np.unique(bank.source))])
    idx = np.flatnonzero(bank.place == rng.choice(places))
    if idx.size >= years:
        start = rng.integers(idx.size - years + 1)
        pick = idx[start : start + years]
    else:
        pick = rng.choice(idx, size=years, replace=True)
    v = bank.values[pick].reshape(years * _DAYS, -1).copy()
    dt, a = rng.uniform(-delta_t, delta_t), rng.uniform(1 - sw_scale, 1 + sw_scale)
    b = rng.uniform(1 - vpd_scale, 1 + vpd_scale)
    g = np.exp(rng.uniform(-water_exponent, water_exponent))
    v[:, 0] += dt + np.repeat(rng.normal(0.0, 0.5, years), _DAYS)
    v[:, 1] *= a
    v[:, 2] *= b
    v[:, 3] = np.clip(v[:, 3], 0.0, 1.0) ** g
    return v, pick, f"{bank.label[pick[0]]}+{years - 1}y dT={dt:+.1f} sw*{a:.2f} w^{g:.2f}"


def sample_cells(
    bank: DriverYears,
    n_cells: int,
    years: int,
    rng: np.random.Generator,
    *,
    delta_t: float = 3.0,
    sw_scale: float = 0.15,
    vpd_scale: float = 0.2,
    water_exponent: float = 0.25,
    min_mean_ta: float | None = None,
) -> CellDrivers:
    """Synthetic cells: a place, ``years`` of its years (consecutive when it has enough, else
    drawn with replacement), perturbed per cell.

    A source (e.g. the sites, the ERA5 grid) is drawn first, uniformly, then a place of it.
    Per cell: ``T + ΔT``, ΔT ~ U(−δ, δ) °C; ``SW·a``, a ~ U(1 − s, 1 + s); ``VPD·b``,
    b ~ U(1 − v, 1 + v); ``W^γ``, log γ ~ U(−ω, ω) (W stays in [0, 1]); per year a further
    ``T + ε``, ε ~ N(0, 0.5 °C), so that resampled years differ.

    Args:
        bank: the real `DriverYears`.
        n_cells: number of cells.
        years: years per cell.
        rng: numpy random generator.
        delta_t: δ in °C.
        sw_scale: s, dimensionless.
        vpd_scale: v, dimensionless.
        water_exponent: ω, dimensionless.
        min_mean_ta: °C; a cell whose perturbed mean air temperature is colder is drawn
            again (the perturbation must not carry cells out of the model's domain).

    Returns:
        `CellDrivers` with values (n_cells, years · 365, 5).

    Raises:
        ValueError: an empty bank, or 1000 draws in a row colder than ``min_mean_ta``.

    Example:
        >>> bank = DriverYears(np.ones((2, 365, 5)), np.zeros(2), np.arange(2),
        ...                    np.array(["a 2001", "b 2001"]), np.zeros(2, int))
        >>> sample_cells(bank, 3, 2, np.random.default_rng(0)).values.shape
        (3, 730, 5)
    """
    if bank.values.shape[0] == 0:
        raise ValueError("no driver years to sample cells from (check emulator data paths)")
    perturb = (delta_t, sw_scale, vpd_scale, water_exponent)
    values, lat, label = [], [], []
    for _ in range(n_cells):
        for _attempt in range(1000):
            v, pick, text = _draw_cell(bank, years, rng, *perturb)
            if min_mean_ta is None or v[:, 0].mean() >= min_mean_ta:
                break
        else:
            raise ValueError(f"1000 cells in a row colder than min_mean_ta = {min_mean_ta} °C")
        values.append(v)
        lat.append(bank.lat[pick[0]])
        label.append(text)
    doy = np.tile(np.arange(1, _DAYS + 1, dtype=float), years)
    return CellDrivers(np.stack(values).astype(np.float32), doy, np.asarray(lat), np.asarray(label))
