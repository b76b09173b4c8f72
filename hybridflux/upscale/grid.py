"""Open a gridded covariate dataset lazily and check it against the run that will use it.

A **grid** is a zarr store or a netCDF file with dims ``time, lat, lon`` whose variables are
named as the model's inputs (``TA_F``, ``SW_IN_F``, ``VPD_F``, ...), each with a ``units``
attribute from :data:`hybridflux.data.units.UNITS`. Variables with dims ``(lat, lon)`` are
static maps (broadcast over time); more of them can come from a second file (``static=``).
Inputs the grid lacks but that follow from latitude and date alone (``SW_IN_POT``,
``SW_POT_sm``, ``SW_POT_sm_diff``, ``DOY_SIN_k``/``DOY_COS_k`` on a daily grid) are derived
per chunk with the same code as in training (:mod:`hybridflux.data.features`).

The checks (:func:`check_grid`) compare the grid with the **training data** of the run:
every input present or derivable, its units equal to those it had in training (a mismatch is
a :class:`GridError` naming the variable and both units), the same time step.

Example:
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> grid = xr.Dataset(
    ...     {"TA_F": (("time", "lat", "lon"), np.zeros((3, 2, 2)), {"units": "K"})},
    ...     coords={"time": pd.date_range("2022-01-01", periods=3), "lat": [1.0, 0.0],
    ...             "lon": [0.0, 1.0]})
    >>> try:
    ...     check_grid(grid, ["TA_F"], {"TA_F": "degC"}, "DD", where="grid.zarr")
    ... except GridError as err:
    ...     print(err)
    grid.zarr: variable TA_F: units 'K' differ from the training data's 'degC'; convert the \
variable first (hybridflux.data.units.convert(values, 'K', 'degC'))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.features import add_features

__all__ = [
    "GridError",
    "DIMS",
    "open_grid",
    "grid_time_step",
    "check_grid",
    "training_reference",
    "derived_features",
]

#: The dims of a grid's time-varying variables, in this order.
DIMS = ("time", "lat", "lon")
_ALIASES = {"latitude": "lat", "longitude": "lon", "valid_time": "time"}
#: Days of potential radiation computed beyond a chunk's ends (10-day windows + difference).
_MARGIN_DAYS = 16
_STEPS = {np.timedelta64(1, "D"): "DD", np.timedelta64(1, "h"): "HR", np.timedelta64(30, "m"): "HH"}


class GridError(DataError):
    """A grid that does not fit the run: missing inputs, other units or time step, bad dims."""


def _is_zarr(path: Path) -> bool:
    return path.is_dir() or path.suffix == ".zarr"


def _open(path: Path, chunks) -> xr.Dataset:
    if _is_zarr(path):
        consolidated = (path / ".zmetadata").is_file()
        return xr.open_dataset(path, engine="zarr", chunks=chunks, consolidated=consolidated)
    return xr.open_dataset(path, chunks=chunks)


def _canonical(ds: xr.Dataset, where: str) -> xr.Dataset:
    ds = ds.rename({k: v for k, v in _ALIASES.items() if k in ds.dims or k in ds.coords})
    missing = [d for d in DIMS if d not in ds.dims]
    if missing:
        raise GridError(
            where, f"no dimension {missing}; a grid has dims {DIMS} (found {tuple(ds.dims)})"
        )
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise GridError(where, "the time coordinate is not datetime64 (decode its CF units)")
    keep = {}
    for name, var in ds.data_vars.items():
        if set(var.dims) == set(DIMS):
            keep[name] = var.transpose(*DIMS)
        elif set(var.dims) == {"lat", "lon"}:
            keep[name] = var.transpose("lat", "lon")
    return xr.Dataset(keep, coords={d: ds[d] for d in DIMS}, attrs=ds.attrs)


def open_grid(
    path: str | os.PathLike,
    *,
    static: str | os.PathLike | None = None,
    chunks: Mapping[str, int] | None | str = "native",
) -> xr.Dataset:
    """Open a grid lazily: dask arrays in the store's own chunks, dims ``(time, lat, lon)``.

    Args:
        path: a zarr store (folder) or a netCDF file.
        static: optional file or store of static ``(lat, lon)`` maps (e.g. IGBP fractions), on
            the same lat/lon coordinates.
        chunks: ``"native"`` (dask chunks = the store's chunks), a mapping dim → size, or
            ``None`` (no dask: lazily indexed arrays, as the workers read one chunk).

    Returns:
        A Dataset with coords ``time, lat, lon`` (``latitude``/``longitude`` renamed), the
        ``(time, lat, lon)`` variables transposed to that order and the ``(lat, lon)`` maps.

    Raises:
        FileNotFoundError: no such path.
        GridError: dims missing, time not datetime, static maps on other coordinates.

    Example:
        >>> import tempfile, numpy as np, pandas as pd, xarray as xr
        >>> path = tempfile.mkdtemp() + "/g.nc"
        >>> xr.Dataset({"TA_F": (("time", "lat", "lon"), np.ones((2, 1, 3)), {"units": "degC"})},
        ...            coords={"time": pd.date_range("2022-01-01", periods=2), "lat": [0.0],
        ...                    "lon": [0.0, 1.0, 2.0]}).to_netcdf(path)
        >>> open_grid(path)["TA_F"].dims
        ('time', 'lat', 'lon')
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"grid not found: {str(path)!r}")
    ds = _canonical(_open(path, {} if chunks == "native" else chunks), str(path))
    if static is None:
        return ds
    if not Path(static).exists():
        raise FileNotFoundError(f"static maps not found: {str(static)!r}")
    maps = _open(Path(static), None if chunks is None else {})
    maps = maps.rename({k: v for k, v in _ALIASES.items() if k in maps.dims})
    for dim in ("lat", "lon"):
        if dim not in maps.dims or not np.allclose(maps[dim].values, ds[dim].values):
            raise GridError(static, f"static maps must have the grid's {dim} coordinate")
    extra = {
        n: v.transpose("lat", "lon")
        for n, v in maps.data_vars.items()
        if set(v.dims) == {"lat", "lon"}
    }
    return ds.assign({n: v.assign_coords(lat=ds["lat"], lon=ds["lon"]) for n, v in extra.items()})


