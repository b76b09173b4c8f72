"""The ``hybridflux`` command: train/predict/evaluate on tiny configs, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
import yaml

from hybridflux.cli import EXIT_DIVERGED, EXIT_USER_ERROR, main

ROOT = Path(__file__).resolve().parents[1]
Q10 = str(ROOT / "configs" / "q10_synthetic.yaml")
TINY = ["--set", "train.epochs=2", "--set", "train.checkpoint_every=1",
        "--set", "output.figures=false"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", Q10, "--out", str(run), *TINY]) == 0
    return run


def test_train_writes_a_run_and_prints_the_scores(trained, capsys):
    assert (trained / "metrics.json").is_file() and (trained / "predictions.nc").is_file()
    assert yaml.safe_load((trained / "config.yaml").read_text())["train"]["epochs"] == 2


def test_train_refuses_an_existing_run_and_resumes_it(trained, capsys):
    assert main(["train", Q10, "--out", str(trained), *TINY]) == EXIT_USER_ERROR
    assert "--resume" in capsys.readouterr().err
    more = [*TINY, "--set", "train.epochs=3"]
    assert main(["train", Q10, "--out", str(trained), "--resume", *more]) == EXIT_USER_ERROR
    assert "train.epochs" in capsys.readouterr().err  # cosine schedule: epochs are fixed
    assert main(["train", Q10, "--out", str(trained), "--resume", *TINY]) == 0
    out = capsys.readouterr().out
    assert "resuming from epoch 2" in out and "RECO_syn" in out


def test_predict_writes_netcdf_on_site_time(trained, tmp_path, capsys):
    out = tmp_path / "pred.nc"
    assert main(["predict", str(trained), "--data", "sample:fr-pue-daily", "--out", str(out)]) == 0
    with xr.open_dataset(out) as pred:
        assert pred["RECO"].dims == ("site", "time") and "Rb" in pred and "Q10" in pred
        assert pred["RECO"].attrs["units"] == "gC m-2 d-1"
        with xr.open_dataset(trained / "predictions.nc") as train_pred:
            xr.testing.assert_allclose(pred["RECO"], train_pred["RECO"])
    assert str(out) in capsys.readouterr().out


def test_evaluate_scores_all_records(trained, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", str(trained), "--data", "sample:fr-pue-daily", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["splits"]["all"]["RECO"]["n"] > 5000
    assert (out / "predictions.nc").is_file() and (out / "figures" / "scatter_all.png").is_file()
    assert "RECO_syn" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "missing.yaml"], "config file not found"),
        (["train", Q10, "--set", "train.epochz=2"], "train.epochz: unknown key"),
        (["train", Q10, "--set", "data.paths=[nothing_*.csv]"], "no file matches"),
        (["predict", ".", "--data", "x.csv", "--out", "p.nc"], "not a run directory"),
        (["data", "inspect", "missing_DD.csv"], "missing_DD.csv"),
    ],
)
def test_user_errors_exit_2_with_one_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_bad_config_exits_2_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(Q10).read_text().replace("  batch_size: 128", "  batch_sise: 128"))
    proc = subprocess.run(
        [sys.executable, "-m", "hybridflux.cli", "train", str(bad), "--out", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == EXIT_USER_ERROR
    assert "train.batch_sise: unknown key; did you mean 'batch_size'?" in proc.stderr
    assert "train.batch_size: missing required key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_diverged_training_exits_3(tmp_path, capsys):
    argv = ["train", Q10, "--out", str(tmp_path), *TINY, "--set", "train.lr=1e30"]
    assert main(argv) == EXIT_DIVERGED
    assert "training diverged" in capsys.readouterr().err
