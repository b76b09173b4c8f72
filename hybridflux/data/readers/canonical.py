"""Reader of netCDF files and zarr stores already in the canonical schema (docs/design/0002).

A file is canonical when it has the dimensions ``site`` and ``time`` and the global attribute
``time_step``; other netCDF files (e.g. REddyProc's) are left to their own readers. The Dataset
is loaded into memory, the file closed, and checked with :func:`hybridflux.data.schema.validate`;
nothing is changed, so ``ds.to_netcdf(p)`` followed by reading ``p`` gives an identical Dataset.

Example:
    >>> import pandas as pd, tempfile
    >>> from pathlib import Path
    >>> from hybridflux.data.schema import site_dataset
    >>> frame = pd.DataFrame({"TA_F": [1.5]}, index=pd.DatetimeIndex(["2020-01-01"]))
    >>> ds = site_dataset(frame, "FR-Pue", time_step="DD", units={"TA_F": "degC"},
    ...                   source_format="example", source_file="x.csv")
    >>> path = Path(tempfile.mkdtemp()) / "fr-pue.nc"
    >>> ds.to_netcdf(path)
    >>> sniff(path, ""), read(path).identical(ds)
    (True, True)
"""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

from hybridflux.data.errors import DataError
from hybridflux.data.schema import validate

__all__ = ["NAME", "sniff", "read", "is_zarr_store"]

#: Format name shown by ``hybridflux data inspect``.
NAME = "canonical"

_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")


def is_zarr_store(path: Path) -> bool:
    """Whether ``path`` is a zarr (v2 or v3) group directory.

    Example:
        >>> is_zarr_store(Path("."))
        False
    """
    path = Path(path)
    return path.is_dir() and any((path / name).is_file() for name in ("zarr.json", ".zgroup"))


def _zarr_attrs(path: Path) -> tuple[dict, set]:
    if (path / "zarr.json").is_file():
        attrs = json.loads((path / "zarr.json").read_text()).get("attributes", {})
    else:
        attrs = json.loads((path / ".zattrs").read_text()) if (path / ".zattrs").is_file() else {}
    arrays = {p.name for p in path.iterdir() if p.is_dir()}
    return attrs, arrays


def _netcdf_header(path: Path) -> tuple[dict, set]:
    import netCDF4

    with netCDF4.Dataset(path, "r") as nc:
        return {key: nc.getncattr(key) for key in nc.ncattrs()}, set(nc.dimensions)


def sniff(path: Path, head: str) -> bool:
    """Whether ``path`` is a canonical netCDF file or zarr store (reads only its header).

    Example:
        >>> sniff(Path("missing.nc"), "")
        False
    """
    path = Path(path)
    try:
        if is_zarr_store(path):
            attrs, names = _zarr_attrs(path)
        elif path.is_file() and head == "":
            with open(path, "rb") as fh:
                if not fh.read(8).startswith(_NETCDF_MAGIC):
                    return False
            attrs, names = _netcdf_header(path)
        else:
            return False
    except Exception:  # noqa: BLE001 - sniff must never raise
        return False
    return "time_step" in attrs and {"site", "time"} <= names


def read(path: Path) -> xr.Dataset:
    """Open a canonical netCDF file or zarr store, load it, validate it.

    Args:
        path: ``.nc`` file or zarr store directory.

    Returns:
        The Dataset exactly as stored (attributes included).

    Raises:
        DataError: the file cannot be opened, or does not follow the canonical schema.

    Example:
        >>> try:
        ...     read(Path("missing.nc"))
        ... except DataError as err:
        ...     print(err.message)
        cannot open as netCDF/zarr: no such file or directory
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "cannot open as netCDF/zarr: no such file or directory")
    engine = "zarr" if path.is_dir() else None
    try:
        with xr.open_dataset(path, engine=engine) as stored:
            ds = stored.load()
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(path, f"cannot open as netCDF/zarr: {err}") from None
    return validate(ds, str(path))