def grid_time_step(time: np.ndarray, where: str = "grid") -> str:
    """The FLUXNET time step of a regular time axis: ``"DD"``, ``"HR"``, ``"HH"`` or ``"MM"``.

    Example:
        >>> grid_time_step(pd.date_range("2022-01-01", periods=3).values)
        'DD'
    """
    time = np.asarray(time, dtype="datetime64[ns]")
    if time.size < 2:
        raise GridError(where, "a grid needs at least two time steps to know its step")
    steps = np.unique(np.diff(time))
    if steps.size == 1 and steps[0] in _STEPS:
        return _STEPS[steps[0]]
    months = time.astype("datetime64[M]")
    if np.all(time == months.astype(time.dtype)) and np.all(np.diff(months).astype(int) == 1):
        return "MM"
    raise GridError(where, f"irregular time axis (steps {steps[:4]}); regrid to a regular one")


def derived_features(
    names: Sequence[str], lat: np.ndarray, time: np.ndarray, time_step: str
) -> dict[str, np.ndarray]:
    """Features that follow from latitude and date alone, on a chunk: name → ``(time, lat)``.

    Computed by :func:`hybridflux.data.add_features` on one pseudo-site per latitude over the
    chunk's days plus a 16-day margin each side, so that windowed features (the 10-day mean
    ``SW_POT_sm``) are complete at chunk edges and equal whatever the chunking.

    Args:
        names: feature names (``SW_IN_POT``, ``SW_POT_sm``, ``SW_POT_sm_diff``, ``DOY_*``).
        lat: latitudes of the chunk, degrees north.
        time: the chunk's days (``datetime64``, regular daily steps).
        time_step: the grid's step; only ``"DD"`` is supported.

    Returns:
        float32 arrays of shape ``(len(time), len(lat))``.

    Raises:
        ValueError: a feature that needs data (``P_ANT_*``) or a non-daily grid.

    Example:
        >>> days = pd.date_range("2022-06-01", periods=2).values
        >>> out = derived_features(["SW_IN_POT"], np.array([0.0, 60.0]), days, "DD")
        >>> out["SW_IN_POT"].shape, bool(out["SW_IN_POT"][0, 1] > out["SW_IN_POT"][0, 0])
        ((2, 2), True)
    """
    if not names:
        return {}
    if time_step != "DD":
        raise ValueError(
            f"features {list(names)} are derived on daily grids only (got {time_step})"
        )
    time = np.asarray(time, dtype="datetime64[ns]")
    margin = np.timedelta64(_MARGIN_DAYS, "D")
    days = pd.date_range(time[0] - margin, time[-1] + margin, freq="D")
    index = days.get_indexer(time)
    if np.any(index < 0):
        raise ValueError("derived features need whole days at 00:00 on the time axis")
    lat = np.asarray(lat, dtype=float)
    sites = [f"lat{i}" for i in range(lat.size)]
    coords = {"site": sites, "time": days, "lat": ("site", lat), "lon": ("site", lat * 0.0)}
    pseudo = xr.Dataset(coords=coords, attrs={"time_step": time_step})
    out = add_features(pseudo, list(names))
    return {n: out[n].values[:, index].T.astype(np.float32) for n in names}


