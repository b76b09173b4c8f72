"""Benchmark: seconds per epoch of ``hybridflux.training.fit`` vs an idiomatic PyTorch eager loop.

Issue 4's target: training is ≥ 10× faster per epoch than an idiomatic PyTorch eager loop of the
same model, same data, same batch size, on the same machine. Both sides train the toy hybrid
model of ``bench_training_flat.py`` (2-16-16-1 tanh MLP → softplus Rb, times a learnable
Q10^((T − 15)/10); 338 parameters) on the same synthetic float32 arrays
(``_bench_data.synthetic``, 245,000 rows), Adam lr 1e-3, batch 1024 (240 steps per epoch),
reshuffled every epoch:

- **JAX**: the real engine, ``hybridflux.training.fit`` (host-side row order, one jitted
  scan-fused epoch, statistics fetched to the host, history, between-epoch bookkeeping). An
  epoch's time is the wall time between two calls of its progress object, so everything
  ``fit`` does per epoch counts; the first (compiling) epoch is left out.
- **PyTorch**: ``bench_training_torch.py`` — ``torch.randperm`` per epoch and
  ``opt.zero_grad(); loss.backward(); opt.step()`` per batch, ``torch.set_num_threads`` set to
  the machine's cores; one warm-up epoch left out. Also timed with 1 thread: on a shared 2-core
  machine PyTorch's 2 threads slow down many times over as soon as another process runs, while
  1 thread barely does, so the headline ratio is taken against the faster PyTorch setting.
- **context, JAX floor**: the 240 optimizer steps of ``fit``'s epoch alone
  (``hybridflux.training.epoch.make_train_scan`` on batches gathered once beforehand: no host
  row order, no gather, no bookkeeping) — what no engine built on ``lax.scan`` and XLA:CPU can
  beat for this model, so ``fit`` / floor is the engine's overhead. Also timed in the
  model's own row-major layout (``make_train_scan(..., feature_major=False)``), to show what
  the feature-major evaluation of the narrow layers (``hybridflux.training.feature_major``,
  which ``fit`` applies by itself) buys.

The sides alternate for ``--rounds`` rounds (so load drift hits all alike); each round times
``--epochs`` epochs of each. Prints the medians over all timed epochs of the wall time and of
the CPU time (``time.process_time``: all threads of the process; less sensitive to other jobs
on a shared machine than wall time, but it counts PyTorch's spinning worker threads), and the
ratios PyTorch / JAX. Needs torch (``.venv/bin/pip install torch==2.13.0``).

Run from the repository root:  .venv/bin/python benchmarks/bench_training_compare.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import optax
import torch
from _bench_data import BATCH_SIZE, LEARNING_RATE, ROWS
from bench_training_flat import ToyQ10, masked_mse, synthetic
from bench_training_torch import time_epochs

from hybridflux.training.epoch import RowOrder, make_train_scan, weighted_batches
from hybridflux.training.fit import fit
from hybridflux.training.flat import split_flat


class EpochClock:
    """A ``fit`` progress object recording wall and CPU time at the end of every epoch."""

    def start(self, total: int) -> None:
        self.stamps = [(time.perf_counter(), time.process_time())]

    def update(self, epoch: int, train_loss: float, val_loss: float | None = None) -> None:
        self.stamps.append((time.perf_counter(), time.process_time()))
        self.loss = train_loss

    def close(self) -> None:
        pass


def time_fit(data: dict, batch_size: int, epochs: int, seed: int) -> dict:
    """One ``fit`` of ``epochs + 1`` epochs; wall and CPU seconds of the epochs after the first."""
    clock = EpochClock()
    result = fit(
        ToyQ10(seed),
        data,
        optax.adam(LEARNING_RATE),
        objective=masked_mse,
        epochs=epochs + 1,
        batch_size=batch_size,
        seed=seed,
        progress=clock,
    )
    steps = zip(clock.stamps, clock.stamps[1:], strict=False)
    wall, cpu = zip(*[(b[0] - a[0], b[1] - a[1]) for a, b in steps], strict=True)
    q10 = 1.0 + 2.0 * jax.nn.sigmoid(result.model.q10_z[...])
    return {
        "seconds": list(wall[1:]),
        "cpu_seconds": list(cpu[1:]),
        "loss": clock.loss,
        "q10": float(q10),
    }


def time_floor(
    data: dict, batch_size: int, epochs: int, seed: int, feature_major: bool = True
) -> dict:
    """The steps of ``fit``'s epoch alone on batches gathered once: ``epochs`` + 1 calls
    (``feature_major=False``: in the model's own row-major layout, as before issue 4's fix)."""
    flat_model, flat = split_flat(ToyQ10(seed))
    optimizer = optax.adam(LEARNING_RATE)
    weight = jnp.ones(data["RECO"].shape[0], jnp.float32)
    batches, w = weighted_batches(data, weight, RowOrder(weight, batch_size)(seed, 0))
    scan = make_train_scan(
        flat_model, masked_mse, optimizer, guard_empty_batches=False, feature_major=feature_major
    )
    scan = jax.jit(scan)
    state, wall, cpu = (flat, optimizer.init(flat)), [], []
    for _ in range(epochs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        *state, stats = scan(*state, flat_model.rest, batches, w)
        loss = float(stats["loss"])
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    q10 = 1.0 + 2.0 * jax.nn.sigmoid(flat_model.merge(state[0]).q10_z[...])
    return {"seconds": wall[1:], "cpu_seconds": cpu[1:], "loss": loss, "q10": float(q10)}


def report(runs: dict, labels: dict, args: argparse.Namespace, load: list, cores: int) -> None:
    """Print the medians and ratios."""
    med = {
        (k, t): statistics.median(s for run in v for s in run[t])
        for k, v in runs.items()
        for t in ("seconds", "cpu_seconds")
    }
    print(
        f"jax {jax.__version__} ({jax.devices()[0].platform}), torch {torch.__version__}; "
        f"{cores} CPUs ({platform.machine()}); load average {min(load):.2f}-{max(load):.2f}"
    )
    print(
        f"2-16-16-1 MLP + Q10, Adam: {args.rows} rows, batch {args.batch_size} "
        f"({-(-args.rows // args.batch_size)} steps/epoch); median of "
        f"{args.rounds * args.epochs} epochs per side ({args.rounds} alternating rounds)"
    )
    width = max(map(len, labels.values()))
    for key, label in labels.items():
        last = runs[key][-1]
        wall, cpu = med[key, "seconds"], med[key, "cpu_seconds"]
        print(
            f"{label.ljust(width)}: {wall:.4f} s/epoch = {wall / med['jax', 'seconds']:5.1f}x "
            f"fit | CPU {cpu:.4f} s/epoch = {cpu / med['jax', 'cpu_seconds']:5.1f}x fit   "
            f"(last round: loss {last['loss']:.4f}, Q10 {last['q10']:.3f})"
        )
    for t, what in (("seconds", "wall time"), ("cpu_seconds", "CPU time")):
        best = min(med["torch", t], med["torch1", t])
        print(
            f"ratio faster PyTorch / fit, {what}: {best / med['jax', t]:.1f}x (floor: "
            f"{best / med['floor', t]:.1f}x; issue 4 target: >= 10x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per round and side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    data, load = synthetic(args.rows), [os.getloadavg()[0]]
    runs: dict[str, list[dict]] = {"jax": [], "torch": [], "torch1": [], "floor": [], "rows": []}
    for r in range(args.rounds):
        runs["jax"].append(time_fit(data, args.batch_size, args.epochs, seed=r))
        for key, threads in (("torch", cores), ("torch1", 1)):
            torch.set_num_threads(threads)
            runs[key].append(time_epochs(args.rows, args.batch_size, args.epochs, seed=r))
        runs["floor"].append(time_floor(data, args.batch_size, args.epochs, seed=r))
        rows = time_floor(data, args.batch_size, args.epochs, seed=r, feature_major=False)
        runs["rows"].append(rows)
        load.append(os.getloadavg()[0])
    labels = {
        "jax": "hybridflux fit (JAX)",
        "torch": f"PyTorch eager, {cores} threads",
        "torch1": "PyTorch eager, 1 thread",
        "floor": "context: JAX floor (scan alone)",
        "rows": "context: floor, row-major layers",
    }
    report(runs, labels, args, load, cores)


if __name__ == "__main__":
    main()
