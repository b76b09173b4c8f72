"""Benchmark: the detailed process model (spin-up included) vs its emulator, same cells × years.

Runs the whole ``hybridflux emulator`` workflow of a config (default ``configs/emulator.yaml``)
and prints what ``DIR/emulator.json`` and ``DIR/sample_efficiency.csv`` hold:

- **process model**: the held-out cells' spin-up (``spin_up_cells``: jit(vmap(while_loop(scan
  over days(scan over 24 hours)))), cold start, cycling each cell's driver years until every
  pool kind changes < 1 % per century) plus the simulation of the same years
  (``simulate_cells``), in chunks of 32 cells, compiled beforehand (the training chunks have
  the same shapes), float32, wall-clock;
- **emulator**: one jitted call of the equilibrium emulator + windowed emulator for all held-out
  cells and all days (median of 5 calls after a compiling call), float32, wall-clock.

Both run on this machine from arrays in memory to ready outputs (no file I/O). The ratio is
wall-clock on the same hardware, not processor time. r² is per output (4 daily fluxes, 9 pool
kinds) over all held-out cell-days.

Run from the repository root (15 minutes on an idle 2-core CPU, longer under load):

    .venv/bin/python benchmarks/bench_emulator.py [--config configs/emulator.yaml] [--out DIR]

``--retime DIR`` times a finished run's process model and emulator again, back to back on the
same held-out cells (``hybridflux.emulator.speedup.retime``), for a quieter moment on a shared
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from hybridflux.emulator import run_emulator

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the workflow and print the speed-up and sample-efficiency tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "emulator.yaml"))
    parser.add_argument("--out", default=None, help="output folder (default: a temp folder)")
    parser.add_argument("--set", action="append", default=[], help="config override a.b=v")
    parser.add_argument("--retime", metavar="DIR", help="only time a finished run again")
    args = parser.parse_args()
    if args.retime:
        from hybridflux.emulator.speedup import retime

        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; load {os.getloadavg()}")
        print(json.dumps(retime(args.retime), indent=1))
        return
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_emulator_"))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; load {os.getloadavg()}")
    t0 = time.perf_counter()
    print(run_emulator(args.config, out, args.set))
    bench = json.loads((out / "emulator.json").read_text())
    print(f"\nwhole workflow {time.perf_counter() - t0:.0f} s; load after {os.getloadavg()}")
    keys = (
        "speedup",
        "process_model_seconds",
        "process_model_spinup_seconds",
        "emulator_seconds",
        "cells",
        "years",
        "spinup_years",
        "spinup_years_max",
    )
    print(json.dumps({k: bench[k] for k in keys}, indent=1))
    print("r2:", json.dumps({k: round(v, 4) for k, v in bench["r2"].items()}))


if __name__ == "__main__":
    main()
