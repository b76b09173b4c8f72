"""Shared helpers of the run tests: the shipped configs at tiny sizes."""

from __future__ import annotations

from pathlib import Path

from hybridflux.config import Config, load_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
Q10 = CONFIG_DIR / "q10_synthetic.yaml"


def tiny(path: Path = Q10, *overrides: str) -> Config:
    """A shipped config at a tiny size: 2 epochs, a checkpoint every epoch, no figures."""
    base = ["train.epochs=2", "train.checkpoint_every=1", "output.figures=false"]
    return load_config(path, [*base, *overrides])
