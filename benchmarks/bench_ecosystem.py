"""Benchmark: the daily ecosystem model over many cells, ``jit(vmap(scan))`` in float32.

1,000 cells × 30 years of daily steps (10,958 days). Drivers are the real FR-Pue daily
meteorology (FluxDataKit, 2000–2014, TA_F_MDS / SW_IN_F_MDS / VPD_F_MDS) tiled to 30 years,
with a per-cell air-temperature offset drawn uniformly from [−4, 4] °C; without ``../shared``
a synthetic seasonal cycle is used instead. Reports compile time, the steady-state run time
(median of 3 runs after one warm-up, ``block_until_ready``) and cell-years per second, for
`simulate_cells` returning all 18 flux fields, and for a variant returning only GPP, RECO and
NEE (what synthetic-data generation needs; XLA drops the unused outputs).

Run from the repository root:  .venv/bin/python benchmarks/bench_ecosystem.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hybridflux.process.ecosystem import (
    CarbonState,
    EcosystemParams,
    Forcings,
    simulate,
    simulate_cells,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FR_PUE = (
    SHARED
    / "sites/fluxdatakit_daily_CH-Lae_FR-Pue/FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv"
)
DAYS_PER_YEAR = 365.25


def base_drivers(n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(ta °C, sw_in W m-2, vpd hPa) of length n_days and a description of the source."""
    if FR_PUE.is_file():
        import pandas as pd

        cols = ["TA_F_MDS", "SW_IN_F_MDS", "VPD_F_MDS"]
        data = pd.read_csv(FR_PUE, usecols=cols, na_values=[-9999]).interpolate().bfill()
        ta, sw, vpd = (np.resize(data[c].to_numpy(np.float32), n_days) for c in cols)
        return ta, sw, vpd, f"FR-Pue daily 2000-2014 ({len(data)} d) tiled"
    t = np.arange(n_days)
    season = -np.cos(2 * np.pi * t / DAYS_PER_YEAR)
    ta, sw, vpd = 13 + 9 * season, 170 + 110 * season, 9 + 7 * season
    return ta, sw, vpd, "synthetic seasonal cycle (../shared absent)"


def cell_drivers(n_cells: int, n_days: int) -> tuple[Forcings, str]:
    """Forcings of shape (n_cells, n_days), float32, with per-cell temperature offsets."""
    ta, sw, vpd, source = base_drivers(n_days)
    offsets = np.random.default_rng(0).uniform(-4.0, 4.0, n_cells).astype(np.float32)
    tile = lambda x: jnp.asarray(np.broadcast_to(x, (n_cells, n_days)), jnp.float32)  # noqa: E731
    forcings = Forcings(
        ta=jnp.asarray(ta[None, :] + offsets[:, None], jnp.float32),
        sw_in=tile(sw),
        vpd=tile(vpd),
        w=jnp.ones((n_cells, n_days), jnp.float32),
    )
    return forcings, source


@jax.jit
def simulate_cells_gpp_reco_nee(params, state0, forcings):
    """jit(vmap(scan)) keeping only GPP, RECO and NEE (gC m-2 d-1), shape (n_cells, T)."""

    def one(forcing, state):
        _, f = simulate(params, state, forcing)
        return f.gpp, f.reco, f.nee

    return jax.vmap(one)(forcings, state0)


def time_it(fn, args, repeats: int = 3) -> tuple[float, float]:
    """(compile seconds, median steady-state seconds over ``repeats`` runs after a warm-up)."""
    t0 = time.perf_counter()
    compiled = fn.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(*args))
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        runs.append(time.perf_counter() - t0)
    return compile_s, statistics.median(runs)


def main() -> None:
    """Parse options, run both variants, print a report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--years", type=int, default=30)
    args = parser.parse_args()
    n_days = round(args.years * DAYS_PER_YEAR)
    forcings, source = cell_drivers(args.cells, n_days)
    params = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), EcosystemParams.default())
    state0 = CarbonState(
        *(jnp.full(args.cells, v, jnp.float32) for v in (250.0, 1e4, 250.0, 70.0, 1.5e4))
    )
    print(f"bench_ecosystem: {args.cells} cells x {args.years} years = {n_days} daily steps")
    print(f"drivers: {source}; dtype float32; jax {jax.__version__}, {jax.devices()[0]}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cell_years = args.cells * args.years
    variants = [
        ("simulate_cells (all 18 fluxes)", simulate_cells),
        ("jit(vmap(scan)) GPP/RECO/NEE only", simulate_cells_gpp_reco_nee),
    ]
    for name, fn in variants:
        compile_s, run_s = time_it(fn, (params, state0, forcings))
        print(
            f"{name:36s} compile {compile_s:6.2f} s | run {run_s:6.3f} s (median of 3) | "
            f"{cell_years / run_s:,.0f} cell-years/s | {args.cells * n_days / run_s / 1e6:.1f} "
            "M cell-days/s"
        )
    gpp = simulate_cells_gpp_reco_nee(params, state0, forcings)[0]
    print(f"check: mean annual GPP {float(jnp.mean(gpp)) * DAYS_PER_YEAR:.0f} gC m-2 yr-1")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
