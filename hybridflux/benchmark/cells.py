"""Finished (model, scenario) cells of a benchmark, kept so that ``--resume`` loses nothing.

A benchmark is a grid of independent cells: every model trained and scored in every scenario,
each from the config's seed. After a cell is scored its results rows, per-site scores and
training time are written atomically to ``out/cells/<scenario>__<model>.json``. A run started
again with ``resume=True`` (``hybridflux benchmark CONFIG --out OUT --resume``) and the same
resolved config reads the finished cells instead of training them again, so it ends with the
files an uninterrupted run writes (the training times are those of the first run). Without
``resume`` the stored cells are cleared; with ``resume`` and another config in ``out`` the
run stops before it writes anything.

Example:
    >>> import tempfile
    >>> store = CellStore(Path(tempfile.mkdtemp()))
    >>> store.save("linear", "warm", [("linear", "warm", "GPP", "all", "rmse", 1.5)], [], 0.2)
    >>> rows, sites, seconds = store.load("linear", "warm")
    >>> rows, seconds
    ([('linear', 'warm', 'GPP', 'all', 'rmse', 1.5)], 0.2)
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd

from hybridflux.benchmark.config import BenchmarkConfig, dump_benchmark_config
from hybridflux.config import ConfigError
from hybridflux.runs.rundir import atomic_write_text

__all__ = ["CellStore", "start_cells"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class CellStore:
    """The folder of finished cells (one JSON file per model × scenario).

    Args:
        folder: ``out/cells``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, model: str, scenario: str) -> Path:
        name = f"{_UNSAFE.sub('_', scenario)}__{_UNSAFE.sub('_', model)}.json"
        return self.folder / name

    def load(
        self, model: str, scenario: str
    ) -> tuple[list[tuple], list[pd.DataFrame], float] | None:
        """``(rows, site_frames, seconds)`` of a finished cell, or None."""
        path = self._path(model, scenario)
        if not path.is_file():
            return None
        cell = json.loads(path.read_text())
        if (cell["model"], cell["scenario"]) != (model, scenario):
            return None  # two names that map to one file name: run the cell again
        frames = [
            pd.DataFrame.from_records(f["records"], columns=f["columns"]) for f in cell["sites"]
        ]
        return [tuple(r) for r in cell["rows"]], frames, float(cell["seconds"])

    def save(self, model: str, scenario: str, rows: list[tuple], site_frames: list[pd.DataFrame],
             seconds: float) -> None:  # fmt: skip
        """Write one finished cell atomically."""
        cell = {
            "model": model,
            "scenario": scenario,
            "rows": [list(r) for r in rows],
            "sites": [
                {"columns": list(f.columns), "records": f.to_dict("records")} for f in site_frames
            ],
            "seconds": seconds,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self._path(model, scenario), json.dumps(cell, default=_plain) + "\n")

    def count(self) -> int:
        """Number of stored cells."""
        return len(list(self.folder.glob("*.json"))) if self.folder.is_dir() else 0


def _plain(value):
    """numpy scalars → Python numbers for JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def start_cells(cfg: BenchmarkConfig, out: Path, resume: bool) -> CellStore:
    """Write ``out/config.yaml`` and return the cell store; on ``resume`` check the config.

    Raises:
        ConfigError: ``resume`` with a different resolved config in ``out``.
    """
    text, stored = dump_benchmark_config(cfg), out / "config.yaml"
    store = CellStore(out / "cells")
    if resume and stored.is_file() and stored.read_text() != text:
        raise ConfigError(
            str(stored),
            ["this folder holds a benchmark of another config; resume it with the same config "
             "and --set values, or start a new benchmark in another --out folder"],
        )  # fmt: skip
    if not resume:
        shutil.rmtree(store.folder, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stored, text)
    return store
