"""Area weights and totals against closed forms of the sphere (independent of the code)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hybridflux.upscale.totals import EARTH, annual_mean, annual_totals, cell_areas


def test_cell_areas_sum_to_the_sphere_and_to_zones():
    lat, lon = np.arange(89.75, -90.0, -0.5), np.arange(-179.75, 180.0, 0.5)  # descending lat
    area = cell_areas(lat, lon)
    r2 = EARTH.radius**2
    assert area.sum() == pytest.approx(4 * np.pi * r2, rel=1e-12)
    # the zone 0..30N: 2 pi R^2 (sin 30 - sin 0) = pi R^2
    zone = (lat > 0) & (lat < 30)
    assert area[zone].sum() == pytest.approx(np.pi * r2, rel=1e-12)
    assert area[0, 0] < area[180, 0]  # polar cells are smaller than equatorial ones


def test_totals_in_pgc_per_year_by_hand():
    lat, lon = np.arange(-89.5, 90.0, 1.0), np.arange(-179.5, 180.0, 1.0)
    flux = np.full((3, 180, 360), 2.0)  # gC m-2 d-1
    flux[:, lat < 0, :] = np.nan  # only the northern hemisphere has land
    ds = xr.DataArray(
        flux,
        dims=("time", "lat", "lon"),
        name="GPP",
        coords={"lat": lat, "lon": lon},
        attrs={"units": "gC m-2 d-1"},
    )
    mean_map = annual_mean(ds)
    assert mean_map.attrs["units"] == "gC m-2 y-1"
    totals = annual_totals(mean_map)
    hemisphere = 2 * np.pi * EARTH.radius**2  # m2
    expected = 2.0 * 365.25 * hemisphere / 1e15  # PgC/yr
    assert totals["grid"] == pytest.approx(expected, rel=1e-9)
    tropics_north = 2 * np.pi * EARTH.radius**2 * np.sin(np.radians(23.0))  # cells 0..23N
    assert totals["tropics (23.44S-23.44N)"] == pytest.approx(
        2.0 * 365.25 * tropics_north / 1e15, rel=1e-9
    )
    box = annual_totals(mean_map, {"box": (0.0, 10.0, 0.0, 10.0)})
    box_area = EARTH.radius**2 * np.radians(10.0) * np.sin(np.radians(10.0))
    assert box["box"] == pytest.approx(2.0 * 365.25 * box_area / 1e15, rel=1e-9)


def test_annual_mean_skips_nan_days_and_converts_units():
    da = xr.DataArray(
        np.array([1.0, np.nan, 3.0])[:, None, None] * np.ones((3, 2, 2)),
        dims=("time", "lat", "lon"),
        coords={"lat": [0.0, 1.0], "lon": [0.0, 1.0]},
        name="NEE",
        attrs={"units": "umol m-2 s-1"},
    )
    expected = 2.0 * 1e-6 * 12.011 * 86400 * 365.25  # mean 2 umol/m2/s in gC m-2 y-1
    np.testing.assert_allclose(annual_mean(da).values, expected, rtol=1e-12)


def _map(lat, lon, values):
    coords = {"lat": lat, "lon": lon}
    attrs = {"units": "gC m-2 y-1"}
    return xr.DataArray(values, dims=("lat", "lon"), coords=coords, name="GPP", attrs=attrs)


def test_map_figure_is_north_up_whatever_the_latitude_order(tmp_path):
    """A regular grid is drawn as an image: the same field with ascending or descending
    latitudes (and, nudged off regular spacing, as a mesh) gives the same picture."""
    from matplotlib.image import imread

    from hybridflux.upscale.totals import annual_mean_figure

    lat, lon = np.arange(-88.0, 90.0, 4.0), np.arange(-178.0, 180.0, 4.0)
    field = np.where(lat[:, None] > 30.0, 2000.0, 100.0) + 0.0 * lon  # a dark north
    field[lat < -60.0, :] = np.nan
    pictures = []
    for name, la, values in (
        ("ascending", lat, field),
        ("descending", lat[::-1], field[::-1]),
        ("mesh", lat + 1e-3 * (np.arange(lat.size) % 2), field),
    ):
        pictures.append(imread(annual_mean_figure(_map(la, lon, values), tmp_path / f"{name}.png")))
    ascending, descending, mesh = pictures
    np.testing.assert_array_equal(ascending, descending)
    assert np.abs(ascending - mesh).mean() < 0.01  # the mesh draws the same cells
    column = ascending[:, ascending.shape[1] // 3, :3].mean(axis=1)  # grey level down a column
    inked = np.flatnonzero(column < 0.95)
    top, bottom = column[inked[0] + 5], column[inked[-1] - 40]
    assert top < bottom  # dark (high GPP) at the top: north up
