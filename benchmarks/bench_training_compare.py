"""Benchmark: seconds per epoch of ``hybridflux.training.fit`` vs an idiomatic PyTorch eager loop.

Issue 4's target: training is ≥ 10× faster per epoch than an idiomatic PyTorch eager loop of the
same model, same data, same batch size, on the same machine. Both sides train the toy hybrid
model of ``bench_training_flat.py`` (2-16-16-1 tanh MLP → softplus Rb, times a learnable
Q10^((T − 15)/10); 338 parameters) on the same synthetic arrays (``_bench_data.synthetic``,
245,000 rows), Adam lr 1e-3, batch 1024 (240 steps per epoch), reshuffled every epoch:

- **JAX**: the real engine, ``hybridflux.training.fit`` (host-side row order, one jitted
  scan-fused epoch, statistics fetched to the host, history, between-epoch bookkeeping). An
  epoch's time is the wall time between two calls of its progress object, so everything
  ``fit`` does per epoch counts; the first (compiling) epoch is left out.
- **PyTorch**: ``bench_training_torch.py`` — ``torch.randperm`` per epoch and
  ``opt.zero_grad(); loss.backward(); opt.step()`` per batch, ``torch.set_num_threads`` set to
  the machine's cores; one warm-up epoch left out. Also timed with 1 thread: on a shared 2-core
  machine PyTorch's 2 threads slow down many times over as soon as another process runs, while
  1 thread barely does, so the headline ratio is taken against the faster PyTorch setting.

The sides alternate for ``--rounds`` rounds (so load drift hits all alike); each round times
``--epochs`` epochs of each. Prints the medians over all timed epochs and the ratios
PyTorch / JAX. Needs torch (``.venv/bin/pip install torch==2.13.0``).

Run from the repository root:  .venv/bin/python benchmarks/bench_training_compare.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import optax
import torch
from _bench_data import BATCH_SIZE, LEARNING_RATE, ROWS
from bench_training_flat import ToyQ10, masked_mse, synthetic
from bench_training_torch import time_epochs

from hybridflux.training.fit import fit


class EpochClock:
    """A ``fit`` progress object that records the wall time at the end of every epoch."""

    def start(self, total: int) -> None:
        self.stamps = [time.perf_counter()]

    def update(self, epoch: int, train_loss: float, val_loss: float | None = None) -> None:
        self.stamps.append(time.perf_counter())
        self.loss = train_loss

    def close(self) -> None:
        pass


def time_fit(data: dict, batch_size: int, epochs: int, seed: int) -> dict:
    """One ``fit`` of ``epochs + 1`` epochs; seconds of the epochs after the first."""
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
    seconds = [b - a for a, b in zip(clock.stamps, clock.stamps[1:], strict=False)]
    q10 = 1.0 + 2.0 * jax.nn.sigmoid(result.model.q10_z[...])
    return {"seconds": seconds[1:], "first_s": seconds[0], "loss": clock.loss, "q10": float(q10)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per round and side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    data, load = synthetic(args.rows), [os.getloadavg()[0]]
    runs: dict[str, list[dict]] = {"jax": [], "torch": [], "torch1": []}
    for r in range(args.rounds):
        runs["jax"].append(time_fit(data, args.batch_size, args.epochs, seed=r))
        for key, threads in (("torch", cores), ("torch1", 1)):
            torch.set_num_threads(threads)
            runs[key].append(time_epochs(args.rows, args.batch_size, args.epochs, seed=r))
        load.append(os.getloadavg()[0])
    med = {k: statistics.median(s for run in v for s in run["seconds"]) for k, v in runs.items()}
    n = args.rounds * args.epochs
    print(
        f"jax {jax.__version__} ({jax.devices()[0].platform}), torch {torch.__version__}; "
        f"{cores} CPUs ({platform.machine()}); load average {min(load):.2f}-{max(load):.2f}"
    )
    print(
        f"2-16-16-1 MLP + Q10, Adam: {args.rows} rows, batch {args.batch_size} "
        f"({-(-args.rows // args.batch_size)} steps/epoch); median of {n} epochs per side "
        f"({args.rounds} alternating rounds)"
    )
    labels = {
        "jax": "hybridflux fit (JAX)",
        "torch": f"PyTorch eager, {cores} threads",
        "torch1": "PyTorch eager, 1 thread",
    }
    for key, label in labels.items():
        label = label.ljust(max(map(len, labels.values())))
        last, ratio = runs[key][-1], med[key] / med["jax"]
        print(
            f"{label}: {med[key]:.4f} s/epoch = {ratio:5.1f}x JAX   (last round: loss "
            f"{last['loss']:.4f}, Q10 {last['q10']:.3f})"
        )
    best = min(med["torch"], med["torch1"])
    print(f"ratio faster PyTorch / JAX: {best / med['jax']:.1f}x (issue 4 target: >= 10x)")


if __name__ == "__main__":
    main()
