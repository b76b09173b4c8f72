"""Baselines and benchmark entries: each learns what it should, errors name what is wrong."""

from __future__ import annotations

import builtins
import importlib.util

import numpy as np
import pytest

from hybridflux.benchmark.baselines import (
    GradientBoosting,
    LinearRegression,
    MLPRegression,
    ProcessModel,
)
from hybridflux.benchmark.config import ENTRY_SECTIONS, parse_benchmark_config
from hybridflux.benchmark.inputs import prepare_data, scenario_groups
from hybridflux.benchmark.models import (
    BuildContext,
    FitOptions,
    HybridEntry,
    MissingDependency,
    build_model,
)
from hybridflux.config import ConfigError
from hybridflux.config.sections import _MODEL_SECTIONS
from hybridflux.data import load_sample

HAS_LIGHTGBM = importlib.util.find_spec("lightgbm") is not None


def _context(names, targets, **train):
    return BuildContext({n: (n,) for n in names}, targets, 0, FitOptions(**train))


def test_linear_regression_recovers_the_coefficients():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(5, 2, 200), rng.uniform(0, 100, 200)
    y = 1.0 + 2.0 * x1 - 0.03 * x2
    y_nan = y.copy()
    y_nan[::7] = np.nan  # rows without the target are left out
    model = LinearRegression(_context(["a", "b"], {"Y": "y"}))
    model.fit({"a": x1, "b": x2, "y": y_nan}, None)
    new = {"a": np.array([0.0, 1.0]), "b": np.array([0.0, 10.0])}
    np.testing.assert_allclose(model.predict(new)["Y"], [1.0, 2.7], atol=1e-9)


@pytest.mark.skipif(not HAS_LIGHTGBM, reason="lightgbm is not installed")
def test_gradient_boosting_learns_a_step_that_a_line_cannot():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 2000)
    y = np.where(x > 0.2, 3.0, -1.0)
    data, val = {"x": x, "y": y}, {"x": x[:300], "y": y[:300]}
    ctx = _context(["x"], {"Y": "y"})
    trees = GradientBoosting(ctx, num_boost_round=200, early_stopping_rounds=20)
    trees.fit(data, val)
    line = LinearRegression(ctx)
    line.fit(data, None)
    test = np.array([-0.5, 0.1, 0.3, 0.9])
    err_trees = np.abs(trees.predict({"x": test})["Y"] - np.where(test > 0.2, 3.0, -1.0))
    err_line = np.abs(line.predict({"x": test})["Y"] - np.where(test > 0.2, 3.0, -1.0))
    assert err_trees.max() < 0.05 < err_line.min()


def test_gradient_boosting_without_lightgbm_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_lightgbm(name, *args, **kwargs):
        if name == "lightgbm":
            raise ImportError("No module named 'lightgbm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_lightgbm)
    with pytest.raises(MissingDependency, match="pip install lightgbm"):
        GradientBoosting(_context(["x"], {"Y": "y"}))


def test_mlp_learns_a_nonlinear_function():
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, 512).astype(np.float32)
    data = {"x": x, "y": np.sin(2 * x), "z": x**2}
    ctx = _context(["x"], {"Y": "y", "Z": "z"}, epochs=150, lr=0.01, batch_size=64)
    model = MLPRegression(ctx, hidden=(16,))
    model.fit(data, None)
    pred = model.predict({"x": x})
    assert np.sqrt(np.mean((pred["Y"] - np.sin(2 * x)) ** 2)) < 0.1
    assert np.sqrt(np.mean((pred["Z"] - x**2) ** 2)) < 0.15


