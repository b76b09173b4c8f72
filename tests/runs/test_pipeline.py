"""Config → Dataset → columns → predictions → Dataset, on the bundled FR-Pue sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridflux.config import DataConfig, SplitConfig
from hybridflux.data import DataError
from hybridflux.data.qc import apply_qc
from hybridflux.hybrid.models import hybrid_q10
from hybridflux.runs.pipeline import (
    data_files,
    global_parameters,
    load_dataset,
    make_run_split,
    predict_columns,
    predictions_dataset,
    to_columns,
)

SAMPLE = ["sample:fr-pue-daily"]


@pytest.fixture(scope="module")
def synthetic():
    cfg = DataConfig(paths=SAMPLE, synthetic={"q10": 1.5})
    return load_dataset(cfg, observed=["RECO_syn"], require=["RECO_syn"])


def test_sample_paths_expand_to_the_bundled_files():
    (path,) = data_files(SAMPLE)
    assert path.endswith("FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv")
    assert len(data_files(["sample:monthly", "x.csv"])) == 14


def test_qc_filters_targets_and_leaves_drivers_unless_asked():
    raw = load_dataset(DataConfig(paths=SAMPLE))
    qc = apply_qc(raw, threshold=0.8)
    default = load_dataset(DataConfig(paths=SAMPLE, qc_threshold=0.8), ["NEE_VUT_REF"])
    strict = load_dataset(DataConfig(paths=SAMPLE, qc_threshold=0.8, qc_drivers=True))
    finite = {k: int(np.isfinite(v["TA_F"].values).sum()) for k, v in
              {"raw": raw, "qc": qc, "default": default, "strict": strict}.items()}  # fmt: skip
    assert finite["default"] == finite["raw"] > finite["qc"] == finite["strict"]
    np.testing.assert_array_equal(default["NEE_VUT_REF"].values, qc["NEE_VUT_REF"].values)
    assert np.isfinite(raw["NEE_VUT_REF"]).sum() > np.isfinite(default["NEE_VUT_REF"]).sum()


def test_period_features_and_missing_columns():
    cfg = DataConfig(paths=SAMPLE, period=("2005-01-01", "2006-12-31"), features=["P_ANT_30"])
    ds = load_dataset(cfg)
    times = pd.DatetimeIndex(ds["time"].values)
    assert (times[0], times[-1], ds.sizes["time"]) == (
        pd.Timestamp("2005-01-01"), pd.Timestamp("2006-12-31"), 730
    )  # fmt: skip
    assert "P_ANT_30" in ds
    with pytest.raises(DataError, match="no record in data.period"):
        load_dataset(DataConfig(paths=SAMPLE, period=("1990-01-01", "1990-12-31")))
    with pytest.raises(DataError, match="NEE_VUT_REFX"):
        load_dataset(DataConfig(paths=SAMPLE), require=["NEE_VUT_REFX"])


def test_synthetic_targets_follow_the_generator(synthetic):
    ratio = (synthetic["RECO_syn"] / synthetic["RB_syn"]).values
    expected = 1.5 ** ((synthetic["TA_F"].values - 15.0) / 10.0)
    ok = np.isfinite(ratio)
    assert ok.sum() > 5400  # NaN only where the 10-day window is incomplete
    np.testing.assert_allclose(ratio[ok], expected[ok], rtol=1e-9)


def test_to_columns_keeps_rows_with_finite_inputs_and_a_target(synthetic):
    ds = synthetic.copy(deep=True)
    ds["RECO_syn"][0, 10:20] = np.nan
    ds["TA_F"][0, 15:25] = np.nan
    split = make_run_split(ds, SplitConfig(kind="temporal", test_years=[2014], test_sites=None))
    cols = to_columns(ds, ["TA_F", "RECO_syn"], finite=["TA_F"], mask=split.train,
                      any_finite=["RECO_syn"])  # fmt: skip
    assert cols.data["TA_F"].dtype == np.float32
    years = pd.DatetimeIndex(ds["time"].values[cols.time]).year
    assert years.max() == 2013 and not set(range(10, 25)) & set(cols.time.tolist())
    kept = split.train & np.isfinite(ds["TA_F"].values) & np.isfinite(ds["RECO_syn"].values)
    assert len(cols) == kept.sum() < split.train.sum() - 15
    np.testing.assert_allclose(cols.data["TA_F"], ds["TA_F"].values[0, cols.time], rtol=1e-6)
    with pytest.raises(DataError, match="data.features") as info:
        to_columns(ds, ["SWC_F_MDS_1"])
    assert info.value.variable == "SWC_F_MDS_1"


def test_predictions_go_back_to_their_cells(synthetic):
    models = [hybrid_q10(rngs=seed, q10_init=1.2 + seed) for seed in (0, 1)]
    cols = to_columns(synthetic, models[0].inputs, finite=models[0].inputs)
    for model in models:
        model.set_normalization(cols.data)
    one = predict_columns(models[:1], cols)
    direct = np.asarray(models[0](cols.data)["RECO"])
    np.testing.assert_allclose(one["RECO"], direct, rtol=1e-5)
    both = predict_columns(models, cols)
    second = np.asarray(models[1](cols.data)["RECO"])
    np.testing.assert_allclose(both["RECO"], (direct + second) / 2, rtol=1e-5)
    scalars = global_parameters(models)
    assert scalars["Q10"] == pytest.approx(1.7, rel=1e-5)
    split = make_run_split(synthetic, SplitConfig(kind="temporal", test_years=[2014],
                                                  test_sites=None))  # fmt: skip
    out = predictions_dataset(synthetic, cols, both, units="gC m-2 d-1", split=split,
                              scalars=scalars)  # fmt: skip
    assert out["RECO"].dims == ("site", "time") and out["RECO"].attrs["units"] == "gC m-2 d-1"
    grid = np.full(out["RECO"].shape, np.nan)
    grid[cols.site, cols.time] = both["RECO"]
    np.testing.assert_array_equal(out["RECO"].values, grid)
    assert out["Q10"].ndim == 0 and "Rb" in out and out["Rb"].ndim == 2
    assert (out["split"].values[split.test] == 2).all() and (out["split"].values >= 0).all()


def test_a_target_without_any_value_is_named_in_the_error(tmp_path):
    from hybridflux.data import sample_path
    from hybridflux.demo import demo_config
    from hybridflux.runs.train import train_from_config

    source = sample_path("fr-pue-daily")
    frame = pd.read_csv(source)
    frame["NEE_VUT_REF"] = -9999  # as in the PLUMBER files: the column is there, empty
    path = tmp_path / source.name
    frame.to_csv(path, index=False)
    cfg = demo_config([f"data.paths=[{path}]", "train.epochs=1"])
    with pytest.raises(DataError, match=r"every record of \['NEE_VUT_REF'\] is missing") as info:
        train_from_config(cfg, tmp_path / "run")
    assert str(path) in str(info.value)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
