"""Benchmark peer: the issue-4 toy hybrid model trained by an idiomatic PyTorch eager loop.

The same model as ``bench_training_flat.py`` — a 2-16-16-1 tanh MLP predicting Rb with a
softplus head, times Q10^((T − 15)/10) with a learnable Q10 = 1 + 2·sigmoid(z) (338 trainable
scalars) — on the same synthetic arrays (``_bench_data.synthetic``, same numpy seed), Adam
(lr 1e-3), batch 1024, the rows reshuffled with ``torch.randperm`` every epoch, and the
textbook loop ``for xb, yb in batches: opt.zero_grad(); loss.backward(); opt.step()``.
``torch.set_num_threads`` is set to the machine's cores. Reports the median seconds per epoch
of ``--epochs`` epochs after one warm-up epoch.

PyTorch is an optional benchmark dependency, not a dependency of hybridflux:
``.venv/bin/pip install torch==2.13.0``.

Run from the repository root:  .venv/bin/python benchmarks/bench_training_torch.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from _bench_data import BATCH_SIZE, LEARNING_RATE, ROWS, T_REF, synthetic
from torch import nn


class TorchQ10(nn.Module):
    """2-16-16-1 tanh MLP for Rb(x1, x2) (softplus head) times a global Q10 = 1 + 2·sigmoid(z)."""

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
        )
        self.q10_z = nn.Parameter(torch.zeros(()))

    def q10(self) -> torch.Tensor:
        return 1.0 + 2.0 * torch.sigmoid(self.q10_z)

    def forward(self, x: torch.Tensor, ta: torch.Tensor) -> torch.Tensor:
        rb = nn.functional.softplus(self.mlp(x)).squeeze(-1)
        return rb * self.q10() ** ((ta - T_REF) / 10.0)


def tensors(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x (n, 2), TA (n,), RECO (n,))`` from the shared synthetic arrays."""
    cols = {name: torch.from_numpy(col) for name, col in synthetic(n).items()}
    return torch.stack([cols["x1"], cols["x2"]], dim=1), cols["TA"], cols["RECO"]


def train_epoch(model, opt, data, batch_size: int) -> float:
    """One epoch of the idiomatic eager loop; returns the mean batch loss."""
    x, ta, y = data
    perm = torch.randperm(y.shape[0])
    total, batches = torch.zeros(()), 0
    for start in range(0, y.shape[0], batch_size):
        idx = perm[start : start + batch_size]
        xb, tb, yb = x[idx], ta[idx], y[idx]
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(xb, tb), yb)
        loss.backward()
        opt.step()
        total += loss.detach()
        batches += 1
    return float(total) / batches


def time_epochs(n_rows: int, batch_size: int, epochs: int, seed: int = 0) -> dict:
    """Train a fresh model: one warm-up epoch, then ``epochs`` timed epochs.

    Returns:
        ``{"seconds": [...], "cpu_seconds": [...], "warmup_s": ..., "loss": last epoch's mean
        loss, "q10": ...}``: wall and CPU (``time.process_time``, all threads) seconds of each
        timed epoch.
    """
    torch.manual_seed(seed)
    data, model = tensors(n_rows), TorchQ10()
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    t0 = time.perf_counter()
    train_epoch(model, opt, data, batch_size)
    warmup, seconds, cpu_seconds = time.perf_counter() - t0, [], []
    for _ in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = train_epoch(model, opt, data, batch_size)
        seconds.append(time.perf_counter() - t0)
        cpu_seconds.append(time.process_time() - c0)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "warmup_s": warmup,
        "loss": loss,
        "q10": float(model.q10().detach()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    run = time_epochs(args.rows, args.batch_size, args.epochs)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"PyTorch eager: {statistics.median(run['seconds']):.4f} s/epoch (median of "
        f"{args.epochs} after a {run['warmup_s']:.2f} s warm-up epoch); last loss "
        f"{run['loss']:.4f}, Q10 {run['q10']:.3f}"
    )


if __name__ == "__main__":
    main()
