"""A finished run applied to other data: predictions without targets, scores with them."""

from __future__ import annotations

import numpy as np
import pytest

from hybridflux.data import load_sample
from hybridflux.demo import demo_config
from hybridflux.runs.apply import evaluate_from_run, predict_from_run
from hybridflux.runs.train import train_from_config


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    cfg = demo_config(["train.epochs=2", "output.figures=false"])
    return train_from_config(cfg, tmp_path_factory.mktemp("demo") / "run")


def test_predict_needs_only_the_drivers(demo_run, tmp_path):
    drivers = load_sample("fr-pue-daily").drop_vars(
        ["NEE_VUT_REF", "NEE_VUT_REF_QC", "GPP_NT_VUT_REF", "GPP_DT_VUT_REF", "RECO_NT_VUT_REF"]
    )
    path = tmp_path / "drivers.nc"
    drivers.to_netcdf(path)
    pred = predict_from_run(demo_run.run_dir, [str(path)])
    assert pred["NEE"].attrs["units"] == "gC m-2 d-1"  # from the run: the data have no NEE
    assert "split" not in pred and pred["Q10"].ndim == 0
    # same model, same drivers: the training run's predictions on its period
    period = demo_run.predictions["time"].values
    assert pred.sizes["time"] > period.size  # all of 2000-2014, not the config's period
    np.testing.assert_allclose(
        pred["NEE"].sel(time=period).values, demo_run.predictions["NEE"].values, rtol=1e-5
    )
    np.testing.assert_allclose(
        pred["GPP"].values, pred["RECO"].values - pred["NEE"].values, rtol=1e-4, atol=1e-5
    )


def test_evaluate_scores_every_record_of_the_new_data(demo_run, tmp_path):
    metrics = evaluate_from_run(demo_run.run_dir, ["sample:fr-pue-daily"], tmp_path / "ev")
    n_train = sum(demo_run.metrics["splits"][p]["NEE"]["n"] for p in ("train", "val", "test"))
    # the config's period (2000-2012) selects training data only: 2013-2014 are scored too
    assert n_train + 600 < metrics["splits"]["all"]["NEE"]["n"] < n_train + 730
    assert set(metrics["splits"]["all"]) == {"NEE", "GPP", "RECO"}
    assert metrics["parameters"]["q10"] == pytest.approx(demo_run.metrics["parameters"]["q10"])
    assert (tmp_path / "ev" / "metrics.json").is_file()
