"""The whole workflow at test size (configs/emulator_tiny.yaml) and the speed-up benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridflux.emulator.run import run_emulator
from hybridflux.emulator.speedup import benchmark, r2_score, retime

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "emulator_tiny.yaml"


def test_r2_by_hand():
    truth, pred = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])
    assert r2_score(truth, pred) == pytest.approx(1 - 1 / 5.0)
    assert np.isnan(r2_score(np.ones(3), np.ones(3)))


def test_benchmark_reports_what_was_timed(tiny_data):
    from flax import nnx

    from hybridflux.emulator.models import EquilibriumEmulator, WindowedEmulator
    from hybridflux.emulator.train import equilibrium_inputs

    train, test = tiny_data[:2]
    n_static = train.theta.shape[1] + 1
    em = WindowedEmulator(n_static, 9, 4, hidden=(8,), rngs=nnx.Rngs(0))
    n_in = equilibrium_inputs(test.theta, test.drivers, test.lat).shape[-1]
    eq = EquilibriumEmulator(n_in, 9, hidden=(8,), rngs=nnx.Rngs(0))
    out = benchmark(eq, em, test, repeats=2)
    process = test.timing["spinup"] + test.timing["simulate_variant0"]
    assert out["speedup"] == pytest.approx(process / out["emulator_seconds"])
    assert out["cells"] == 1 and out["years"] == 1.0 and set(out["r2"]) >= {"GPP", "NEE", "maom"}
    assert "spin_up_cells" in out["timed"] and len(out["emulator_seconds_all_repeats"]) == 2


@pytest.mark.slow
def test_tiny_config_runs_end_to_end_and_resumes(tmp_path, capsys):
    from hybridflux.cli import main

    out = tmp_path / "run"
    assert main(["emulator", str(CONFIG), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    bench = json.loads((out / "emulator.json").read_text())
    for key in (
        "speedup",
        "process_model_seconds",
        "emulator_seconds",
        "cells",
        "years",
        "spinup_years",
        "r2",
    ):
        assert key in bench
    assert bench["cells"] == 2 and bench["years"] == 1.0
    frame = pd.read_csv(out / "sample_efficiency.csv")
    assert list(frame.columns) == ["n_train", "model", "rmse"]
    names = set(frame["model"])
    assert any("pretrained" in m for m in names) and any("scratch" in m for m in names)
    assert (out / "synthetic.zarr").is_dir() and (out / "models" / "emulator.npz").is_file()
    assert text.startswith("emulator speed-up")
    _check_resume(out, frame)


def _check_resume(out: Path, frame: pd.DataFrame) -> None:
    """An interrupted run (lost its last repeat and its results) resumes to the same table."""
    runs = pd.read_csv(out / "sample_efficiency_runs.csv")
    runs.iloc[:-3].to_csv(out / "sample_efficiency_runs.csv", index=False)  # last repeat lost
    (out / "sample_efficiency.csv").unlink()
    stamp = (out / "synthetic.zarr" / ".zattrs").stat().st_mtime_ns
    ckpt = sorted((out / "checkpoints" / "emulator").glob("*.npz"))
    assert ckpt, "pretraining leaves a checkpoint to resume from"
    run_emulator(CONFIG, out, resume=True)
    assert (out / "synthetic.zarr" / ".zattrs").stat().st_mtime_ns == stamp  # not regenerated
    again = pd.read_csv(out / "sample_efficiency.csv")
    pd.testing.assert_frame_equal(again, frame)
    with pytest.raises(Exception, match="another config"):
        run_emulator(CONFIG, out, ["finetune.epochs=7"], resume=True)
    again = retime(out, repeats=2)  # the held-out cells timed once more, back to back
    assert again["cells"] == 2 and again["years"] == 1.0 and again["speedup"] > 0
    assert again["spinup_years"] == json.loads((out / "emulator.json").read_text())["spinup_years"]


def test_bad_driver_data_fail_before_anything_is_written(tmp_path):
    from hybridflux.data import DataError, sample_path
    from hybridflux.emulator.config import load_emulator_config
    from hybridflux.emulator.run import run_workflow

    source = sample_path("fr-pue-daily")
    frame = pd.read_csv(source).drop(columns=["TA_F_MDS"])
    path = tmp_path / source.name
    frame.to_csv(path, index=False)
    cfg = load_emulator_config(CONFIG, [f"data.sites=[{path}]"])
    with pytest.raises(DataError, match="TA_F"):
        run_workflow(cfg, tmp_path / "out")
    assert not (tmp_path / "out").exists()
