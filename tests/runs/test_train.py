"""train_from_config: complete run directories, exact resume, Q10 recovery, config errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from flax import nnx

from hybridflux.config import ConfigError, load_config
from hybridflux.runs.train import train_from_config

from .conftest import CONFIG_DIR, Q10, tiny

# The shipped training configs on the bundled FR-Pue sample; every file in configs/ is checked
# by its own command's loader in tests/test_shipped_configs.py.
SHIPPED = [
    CONFIG_DIR / name for name in ("demo.yaml", "nee_partition_daily.yaml", "q10_synthetic.yaml")
]


class _Recorder:
    """A progress reporter that records the epochs run and can interrupt (a crash)."""

    def __init__(self, stop_at: int | None = None):
        self.stop_at = stop_at
        self.epochs: list[int] = []

    def start(self, total):
        pass

    def update(self, epoch, train_loss, val_loss=None):
        self.epochs.append(epoch)
        if epoch == self.stop_at:
            raise KeyboardInterrupt

    def close(self):
        pass


def _state(model) -> list[np.ndarray]:
    return [np.asarray(v[...]) for _, v in nnx.to_flat_state(nnx.state(model))]


def _same_run(a, b) -> None:
    """Bit-identical parameters, predictions and scores (timing aside)."""
    for x, y in zip(_state(a.models[0]), _state(b.models[0]), strict=True):
        np.testing.assert_array_equal(x, y)
    xr.testing.assert_identical(a.predictions, b.predictions)
    for key in ("splits", "sites", "parameters"):
        assert a.metrics[key] == b.metrics[key], key
    np.testing.assert_array_equal(a.history["train_loss"], b.history["train_loss"])


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_runs_tiny_and_writes_a_complete_run(path, tmp_path):
    cfg = tiny(path, "output.figures=true")
    result = train_from_config(cfg, tmp_path / "run")
    run = tmp_path / "run"
    assert load_config(run / "config.yaml") == result.config
    # the resolved config: optional covariates the FR-Pue sample lacks (SWC, TS) are left out
    assert result.config == cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"optional_covariates": {}})}
    )
    metrics = json.loads((run / "metrics.json").read_text())
    for output in cfg.targets:
        assert set(metrics["splits"]["test"][output]) == {"rmse", "r2", "bias", "n"}
        assert metrics["splits"]["test"][output]["n"] > 100
    assert "q10" in metrics["parameters"] and metrics["timing"]["total_s"] > 0
    assert (run / "checkpoints" / "epoch_000002.npz").is_file()
    assert (run / "checkpoints" / "model.npz").is_file()
    with xr.open_dataset(run / "predictions.nc") as pred:
        assert pred[next(iter(cfg.targets))].dims == ("site", "time")
        assert np.issubdtype(pred["time"].dtype, np.datetime64)
        assert pred["site"].values.tolist() == ["FR-Pue"]
        units = pred[next(iter(cfg.targets))].attrs["units"]
    assert units == "gC m-2 d-1"
    figures = {p.name for p in (run / "figures").glob("*.png") if p.stat().st_size > 1000}
    assert {"scatter_test.png", "timeseries_FR-Pue.png", "responses.png", "loss.png"} <= figures
    assert result.metrics["splits"] == metrics["splits"]


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path):
    cfg = tiny(Q10, "train.epochs=6")  # cosine schedule, validation part, every epoch saved
    whole = train_from_config(cfg, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        train_from_config(cfg, tmp_path / "cut", progress=_Recorder(stop_at=3))
    messages, recorder = [], _Recorder()
    resumed = train_from_config(
        cfg, tmp_path / "cut", resume=True, log=messages.append, progress=recorder
    )
    assert messages == ["resuming from epoch 3"] and resumed.resumed_from == 3
    assert recorder.epochs == [4, 5, 6]  # continued, not restarted
    _same_run(whole, resumed)


def test_more_epochs_on_resume_equal_one_long_run(tmp_path):
    constant = ["train.lr_schedule=constant", "split.val_fraction=0.1", "train.patience=2"]
    long = train_from_config(tiny(Q10, *constant, "train.epochs=4"), tmp_path / "long")
    train_from_config(tiny(Q10, *constant), tmp_path / "short")
    recorder = _Recorder()
    more = train_from_config(tiny(Q10, *constant, "train.epochs=4"), tmp_path / "short",
                             resume=True, progress=recorder)  # fmt: skip
    assert more.resumed_from == 2 and recorder.epochs == [3, 4]
    assert more.metrics["training"]["epochs_run"] == 4
    _same_run(long, more)


def test_the_q10_experiment_recovers_q10_on_unseen_years(tmp_path):
    cfg = load_config(Q10, ["output.figures=false"])  # the shipped config, full size
    result = train_from_config(cfg, tmp_path)
    assert result.metrics["parameters"]["q10"] == pytest.approx(1.5, abs=0.02)
    test = result.metrics["splits"]["test"]
    assert test["RECO"]["r2"] > 0.99 and test["Rb"]["r2"] > 0.95
    assert result.metrics["training"]["epochs_run"] == cfg.train.epochs


def test_an_ensemble_predicts_the_member_mean(tmp_path):
    result = train_from_config(tiny(Q10, "train.ensemble=2"), tmp_path)
    assert len(result.models) == 2
    q10s = [float(m.sources["Q10"].value) for m in result.models]
    assert q10s[0] != q10s[1]
    assert result.metrics["parameters"]["q10"] == pytest.approx(np.mean(q10s), rel=1e-6)


def test_config_errors_found_before_training(tmp_path):
    with pytest.raises(ConfigError, match="targets.NEE: the model hybrid_q10 has no output"):
        train_from_config(tiny(Q10, "targets={NEE: NEE_VUT_REF}"), tmp_path / "a")
    with pytest.raises(ConfigError, match="train.patience"):
        train_from_config(tiny(Q10, "train.patience=3", "split.val_fraction=0"), tmp_path / "b")
    assert not (tmp_path / "a" / "checkpoints").exists()


def test_optional_covariates_are_used_when_the_data_have_them(tmp_path):
    partition = CONFIG_DIR / "nee_partition_daily.yaml"
    opt = "model.optional_covariates={gpp_covariates: [LAI, SWC_F_MDS_1], rb_covariates: [FPAR]}"
    cfg = tiny(partition, opt, "train.ensemble=1")
    result = train_from_config(cfg, tmp_path / "run")
    model = result.config.model
    assert model.gpp_covariates[-1] == "LAI" and "SWC_F_MDS_1" not in model.gpp_covariates
    assert model.rb_covariates[-1] == "FPAR" and model.optional_covariates == {}
    stored = load_config(tmp_path / "run" / "config.yaml")
    assert stored.model.gpp_covariates == model.gpp_covariates
    assert "LAI" in result.models[0].inputs and "FPAR" in result.models[0].inputs
    resumed = train_from_config(cfg, tmp_path / "run", resume=True)  # same resolution
    assert resumed.config.model == model


def test_an_optional_covariate_with_gaps_is_left_out():
    from hybridflux.data import load_sample
    from hybridflux.runs.build import OPTIONAL_COVERAGE, with_optional_covariates

    ds = load_sample("fr-pue-daily")
    records = np.flatnonzero(np.isfinite(ds["NEE_VUT_REF"].values[0]))
    cut = int((1 - OPTIONAL_COVERAGE) * records.size) + 2  # just over the allowed gaps
    lai = ds["LAI"].values.copy()
    lai[0, records[:cut]] = np.nan
    cfg = tiny(CONFIG_DIR / "nee_partition_daily.yaml",
               "model.optional_covariates={gpp_covariates: [LAI]}")  # fmt: skip
    assert "LAI" in with_optional_covariates(cfg, ds).model.gpp_covariates
    gappy = ds.assign(LAI=(ds["LAI"].dims, lai))
    assert "LAI" not in with_optional_covariates(cfg, gappy).model.gpp_covariates
    with pytest.raises(ConfigError, match="not covariate lists of this model"):
        tiny(CONFIG_DIR / "nee_partition_daily.yaml", "model.optional_covariates={hidden: [LAI]}")
