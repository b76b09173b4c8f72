"""An interrupted benchmark, resumed, ends with the files of an uninterrupted one."""

from __future__ import annotations

import pandas as pd
import pytest

import hybridflux.benchmark.loop as loop
from hybridflux.benchmark.config import load_benchmark_config
from hybridflux.benchmark.run import benchmark
from hybridflux.config import ConfigError

from .conftest import CONFIG, TINY

SMALL = (
    *TINY,
    "output.figures=false",
    "scenarios={temporal: {kind: temporal, test_fraction: 0.3}, warm: {kind: temperature}}",
    "models={linear: {type: linear}, mlp: {type: mlp, hidden: [4]}, gbt: {type: gradient_boosting, "
    "num_boost_round: 10}}",
)


def _results(out):
    frame = pd.read_csv(out / "results.csv")
    return frame, pd.read_csv(out / "sites.csv")


def test_killed_benchmark_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    cfg = load_benchmark_config(CONFIG, SMALL)
    benchmark(cfg, tmp_path / "whole", progress=False)
    calls, fit_predict = [], loop._fit_predict

    def dies_at_the_fourth(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 4:
            raise KeyboardInterrupt  # the run is killed while training its fourth cell
        return fit_predict(*args, **kwargs)

    monkeypatch.setattr(loop, "_fit_predict", dies_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        benchmark(cfg, tmp_path / "cut", progress=False)
    assert len(list((tmp_path / "cut" / "cells").glob("*.json"))) == 3
    assert not (tmp_path / "cut" / "results.csv").exists()
    trained, messages = [], []
    monkeypatch.setattr(
        loop, "_fit_predict", lambda *a, **k: trained.append(a[1]) or fit_predict(*a, **k)
    )
    benchmark(cfg, tmp_path / "cut", progress=False, resume=True, log=messages.append)
    assert sorted(trained) == ["gbt", "linear", "mlp"]  # only the cells of scenario warm ran
    assert "resuming: 3 of 6 cells done" in messages
    for whole, resumed in zip(
        _results(tmp_path / "whole"), _results(tmp_path / "cut"), strict=True
    ):
        pd.testing.assert_frame_equal(whole, resumed)


def test_resume_with_another_config_stops_before_writing(tmp_path):
    cfg = load_benchmark_config(CONFIG, [*SMALL, "models={linear: {type: linear}}"])
    benchmark(cfg, tmp_path, progress=False)
    before = (tmp_path / "config.yaml").read_text()
    other = load_benchmark_config(CONFIG, [*SMALL, "models={linear: {type: linear}}", "seed=3"])
    with pytest.raises(ConfigError, match="benchmark of another config"):
        benchmark(other, tmp_path, progress=False, resume=True)
    assert (tmp_path / "config.yaml").read_text() == before
    benchmark(other, tmp_path, progress=False)  # without --resume: a new benchmark, cells cleared
    assert (tmp_path / "config.yaml").read_text() != before
