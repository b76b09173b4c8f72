"""Synthetic training data: run a process model over many cells and keep daily aggregates.

For each chunk of cells (one compiled ``jit(vmap(...))`` call of the model each): spin up by
cycling the cell's driver years, then simulate the same years from the spun-up state
(variant 0, the run a user would do) and from perturbed starts (variants with pool factors
and/or warmer drivers, so the emulator learns how the trajectories depend on the initial
state). The model is any :class:`~hybridflux.emulator.process_model.ProcessModel` object.
Cells are sorted by a spin-up difficulty key (mean temperature) before chunking, so a vmapped
spin-up, which runs until its slowest cell converges, wastes little; each chunk's wall-clock
seconds are kept (spin-up and variant-0 simulation separately) for the speed-up benchmark.

Storage: one zarr store (`write_zarr`, atomic: written beside and renamed) with dims
``sample, day, driver, flux, pool, param``.

Example:
    >>> Variant(0.7, 1.3, 0.0).label
    'pools x U(0.7, 1.3), dT +0.0'
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import jax
import numpy as np
import xarray as xr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hybridflux.emulator.drivers import DRIVER_NAMES, CellDrivers

__all__ = ["Variant", "SyntheticData", "generate", "write_zarr", "read_zarr"]


@dataclass(frozen=True)
class Variant:
    """A run of a spun-up cell: pools times U(lo, hi) per kind, air temperature + delta_t.

    Example:
        >>> Variant(1.0, 1.0, 2.0).delta_t
        2.0

    Attributes:
        lo: lowest pool factor, 1.
        hi: highest pool factor, 1.
        delta_t: °C added to the air temperature of the run.
    """

    lo: float = 1.0
    hi: float = 1.0
    delta_t: float = 0.0

    @property
    def label(self) -> str:
        """A short description."""
        return f"pools x U({self.lo}, {self.hi}), dT {self.delta_t:+.1f}"


@dataclass
class SyntheticData:
    """Daily process-model output of many runs (samples = cells × variants).

    Built by `generate`; ``select(mask)`` keeps some samples (e.g. ``data.variant == 0``).

    Attributes:
        drivers: (n, T, 5) daily drivers `DRIVER_NAMES`.
        doy: (T,) day of year.
        lat: (n,) degrees north.
        theta: (n, n_params) parameters.
        pools0: (n, n_pools) gC m-2, pools at the start of the run.
        fluxes: (n, T, n_fluxes) gC m-2 d-1.
        pools: (n, T, n_pools) gC m-2 at the end of each day.
        cell: (n,) cell index; variant: (n,) variant index (0 = from the spun-up state).
        spinup_years: (n,) years the cell's spin-up took; converged: (n,) bool.
        names: flux, pool and parameter names.
        timing: wall-clock seconds: ``spinup``, ``simulate_variant0``, ``simulate_other``
            (sums over the timed chunks), ``first_chunk`` (may include compilation),
            ``timed_cells`` (cells of the timed chunks, padding included).
    """

    drivers: np.ndarray
    doy: np.ndarray
    lat: np.ndarray
    theta: np.ndarray
    pools0: np.ndarray
    fluxes: np.ndarray
    pools: np.ndarray
    cell: np.ndarray
    variant: np.ndarray
    spinup_years: np.ndarray
    converged: np.ndarray
    names: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)

    def select(self, mask: np.ndarray) -> SyntheticData:
        """The samples where ``mask`` is true."""
        per = ("drivers", "lat", "theta", "pools0", "fluxes", "pools", "cell", "variant")
        per += ("spinup_years", "converged")
        kw = {k: getattr(self, k)[mask] for k in per}
        return SyntheticData(doy=self.doy, names=self.names, timing=self.timing, **kw)


class _Bar:
    """A rich progress bar over chunks, silent when the console is not a terminal."""

    def __init__(self, total: int, what: str):
        console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.task = self.bar.add_task(what, total=total)
        self.bar.start()

    def advance(self, text: str) -> None:
        self.bar.update(self.task, advance=1, description=text)

    def close(self) -> None:
        self.bar.stop()


def _chunks(n: int, size: int) -> list[np.ndarray]:
    """Index arrays of chunks of ``size`` (the last one padded by repeating its last index)."""
    out = []
    for start in range(0, n, size):
        idx = np.arange(start, min(start + size, n))
        out.append(np.concatenate([idx, np.full(size - idx.size, idx[-1])]))
    return out


def _run_chunk(model, theta, values, doy, lat, variants, rng, timing, timed):
    """Spin up one chunk and run its variants; returns per-variant arrays."""
    t0 = time.perf_counter()
    state, years, converged = model.spin_up(theta, values, doy, lat)
    jax.block_until_ready(state)
    t1 = time.perf_counter()
    out = []
    for k, v in enumerate(variants):
        factors = rng.uniform(v.lo, v.hi, (theta.shape[0], len(model.pool_names)))
        start = state if k == 0 and v.lo == v.hi == 1.0 else model.scale_pools(state, factors)
        drv = values.copy()
        drv[..., 0] += v.delta_t
        t2 = time.perf_counter()
        _, fluxes, pools = model.simulate(theta, start, drv, doy, lat)
        fluxes, pools = jax.block_until_ready((fluxes, pools))
        dt = time.perf_counter() - t2
        if timed:
            timing["simulate_variant0" if k == 0 else "simulate_other"] += dt
        out.append((drv, np.asarray(model.pools(start)), np.asarray(fluxes), np.asarray(pools)))
    if timed:
        timing["spinup"] += t1 - t0
    return out, np.asarray(years), np.asarray(converged)


def generate(
    model,
    cells: CellDrivers,
    theta: np.ndarray,
    *,
    variants: Sequence[Variant] = (Variant(),),
    chunk_size: int = 32,
    seed: int = 0,
    what: str = "generate",
    warm: bool = False,
) -> SyntheticData:
    """Run ``model`` (a `ProcessModel`) over the cells in chunks of ``chunk_size``.

    Args:
        model: the process model object (spin_up, simulate, pools, scale_pools).
        cells: `CellDrivers` (n_cells, T, 5).
        theta: (n_cells, n_params) parameters.
        variants: runs per cell; the first should be `Variant()` (from the spun-up state).
        chunk_size: cells per compiled call (all chunks padded to it: one compilation).
        seed: seed of the pool factors.
        what: label of the progress bar.
        warm: the model is already compiled for these shapes (e.g. an earlier call with the
            same chunk size and years): every chunk is timed, else all but the first.

    Returns:
        `SyntheticData` with n_cells × len(variants) samples, cell-major.

    Example: ``generate(DetailedProcessModel(priors), cells, theta, chunk_size=32)``; at tiny
    size in ``tests/emulator/conftest.py`` (each call spins the model up).
    """
    n = cells.values.shape[0]
    order = np.argsort(cells.values[..., 0].mean(axis=1), kind="stable")  # cold first
    rng = np.random.default_rng(seed)
    timing = {"spinup": 0.0, "simulate_variant0": 0.0, "simulate_other": 0.0}
    parts, bar = [], _Bar(len(_chunks(n, chunk_size)), what)
    try:
        for c, idx in enumerate(_chunks(n, chunk_size)):
            cell_idx = order[idx]
            t0 = time.perf_counter()
            runs, years, conv = _run_chunk(
                model,
                theta[cell_idx],
                cells.values[cell_idx],
                cells.doy,
                cells.lat[cell_idx],
                variants,
                rng,
                timing,
                timed=warm or c > 0,
            )
            if c == 0:
                timing["first_chunk"] = time.perf_counter() - t0
            timing["timed_cells"] = timing.get("timed_cells", 0) + (idx.size if warm or c else 0)
            keep = np.unique(idx, return_index=True)[1]  # drop the padding repeats
            parts.append((cell_idx[keep], runs, years[keep], conv[keep], keep))
            bar.advance(f"{what}: chunk {c + 1}, spin-up {int(years.max())} yr")
    finally:
        bar.close()
    return _assemble(parts, cells, theta, model, timing, n_variants=len(variants))


def _assemble(parts, cells, theta, model, timing, n_variants) -> SyntheticData:
    cols = {k: [] for k in ("drivers", "lat", "theta", "pools0", "fluxes", "pools", "cell")}
    cols.update(variant=[], spinup_years=[], converged=[])
    for cell_idx, runs, years, conv, keep in parts:
        for k, (drv, p0, fl, po) in enumerate(runs):
            cols["drivers"].append(drv[keep])
            cols["pools0"].append(p0[keep])
            cols["fluxes"].append(fl[keep])
            cols["pools"].append(po[keep])
            cols["lat"].append(cells.lat[cell_idx])
            cols["theta"].append(theta[cell_idx])
            cols["cell"].append(cell_idx)
            cols["variant"].append(np.full(cell_idx.size, k))
            cols["spinup_years"].append(years)
            cols["converged"].append(conv)
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    names = {
        "flux": list(model.flux_names),
        "pool": list(model.pool_names),
        "param": list(model.param_names),
        "driver": list(DRIVER_NAMES),
    }
    return SyntheticData(doy=cells.doy, names=names, timing=timing, **arrays)


def write_zarr(data: SyntheticData, path: str | os.PathLike) -> None:
    """Store ``data`` as zarr at ``path`` atomically (written beside, then renamed over).

    Args:
        data: the `SyntheticData`.
        path: the target store (a directory); an existing store is replaced.

    Example: ``write_zarr(data, "synthetic.zarr"); read_zarr("synthetic.zarr")`` (round trip
    tested in ``tests/emulator/test_generate.py``).
    """
    n = data.names
    ds = xr.Dataset(
        {
            "drivers": (("sample", "day", "driver"), data.drivers),
            "fluxes": (("sample", "day", "flux"), data.fluxes, {"units": "gC m-2 d-1"}),
            "pools": (("sample", "day", "pool"), data.pools, {"units": "gC m-2"}),
            "pools0": (("sample", "pool"), data.pools0, {"units": "gC m-2"}),
            "theta": (("sample", "param"), data.theta),
            "lat": (("sample",), data.lat, {"units": "degrees_north"}),
            "cell": (("sample",), data.cell),
            "variant": (("sample",), data.variant),
            "spinup_years": (("sample",), data.spinup_years),
            "converged": (("sample",), data.converged),
            "doy": (("day",), data.doy),
        },
        coords={"flux": n["flux"], "pool": n["pool"], "param": n["param"], "driver": n["driver"]},
        attrs={f"timing_{k}_s": float(v) for k, v in data.timing.items()},
    )
    path = os.fspath(path)
    tmp, old = f"{path}.tmp-{os.getpid()}", f"{path}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    ds.to_zarr(tmp, mode="w", zarr_format=2, consolidated=True)
    if os.path.exists(path):
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def read_zarr(path: str | os.PathLike) -> SyntheticData:
    """Read a store written by `write_zarr`.

    Raises:
        FileNotFoundError: no such store.

    Example:
        >>> try:
        ...     read_zarr("no-such-store.zarr")
        ... except FileNotFoundError as err:
        ...     print(str(err)[:27])
        no synthetic-data store 'no
    """
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no synthetic-data store {os.fspath(path)!r}")
    ds = xr.open_zarr(path).load()
    names = {k: [str(x) for x in ds[k].values] for k in ("flux", "pool", "param", "driver")}
    timing = {k[7:-2]: float(v) for k, v in ds.attrs.items() if k.startswith("timing_")}
    arrays = {
        k: ds[k].values
        for k in (
            "drivers",
            "fluxes",
            "pools",
            "pools0",
            "theta",
            "lat",
            "cell",
            "variant",
            "spinup_years",
            "converged",
        )
    }
    return SyntheticData(doy=ds["doy"].values, names=names, timing=timing, **arrays)
