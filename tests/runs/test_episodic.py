"""The episodic branch: configs/monthly_multisite.yaml at a tiny size on the monthly sample."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hybridflux.config import ConfigError, load_config
from hybridflux.data import read
from hybridflux.data.sample import sample_paths
from hybridflux.runs.apply import predict_from_run
from hybridflux.runs.rundir import RunDir, RunDirError
from hybridflux.runs.train import train_from_config
from hybridflux.training.episodes import predict_sites, site_windows

from .conftest import CONFIG_DIR

CONFIG = CONFIG_DIR / "monthly_multisite.yaml"
FILES = sorted(str(p) for p in sample_paths("monthly"))
TRAIN, HELD_OUT = FILES[:10], FILES[10:]
TINY = [
    f"data.paths=[{','.join(TRAIN)}]",
    "train.epochs=3",
    "train.ensemble=2",
    "train.patience=0",
    "train.episodes={batch_sites: 4, k_support: 3, zero_shot: 0.5, pretrain_epochs: 1}",
    "model.hidden=[8]",
    "model.encoder_hidden=[8]",
    "model.embed_dim=4",
    "split.val_fraction=0.2",
    "output.figures=false",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("episodic") / "run"
    return train_from_config(load_config(CONFIG, TINY), out)


def test_shipped_config_validates_and_rejects_bad_episode_keys():
    cfg = load_config(CONFIG)
    assert cfg.train.episodes.k_support == 6 and cfg.model.type == "tamrl"
    with pytest.raises(ConfigError) as info:
        load_config(CONFIG, ["train.episodes.k_shot=3"])
    assert any(p.startswith("train.episodes.k_shot: unknown key") for p in info.value.problems)
    with pytest.raises(ConfigError, match="train.episodes.zero_shot"):
        load_config(CONFIG, ["train.episodes.zero_shot=1.5"])


def test_balance_option_reaches_the_decoder_and_only_the_film_model():
    assert load_config(CONFIG).model.build(0).decoder.balance == "reco"
    cfg = load_config(CONFIG, [*TINY, "model.balance=nee"])
    assert cfg.model.build(0).decoder.balance == "nee"
    with pytest.raises(ConfigError, match="model.balance"):
        load_config(CONFIG, ["model.balance=gpp"])
    with pytest.raises(ConfigError, match="balance"):
        load_config(CONFIG, ["model.type=tamrl_hybrid", "model.balance=nee"])


def test_zero_shot_site_mean_nee_is_the_training_sites_mean(run):
    """The shipped nee_site_weight 0: each unseen site's predicted mean NEE is μ, the mean over
    the training sites of their mean observed NEE (sites trained on keep theirs); RECO − GPP =
    NEE."""
    from hybridflux.runs.pipeline import load_dataset

    assert run.config.model.nee_site_weight == 0.0
    pred, models = run.predictions, RunDir(run.run_dir).load_models()
    targets = list(run.config.targets.values())
    ds = load_dataset(run.config.data, observed=targets, require=targets)
    obs = ds["NEE_VUT_REF"].transpose("site", "time").values
    nee, reco, gpp = (pred[k].values for k in ("NEE", "RECO", "GPP"))
    ok = np.isfinite(nee)
    train = (pred["split"].values == 0) & np.isfinite(obs) & ok
    mu = np.mean([obs[s][train[s]].mean() for s in range(len(obs)) if train[s].any()])
    assert float(models[0].nee_mu[...]) == pytest.approx(mu, rel=1e-5)
    np.testing.assert_allclose(nee[ok], reco[ok] - gpp[ok], atol=1e-5)
    assert (reco[ok] >= 0).all()
    seen = (pred["split"].values == 0).any(axis=1)  # sites trained on keep their own mean
    unclipped = [s for s in range(len(nee)) if ok[s].any() and (reco[s][ok[s]] > 0).all()]
    assert any(seen[s] for s in unclipped) and any(not seen[s] for s in unclipped)
    for s in unclipped:
        mean = nee[s][ok[s]].mean()
        if seen[s]:
            assert abs(mean - mu) > 1e-3  # the model's own predicted mean, not μ
        else:
            assert mean == pytest.approx(mu, abs=1e-4)


def test_run_directory_is_complete(run):
    names = {p.name for p in run.run_dir.iterdir()}
    assert {"config.yaml", "metrics.json", "predictions.nc", "checkpoints"} <= names
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert {"splits", "sites", "parameters", "timing", "training"} <= set(metrics)
    assert {"train", "val"} <= set(metrics["splits"])
    assert metrics["splits"]["train"]["GPP"]["n"] > 0
    assert metrics["training"]["epochs_run"] == 3
    pred = run.predictions
    assert pred["GPP"].dims == ("site", "time")
    assert pred["GPP"].attrs["units"] == "gC m-2 d-1"
    nee = pred["NEE"].values
    ok = np.isfinite(nee)
    np.testing.assert_allclose(nee[ok], (pred["RECO"] - pred["GPP"]).values[ok], atol=1e-5)
    with np.load(run.run_dir / "checkpoints" / "model.npz", allow_pickle=False) as npz:
        assert int(npz["members"]) == 2


def test_predict_on_held_out_files_matches_predict_sites(run):
    pred = predict_from_run(run.run_dir, HELD_OUT)
    models = RunDir(run.run_dir).load_models()
    # independent route: read the files, one-hot PFT by hand, group rows by site
    ds = read(HELD_OUT)
    covs = models[0].covariates
    igbp = np.asarray(ds["igbp"].values).astype(str)
    grids = []
    for c in covs:
        if c.startswith("PFT_"):
            grids.append(np.repeat((igbp == c[4:])[:, None], ds.sizes["time"], 1).astype(float))
        else:
            grids.append(ds[c].transpose("site", "time").values)
    x = np.stack(grids, -1)
    site, time = np.nonzero(np.isfinite(x).all(-1))
    rows = {c: x[site, time, j] for j, c in enumerate(covs)}
    windows, index, _ = site_windows(rows, site, covs)
    expect = predict_sites(models, windows)
    for k in ("GPP", "RECO", "NEE"):
        got = pred[k].values[site[index[index >= 0]], time[index[index >= 0]]]
        np.testing.assert_allclose(got, expect[k][index >= 0], rtol=1e-5, atol=1e-5)
    assert np.isnan(pred["GPP"].values[~np.isfinite(x).all(-1)]).all()


def test_a_killed_episodic_run_resumes_to_the_same_result(run, tmp_path):
    with pytest.raises(RunDirError, match="already holds a trained model"):
        train_from_config(run.config, run.run_dir)
    cfg = load_config(CONFIG, [*TINY, "train.checkpoint_every=1"])
    out = tmp_path / "killed"
    whole = train_from_config(cfg, tmp_path / "whole")
    train_from_config(cfg, out)
    # as if killed during epoch 3: its checkpoint and everything after it are missing
    for name in ("epoch_000003.npz", "model.npz"):
        (out / "checkpoints" / name).unlink()
    (out / "predictions.nc").unlink()
    with pytest.raises(RunDirError, match="--resume"):
        train_from_config(cfg, out)
    messages = []
    again = train_from_config(cfg, out, resume=True, log=messages.append)
    assert any("from epoch 2" in m for m in messages)
    for k in ("GPP", "RECO", "NEE"):
        np.testing.assert_array_equal(again.predictions[k].values, whole.predictions[k].values)


def test_few_shot_from_the_cli_uses_k_months_per_site_and_scores_the_rest(run, tmp_path, capsys):
    from hybridflux.cli import main
    from hybridflux.runs.apply import evaluate_from_run

    zero = predict_from_run(run.run_dir, HELD_OUT)
    few = predict_from_run(run.run_dir, HELD_OUT, k_shot=3, seed=1)
    support = few["support"].values
    assert "support" not in zero
    observed = np.isfinite(read(HELD_OUT)["GPP_NT_VUT_REF"].transpose("site", "time").values)
    assert (support.sum(1) == np.minimum(3, observed.sum(1))).all()  # k observed months
    assert not support[~observed].any()
    assert not np.allclose(few["GPP"].values, zero["GPP"].values, equal_nan=True)  # embedding
    again = predict_from_run(run.run_dir, HELD_OUT, k_shot=3, seed=1)
    np.testing.assert_array_equal(again["GPP"].values, few["GPP"].values)
    metrics = evaluate_from_run(run.run_dir, HELD_OUT, k_shot=3, seed=1)
    n_all = evaluate_from_run(run.run_dir, HELD_OUT)["splits"]["all"]["GPP"]["n"]
    assert metrics["splits"]["all"]["GPP"]["n"] == n_all - int(support.sum())
    assert metrics["k_shot"] == {"k": 3, "seed": 1, "support_excluded_from_scores": True}
    out = tmp_path / "few.nc"
    args = ["predict", str(run.run_dir), "--data", *HELD_OUT, "--out", str(out), "--k-shot", "3"]
    assert main(args) == 0 and out.is_file()
    capsys.readouterr()


def test_k_shot_on_a_row_model_is_a_clear_user_error(tmp_path, capsys):
    from hybridflux.cli import main
    from hybridflux.demo import demo_config

    row = train_from_config(demo_config(["train.epochs=1", "output.figures=false"]), tmp_path / "r")
    code = main(["predict", str(row.run_dir), "--data", "sample:fr-pue-daily",
                 "--out", str(tmp_path / "p.nc"), "--k-shot", "2"])  # fmt: skip
    assert code == 2 and "--k-shot needs a site model" in capsys.readouterr().err
    assert not (tmp_path / "p.nc").exists()


def test_tamrl_hybrid_predictions_hold_the_task_aware_parameters(tmp_path):
    tiny = [t for t in TINY if not t.startswith(("model.encoder_hidden", "model.hidden"))]
    cfg = load_config(CONFIG, [*tiny, "train.ensemble=1", "model.type=tamrl_hybrid",
                               "model.hidden=[4]", "model.encoder_hidden=[4]"])  # fmt: skip
    result = train_from_config(cfg, tmp_path / "hybrid")
    pred = result.predictions
    assert pred["eps"].dims == ("site", "time") and pred["eps"].attrs["units"] == "gC MJ-1"
    assert pred["Rb"].attrs["units"] == "gC m-2 d-1" and pred["Q10"].dims == ("site",)
    ok = np.isfinite(pred["GPP"].values)
    eps, q10 = pred["eps"].values[ok], pred["Q10"].values
    assert (eps >= 0).all() and (eps <= 5).all() and ((q10 >= 1) & (q10 <= 4)).all()
    summary = result.metrics["parameters"]
    assert set(summary) == {"eps", "rb", "q10"}
    assert summary["q10"]["median"] == pytest.approx(float(np.median(q10)))
    # GPP is the LUE model with these parameters: ε · PAR (fAPAR = 1, no LAI column set)
    from hybridflux.process.radiation import par_from_shortwave, w_m2_to_mj_per_day

    sw = read(TRAIN)["SW_IN_F"].transpose("site", "time").values
    par = np.asarray(w_m2_to_mj_per_day(par_from_shortwave(sw)))
    gpp_max = pred["eps"].values * par  # the ramps only lower it
    assert (pred["GPP"].values[ok] <= gpp_max[ok] * (1 + 1e-4) + 1e-5).all()


def test_patience_without_validation_sites_fails_before_anything_is_written(tmp_path):
    cfg = load_config(CONFIG, [*TINY, "split.val_fraction=0", "train.patience=5"])
    with pytest.raises(ConfigError, match="early stopping needs validation sites"):
        train_from_config(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
