"""Tests of hybridflux.data.splits: disjoint, covering, reproducible, scenario-faithful splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridflux.data.schema import SiteMeta, combine_sites, site_dataset
from hybridflux.data.splits import PARTS, apply_split, make_split

# site, first year, number of years, IGBP, climate, mean air temperature (NaN: no TA_F)
SITES = [
    ("A-Aaa", 2001, 10, "ENF", "Cfb", 5.0),
    ("B-Bbb", 2003, 5, "ENF", "Dfb", 8.0),
    ("C-Ccc", 2001, 8, "GRA", "Cfb", 12.0),
    ("D-Ddd", 2005, 6, "GRA", "BSk", 20.0),
    ("E-Eee", 2002, 4, "DBF", "Cfa", 15.0),
    ("F-Fff", 2001, 10, "EBF", "Af", 26.0),
    ("G-Ggg", 2004, 3, "CRO", "Csa", 18.0),
    ("H-Hhh", 2006, 5, "CRO", "Cfb", 10.0),
    ("I-Iii", 2001, 2, "ENF", "Cfb", np.nan),
]


@pytest.fixture(scope="module")
def ds():
    rng = np.random.default_rng(0)
    parts = []
    for site, first, years, igbp, climate, ta in SITES:
        index = pd.date_range(f"{first}-01-01", periods=12 * years, freq="MS")
        season = 8.0 * np.sin(2 * np.pi * (index.month.to_numpy() - 4) / 12)
        frame = pd.DataFrame(
            {"TA_F": ta + season, "NEE_VUT_REF": rng.normal(0, 1, index.size)}, index=index
        )
        meta = SiteMeta(lat=45.0, lon=10.0, igbp=igbp, climate=climate)
        parts.append(
            site_dataset(
                frame,
                site,
                time_step="MM",
                meta=meta,
                source_format="t",
                units={"TA_F": "degC", "NEE_VUT_REF": "gC m-2 d-1"},
                source_file=site,
            )
        )
    return combine_sites(parts)


CASES = [
    ("none", {}),
    ("none", {"val_fraction": 0.2}),
    ("temporal", {"test_fraction": 0.2, "val_fraction": 0.2}),
    ("temporal", {"test_years": [2008], "val_fraction": 0.3}),
    ("spatial", {"test_fraction": 0.25, "val_fraction": 0.2}),
    ("spatial", {"by": "igbp", "test_fraction": 0.3, "val_fraction": 0.2}),
    ("spatial", {"by": "climate", "test_fraction": 0.3, "val_fraction": 0.2}),
    ("temperature", {"test_fraction": 0.25, "val_fraction": 0.2}),
]


@pytest.mark.parametrize(("kind", "options"), CASES)
def test_disjoint_covering_and_reproducible(ds, kind, options):
    split = make_split(ds, kind, seed=3, **options)
    masks = [split.mask(p) for p in PARTS]
    shape = (ds.sizes["site"], ds.sizes["time"])
    assert all(m.shape == shape and m.dtype == bool for m in masks)
    np.testing.assert_array_equal(sum(m.astype(int) for m in masks), np.ones(shape, dtype=int))
    again = make_split(ds, kind, seed=3, **options)
    for p in PARTS:
        np.testing.assert_array_equal(split.mask(p), again.mask(p))
    assert split.info == again.info
    if kind != "none":
        assert split.test.any() and split.train.any()


def test_seed_changes_random_spatial_split(ds):
    tests = {tuple(make_split(ds, "spatial", seed=s).info["test_sites"]) for s in range(8)}
    assert len(tests) > 1


def _years(ds):
    return pd.DatetimeIndex(ds["time"].values).year.to_numpy()


def test_temporal_fraction_takes_last_years_per_site(ds):
    split = make_split(ds, "temporal", test_fraction=0.2, val_fraction=0.2)
    # Worked by hand: n years → round(0.2 n) (at least 1, leaving 1) test years, then
    # round(0.2 · training years) validation years just before them.
    test = {
        "A-Aaa": [2009, 2010],
        "B-Bbb": [2007],
        "C-Ccc": [2007, 2008],
        "D-Ddd": [2010],
        "E-Eee": [2005],
        "F-Fff": [2009, 2010],
        "G-Ggg": [2006],
        "H-Hhh": [2010],
        "I-Iii": [2002],
    }
    val = {
        "A-Aaa": [2007, 2008],
        "B-Bbb": [2006],
        "C-Ccc": [2006],
        "D-Ddd": [2009],
        "E-Eee": [2004],
        "F-Fff": [2007, 2008],
        "G-Ggg": [2005],
        "H-Hhh": [2009],
        "I-Iii": [],
    }
    years = _years(ds)
    for i, site in enumerate(ds["site"].values):
        np.testing.assert_array_equal(split.test[i], np.isin(years, test[site]), err_msg=site)
        np.testing.assert_array_equal(split.val[i], np.isin(years, val[site]), err_msg=site)
    assert split.info["test_years"]["A-Aaa"] == [2009, 2010]


def test_temporal_explicit_years(ds):
    split = make_split(ds, "temporal", test_years=[2008], val_fraction=0.3)
    years = _years(ds)
    np.testing.assert_array_equal(split.test, np.broadcast_to(years == 2008, split.test.shape))
    assert not (split.val & (years == 2008)).any()
    # A-Aaa trains on 2001–2007 and 2009–2010 (9 years): round(2.7) = 3 validation years.
    assert split.info["val_years"]["A-Aaa"] == [2007, 2009, 2010]


@pytest.mark.parametrize("by", ["igbp", "climate"])
def test_grouped_spatial_keeps_groups_intact(ds, by):
    groups = ds[by].values
    for seed in range(6):
        split = make_split(ds, "spatial", by=by, test_fraction=0.3, val_fraction=0.2, seed=seed)
        part_of_site = np.select([split.test.all(1), split.val.all(1)], [2, 1], 0)
        assert (split.test.all(1) | split.val.all(1) | split.train.all(1)).all()  # whole rows
        for g in set(groups):
            assert len(set(part_of_site[groups == g])) == 1, (seed, g)
        assert split.test.all(1).sum() >= round(0.3 * len(SITES))
        assert split.train.all(1).any()


def test_spatial_explicit_sites_and_random_counts(ds):
    split = make_split(ds, "spatial", test_sites=["B-Bbb", "H-Hhh"])
    sites = ds["site"].values
    assert sites[split.test.all(1)].tolist() == ["B-Bbb", "H-Hhh"]
    random = make_split(ds, "spatial", test_fraction=0.25, val_fraction=0.2, seed=1)
    assert random.test.all(1).sum() == 2  # round(0.25 · 9)
    assert random.val.all(1).sum() == 1  # round(0.2 · 7)


def test_temperature_holds_out_warmest_sites(ds):
    ta = ds["TA_F"].values
    with np.errstate(all="ignore"):
        means = np.array([np.nanmean(row) if np.isfinite(row).any() else -np.inf for row in ta])
    order = ds["site"].values[np.argsort(-means)]
    split = make_split(ds, "temperature", test_fraction=0.25, val_fraction=0.2)
    sites = ds["site"].values
    assert set(sites[split.test.all(1)]) == set(order[:2]) == {"F-Fff", "D-Ddd"}
    assert set(sites[split.val.all(1)]) == {order[2]}
    assert split.info["unranked_sites"] == ["I-Iii"]
    assert split.train[sites == "I-Iii"].all()
    by_count = make_split(ds, "temperature", test_count=3)
    assert set(sites[by_count.test.all(1)]) == set(order[:3])


def test_apply_split_masks_and_selects(ds):
    split = make_split(ds, "temporal", test_years=[2010])
    test = apply_split(ds, split, "test")
    expected = np.where(split.test, ds["TA_F"].values, np.nan)
    np.testing.assert_array_equal(test["TA_F"].values, expected)
    assert test["TA_F"].attrs["units"] == "degC"
    selected = apply_split(ds, split, "test", select=True)
    assert selected.sizes["time"] == 12
    assert (_years(selected) == 2010).all()
    spatial = make_split(ds, "spatial", test_sites=["A-Aaa"])
    only = apply_split(ds, spatial, "test", select=True)
    assert only["site"].values.tolist() == ["A-Aaa"]
    with pytest.raises(ValueError, match="differ"):
        apply_split(ds.isel(site=slice(0, 3)), split, "test")


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        ("random", {}, "unknown split kind"),
        ("temporal", {"by": "igbp"}, "no option"),
        ("spatial", {"test_fraction": 1.0}, "test_fraction"),
        ("spatial", {"test_sites": ["XX-Nop"]}, "not in the Dataset"),
        ("spatial", {"by": "elevation_band"}, "no per-site coordinate"),
        ("temperature", {"variable": "TS_F"}, "needs variable"),
    ],
)
def test_bad_requests_raise(ds, kind, options, match):
    with pytest.raises(ValueError, match=match):
        make_split(ds, kind, **options)


def test_record_years_can_come_from_the_targets_alone():
    index = pd.date_range("2010-01-01", "2014-12-31", freq="D")
    frame = pd.DataFrame({"TA_F": 10.0, "NEE": 1.0}, index=index)
    frame.loc["2013":, "NEE"] = np.nan  # drivers only in 2013-2014
    units = {"TA_F": "degC", "NEE": "gC m-2 d-1"}
    one = site_dataset(frame, "A-One", time_step="DD", units=units, source_format="x",
                       source_file="x")  # fmt: skip
    ds = combine_sites([one])
    every = make_split(ds, "temporal", test_fraction=0.2)
    targets = make_split(ds, "temporal", test_fraction=0.2, record=["NEE"])
    assert every.info["test_years"]["A-One"] == [2014]
    assert targets.info["test_years"]["A-One"] == [2012]
    fallback = make_split(ds, "temporal", test_fraction=0.2, record=["RECO_syn"])
    assert fallback.info["test_years"] == every.info["test_years"]
