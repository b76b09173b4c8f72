"""Skill scores against hand-computed numpy values, per split part and per site."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.schema import combine_sites, site_dataset
from hybridflux.data.splits import Split
from hybridflux.runs.metrics import compute_metrics, format_metrics, metrics_json, scores

RNG = np.random.default_rng(42)


def test_scores_match_the_textbook_formulas():
    obs = RNG.normal(2.0, 1.5, 200)
    pred = obs + RNG.normal(0.3, 0.5, 200)
    obs[::17] = np.nan
    pred[::23] = np.nan
    ok = ~np.isnan(obs) & ~np.isnan(pred)
    o, p = obs[ok], pred[ok]
    s = scores(pred, obs)
    assert s["n"] == ok.sum() == 200 - len(set(range(0, 200, 17)) | set(range(0, 200, 23)))
    assert s["rmse"] == pytest.approx(
        math.sqrt(sum((a - b) ** 2 for a, b in zip(p, o, strict=True)) / len(o))
    )
    assert s["bias"] == pytest.approx(sum(p - o) / len(o))
    mean = sum(o) / len(o)
    r2 = 1 - sum((p - o) ** 2) / sum((o - mean) ** 2)
    assert s["r2"] == pytest.approx(r2)
    assert 0.5 < s["r2"] < 1.0  # noise of sd 0.5 on a signal of sd 1.5


def test_scores_of_perfect_constant_and_empty_predictions():
    obs = np.array([1.0, 2.0, 3.0])
    assert scores(obs, obs) == {"rmse": 0.0, "r2": 1.0, "bias": 0.0, "n": 3}
    assert scores(np.full(3, obs.mean()), obs)["r2"] == pytest.approx(0.0)
    assert math.isnan(scores(obs, np.full(3, 2.0))["r2"])  # constant observations
    empty = scores(np.array([np.nan]), np.array([1.0]))
    assert empty["n"] == 0 and math.isnan(empty["rmse"])


def _two_sites():
    index = pd.date_range("2010-01-01", periods=4, freq="D")
    frames = {
        "AA-One": pd.DataFrame({"NEE_VUT_REF": [1.0, 2.0, 3.0, 4.0]}, index=index),
        "BB-Two": pd.DataFrame({"NEE_VUT_REF": [0.0, np.nan, 2.0, 2.0]}, index=index),
    }
    obs = combine_sites(
        [
            site_dataset(
                f,
                s,
                time_step="DD",
                units={"NEE_VUT_REF": "gC m-2 d-1"},
                source_format="x",
                source_file="x",
            )  # fmt: skip
            for s, f in frames.items()
        ]
    )
    pred = obs.rename({"NEE_VUT_REF": "NEE"})
    pred["NEE"] = pred["NEE"] + np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, -1.0, 1.0]])
    return obs, pred


def test_compute_metrics_per_part_and_site():
    obs, pred = _two_sites()
    test = np.array([[False, False, True, True], [False, False, True, True]])
    split = Split(~test, np.zeros_like(test), test, "temporal", obs["site"].values,
                  obs["time"].values)  # fmt: skip
    m = compute_metrics(pred, obs, {"NEE": "NEE_VUT_REF", "GPP": "GPP_NT_VUT_REF"}, split)
    assert set(m["splits"]) == {"train", "test"}  # empty val part left out
    assert m["compared_with"] == {"NEE": "NEE_VUT_REF"}  # GPP absent: skipped
    test_nee = m["splits"]["test"]["NEE"]
    # errors on test cells: +1, +1 (AA-One), -1, +1 (BB-Two)
    assert test_nee["n"] == 4 and test_nee["bias"] == pytest.approx(0.5)
    assert test_nee["rmse"] == pytest.approx(1.0)
    o = np.array([3.0, 4.0, 2.0, 2.0])
    assert test_nee["r2"] == pytest.approx(1 - 4 / np.sum((o - o.mean()) ** 2))
    assert m["splits"]["train"]["NEE"] == {"rmse": 0.0, "r2": 1.0, "bias": 0.0, "n": 3}
    site = m["sites"]["BB-Two"]["test"]["NEE"]
    assert site["bias"] == pytest.approx(0.0) and site["n"] == 2 and math.isnan(site["r2"])
    assert m["sites"]["AA-One"]["test"]["NEE"]["bias"] == pytest.approx(1.0)


def test_metrics_json_is_strict_json_with_nulls():
    obs, pred = _two_sites()
    m = compute_metrics(pred, obs, {"NEE": "NEE_VUT_REF"})
    text = metrics_json(m)
    parsed = json.loads(text)
    assert parsed["sites"]["BB-Two"]["all"]["NEE"]["n"] == 3
    assert "NaN" not in text
    nan_json = metrics_json({"splits": {"test": {"NEE": scores(np.ones(1), np.ones(1))}}})
    assert json.loads(nan_json)["splits"]["test"]["NEE"]["r2"] is None


def test_format_metrics_lists_parts_variables_and_learned_parameters():
    obs, pred = _two_sites()
    m = compute_metrics(pred, obs, {"NEE": "NEE_VUT_REF"})
    m["parameters"] = {"q10": 1.4987}
    text = format_metrics(m, ("all",))
    assert "NEE_VUT_REF" in text and "q10 = 1.499" in text
    assert len(text.splitlines()) == 3
