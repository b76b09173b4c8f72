"""Build and validate the canonical flux dataset (docs/design/0002-canonical-flux-dataset.md).

Readers parse a file into one ``pandas.DataFrame`` per site (a ``DatetimeIndex`` of interval
starts, one float column per FLUXNET-named variable) and hand it to :func:`site_dataset`;
:func:`combine_sites` puts many sites on one regular time axis. :func:`validate` checks any
Dataset against the schema.

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"TA_F": [1.0, 2.0]},
    ...                      index=pd.date_range("2020-01-01", periods=2, freq="D"))
    >>> ds = site_dataset(frame, "FR-Pue", time_step="DD", units={"TA_F": "degC"},
    ...                   source_format="example", source_file="x.csv")
    >>> ds["TA_F"].dims, ds["TA_F"].attrs["units"]
    (('site', 'time'), 'degC')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.units import UNITS

__all__ = [
    "TIME_STEPS",
    "STEP_FREQUENCY",
    "SITE_COORDS",
    "COORD_UNITS",
    "SiteMeta",
    "site_dataset",
    "combine_sites",
    "first_source",
    "validate",
]

#: Time steps of FLUXNET products, in the FLUXNET file-name codes.
TIME_STEPS: tuple[str, ...] = ("HH", "HR", "DD", "WW", "MM", "YY")

#: pandas frequency of each time step (interval starts).
STEP_FREQUENCY: dict[str, str] = {
    "HH": "30min",
    "HR": "60min",
    "DD": "D",
    "WW": "7D",
    "MM": "MS",
    "YY": "YS",
}

#: Per-site coordinates and their fill values for "unknown".
SITE_COORDS: dict[str, object] = {
    "lat": np.nan,
    "lon": np.nan,
    "elevation": np.nan,
    "igbp": "",
    "climate": "",
    "utc_offset": np.nan,
}

#: Units of the numeric per-site coordinates.
COORD_UNITS: dict[str, str] = {
    "lat": "degrees_north",
    "lon": "degrees_east",
    "elevation": "m",
    "utc_offset": "h",
}


@dataclass(frozen=True)
class SiteMeta:
    """Static metadata of a site. Unknown numbers are ``nan``, unknown strings ``""``.

    Attributes:
        lat: degrees_north.
        lon: degrees_east.
        elevation: m above sea level.
        igbp: IGBP land-cover class (``"ENF"``, ``"GRA"``, ...).
        climate: climate zone or Köppen code.
        utc_offset: h. Offset of the site's local standard time (the time of FLUXNET files)
            east of UTC, e.g. 1.0 for Central Europe.
    """

    lat: float = np.nan
    lon: float = np.nan
    elevation: float = np.nan
    igbp: str = ""
    climate: str = ""
    utc_offset: float = np.nan


def site_dataset(
    frame: pd.DataFrame,
    site: str,
    *,
    time_step: str,
    units: Mapping[str, str],
    source_format: str,
    source_file: str,
    meta: SiteMeta | None = None,
) -> xr.Dataset:
    """Make a one-site canonical Dataset from a time-indexed frame.

    Args:
        frame: index = interval starts (``DatetimeIndex``, unique, any order), columns = FLUXNET
            variable names with float values, ``NaN`` for missing.
        site: FLUXNET site ID.
        time_step: one of :data:`TIME_STEPS`.
        units: unit string (from ``hybridflux.data.units.UNITS``) for every column.
        source_format: name of the reader.
        source_file: path of the file read.
        meta: static site metadata (``None``: all unknown).

    Returns:
        Dataset with dims ``(site, time)`` on a regular time axis of ``time_step``.

    Raises:
        DataError: unknown time step, a column without units, units outside the vocabulary,
            a non-datetime or duplicated index.
    """
    _check_frame(frame, time_step, units, source_file)
    frame = frame.sort_index()
    full = pd.date_range(frame.index[0], frame.index[-1], freq=STEP_FREQUENCY[time_step])
    if time_step != "WW" and not frame.index.isin(full).all():
        bad = frame.index[~frame.index.isin(full)][0]
        raise DataError(source_file, f"timestamp {bad} is not on the regular {time_step} grid")
    frame = frame.reindex(full) if time_step != "WW" else frame
    meta = meta or SiteMeta()
    data_vars = {
        name: (
            ("site", "time"),
            frame[name].to_numpy(dtype=np.float64)[None, :],
            {"units": units[name]},
        )
        for name in frame.columns
    }
    coords = {"site": [site], "time": frame.index.to_numpy(dtype="datetime64[ns]")}
    for key in SITE_COORDS:
        coords[key] = ("site", [getattr(meta, key)])
    ds = xr.Dataset(data_vars, coords=coords)
    _set_coord_attrs(ds)
    ds.attrs.update(
        time_step=time_step,
        source_format=source_format,
        source_files=str(source_file),
        nee_sign="positive_to_atmosphere",
    )
    return ds


def _check_frame(frame, time_step, units, source_file) -> None:
    if time_step not in TIME_STEPS:
        raise DataError(source_file, f"unknown time step {time_step!r}; expected {TIME_STEPS}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(source_file, "the time index is not a DatetimeIndex")
    if len(frame.index) == 0:
        raise DataError(source_file, "no data rows")
    dup = frame.index[frame.index.duplicated()]
    if len(dup):
        shown = ", ".join(str(t) for t in dup[:5])
        raise DataError(source_file, f"{len(dup)} duplicate timestamps, e.g. {shown}")
    for name in frame.columns:
        if name not in units:
            raise DataError(source_file, "no units known for this column", variable=name)
        if units[name] not in UNITS:
            raise DataError(
                source_file, f"units {units[name]!r} not in the vocabulary", variable=name
            )


def _set_coord_attrs(ds: xr.Dataset) -> None:
    for key, unit in COORD_UNITS.items():
        ds[key].attrs["units"] = unit


def combine_sites(datasets: Sequence[xr.Dataset]) -> xr.Dataset:
    """Combine canonical Datasets of different sites on one regular time axis (the union).

    Variables missing at a site are all-NaN there. All inputs must share the time step; site IDs
    must be unique.

    Args:
        datasets: canonical Datasets (each with one or more sites).

    Returns:
        One canonical Dataset with the sites in input order.

    Raises:
        DataError: mixed time steps, duplicated site IDs or conflicting units of a variable.
    """
    if not datasets:
        raise ValueError("combine_sites needs at least one dataset")
    if len(datasets) == 1:
        return datasets[0]
    steps = {ds.attrs["time_step"] for ds in datasets}
    files = "\n".join(ds.attrs.get("source_files", "") for ds in datasets)
    if len(steps) > 1:
        raise DataError(files.replace("\n", ", "), f"cannot combine time steps {sorted(steps)}")
    sites = [s for ds in datasets for s in ds["site"].values.tolist()]
    seen = {s for s in sites if sites.count(s) > 1}
    if seen:
        raise DataError(files.replace("\n", ", "), f"site(s) {sorted(seen)} read more than once")
    units = _merged_units(datasets, files)
    step = steps.pop()
    start = min(ds["time"].values[0] for ds in datasets)
    end = max(ds["time"].values[-1] for ds in datasets)
    if step == "WW":
        time = np.unique(np.concatenate([ds["time"].values for ds in datasets]))
    else:
        time = pd.date_range(start, end, freq=STEP_FREQUENCY[step]).to_numpy("datetime64[ns]")
    aligned = [ds.reindex(time=time) for ds in datasets]
    out = xr.concat(aligned, dim="site", data_vars="all", join="outer", combine_attrs="drop")
    for name, unit in units.items():
        out[name].attrs["units"] = unit
    _set_coord_attrs(out)
    out.attrs.update(datasets[0].attrs)
    out.attrs["source_files"] = files
    formats = sorted({ds.attrs.get("source_format", "") for ds in datasets})
    out.attrs["source_format"] = ",".join(formats)
    return out


def _merged_units(datasets, files) -> dict[str, str]:
    units: dict[str, str] = {}
    for ds in datasets:
        for name, var in ds.data_vars.items():
            unit = var.attrs.get("units")
            if name in units and units[name] != unit:
                raise DataError(
                    files.replace("\n", ", "),
                    f"units differ between files: {units[name]!r} vs {unit!r}",
                    variable=name,
                )
            units[name] = unit
    return units


def first_source(ds: xr.Dataset, default: str = "the data") -> str:
    """The first file a Dataset was read from (its ``source_files`` attribute, one per line),
    for error messages; ``default`` where it has none.

    Example:
        >>> read_from_two = xr.Dataset(attrs={"source_files": "a.csv\\nb.csv"})
        >>> first_source(read_from_two), first_source(xr.Dataset())
        ('a.csv', 'the data')
    """
    return str(ds.attrs.get("source_files", default)).split("\n")[0]


def validate(ds: xr.Dataset, path: str = "<dataset>") -> xr.Dataset:
    """Check that a Dataset follows the canonical schema; return it unchanged.

    Args:
        ds: the Dataset.
        path: file name used in error messages.

    Raises:
        DataError: naming the first violation (dims, coordinates, units, time axis, attributes).

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"TA_F": [1.0]}, index=pd.DatetimeIndex(["2020-01-01"]))
        >>> ds = site_dataset(frame, "X-Abc", time_step="DD", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv")
        >>> validate(ds) is ds
        True
    """
    for dim in ("site", "time"):
        if dim not in ds.dims:
            raise DataError(path, f"missing dimension {dim!r}; found {tuple(ds.dims)}")
    for key in SITE_COORDS:
        if key not in ds.coords or ds[key].dims != ("site",):
            raise DataError(path, f"missing per-site coordinate {key!r} on dim 'site'")
    if not np.issubdtype(ds["time"].dtype, np.datetime64):
        raise DataError(path, "coordinate 'time' is not datetime64")
    time = pd.DatetimeIndex(ds["time"].values)
    if not time.is_monotonic_increasing or time.has_duplicates:
        raise DataError(path, "coordinate 'time' is not strictly increasing")
    step = ds.attrs.get("time_step")
    if step not in TIME_STEPS:
        raise DataError(path, f"attribute time_step={step!r} not in {TIME_STEPS}")
    for name, var in ds.data_vars.items():
        if var.dims != ("site", "time"):
            raise DataError(path, f"dims {var.dims} instead of ('site', 'time')", variable=name)
        if var.attrs.get("units") not in UNITS:
            raise DataError(
                path, f"units {var.attrs.get('units')!r} not in the vocabulary", variable=name
            )
    return ds
