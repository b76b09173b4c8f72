"""Area-weighted carbon totals of an upscaled flux, and its annual-mean map.

A cell between latitudes φ₁ < φ₂ and of width Δλ (radians) has the spherical area

    A = R² · Δλ · (sin φ₂ − sin φ₁),

with R the mean Earth radius; cell edges lie half-way between the centres (the outer edges
half a step beyond the outermost centres, clipped to ±90°). The total of a flux F (a mean
rate per cell over the period, in gC m-2 d-1) is

    T = Σ_cells A · F̄ · 365.25 d yr-1 / 10^15 g PgC-1      (PgC yr-1),

over the cells whose time mean F̄ is finite (NaN cells — water, gaps — count as no flux:
mask the grid's covariates or give a land mask as a static map for land-only totals).

Example:
    >>> import numpy as np
    >>> lat, lon = np.arange(-89.5, 90.0, 1.0), np.arange(-179.5, 180.0, 1.0)
    >>> area = cell_areas(lat, lon)
    >>> round(float(area.sum() / (4 * np.pi * EARTH.radius**2)), 12)
    1.0
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from hybridflux.data.units import convert

__all__ = [
    "time_sums",
    "mean_from_sums",
    "EarthConstants",
    "EARTH",
    "cell_areas",
    "annual_mean",
    "annual_totals",
    "annual_mean_figure",
    "DEFAULT_BANDS",
]


@dataclass(frozen=True)
class EarthConstants:
    """Constants of the area weighting.

    Attributes:
        radius: m. Mean Earth radius R₁ = 6 371 008.8 m (Moritz 2000, Geodetic Reference
            System 1980, J. Geodesy 74, 128–133).
        days_per_year: d yr-1. Mean (Julian) year, 365.25.
        grams_per_pg: g PgC-1, 10^15.
    """

    radius: float = 6_371_008.8
    days_per_year: float = 365.25
    grams_per_pg: float = 1e15


EARTH = EarthConstants()

#: Latitude bands reported besides the whole grid (those that hold cells of the grid):
#: name → (south, north) in degrees north; the tropics end at the Tropics of Cancer/Capricorn.
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "tropics (23.44S-23.44N)": (-23.44, 23.44),
    "northern extratropics (>23.44N)": (23.44, 90.0),
    "southern extratropics (<23.44S)": (-90.0, -23.44),
}


def _edges(centres: np.ndarray) -> np.ndarray:
    centres = np.asarray(centres, dtype=float)
    if centres.size == 1:
        raise ValueError("cell areas need at least two cells per axis (the spacing)")
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def cell_areas(lat: np.ndarray, lon: np.ndarray, radius: float = EARTH.radius) -> np.ndarray:
    """Areas (m²) of the cells of a lat/lon grid, shape ``(lat, lon)``; any axis order.

    Args:
        lat: cell-centre latitudes, degrees north (ascending or descending).
        lon: cell-centre longitudes, degrees east.
        radius: sphere radius, m.

    Example:
        >>> a = cell_areas(np.array([0.5, -0.5]), np.array([0.5, 1.5]))
        >>> round(float(a[0, 0] / 1e6), 1)
        12363.7
    """
    phi = np.radians(np.clip(_edges(lat), -90.0, 90.0))
    lam = np.radians(_edges(lon))
    band = np.abs(np.diff(np.sin(phi)))
    width = np.abs(np.diff(lam))
    return radius**2 * band[:, None] * width[None, :]


def annual_mean(var: xr.DataArray) -> xr.DataArray:
    """Time mean of a flux per cell as a rate per year (``gC m-2 y-1`` for carbon fluxes).

    Args:
        var: ``(time, lat, lon)`` flux with ``units`` in ``gC m-2 d-1`` or another carbon
            flux unit of :mod:`hybridflux.data.units`; NaN steps are left out of the mean,
            which is accumulated in float64.

    Returns:
        ``(lat, lon)`` in ``gC m-2 y-1``.
    """
    units = var.attrs.get("units", "gC m-2 d-1")
    per_day = var.astype(np.float64).mean("time", skipna=True)  # float32 stores: sum in float64
    values = convert(np.asarray(per_day.values, dtype=float), units, "gC m-2 y-1")
    attrs = {"units": "gC m-2 y-1", "long_name": f"annual mean {var.name}"}
    return xr.DataArray(
        values,
        coords={"lat": var["lat"], "lon": var["lon"]},
        dims=("lat", "lon"),
        name=var.name,
        attrs=attrs,
    )


def time_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell sum (float64) and count (int64) of the finite values of a ``(time, y, x)`` block.

    Example:
        >>> total, count = time_sums(np.array([[[1.0]], [[np.nan]], [[2.0]]]))
        >>> float(total[0, 0]), int(count[0, 0])
        (3.0, 2)
    """
    finite = np.isfinite(values)
    if finite.all():  # the usual case: no pass to mask, no pass to count
        count = np.full(values.shape[1:], values.shape[0], dtype=np.int_)
        return values.sum(axis=0, dtype=np.float64), count
    return np.where(finite, values, 0.0).sum(axis=0, dtype=np.float64), finite.sum(axis=0)


