"""The demo: tiny by default in the tests, the full-size quality check marked slow."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hybridflux.config import load_config
from hybridflux.demo import demo_config, run_demo
from hybridflux.runs.rundir import RunDirError

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_config_is_configs_demo_yaml():
    assert demo_config() == load_config(ROOT / "configs" / "demo.yaml")


def test_a_tiny_demo_prints_the_table_and_writes_a_run(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRIDFLUX_TINY", "1")
    text = run_demo(tmp_path / "demo")
    for word in ("NEE_VUT_REF", "GPP_NT_VUT_REF", "RECO_NT_VUT_REF", "q10 =", "2011, 2012"):
        assert word in text
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert metrics["training"]["epochs_run"] == 3
    assert set(metrics["splits"]["test"]) == {"NEE", "GPP", "RECO"}
    assert (tmp_path / "demo" / "figures" / "timeseries_FR-Pue.png").is_file()
    run_demo(tmp_path / "demo")  # a second demo replaces the first


def test_the_demo_refuses_a_folder_holding_another_run(tmp_path):
    from hybridflux.runs.train import train_from_config

    other = load_config(ROOT / "configs" / "q10_synthetic.yaml",
                        ["train.epochs=1", "output.figures=false"])  # fmt: skip
    train_from_config(other, tmp_path)
    with pytest.raises(RunDirError, match="not a demo"):
        run_demo(tmp_path, tiny=True)


@pytest.mark.slow
def test_the_full_demo_meets_its_targets(tmp_path):
    """Issue 4: under 2 minutes (2 CPU cores, JIT included), test-year NEE r² ≥ 0.5."""
    t0 = time.perf_counter()
    run_demo(tmp_path, tiny=False)
    seconds = time.perf_counter() - t0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["splits"]["test"]["NEE"]["r2"] >= 0.5
    assert seconds < 120
