"""The shipped benchmark config at a tiny size: files, schema, and numbers checked by hand."""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import pytest

from hybridflux.benchmark.config import load_benchmark_config
from hybridflux.benchmark.report import COLUMNS
from hybridflux.benchmark.run import benchmark, run_benchmark
from hybridflux.benchmark.scenarios import make_scenario
from hybridflux.config import ConfigError
from hybridflux.data import apply_qc, load_sample

from .conftest import CONFIG, TINY

SCALES = ["monthly", "seasonal_cycle", "anomalies", "interannual", "site_mean"]
STATISTICS = {
    "rmse_median",
    "rmse_q90",
    "r2_median",
    "r2_q10",
    "bias_median",
    "abs_bias_q90",
    "n_sites",
    "rmse_across_sites",
    "r2_across_sites",
    "skill",
    "skill_q90",
}
ONE_SCENARIO = "scenarios={temporal: {kind: temporal, test_fraction: 0.3}}"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    text = run_benchmark(CONFIG, out, [*TINY, ONE_SCENARIO], progress=False)
    return out, text


def test_outputs_and_results_schema(tiny_run):
    out, text = tiny_run
    results = pd.read_csv(out / "results.csv")
    assert tuple(results.columns) == COLUMNS
    assert set(results["statistic"]) <= STATISTICS
    models = list(load_benchmark_config(CONFIG, TINY).models)
    assert {"linear", "gbt", "mlp", "process", "hybrid_lue_q10", "tamrl"} <= set(models)
    rmse = results[results["statistic"] == "rmse_median"]
    for model in models:
        for scenario in ("temporal",):
            for target in ("GPP", "RECO", "NEE"):
                rows = rmse[
                    (rmse["model"] == model)
                    & (rmse["scenario"] == scenario)
                    & (rmse["target"] == target)
                ]
                assert sorted(rows["scale"]) == sorted(SCALES), (model, scenario, target)
                assert np.isfinite(rows["value"]).all()
    skill = results[(results["statistic"] == "skill") & (results["model"] == "linear")]
    assert np.allclose(skill["value"], 0.0)
    overall = results[results["scenario"] == "all"]
    assert set(overall["scale"]) == {"all"} and len(overall) == len(models) * 3 * 2  # 2 skills
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# hybridflux benchmark: benchmark_monthly")
    assert "- Command: `hybridflux benchmark" in summary and "**" in summary
    assert "Skill against linear" in text
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"skill_heatmap.png", "site_rmse_GPP.png", "site_map_NEE.png"} <= figures
    sites = pd.read_csv(out / "sites.csv")
    assert list(sites.columns[:9]) == [
        "model",
        "scenario",
        "target",
        "scale",
        "site",
        "rmse",
        "r2",
        "bias",
        "n",
    ]


