"""Shared helpers of the benchmark tests: the shipped config at a tiny size."""

from __future__ import annotations

from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "benchmark_monthly.yaml"

#: Overrides that make the shipped config tiny: the bundled 13-site sample, few epochs,
#: one ensemble member, few trees.
TINY = (
    "data.paths=[sample:monthly]",
    "train.epochs=3",
    "train.ensemble=1",
    "train.patience=0",
    "models.gbt.num_boost_round=20",
)