def training_reference(cfg) -> tuple[dict[str, str], str]:
    """Units of the variables of a run's training data, and its time step.

    Read as in training (:func:`hybridflux.runs.load_dataset`: reader, synthetic targets,
    derived features) from the **first** training file only: a canonical Dataset has one
    unit per variable name at a time step (docs/design/0002), so one file tells them all.

    Args:
        cfg: the run's :class:`~hybridflux.config.Config`.

    Returns:
        ``({variable: units}, time_step)``.

    Raises:
        FileNotFoundError: the training data are no longer where the run's config says.

    Example:
        >>> from hybridflux.demo import demo_config
        >>> units, step = training_reference(demo_config())
        >>> units["TA_F"], units["SW_POT_sm"], step
        ('degC', 'W m-2', 'DD')
    """
    from hybridflux.runs.pipeline import data_files, load_dataset

    first = data_files(cfg.data.paths[:1])[:1]
    ds = load_dataset(cfg.data.model_copy(update={"period": None}), paths=first)
    units = {str(n): str(v.attrs["units"]) for n, v in ds.data_vars.items() if "units" in v.attrs}
    return units, str(ds.attrs.get("time_step"))


def _derivable(name: str, time_step: str) -> bool:
    try:
        derived_features(
            [name], np.zeros(1), pd.date_range("2001-01-01", periods=2).values, time_step
        )
    except (ValueError, KeyError):
        return False
    return True


def check_grid(
    grid: xr.Dataset,
    inputs: Sequence[str],
    units: Mapping[str, str],
    time_step: str,
    *,
    where: str,
) -> tuple[str, ...]:
    """Check a grid against the model's inputs and the training data; return derived inputs.

    Args:
        grid: from :func:`open_grid`.
        inputs: the model's input variables.
        units: units of the training data (:func:`training_reference`).
        time_step: time step of the training data.
        where: the grid's path, for messages.

    Returns:
        The inputs that are not grid variables and are derived per chunk.

    Raises:
        GridError: other time step; an input neither on the grid nor derivable; a variable
            without units or in other units than in training.
    """
    step = grid_time_step(grid["time"].values, where)
    if step != time_step:
        raise GridError(
            where,
            f"time step {step} differs from the training data's {time_step}; "
            "aggregate the grid to the model's step",
        )
    derived = tuple(n for n in inputs if n not in grid and _derivable(n, step))
    missing = [n for n in inputs if n not in grid and n not in derived]
    if missing:
        raise GridError(
            where,
            f"no variable {missing} for the model's inputs {list(inputs)} "
            f"(grid variables: {sorted(map(str, grid.data_vars))})",
        )
    for name in (n for n in inputs if n in grid):
        have, want = grid[name].attrs.get("units"), units.get(name)
        if have is None:
            raise GridError(where, f"no 'units' attribute (training data: {want!r})", variable=name)
        if want is not None and have != want:
            raise GridError(
                where,
                f"units {have!r} differ from the training data's {want!r}; "
                f"convert the variable first (hybridflux.data.units.convert(values, "
                f"{have!r}, {want!r}))",
                variable=name,
            )
    return derived
