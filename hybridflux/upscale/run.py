"""``hybridflux upscale``: a trained run applied to a covariate grid, chunk by chunk, resumably.

:func:`run_upscale` checks the grid against the run (:mod:`~hybridflux.upscale.grid`), lays
out ``OUT.zarr`` (:mod:`~hybridflux.upscale.store`), runs every chunk not yet in the done-log
on threads or a dask cluster (:mod:`~hybridflux.upscale.scheduler`,
:mod:`~hybridflux.upscale.job`) with a progress bar over chunks, then writes the area-weighted
totals (``OUT.totals.json``, PgC yr-1) and annual-mean maps (``OUT.<VAR>_annual_mean.png``)
beside the store (:mod:`~hybridflux.upscale.totals`), from per-cell time sums that every
chunk returns (recorded with it in the done-log), so the output is never read back.

Which outputs: those the run was **trained or evaluated on** (``targets`` and
``evaluate.references`` keys that the model produces) — a GPP-only model's RECO/NEE heads
were never fitted and are not written. Units: those of the training target.

Resuming: the same command again completes only the chunks missing from ``OUT.zarr.done``;
the result is identical to an uninterrupted run (every chunk is computed alike wherever and
whenever it runs). Another job's output (other run, grid, chunks, batch) is refused.

Example:
    >>> ChunkProgress().enabled  # quiet unless drawing on a terminal
    False
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hybridflux.config import ConfigError
from hybridflux.data.units import fluxnet_units
from hybridflux.runs.rundir import RunDir, atomic_write_text
from hybridflux.upscale.apply import DEFAULT_BATCH, load_trained_models
from hybridflux.upscale.grid import DIMS, check_grid, open_grid, training_reference
from hybridflux.upscale.job import Chunk, UpscaleJob, choose_chunks, plan_chunks
from hybridflux.upscale.scheduler import completed, open_executor
from hybridflux.upscale.store import (
    DoneLog,
    UpscaleStoreError,
    cf_attrs,
    create_store,
    provenance,
)
from hybridflux.upscale.totals import annual_mean_figure, annual_totals, mean_from_sums

__all__ = ["run_upscale", "prepare_upscale", "Prepared", "ChunkProgress", "upscaled_outputs"]


class ChunkProgress:
    """A rich progress bar over chunks; draws nothing unless the console is a terminal
    (in Jupyter too: rich's live display there needs ipywidgets, not a dependency).

    Args:
        console: where to draw (default stdout).
    """

    def __init__(self, console: Console | None = None):
        self.console = Console() if console is None else console
        self.enabled = self.console.is_terminal and not self.console.is_jupyter
        self._bar: Progress | None = None

    def start(self, total: int, done: int = 0) -> None:
        """Show ``done`` of ``total`` chunks."""
        if not self.enabled:
            return
        columns = (
            TextColumn("[bold]upscaling"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("chunks  ETA"),
            TimeRemainingColumn(),
        )
        self._bar = Progress(*columns, console=self.console, transient=False)
        self._bar.start()
        self._task = self._bar.add_task("upscale", total=total, completed=done)

    def update(self, done: int) -> None:
        """``done`` chunks are finished."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def close(self) -> None:
        """Stop drawing (safe to call twice)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def upscaled_outputs(cfg: Any, model: Any) -> tuple[str, ...]:
    """The outputs an upscaling writes: trained or evaluated ones the model produces.

    Example:
        >>> from hybridflux.demo import demo_config
        >>> cfg = demo_config()
        >>> upscaled_outputs(cfg, cfg.model.build(0))
        ('NEE', 'GPP', 'RECO')
    """
    wanted = set(cfg.targets) | set(cfg.evaluate.references)
    return tuple(o for o in model.outputs if o in wanted)


@dataclass(frozen=True)
class Prepared:
    """A checked upscaling job before it runs.

    Attributes:
        job: the per-chunk function and its paths.
        plan: every chunk of the grid.
        fingerprint: what identifies the job in the done-log.
        coords: ``time``, ``lat``, ``lon`` of the grid.
        variables: output name → CF attributes.
        attrs: the store's global attributes (provenance).
        chunks: ``(time, lat, lon)`` chunk sizes.
    """

    job: UpscaleJob
    plan: list[Chunk]
    fingerprint: dict[str, Any]
    coords: dict[str, xr.DataArray]
    variables: dict[str, dict[str, str]]
    attrs: dict[str, str]
    chunks: tuple[int, int, int]


def _output_units(run: RunDir, cfg: Any, step: str) -> str:
    units = run.read_metrics().get("units") if run.metrics_path.is_file() else None
    return units or fluxnet_units(next(iter(cfg.targets.values())), step) or "gC m-2 d-1"


def prepare_upscale(
    run_dir: str | os.PathLike,
    grid_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    chunks: Mapping[str, int] | None = None,
    static: str | os.PathLike | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> Prepared:
    """Check the grid against the run and plan the chunks (nothing is written).

    Raises:
        FileNotFoundError: no run, model, grid or training data.
        GridError: the grid does not fit the run (inputs, units, time step, dims).
    """
    run = RunDir(run_dir)
    cfg = run.read_config()
    models = load_trained_models(run_dir)
    model = models[0]
    outputs = upscaled_outputs(cfg, model)
    if not outputs:
        raise ConfigError(
            str(run.config_path),
            [f"targets/evaluate.references name none of the model's outputs {model.outputs}"],
        )
    units, step = training_reference(cfg)
    grid = open_grid(grid_path, static=static)
    derived = check_grid(grid, model.inputs, units, step, where=str(grid_path))
    first = next((n for n in model.inputs if n in grid), model.inputs[0])
    sizes = choose_chunks(grid, first, chunks)
    abspath = {
        k: str(Path(p).resolve()) for k, p in (("run", run_dir), ("grid", grid_path), ("out", out))
    }
    static_path = None if static is None else str(Path(static).resolve())
    job = UpscaleJob(
        abspath["run"],
        abspath["grid"],
        abspath["out"],
        outputs,
        step,
        derived,
        static_path,
        int(batch_size),
    )
    job.predictor(models)  # compiled here once; local threads share it
    attrs = provenance(run_dir, grid_path)
    shape = tuple(grid.sizes[d] for d in DIMS)
    fingerprint = {
        **attrs,
        "static": static_path,
        "shape": list(shape),
        "chunks": list(sizes),
        "outputs": list(outputs),
        "batch_size": int(batch_size),
        "time": [str(grid["time"].values[0]), str(grid["time"].values[-1])],
    }
    out_units = _output_units(run, cfg, step)
    variables = {o: cf_attrs(o, out_units, step) for o in outputs}
    coords = {d: grid[d].copy() for d in DIMS}
    return Prepared(job, plan_chunks(shape, sizes), fingerprint, coords, variables, attrs, sizes)


def _open_output(prepared: Prepared, out: Path) -> DoneLog:
    sidecar = Path(f"{out}.done")
    if out.exists() and not sidecar.is_file():
        raise UpscaleStoreError(
            f"{out} exists and is not a resumable hybridflux upscale output "
            f"(no {sidecar.name}); choose another --out"
        )
    log = DoneLog.open(sidecar, prepared.fingerprint)
    if not out.exists():
        create_store(out, prepared.coords, prepared.variables, prepared.chunks, prepared.attrs)
    return log


def _execute(prepared, log, scheduler, workers, bar, on_chunk) -> tuple[int, str]:
    todo = [c for c in prepared.plan if c.index not in log.done]
    bar.start(len(prepared.plan), len(log.done))
    try:
        with open_executor(scheduler, workers) as executor:
            in_flight = 2 * executor.slots
            for index, parts in completed(executor, prepared.job, todo, max_in_flight=in_flight):
                log.record(index, parts)  # only now, after the chunk's write returned
                bar.update(len(log.done))
                if on_chunk is not None:
                    on_chunk(index)
            where = executor.description
    finally:
        bar.close()
    return len(todo), where


def _mean_maps(prepared: Prepared, log: DoneLog) -> dict[str, xr.DataArray]:
    """Annual-mean maps from the chunks' recorded time sums (the output is not read again)."""
    ny, nx = (len(prepared.coords[d]) for d in ("lat", "lon"))
    maps = {}
    for name, attrs in prepared.variables.items():
        total, count = np.zeros((ny, nx)), np.zeros((ny, nx), np.int64)
        for chunk in prepared.plan:
            parts = log.parts(chunk.index)
            total[chunk.region[1:]] += parts[f"{name}/sum"]
            count[chunk.region[1:]] += parts[f"{name}/count"]
        lat, lon = prepared.coords["lat"].values, prepared.coords["lon"].values
        maps[name] = mean_from_sums(total, count, attrs["units"], lat, lon, name)
    return maps


def _report(out: Path, maps, regions, figures: bool) -> tuple[dict, list[Path]]:
    stem = out.with_suffix("") if out.suffix == ".zarr" else out
    totals, written = {}, []
    for name, mean_map in maps.items():
        totals[name] = annual_totals(mean_map, regions)
        if figures:
            path = Path(f"{stem}.{name}_annual_mean.png")
            written.append(annual_mean_figure(mean_map, path))
    text = json.dumps({"units": "PgC yr-1", "totals": totals}, indent=2)
    written.insert(0, atomic_write_text(Path(f"{stem}.totals.json"), text + "\n"))
    return totals, written


@contextlib.contextmanager
def _gc_frozen():
    """Keep the objects alive before a run out of the cyclic GC's scans while it runs.

    Importing JAX, flax, xarray and pandas leaves ~300 000 long-lived objects; every full
    collection that the run's allocations trigger (tracing, compiling, the figure) would walk
    them all (~0.1 s each). ``gc.freeze`` parks them; ``gc.unfreeze`` gives them back to the
    collector afterwards, so nothing is kept alive longer.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@_gc_frozen()
def run_upscale(
    run_dir: str | os.PathLike,
    grid_path: str | os.PathLike,
    out: str | os.PathLike,
    scheduler: str | None = None,
    *,
    chunks: Mapping[str, int] | None = None,
    static: str | os.PathLike | None = None,
    batch_size: int = DEFAULT_BATCH,
    workers: int | None = None,
    progress: Any = None,
    figures: bool = True,
    regions: Mapping[str, tuple[float, ...]] | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> str:
    """Upscale a trained run over a covariate grid into a CF zarr store; resumable.

    Args:
        run_dir: run directory of ``hybridflux train``.
        grid_path: covariate grid (zarr or netCDF, dims ``time, lat, lon``, variables named
            and in the units of the model's inputs).
        out: the output ``.zarr`` (its done-log is ``OUT.done``; totals and maps beside it).
        scheduler: ``None`` (threads here) or a ``dask.distributed`` scheduler address.
        chunks: chunk sizes by dim (default: the grid's chunks, see
            :func:`~hybridflux.upscale.job.choose_chunks`).
        static: optional file of static ``(lat, lon)`` input maps.
        batch_size: rows per compiled batch.
        workers: local threads (default: the CPU cores, at most 8).
        progress: an object with ``start(total, done)``, ``update(done)``, ``close()``
            (default :class:`ChunkProgress`).
        figures: write the annual-mean maps.
        regions: name → ``(south, north[, west, east])`` boxes for totals (default
            latitude bands).
        on_chunk: called with each chunk's index once it is recorded done (a hook for
            monitoring; the tests raise from it to simulate a crash).

    Returns:
        A summary: chunks, cell-steps per second, where it ran, totals, files.

    Raises:
        GridError: the grid does not fit the run.
        UpscaleStoreError: ``out`` is not this job's output.
    """
    clock = [time.perf_counter()]
    out = Path(out)
    prepared = prepare_upscale(
        run_dir, grid_path, out, chunks=chunks, static=static, batch_size=batch_size
    )
    log = _open_output(prepared, out)
    before = len(log.done)
    bar = progress if progress is not None else ChunkProgress()
    clock.append(time.perf_counter())
    ran, where = _execute(prepared, log, scheduler, workers, bar, on_chunk)
    clock.append(time.perf_counter())
    totals, written = _report(out, _mean_maps(prepared, log), regions, figures)
    clock.append(time.perf_counter())
    cells = sum(c.cells for c in prepared.plan)
    shape = " x ".join(str(n) for n in prepared.fingerprint["shape"])
    phases = np.diff(clock)
    lines = [
        f"upscaled {', '.join(prepared.variables)} on {shape} (time x lat x lon, {cells:,} "
        f"cell-steps) in {len(prepared.plan)} chunks of {prepared.chunks}: {ran} run now, "
        f"{before} done before, on {where}",
        f"{clock[-1] - clock[0]:.1f} s ({phases[0]:.1f} s checks, model and compilation; "
        f"{phases[1]:.1f} s chunks, {ran * cells / len(prepared.plan) / max(phases[1], 1e-9):,.0f} "
        f"cell-steps/s; {phases[2]:.1f} s totals and maps)",
        f"output: {out}",
    ]
    for name, by_region in totals.items():
        parts = ", ".join(f"{k} {v:.4g}" for k, v in by_region.items())
        lines.append(f"annual totals of {name} (PgC/yr): {parts}")
    lines += [f"wrote: {p}" for p in written]
    return "\n".join(lines)