def test_process_model_recovers_its_global_parameters():
    rng = np.random.default_rng(3)
    n = 1500
    sw, ta, lai = rng.uniform(20, 320, n), rng.uniform(-5, 28, n), rng.uniform(0.2, 6, n)
    eps, rb, q10 = 1.3, 2.5, 1.8
    # GPP = eps * fAPAR(LAI) * PAR: fAPAR = 1 - exp(-0.5 LAI), PAR = 0.5 SW (W m-2) -> MJ m-2 d-1
    gpp = eps * (1 - np.exp(-0.5 * lai)) * 0.5 * sw * 0.0864
    reco = rb * q10 ** ((ta - 15) / 10)
    data = {"SW_IN_F": sw, "TA_F": ta, "LAI": lai, "g": gpp, "r": reco, "n": reco - gpp}
    ctx = _context(["SW_IN_F", "TA_F", "LAI"], {"GPP": "g", "RECO": "r", "NEE": "n"})
    model = ProcessModel(ctx, train=FitOptions(epochs=150, lr=0.05))
    model.fit(data, None)
    values = {k: float(s.value) for k, s in model.models[0].sources.items()}
    assert values == pytest.approx({"eps": eps, "Rb": rb, "Q10": q10}, rel=0.02)


def test_hybrid_entry_expands_categorical_inputs_and_rejects_foreign_columns():
    inputs = ["TA_F", "SW_IN_F", "VPD_F", "PFT"]
    data = prepare_data(load_sample("monthly"), {"GPP": "GPP_NT_VUT_REF"}, inputs, {"PFT": "igbp"})
    ctx = BuildContext(data.groups, data.targets)

    def lue(**kw):
        return _MODEL_SECTIONS["lue_q10_nee"](rb_covariates=["SW_IN_F", "VPD_F"], **kw)

    entry = HybridEntry(ctx, model=lue(type="lue_q10_nee", gpp_covariates=["TA_F", "PFT"]))
    probe = entry._make(0)
    assert [c for c in probe.inputs if c.startswith("PFT_")] == list(data.groups["PFT"])
    assert entry.outputs == {"GPP": "GPP"}
    with pytest.raises(ValueError, match="not benchmark inputs"):
        HybridEntry(ctx, model=lue(type="lue_q10_nee", gpp_covariates=["TA_F", "LAI"]))
    train = np.zeros(data.usable.shape, bool)
    train[:2] = True  # two grassland sites: no class varies, every PFT column dropped
    narrow = BuildContext(scenario_groups(data, train), data.targets)
    probe = HybridEntry(narrow, model=lue(type="lue_q10_nee", gpp_covariates=["TA_F", "PFT"]))
    assert not [c for c in probe._make(0).inputs if c.startswith("PFT_")]


def test_training_options_merge_in_order():
    ctx = BuildContext({"x": ("x",)}, {"Y": "y"}, 0, FitOptions(epochs=7, lr=0.1))
    merged = ctx.options(FitOptions(lr=0.5, clip_norm=None), {"epochs": 1, "lr": 1.0, "x": 2})
    assert merged == {"epochs": 7, "lr": 0.5, "x": 2}


def test_entries_are_generated_from_the_class_signatures():
    assert set(ENTRY_SECTIONS["gradient_boosting"].model_fields) >= {"num_leaves", "type"}
    raw = {
        "data": {"paths": ["sample:monthly"]},
        "targets": {"GPP": "GPP_NT_VUT_REF"},
        "inputs": ["TA_F"],
        "scenarios": {"t": {"kind": "temporal"}},
        "models": {"linear": {"type": "linear"}, "m": {"type": "mlp", "hiden": [3]}},
    }
    with pytest.raises(ConfigError) as err:
        parse_benchmark_config(raw)
    assert err.value.problems == ["models.m.hiden: unknown key"]
    raw["models"]["m"] = {"type": "svm"}
    with pytest.raises(ConfigError, match="unknown or missing model type 'svm'"):
        parse_benchmark_config(raw)
    raw["models"]["m"] = {"type": "hybrid", "model": {"type": "hybrid_q10", "q10_initt": 2}}
    with pytest.raises(ConfigError) as err:
        parse_benchmark_config(raw)
    assert err.value.problems == ["models.m.model.q10_initt: unknown key"]
    raw["models"]["m"] = {"type": "hybrid", "model": {"type": "hybrid_q10"}}
    cfg = parse_benchmark_config(raw)
    with pytest.raises(ConfigError, match="models.m: the model reads"):
        build_model(cfg.models["m"], _context(["TA_F"], cfg.targets), "m")
