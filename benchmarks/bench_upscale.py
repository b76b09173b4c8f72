"""Upscaling speed vs the I/O floor: ``run_upscale`` against a plain xarray zarr-to-zarr copy.

Issue 8's target: on a 365 × 360 × 720 daily grid (94.6 M cell-days) the whole upscaling
command takes at most 2.5× a plain ``xr.open_zarr(grid)[TA_F, SW_IN_F, VPD_F].to_zarr(...)``
copy of the same input variables on the same machine.

- The model: ``configs/upscale_daily.yaml`` (lue_q10_nee, GPP = ε(TA_F, VPD_F, SW_IN_F)·PAR)
  trained for a few epochs on the PLUMBER sites (the weights do not change the speed).
- The grid: synthetic float32 TA_F, SW_IN_F, VPD_F (a seasonal and latitudinal cycle plus
  noise), zarr format 2, chunks 365 × 90 × 90 (the work chunks), default compressor.
- Timed: the ``hybridflux upscale RUN --grid GRID --out OUT.zarr`` command (checks incl.
  reading the training data's units, the model load and compilation, all chunks, totals and
  the map) and the copy (xarray + dask, default threaded scheduler), back to back,
  ``--repeats`` times each; outputs deleted between. Both as whole commands (a fresh
  interpreter each: imports and interpreter exit included; the upscale command is
  ``hybridflux.cli.main``, what the ``hybridflux`` script runs) and as calls in this warm
  process (``run_upscale`` and the copy function). The ratio is reported per back-to-back
  pair (median), as the shared machine's load drifts between pairs; so is the ratio of the
  CPU time (user + system, all threads), which depends much less on the neighbours' load.

Command:
    .venv/bin/python benchmarks/bench_upscale.py                # full size (needs ~3 GB disk)
    .venv/bin/python benchmarks/bench_upscale.py --lat 90 --lon 180   # a quick fraction
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from hybridflux.config import load_config
from hybridflux.runs.train import train_from_config
from hybridflux.upscale import run_upscale

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = ("TA_F", "SW_IN_F", "VPD_F")


def _block(block_id, shape, lat0, nlat, name):
    """One chunk of a synthetic covariate (deterministic per chunk)."""
    t, y, x = block_id
    rng = np.random.default_rng([VARIABLES.index(name), t, y, x])
    days = np.arange(shape[0])[:, None, None]
    lat = (lat0 - 180.0 * (y * shape[1] + np.arange(shape[1])) / nlat)[None, :, None]
    season = np.sin(2 * np.pi * (days - 100) / 365.0) * np.sign(lat)
    if name == "TA_F":
        base = 25.0 - 0.5 * np.abs(lat) + 10.0 * season
        noise = rng.normal(0.0, 2.0, shape)
    elif name == "SW_IN_F":
        base = 180.0 * np.cos(np.radians(lat)) + 80.0 * season
        noise = rng.uniform(-40.0, 40.0, shape)
    else:
        base = 8.0 + 4.0 * season
        noise = rng.uniform(-4.0, 4.0, shape)
    return np.maximum(base + noise, 0.0 if name != "TA_F" else -60.0).astype(np.float32)


def make_grid(path: Path, days: int, nlat: int, nlon: int, chunk: tuple[int, int, int]) -> None:
    """Write the synthetic daily grid (zarr v2, consolidated)."""
    shape = (days, nlat, nlon)
    units = {"TA_F": "degC", "SW_IN_F": "W m-2", "VPD_F": "hPa"}
    data = {}
    for name in VARIABLES:
        arr = da.map_blocks(
            lambda block_id=None, n=name: _block(block_id, chunk, 89.75, nlat, n),
            dtype=np.float32,
            chunks=tuple((c,) * (s // c) for s, c in zip(shape, chunk, strict=True)),
        )
        data[name] = (("time", "lat", "lon"), arr, {"units": units[name]})
    coords = {
        "time": pd.date_range("2022-01-01", periods=days, freq="D"),
        "lat": 89.75 - 180.0 * np.arange(nlat) / nlat,
        "lon": -179.75 + 360.0 * np.arange(nlon) / nlon,
    }
    xr.Dataset(data, coords=coords).to_zarr(path, zarr_format=2, consolidated=True)


def copy(grid: Path, out: Path) -> None:
    """The I/O floor: a plain xarray zarr-to-zarr copy of the input variables."""
    xr.open_zarr(grid)[list(VARIABLES)].to_zarr(out, zarr_format=2, consolidated=True)


#: The two whole commands, each in a fresh interpreter (imports and JAX start-up included);
#: the upscale one is the ``hybridflux`` console script's ``sys.exit(main())``.
COMMANDS = {
    "copy": "import xarray as xr; xr.open_zarr({grid!r})[{vars!r}].to_zarr({out!r}, "
    "zarr_format=2, consolidated=True)",
    "upscale": "import sys; from hybridflux.cli import main; "
    "sys.exit(main(['upscale', {run!r}, '--grid', {grid!r}, '--out', {out!r}]))",
}


def _clean(work: Path, name: str) -> Path:
    for p in work.glob(f"{name}*"):
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return work / f"{name}.zarr"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_commands(work: Path, run: Path, grid: Path) -> dict[str, tuple[float, float]]:
    """Wall and CPU time of each whole command (``python -c ...``), outputs removed before."""
    out = {}
    for name, template in COMMANDS.items():
        target = _clean(work, name)
        code = template.format(grid=str(grid), vars=list(VARIABLES), out=str(target), run=str(run))
        t0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        out[name] = (time.perf_counter() - t0, _children_cpu() - c0)
    return out


def time_calls(work: Path, run: Path, grid: Path) -> tuple[dict[str, tuple[float, float]], str]:
    """Wall and CPU time of the two calls inside this (warm) process."""
    out, summary = {}, ""
    for name in COMMANDS:
        target = _clean(work, name)
        t0, c0 = time.perf_counter(), time.process_time()
        if name == "copy":
            copy(grid, target)
        else:
            summary = run_upscale(run, grid, target)
        out[name] = (time.perf_counter() - t0, time.process_time() - c0)
    return out, summary


def _du(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--lat", type=int, default=360)
    parser.add_argument("--lon", type=int, default=720)
    parser.add_argument("--chunk", type=int, default=90, help="lat/lon chunk size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_upscale_"))
    work.mkdir(parents=True, exist_ok=True)
    cells = args.days * args.lat * args.lon
    print(f"bench_upscale: {args.days} x {args.lat} x {args.lon} = {cells / 1e6:.1f} M cell-days")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; load {os.getloadavg()}")
    cfg = load_config(ROOT / "configs" / "upscale_daily.yaml", ["train.epochs=5"])
    run = work / "run"
    if not (run / "checkpoints" / "model.npz").is_file():
        train_from_config(cfg, run)
    grid = work / "grid.zarr"
    if not grid.exists():
        t0 = time.perf_counter()
        make_grid(grid, args.days, args.lat, args.lon, (args.days, args.chunk, args.chunk))
        print(f"grid written in {time.perf_counter() - t0:.1f} s: {_du(grid):.2f} GB on disk")
    commands: dict[str, list[tuple[float, float]]] = {"copy": [], "upscale": []}
    calls: dict[str, list[tuple[float, float]]] = {"copy": [], "upscale": []}
    for _ in range(args.repeats):
        for name, seconds in time_commands(work, run, grid).items():
            commands[name].append(seconds)
        timed, summary = time_calls(work, run, grid)
        for name, seconds in timed.items():
            calls[name].append(seconds)
        print(f"commands: {_fmt(commands)} | calls: {_fmt(calls)}  (load {os.getloadavg()[0]:.1f})")
    print(summary)
    print(f"load average after: {os.getloadavg()}")
    for label, timings in (("whole commands", commands), ("calls in a warm process", calls)):
        _report(label, timings, cells, args.repeats)


def _report(label: str, timings: dict[str, list[tuple[float, float]]], cells: int, n: int) -> None:
    """Best times, and the upscale / copy ratios of wall and CPU time over the pairs."""
    wall = {k: [w for w, _ in v] for k, v in timings.items()}
    cpu = {k: [c for _, c in v] for k, v in timings.items()}
    best = {k: min(v) for k, v in wall.items()}
    print(f"{label} (best of {n}):")
    for name in ("copy", "upscale"):
        rate = cells / best[name] / 1e6
        line = f"  {name:8s} {best[name]:6.1f} s  {rate:6.2f} M cell-days/s"
        print(f"{line}  (CPU {min(cpu[name]):.1f} s)")
    for what, times in (("wall", wall), ("CPU", cpu)):
        ratios = [u / c for u, c in zip(times["upscale"], times["copy"], strict=True)]
        extra = f"; {best['upscale'] / best['copy']:.2f}x of the best times (target <= 2.5x)"
        print(
            f"  ratio upscale / copy ({what}): {float(np.median(ratios)):.2f}x median of the "
            f"{n} back-to-back pairs ({min(ratios):.2f}-{max(ratios):.2f})"
            f"{extra if what == 'wall' else ''}"
        )


def _fmt(timings: dict[str, list[tuple[float, float]]]) -> str:
    return ", ".join(f"{k} {v[-1][0]:.1f} s (CPU {v[-1][1]:.1f})" for k, v in timings.items())


if __name__ == "__main__":
    main()