def test_linear_numbers_match_a_computation_by_hand(tiny_run):
    """Linear regression in the temporal scenario, redone with pandas and numpy."""
    out, _ = tiny_run
    results = pd.read_csv(out / "results.csv")
    ds = load_sample("monthly")
    qc = apply_qc(ds)  # NEE and GPP_NT keep months with >= 50 % good NEE records
    cfg = load_benchmark_config(CONFIG, [*TINY, ONE_SCENARIO])
    split = make_scenario(ds, **cfg.scenario_options("temporal"))
    frame = pd.DataFrame(
        {
            "site": np.repeat(ds["site"].values, ds.sizes["time"]),
            "time": np.tile(ds["time"].values, ds.sizes["site"]),
            "igbp": np.repeat(ds["igbp"].values, ds.sizes["time"]),
            "train": split.train.ravel(),
            "test": split.test.ravel(),
            **{v: ds[v].values.ravel() for v in ["TA_F", "SW_IN_F", "VPD_F", "P_F", "LAI", "EVI"]},
            **{v: qc[v].values.ravel() for v in ["GPP_NT_VUT_REF", "NEE_VUT_REF"]},
            "RECO": ds["RECO"].values.ravel(),
        }
    )
    targets = ["GPP_NT_VUT_REF", "RECO", "NEE_VUT_REF"]
    frame = frame.dropna(subset=["TA_F", "SW_IN_F", "VPD_F", "P_F", "LAI", "EVI", *targets])
    x = pd.concat(
        [
            frame[["TA_F", "SW_IN_F", "VPD_F", "P_F", "LAI", "EVI"]],
            pd.get_dummies(frame["igbp"], dtype=float),
        ],
        axis=1,
    ).to_numpy()
    design = np.column_stack([np.ones(len(x)), x])
    train, test = frame["train"].to_numpy(), frame["test"].to_numpy()
    for target, column in (("GPP", "GPP_NT_VUT_REF"), ("NEE", "NEE_VUT_REF")):
        coef = np.linalg.lstsq(design[train], frame[column].to_numpy()[train], rcond=None)[0]
        err = pd.Series(design[test] @ coef - frame[column].to_numpy()[test])
        per_site = np.sqrt((err**2).groupby(frame["site"].to_numpy()[test]).mean())
        rows = results[
            (results["model"] == "linear")
            & (results["scenario"] == "temporal")
            & (results["target"] == target)
            & (results["scale"] == "monthly")
        ]
        got = rows.set_index("statistic")["value"]
        assert got["rmse_median"] == pytest.approx(np.median(per_site), rel=1e-4)
        assert got["rmse_q90"] == pytest.approx(np.quantile(per_site, 0.9), rel=1e-4)
        assert got["n_sites"] == len(per_site)


def test_missing_lightgbm_skips_the_model_with_a_message(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_lightgbm(name, *args, **kwargs):
        if name == "lightgbm":
            raise ImportError("No module named 'lightgbm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lightgbm)
    overrides = [
        *TINY,
        "scenarios={t: {kind: temporal}}",
        "models={linear: {type: linear}, gbt: {type: gradient_boosting}}",
    ]
    run_benchmark(CONFIG, tmp_path, overrides, progress=False)
    assert "model gbt skipped: gradient_boosting needs LightGBM" in capsys.readouterr().err
    results = pd.read_csv(tmp_path / "results.csv")
    assert set(results["model"]) == {"linear"}
    assert "skipped: gradient_boosting needs LightGBM" in (tmp_path / "summary.md").read_text()


def test_config_problems_are_reported_before_training(tmp_path):
    with pytest.raises(ConfigError, match="reference: 'ols' is not a model"):
        load_benchmark_config(CONFIG, [*TINY, "reference=ols"])
    cfg = load_benchmark_config(CONFIG, [*TINY, "scales=[weekly]"])
    with pytest.raises(ConfigError, match="do not apply to time step MM"):
        benchmark(cfg, tmp_path, progress=False)
    cfg = load_benchmark_config(CONFIG, [*TINY, "models.process.lai=FPAR"])
    with pytest.raises(ConfigError, match="models.process"):
        benchmark(cfg, tmp_path, progress=False)
    assert not (tmp_path / "results.csv").exists()


def test_overrides_keep_the_order_of_the_tables():
    cfg = load_benchmark_config(CONFIG, list(TINY))
    assert list(cfg.targets) == ["GPP", "RECO", "NEE"]
    assert list(cfg.scenarios)[:2] == ["temporal", "spatial_random"]
    assert list(cfg.models)[0] == "linear"


@pytest.mark.slow
def test_the_whole_shipped_config_at_a_tiny_size(tmp_path):
    run_benchmark(CONFIG, tmp_path, list(TINY), progress=False)
    results = pd.read_csv(tmp_path / "results.csv")
    assert set(results["scenario"]) == {
        "all",
        "temporal",
        "spatial_random",
        "spatial_igbp",
        "spatial_climate",
        "temperature",
    }
    assert results.query("statistic == 'rmse_median'")["value"].notna().all()
    n_models = len(load_benchmark_config(CONFIG, TINY).models)  # 7 with TAM-RL
    assert len(results.query("statistic == 'rmse_median'")) == n_models * 5 * 3 * len(SCALES)
