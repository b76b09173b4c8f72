"""Benchmark: training throughput vs number of devices (data-parallel ``fit``, design 0004).

The issue-4 toy hybrid (2-16-16-1 MLP for Rb times a global Q10, 338 parameters) on the
245,000 synthetic rows of ``_bench_data.py``, Adam, batch 1024 (240 steps per epoch), trained
with ``hybridflux.training.fit(..., devices=n)``; and a 4-member seed ensemble with
``fit_ensemble(..., devices=n)`` (members split over the devices: no communication). Each
device count runs in its own subprocess, because JAX fixes its devices at start-up.

On a CPU the devices are fake (``XLA_FLAGS=--xla_force_host_platform_device_count=n``): they
share the same cores, so the numbers measure the **overhead** of splitting the batch (the
gradient all-reduce, smaller kernels), not a speed-up. With ``--real`` the subprocess sees the
machine's real accelerators and ``devices`` counts them (``n`` must not exceed what is there).

Reports seconds per epoch (median over the epochs after the first, which compiles; an epoch is
the wall time between two calls of the progress object ``fit`` reports to), rows per second,
the ratio to one device, and the largest parameter difference to the one-device run.

Run from the repository root:  .venv/bin/python benchmarks/bench_sharding.py
(options ``--devices 1 2 4``, ``--rows``, ``--epochs``, ``--batch-size``, ``--real``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


class EpochClock:
    """A ``Progress`` that records the wall time of every epoch (median taken later)."""

    def start(self, total: int) -> None:
        self.stamps = [time.perf_counter()]

    def update(self, epoch: int, train_loss: float, val_loss: float | None = None) -> None:
        self.stamps.append(time.perf_counter())

    def close(self) -> None:
        pass

    def median_s(self) -> float:
        return float(np.median(np.diff(self.stamps)[1:]))  # the first epoch compiles

    def first_s(self) -> float:
        return float(self.stamps[1] - self.stamps[0])


def _worker(n: int, rows: int, epochs: int, batch_size: int) -> None:
    """Train on ``n`` devices and print one JSON line (runs in the subprocess)."""
    import jax
    import jax.numpy as jnp
    import optax
    from _bench_data import LEARNING_RATE, synthetic
    from bench_training_flat import ToyQ10, masked_mse

    from hybridflux.training import fit, fit_ensemble

    data = {k: jnp.asarray(v) for k, v in synthetic(rows).items()}
    opt = optax.adam(LEARNING_RATE)
    common = dict(objective=masked_mse, epochs=epochs, batch_size=batch_size, devices=n)
    clock, ens_clock = EpochClock(), EpochClock()
    single = fit(ToyQ10(0), data, opt, progress=clock, **common)
    fit_ensemble(ToyQ10, 4, data, opt, progress=ens_clock, **common)
    report = {
        "devices": n,
        "platform": jax.devices()[0].platform,
        "kind": jax.devices()[0].device_kind,
        "jax": jax.__version__,
        "fit_s": clock.median_s(),
        "fit_first_s": clock.first_s(),
        "ens_s": ens_clock.median_s(),
        "flat": np.asarray(single.flat).tolist(),
        "loss": float(single.history["train_loss"][-1]),
    }
    print("RESULT " + json.dumps(report), flush=True)


def _spawn(n: int, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent), env.get("PYTHONPATH", "")])
    if not args.real:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n}"
        env["JAX_PLATFORMS"] = "cpu"
    cmd = [sys.executable, __file__, "--worker", str(n), "--rows", str(args.rows)]
    cmd += ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode or not lines:
        raise RuntimeError(f"worker with {n} devices failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rows", type=int, default=245_000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--real", action="store_true", help="real accelerators, no fake CPUs")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        _worker(args.worker, args.rows, args.epochs, args.batch_size)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs visible; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    steps = -(-args.rows // args.batch_size)
    print(f"{args.rows} rows, batch {args.batch_size} ({steps} steps/epoch), Adam; "
          f"median s/epoch of epochs 2..{args.epochs}")  # fmt: skip
    results = [_spawn(n, args) for n in args.devices]
    base = results[0]
    print(f"{results[0]['platform']} ({results[0]['kind']}), jax {results[0]['jax']}")
    for r in results:
        diff = np.max(np.abs(np.asarray(r["flat"]) - np.asarray(base["flat"])))
        print(
            f"{r['devices']} device(s): fit {r['fit_s']:.4f} s/epoch "
            f"({args.rows / r['fit_s']:,.0f} rows/s, {r['fit_s'] / base['fit_s']:.2f}x the "
            f"{base['devices']}-device time; compile epoch {r['fit_first_s']:.2f} s) | "
            f"4-member ensemble {r['ens_s']:.4f} s/epoch "
            f"({r['ens_s'] / base['ens_s']:.2f}x) | max |param diff| {diff:.1e}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
