"""The upscaling output: a CF-annotated zarr store written chunk by chunk, and its done-log.

- :func:`create_store` lays out ``OUT.zarr`` (zarr format 2, consolidated metadata: readable
  by every zarr/xarray version) with dims ``time, lat, lon``, CF attributes per variable
  (``units``, ``standard_name``/``long_name``, ``cell_methods``) and the provenance in the
  global attributes (:func:`provenance`). It is built in a temporary folder and renamed into
  place, so ``OUT.zarr`` either does not exist or has its complete layout.
- :func:`write_region` writes one chunk of every output variable (a region write of whole
  zarr chunks, so concurrent writers never share a chunk file).
- :class:`DoneLog` is the sidecar ``OUT.zarr.done``: a header line with the job's
  fingerprint, then one line per chunk, appended (and fsync'ed) by the driver only **after**
  the chunk's write returned, together with the chunk's small partial results (per-cell
  time sums for the totals, ``OUT.zarr.done.parts/<index>.npz``, written atomically before
  the line). A chunk killed half-way is not in the log and is written again on restart; a
  torn last line is ignored.

Example:
    >>> import tempfile
    >>> log = DoneLog.open(tempfile.mkdtemp() + "/gpp.zarr.done", {"grid": "g.zarr"})
    >>> log.record(3); log.record(1)
    >>> sorted(DoneLog.open(log.path, {"grid": "g.zarr"}).done)
    [1, 3]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr

from hybridflux.runs.rundir import RunDirError, atomic_write, atomic_write_text

__all__ = [
    "CF_NAMES",
    "cf_attrs",
    "provenance",
    "file_sha256",
    "create_store",
    "write_region",
    "save_grid",
    "DoneLog",
    "UpscaleStoreError",
]

#: Output variable → (CF standard_name or None, long_name). NEE and RECO have no exact CF
#: standard name (NEE here is positive to the atmosphere, RECO includes soil respiration).
CF_NAMES: dict[str, tuple[str | None, str]] = {
    "GPP": (
        "gross_primary_productivity_of_biomass_expressed_as_carbon",
        "gross primary production",
    ),
    "RECO": (None, "ecosystem respiration (autotrophic + heterotrophic)"),
    "NEE": (None, "net ecosystem exchange of CO2, positive to the atmosphere"),
}


class UpscaleStoreError(RunDirError):
    """An output path that cannot be (re)used: someone else's store, or another job's."""


def cf_attrs(name: str, units: str, time_step: str = "DD") -> dict[str, str]:
    """CF attributes of an upscaled flux variable.

    Args:
        name: output name (``GPP``, ``RECO``, ``NEE``, or another model output).
        units: its units (those of the training target, e.g. ``"gC m-2 d-1"``).
        time_step: the grid's step; each value is the mean rate over the step.

    Example:
        >>> cf_attrs("GPP", "gC m-2 d-1")["cell_methods"]
        'time: mean area: mean'
    """
    standard, long_name = CF_NAMES.get(name, (None, f"predicted {name}"))
    attrs = {"units": units, "long_name": long_name, "cell_methods": "time: mean area: mean"}
    if standard is not None:
        attrs["standard_name"] = standard
    attrs["comment"] = f"mean rate over each {time_step} interval, predicted by a hybridflux model"
    return attrs


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x"
        >>> _ = p.write_text("a")
        >>> file_sha256(p)[:12]
        'ca978112ca1b'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def provenance(run_dir: str | os.PathLike, grid: str | os.PathLike) -> dict[str, str]:
    """Global attributes naming what produced an output: run, config hash, model, version.

    Args:
        run_dir: the run directory of ``hybridflux train``.
        grid: the covariate grid.

    Returns:
        ``hybridflux_run``, ``hybridflux_config_sha256``, ``hybridflux_model_sha256``,
        ``hybridflux_version``, ``source_grid``, ``Conventions``, ``source``.
    """
    from hybridflux import __version__

    run = Path(run_dir).resolve()
    return {
        "Conventions": "CF-1.10",
        "source": "hybridflux upscale",
        "hybridflux_version": __version__,
        "hybridflux_run": str(run),
        "hybridflux_config_sha256": file_sha256(run / "config.yaml"),
        "hybridflux_model_sha256": file_sha256(run / "checkpoints" / "model.npz"),
        "source_grid": str(Path(grid).resolve()),
    }


def create_store(
    out: str | os.PathLike,
    coords: Mapping[str, np.ndarray],
    variables: Mapping[str, Mapping[str, str]],
    chunks: Sequence[int],
    attrs: Mapping[str, str],
) -> Path:
    """Lay out an empty output store atomically (data chunks are written later).

    Args:
        out: the ``.zarr`` folder to create (must not exist).
        coords: ``time``, ``lat``, ``lon`` values (with their attributes taken as given).
        variables: name → attributes of each float32 ``(time, lat, lon)`` variable.
        chunks: ``(time, lat, lon)`` chunk sizes (= the chunks of the work).
        attrs: global attributes.

    Returns:
        The path of the store. Unwritten chunks read as NaN.
    """
    import dask.array as da

    out = Path(out)
    if out.exists():
        raise UpscaleStoreError(f"{out} exists; an output store is never overwritten")
    shape = tuple(len(coords[d]) for d in ("time", "lat", "lon"))
    data = {
        name: (("time", "lat", "lon"), da.zeros(shape, np.float32, chunks=tuple(chunks)), dict(a))
        for name, a in variables.items()
    }
    layout = xr.Dataset(data, coords=dict(coords), attrs=dict(attrs))
    # dtype explicitly: xarray writes a lazy float32 array's layout as float64 otherwise
    encoding = {
        name: {"chunks": tuple(chunks), "_FillValue": np.float32("nan"), "dtype": "float32"}
        for name in data
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        layout.to_zarr(
            tmp, mode="w", compute=False, encoding=encoding, zarr_format=2, consolidated=True
        )
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_region(
    out: str | os.PathLike, region: Sequence[slice], arrays: Mapping[str, np.ndarray]
) -> None:
    """Write one ``(time, lat, lon)`` region of every variable in ``arrays`` (whole chunks).

    Example:
        >>> import tempfile, numpy as np
        >>> path = create_store(tempfile.mkdtemp() + "/o.zarr",
        ...     {"time": np.arange(2), "lat": np.arange(2.0), "lon": np.arange(2.0)},
        ...     {"GPP": {"units": "gC m-2 d-1"}}, (2, 1, 2), {})
        >>> write_region(path, (slice(0, 2), slice(0, 1), slice(0, 2)),
        ...              {"GPP": np.ones((2, 1, 2), np.float32)})
        >>> xr.open_zarr(path)["GPP"].values[:, :, 0].tolist()
        [[1.0, nan], [1.0, nan]]
    """
    group = zarr.open_group(str(out), mode="r+")
    for name, values in arrays.items():
        group[name][tuple(region)] = values


def save_grid(
    ds: xr.Dataset, out: str | os.PathLike, chunks: Mapping[str, int] | None = None
) -> Path:
    """Write a covariate grid to zarr atomically (temporary folder, then rename).

    Args:
        ds: dims ``time, lat, lon`` (e.g. from :func:`hybridflux.upscale.era5.era5_daily`).
        out: the ``.zarr`` folder (must not exist).
        chunks: dim → chunk size (default: one chunk of the whole time axis and up to
            256 × 256 cells).

    Returns:
        The store's path.
    """
    out = Path(out)
    if out.exists():
        raise UpscaleStoreError(f"{out} exists; choose another path or remove it")
    chunks = dict(chunks or {"time": ds.sizes["time"], "lat": 256, "lon": 256})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        ds.chunk(chunks).to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


class DoneLog:
    """The sidecar log of finished chunks (JSON lines: a header, then one chunk per line).

    Use :meth:`open`; ``done`` is the set of chunk indices recorded so far.
    """

    def __init__(self, path: Path, done: set[int]):
        self.path = path
        self.done = done

    @classmethod
    def open(cls, path: str | os.PathLike, job: Mapping[str, Any]) -> DoneLog:
        """Open the log of ``job`` (a JSON-able fingerprint), creating it if absent.

        Raises:
            UpscaleStoreError: the log belongs to another job (the message names the keys
                that differ).
        """
        path = Path(path)
        job = json.loads(json.dumps(dict(job)))
        if not path.is_file():
            shutil.rmtree(path.with_name(path.name + ".parts"), ignore_errors=True)  # stale
            atomic_write_text(path, json.dumps({"job": job}, sort_keys=True) + "\n")
            return cls(path, set())
        lines = path.read_text(encoding="utf-8").split("\n")
        header = json.loads(lines[0])["job"]
        if header != job:
            keys = sorted(k for k in header.keys() | job.keys() if header.get(k) != job.get(k))
            raise UpscaleStoreError(
                f"{path}: the output was started by another upscaling job (it differs in "
                f"{', '.join(keys)}); rerun the same command or choose another --out"
            )
        if lines[-1]:  # a torn, unterminated last line: drop it before appending again
            atomic_write_text(path, "\n".join(lines[:-1]) + "\n")
        done = {int(json.loads(line)["chunk"]) for line in lines[1:-1]}
        return cls(path, done)

    @property
    def parts_dir(self) -> Path:
        """Folder of the per-chunk partial results (``OUT.done.parts/<index>.npz``)."""
        return self.path.with_name(self.path.name + ".parts")

    def parts(self, index: int) -> dict[str, np.ndarray]:
        """The partial results recorded with chunk ``index``."""
        with np.load(self.parts_dir / f"{int(index)}.npz", allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}

    def record(self, index: int, parts: Mapping[str, np.ndarray] | None = None) -> None:
        """Record chunk ``index`` as done: its ``parts`` (small arrays, e.g. time sums) are
        written atomically first, then the line is appended (flushed and fsync'ed)."""
        if parts is not None:

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as file:
                    np.savez(file, **parts)

            self.parts_dir.mkdir(exist_ok=True)
            atomic_write(self.parts_dir / f"{int(index)}.npz", write)
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps({"chunk": int(index)}) + "\n")
            file.flush()
            os.fsync(file.fileno())
        self.done.add(int(index))
