"""The calibrate config, the shipped calibrate_q10 example, the hybrid case and the outputs."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from hybridflux.calibrate.config import (
    load_calibrate_config,
    parse_calibrate_config,
    run_calibration,
)
from hybridflux.calibrate.hybrid import PARAM_PREFIX, hybrid_spec, network_columns
from hybridflux.calibrate.likelihood import LearnedNoise, ObservedNoise, StudentT
from hybridflux.config import ConfigError
from hybridflux.hybrid.models import hybrid_q10
from hybridflux.runs.pipeline import Columns

ROOT = Path(__file__).resolve().parents[2]
Q10_CONFIG = ROOT / "configs" / "calibrate_q10.yaml"
DATA_DIR = ROOT / "configs" / "data"
TINY = (
    "inference.chains=2",
    "inference.samples=150",
    "inference.warmup=150",
    "output.predictive_draws=50",
    "output.r_hat_max=1.5",
)


def _raw(**changes) -> dict:
    raw = {
        "data": {"paths": ["sample:fr-pue-daily"]},
        "model": {"type": "q10_respiration"},
        "targets": {"RECO": "RECO_NT_VUT_REF"},
    }
    raw.update(changes)
    return raw


def test_shipped_config_validates_and_resolves_its_data():
    cfg = load_calibrate_config(Q10_CONFIG)
    assert cfg.data.paths == [str(DATA_DIR / "q10_synthetic_daily.csv")]
    assert cfg.model.type == "q10_respiration" and cfg.targets == {"RECO": "RECO_syn"}
    spec = cfg.model.build()
    assert float(jnp.exp(spec.priors["Rb"].loc)) == pytest.approx(2.0, rel=1e-4)
    assert cfg.inference.chains == 4 and cfg.likelihood.relative
    assert load_calibrate_config(Q10_CONFIG, ["inference.chains=2"]).inference.chains == 2


def test_shipped_data_file_is_what_its_script_makes():
    spec = importlib.util.spec_from_file_location(
        "make_q10", DATA_DIR / "make_q10_synthetic_daily.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.make_table() == (DATA_DIR / "q10_synthetic_daily.csv").read_text()
    assert (module.RB_TRUE, module.Q10_TRUE, module.NOISE) == (2.0, 1.5, 0.1)
    assert "CC-BY-4.0" in (DATA_DIR / "README.md").read_text() and "CC-BY-4.0" in module.__doc__


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"inference": {"chainz": 2}}, "inference.chainz: unknown key"),
        (
            {
                "model": {
                    "type": "q10_respiration",
                    "priors": {"E0": {"dist": "halfnormal", "scale": 1.0}},
                }
            },
            "priors for unknown parameters ['E0']",
        ),
        (
            {
                "model": {
                    "type": "q10_respiration",
                    "priors": {"Q10": {"dist": "uniform", "low": 1.0}},
                }
            },
            "missing ['high']",
        ),
        (
            {
                "model": {
                    "type": "q10_respiration",
                    "priors": {"Q10": {"dist": "halfnormal", "scale": 1.0, "loc": 2.0}},
                }
            },
            "not allowed ['loc']",
        ),
        ({"model": {"type": "gpp_only"}}, "model.type: one of"),
        ({"targets": {"NEE": "NEE_VUT_REF"}}, "targets ['NEE']: model q10_respiration outputs"),
        ({"likelihood": {"family": "cauchy"}}, "likelihood.family"),
        ({"output": {"quantiles": [0.97, 0.03]}}, "quantiles must be increasing"),
    ],
)
def test_bad_configs_name_the_key(changes, problem):
    with pytest.raises(ConfigError) as err:
        parse_calibrate_config(_raw(**changes))
    assert problem in str(err.value)


def test_missing_files_are_reported():
    with pytest.raises(FileNotFoundError, match="no such file"):
        parse_calibrate_config(_raw(data={"paths": ["nowhere.csv"]}), base=ROOT)
    with pytest.raises(FileNotFoundError, match="model.run"):
        parse_calibrate_config(_raw(model={"type": "hybrid", "run": "no_run"}), base=ROOT)


def test_likelihood_section_builds_the_noise_models():
    targets = {"NEE": "NEE_VUT_REF", "RECO": "RECO_syn"}
    auto = parse_calibrate_config(_raw()).likelihood
    lik = auto.build(["NEE_VUT_REF", "NEE_VUT_REF_RANDUNC", "RECO_syn"], targets)
    assert isinstance(lik.noise_of("NEE"), ObservedNoise)  # the RANDUNC column is there
    assert isinstance(lik.noise_of("RECO"), LearnedNoise)
    section = {
        "family": "student_t",
        "df": 3,
        "noise": "learned",
        "relative": True,
        "noise_prior": {"dist": "halfnormal", "scale": 0.2},
    }
    lik = parse_calibrate_config(_raw(likelihood=section)).likelihood.build(
        ["NEE_VUT_REF"], targets
    )
    assert lik.family == StudentT(3.0) and lik.noise_of("NEE").relative
    assert float(lik.noise_of("NEE").prior.scale) == pytest.approx(0.2)
    column = parse_calibrate_config(_raw(likelihood={"noise": "column"})).likelihood
    with pytest.raises(ConfigError, match="NEE_VUT_REF_RANDUNC"):
        column.build(["NEE_VUT_REF"], targets)


def test_tiny_run_of_the_shipped_config_writes_every_output(tmp_path):
    text = run_calibration(Q10_CONFIG, tmp_path, TINY)
    assert text.splitlines()[0].startswith("calibrated q10_respiration on 730 rows (1 site), NUTS")
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "config.yaml",
        "posterior.nc",
        "summary.csv",
        "predictive.nc",
        "diagnostics.json",
        "figures",
    } <= names
    table = pd.read_csv(tmp_path / "summary.csv", index_col="parameter")
    assert list(table.index) == ["Q10", "Rb", "sigma_RECO"]
    with xr.open_dataset(tmp_path / "posterior.nc") as post:
        assert post["Q10"].shape == (2, 150)
        assert float(post["Q10"].mean()) == pytest.approx(table.loc["Q10", "mean"], rel=1e-6)
    with xr.open_dataset(tmp_path / "predictive.nc") as pred:
        assert pred["RECO_predictive"].dims == ("quantile", "site", "time")
        assert pred.sizes["time"] == 730 and pred["quantile"].values.tolist()[0] == 0.03
    diagnostics = json.loads((tmp_path / "diagnostics.json").read_text())
    assert diagnostics["chains"] == 2 and diagnostics["settings"]["chain_method"] == "vectorized"
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert saved["inference"]["samples"] == 150
    figures = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert figures == ["pair.png", "predictive_RECO_q10_synthetic_daily.png", "trace.png"]


def test_hybrid_spec_reproduces_the_model_with_its_networks_fixed():
    model = hybrid_q10(q10_init=1.7, rngs=0)
    rng = np.random.default_rng(0)
    batch = {
        "TA_F": rng.uniform(0, 25, 50),
        "SW_POT_sm": rng.uniform(50, 350, 50),
        "SW_POT_sm_diff": rng.normal(0, 2, 50),
    }
    batch = {k: v.astype(np.float32) for k, v in batch.items()}
    model.set_normalization(batch)
    spec = hybrid_spec(model)
    assert sorted(spec.priors) == ["Q10"] and spec.fixed == ("Rb",)
    columns = Columns(batch, np.zeros(50, int), np.arange(50))
    drivers = {**batch, **network_columns(model, columns)}
    out = spec({"Q10": 1.7}, drivers)
    np.testing.assert_allclose(out["RECO"], model(batch)["RECO"], rtol=1e-5)
    # only Q10 changes: RECO scales as (Q10'/Q10) ** ((T − 15)/10), the network's Rb is fixed
    moved = spec({"Q10": 2.0}, drivers)["RECO"] / out["RECO"]
    np.testing.assert_allclose(moved, (2.0 / 1.7) ** ((batch["TA_F"] - 15.0) / 10.0), rtol=1e-4)
    assert PARAM_PREFIX + "Rb" in spec.drivers
    with pytest.raises(ValueError, match="not Global parameters"):
        hybrid_spec(model, {"Rb": None})


@pytest.mark.slow
def test_hybrid_calibration_of_a_trained_run(tmp_path):
    from hybridflux.calibrate.run import prepare
    from hybridflux.runs.apply import predict_from_run
    from hybridflux.runs.train import train_from_config
    from tests.runs.conftest import tiny

    run = tmp_path / "run"
    result = train_from_config(tiny(), run)
    raw = {
        "data": {"paths": ["sample:fr-pue-daily"], "period": ["2005-01-01", "2006-12-31"]},
        "model": {"type": "hybrid", "run": str(run)},
        "targets": {"RECO": "RECO_syn"},
        "inference": {"chains": 2, "samples": 200, "warmup": 200},
        "output": {"r_hat_max": 1.5, "figures": False},
    }
    path = tmp_path / "hybrid.yaml"
    path.write_text(yaml.safe_dump(raw))
    text = run_calibration(path, tmp_path / "out")
    assert "on 730 rows" in text
    with xr.open_dataset(tmp_path / "out" / "posterior.nc") as post:
        assert sorted(post.data_vars) == ["Q10", "sigma_RECO"]
    # with the trained Q10 the spec gives the run's own predictions on the same rows
    problem = prepare(load_calibrate_config(path))
    q10 = float(predict_from_run(run, ["sample:fr-pue-daily"])["Q10"])
    assert q10 == pytest.approx(result.metrics["parameters"]["q10"], rel=1e-6)
    ours = problem.spec({"Q10": q10}, problem.data.drivers)["RECO"]
    theirs = predict_from_run(run, ["sample:fr-pue-daily"])["RECO"].sel(time=problem.ds.time)
    expected = theirs.values[problem.columns.site, problem.columns.time]
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-5)


@pytest.mark.slow
def test_done_means_q10_posterior_contains_the_truth(tmp_path):
    """Issue 9: Rb = 2.0 and Q10 = 1.5 inside the 94 % intervals, r_hat ≤ 1.01, < 60 s."""
    start = time.perf_counter()
    run_calibration(Q10_CONFIG, tmp_path)
    wall = time.perf_counter() - start
    table = pd.read_csv(tmp_path / "summary.csv", index_col="parameter")
    for name, truth in (("Rb", 2.0), ("Q10", 1.5), ("sigma_RECO", 0.1)):
        assert table.loc[name, "hdi_3%"] < truth < table.loc[name, "hdi_97%"], name
        assert table.loc[name, "q3%"] < truth < table.loc[name, "q97%"], name
        assert table.loc[name, "r_hat"] <= 1.01, name
    assert json.loads((tmp_path / "diagnostics.json").read_text())["divergences"] == 0
    assert wall < 60.0
