"""One upscaling job: the chunk plan and the function that a worker runs on one chunk.

The output's zarr chunks **are** the work units: chunk ``k`` covers the region
``[t0:t1, y0:y1, x0:x1]`` of ``(time, lat, lon)``; a worker reads that region of every input
(static maps broadcast over time, lat/date features derived), flattens it to float32 columns,
predicts them with the run's :class:`~hybridflux.upscale.apply.ChunkPredictor` and writes the
region of every output. A chunk never depends on another, so any order, any worker and any
restart give the same bytes.

An :class:`UpscaleJob` holds only paths and names (it is pickled to cluster workers); the
model, the compiled predictor and the opened grid are cached once per worker process.

Example:
    >>> [c.region for c in plan_chunks((4, 3, 2), (4, 2, 2))]
    [(slice(0, 4, None), slice(0, 2, None), slice(0, 2, None)), \
(slice(0, 4, None), slice(2, 3, None), slice(0, 2, None))]
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hybridflux.upscale.apply import DEFAULT_BATCH, ChunkPredictor, load_trained_models
from hybridflux.upscale.grid import DIMS, derived_features, open_grid
from hybridflux.upscale.store import write_region
from hybridflux.upscale.totals import time_sums

__all__ = ["Chunk", "plan_chunks", "choose_chunks", "UpscaleJob", "TARGET_CELLS"]

#: Cells per chunk when the grid's own chunks are unusable (too small, or one huge chunk):
#: 2^22 cells ≈ 16 MB per float32 variable.
TARGET_CELLS = 1 << 22
_MIN_CELLS = 1 << 16


@dataclass(frozen=True)
class Chunk:
    """A block of the ``(time, lat, lon)`` grid: its index and ``[start, stop)`` per dim.

    Example:
        >>> Chunk(0, (0, 0, 0), (2, 3, 4)).cells
        24
    """

    index: int
    start: tuple[int, int, int]
    stop: tuple[int, int, int]

    @property
    def region(self) -> tuple[slice, slice, slice]:
        """The chunk as slices of ``(time, lat, lon)``."""
        return tuple(slice(a, b) for a, b in zip(self.start, self.stop, strict=True))

    @property
    def cells(self) -> int:
        """Number of cell-steps in the chunk."""
        return math.prod(b - a for a, b in zip(self.start, self.stop, strict=True))


def plan_chunks(shape: tuple[int, int, int], chunks: tuple[int, int, int]) -> list[Chunk]:
    """Every chunk of a ``(time, lat, lon)`` grid, numbered in C order (edge chunks short)."""
    starts = [range(0, n, c) for n, c in zip(shape, chunks, strict=True)]
    out = []
    for index, start in enumerate(itertools.product(*starts)):
        stop = tuple(min(s + c, n) for s, c, n in zip(start, chunks, shape, strict=True))
        out.append(Chunk(index, tuple(start), stop))
    return out


def _tiles(shape: tuple[int, int, int], target: int) -> tuple[int, int, int]:
    nt, ny, nx = shape
    ct = min(nt, 366)
    side = max(1, int(math.sqrt(target / ct)))
    return ct, min(ny, side), min(nx, side)


def choose_chunks(
    grid: xr.Dataset, name: str, chunks: Mapping[str, int] | None = None
) -> tuple[int, int, int]:
    """Chunk sizes ``(time, lat, lon)`` of a job.

    Given ``chunks`` (dim → size, missing dims whole) win; else the grid variable ``name``'s
    own chunks when they hold 2^16–2^24 cells; else a year of time by square tiles of
    about :data:`TARGET_CELLS` cells.

    Example:
        >>> import numpy as np, xarray as xr
        >>> grid = xr.Dataset({"TA_F": (DIMS, np.zeros((10, 4, 6)))})
        >>> choose_chunks(grid, "TA_F", {"lat": 2})
        (10, 2, 6)
    """
    shape = tuple(grid.sizes[d] for d in DIMS)
    if chunks:
        unknown = sorted(set(chunks) - set(DIMS))
        if unknown:
            raise ValueError(f"chunks: unknown dims {unknown}; use {DIMS}")
        return tuple(int(min(chunks.get(d, n), n)) for d, n in zip(DIMS, shape, strict=True))
    native = grid[name].chunks if name in grid else None
    if native is not None and grid[name].ndim == 3:
        sizes = tuple(int(c[0]) for c in native)
        if _MIN_CELLS <= math.prod(sizes) <= (1 << 24):
            return sizes
    return _tiles(shape, TARGET_CELLS)


_CACHE: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def _cached(key: tuple, make: Callable[[], Any]) -> Any:
    with _LOCK:  # one model load and one compilation per worker process
        if key not in _CACHE:
            _CACHE[key] = make()
        return _CACHE[key]


@dataclass(frozen=True)
class UpscaleJob:
    """What every chunk of one upscaling run shares (picklable: paths and names only).

    Attributes:
        run: the run directory.
        grid: the covariate grid (zarr or netCDF).
        out: the output ``.zarr``.
        outputs: model outputs to write.
        time_step: the grid's time step (for derived features).
        derived: model inputs derived from lat/date per chunk.
        static: optional file of static ``(lat, lon)`` maps.
        batch_size: rows per compiled batch.
    """

    run: str
    grid: str
    out: str
    outputs: tuple[str, ...]
    time_step: str
    derived: tuple[str, ...] = ()
    static: str | None = None
    batch_size: int = DEFAULT_BATCH

    def predictor(self, models: list[Any] | None = None) -> ChunkPredictor:
        """The run's compiled predictor, made once per process (from ``models`` if given)."""
        stamp = os.stat(Path(self.run) / "checkpoints" / "model.npz").st_mtime_ns
        key = ("predictor", self.run, stamp, self.outputs, self.batch_size)

        def make() -> ChunkPredictor:
            loaded = models if models is not None else load_trained_models(self.run)
            return ChunkPredictor(loaded, self.outputs, batch_size=self.batch_size)

        return _cached(key, make)

    def _grid(self) -> xr.Dataset:
        key = ("grid", self.grid, self.static)
        return _cached(key, lambda: open_grid(self.grid, static=self.static, chunks=None))

    def read(self, chunk: Chunk, inputs: tuple[str, ...]) -> dict[str, np.ndarray]:
        """The chunk's inputs as flat float32 columns (C order of ``(time, lat, lon)``)."""
        grid = self._grid()
        t, y, x = chunk.region
        shape = tuple(b - a for a, b in zip(chunk.start, chunk.stop, strict=True))
        columns = {}
        for name in (n for n in inputs if n not in self.derived):
            var = grid[name]
            block = var[t, y, x] if var.ndim == 3 else var[y, x]
            values = np.asarray(block.values, dtype=np.float32)
            columns[name] = np.broadcast_to(values, shape).reshape(-1)
        lat, time = grid["lat"].values[y], grid["time"].values[t]
        for name, values in derived_features(self.derived, lat, time, self.time_step).items():
            columns[name] = np.broadcast_to(values[:, :, None], shape).reshape(-1)
        return columns

    def __call__(self, chunk: Chunk) -> tuple[int, dict[str, np.ndarray]]:
        """Read, predict and write one chunk, once it is fully written return its index and
        per-cell time sums and counts of each output (``"<name>/sum"``, ``"<name>/count"``)."""
        predictor = self.predictor()
        shape = tuple(b - a for a, b in zip(chunk.start, chunk.stop, strict=True))
        predicted = {
            k: v.reshape(shape) for k, v in predictor(self.read(chunk, predictor.inputs)).items()
        }
        write_region(self.out, chunk.region, predicted)
        sums = {}
        for name, values in predicted.items():
            sums[f"{name}/sum"], sums[f"{name}/count"] = time_sums(values)
        return chunk.index, sums