def mean_from_sums(
    total: np.ndarray, count: np.ndarray, units: str, lat: np.ndarray, lon: np.ndarray, name: str
) -> xr.DataArray:
    """The annual-mean map (``gC m-2 y-1``) from per-cell sums and counts over time.

    Gives :func:`annual_mean` of the whole output without reading it again: the sums are
    accumulated chunk by chunk while the chunks are written.

    Example:
        >>> m = mean_from_sums(np.array([[2.0, 0.0]]), np.array([[2, 0]]), "gC m-2 d-1",
        ...                    np.array([0.0]), np.array([0.0, 1.0]), "GPP")
        >>> m.values.tolist()
        [[365.25, nan]]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        per_step = np.where(count > 0, total / count, np.nan)
    values = convert(per_step, units, "gC m-2 y-1")
    attrs = {"units": "gC m-2 y-1", "long_name": f"annual mean {name}"}
    coords = {"lat": np.asarray(lat), "lon": np.asarray(lon)}
    return xr.DataArray(values, coords=coords, dims=("lat", "lon"), name=name, attrs=attrs)


def annual_totals(
    mean_map: xr.DataArray, regions: Mapping[str, tuple[float, ...]] | None = None
) -> dict[str, float]:
    """Area-weighted totals (PgC yr-1) of an annual-mean map over the grid and regions.

    Args:
        mean_map: ``(lat, lon)`` in ``gC m-2 y-1`` (:func:`annual_mean`).
        regions: name → ``(south, north)`` or ``(south, north, west, east)`` in degrees;
            default :data:`DEFAULT_BANDS` (those with cells on the grid).

    Returns:
        ``{"grid": total, region: total, ...}`` in PgC yr-1.

    Example:
        >>> lat, lon = np.arange(-89.5, 90.0, 1.0), np.arange(-179.5, 180.0, 1.0)
        >>> flat = xr.DataArray(np.full((180, 360), 100.0), coords={"lat": lat, "lon": lon},
        ...                     dims=("lat", "lon"))
        >>> round(annual_totals(flat)["grid"], 2)  # 100 gC m-2 y-1 over the whole sphere
        51.01
    """
    lat, lon = mean_map["lat"].values, mean_map["lon"].values
    weighted = np.nan_to_num(mean_map.values * cell_areas(lat, lon)) / EARTH.grams_per_pg
    totals = {"grid": float(weighted.sum())}
    boxes = DEFAULT_BANDS if regions is None else regions
    for name, box in boxes.items():
        south, north, west, east = (*box, -np.inf, np.inf) if len(box) == 2 else box
        inside = ((lat >= south) & (lat < north))[:, None] & ((lon >= west) & (lon < east))
        if regions is not None or inside.any():
            totals[name] = float(weighted[inside].sum())
    return totals


def annual_mean_figure(
    mean_map: xr.DataArray, path: str | os.PathLike, title: str | None = None
) -> Path:
    """Save a map of an annual mean (PNG), written atomically.

    Args:
        mean_map: ``(lat, lon)`` (:func:`annual_mean`).
        path: the PNG file.
        title: figure title (default from the variable's name and units).

    Returns:
        The file's path.
    """
    from matplotlib.figure import Figure

    from hybridflux.runs.rundir import atomic_write

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    lon, lat, values = mean_map["lon"].values, mean_map["lat"].values, mean_map.values
    if _regular(lon, ascending=True) and _regular(lat):  # an image: faster to draw than a mesh
        dx, dy = (lon[1] - lon[0]) / 2, abs(lat[1] - lat[0]) / 2
        extent = (lon[0] - dx, lon[-1] + dx, lat.min() - dy, lat.max() + dy)
        origin = "upper" if lat[0] > lat[-1] else "lower"
        mesh = ax.imshow(values, extent=extent, origin=origin, cmap="YlGn", interpolation="nearest")
    else:
        mesh = ax.pcolormesh(lon, lat, values, shading="nearest", cmap="YlGn")
    fig.colorbar(mesh, ax=ax, label=mean_map.attrs.get("units", ""))
    ax.set_xlabel("longitude (degrees east)")
    ax.set_ylabel("latitude (degrees north)")
    ax.set_aspect("equal")
    ax.set_title(title or f"annual mean {mean_map.name}")
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))


def _regular(coord: np.ndarray, ascending: bool = False) -> bool:
    """Whether cell centres are equally spaced (and increasing, if asked)."""
    step = np.diff(np.asarray(coord, dtype=float))
    if step.size == 0 or step[0] == 0 or (ascending and step[0] < 0):
        return False
    return bool(np.allclose(step, step[0], rtol=1e-6, atol=0.0))
