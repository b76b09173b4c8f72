"""Scenario splits: disjoint, covering, reproducible, validation from the training part only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridflux.benchmark.config import load_benchmark_config
from hybridflux.benchmark.scenarios import make_scenario
from hybridflux.data import load_sample, read

from .conftest import CONFIG

SHIPPED = load_benchmark_config(CONFIG, ["data.paths=[sample:monthly]"])


def _check(ds, split, kind):
    parts = np.stack([split.train, split.val, split.test])
    assert (parts.sum(axis=0) == 1).all(), "parts must be disjoint and cover the grid"
    assert split.test.any() and split.train.any()
    sites = ds["site"].values
    if kind in ("spatial", "temperature"):
        test_sites = set(sites[split.test.any(axis=1)])
        val_sites = set(sites[split.val.any(axis=1)])
        train_sites = set(sites[split.train.any(axis=1)])
        assert not test_sites & (val_sites | train_sites), "a test site also trains/validates"
        assert (split.test.all(axis=1) | ~split.test.any(axis=1)).all(), "whole sites held out"
    if kind == "temporal":
        years = pd.DatetimeIndex(ds["time"].values).year.to_numpy()
        for i in range(len(sites)):
            if split.test[i].any() and split.val[i].any():
                assert years[split.val[i]].max() < years[split.test[i]].min()
            if split.test[i].any() and split.train[i].any():
                has = np.isfinite(ds["GPP_NT_VUT_REF"].values[i])
                train_years = years[split.train[i] & has]
                if train_years.size:
                    assert train_years.max() < years[split.test[i]].min()


@pytest.mark.parametrize("name", list(SHIPPED.scenarios))
def test_shipped_scenarios_on_the_sample(name):
    ds = load_sample("monthly")
    options = SHIPPED.scenario_options(name)
    split = make_scenario(ds, **options)
    again = make_scenario(ds, **options)
    _check(ds, split, options["kind"])
    for part in ("train", "val", "test"):
        assert (split.mask(part) == again.mask(part)).all(), "same seed, same split"


def test_grouped_scenarios_hold_out_whole_groups():
    ds = load_sample("monthly")
    for by in ("igbp", "climate"):
        split = make_scenario(ds, "spatial", seed=2, by=by, val_by="random", val_fraction=0.2)
        held = set(ds[by].values[split.test.any(axis=1)])
        kept = set(ds[by].values[~split.test.any(axis=1)])
        assert held and not held & kept, by
        other = make_scenario(ds, "spatial", seed=5, by=by, val_by="random", val_fraction=0.2)
        assert other.info["seed"] == 5


def test_val_by_random_is_spatial_only():
    with pytest.raises(ValueError, match="spatial"):
        make_scenario(load_sample("monthly"), "temporal", val_by="random")


def test_shipped_scenarios_on_the_189_sites(shared_data):
    ds = read(str(shared_data / "sites" / "fluxnet2015_monthly_189sites" / "*_MM.csv"))
    cfg = load_benchmark_config(CONFIG)
    sizes = {}
    for name in cfg.scenarios:
        options = cfg.scenario_options(name)
        split = make_scenario(ds, **options)
        _check(ds, split, options["kind"])
        sizes[name] = int(split.test.any(axis=1).sum())
    # the sizes the config's comments state (seed 2)
    assert sizes["spatial_igbp"] == 44 and sizes["spatial_climate"] == 64
    assert sizes["spatial_random"] == 38 and sizes["temperature"] == 38
