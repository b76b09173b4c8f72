"""The run directory: atomic writes, new vs resumed runs, the saved model."""

from __future__ import annotations

import numpy as np
import pytest
from flax import nnx

from hybridflux.config import apply_overrides, dump_config, parse_config
from hybridflux.runs.rundir import RunDir, RunDirError, atomic_write, atomic_write_text

from .conftest import tiny


def _with(cfg, *overrides):
    return parse_config(apply_overrides(cfg.model_dump(mode="json"), overrides))


def _fake_checkpoint(run: RunDir, epoch: int) -> None:
    run.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    (run.checkpoints_dir / f"epoch_{epoch:06d}.npz").write_bytes(b"")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = atomic_write_text(tmp_path / "metrics.json", "old")

    def crash(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, crash)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_prepare_writes_the_resolved_config(tmp_path):
    cfg = tiny()
    run = RunDir(tmp_path / "run")
    assert run.prepare(cfg, resume=False) is None
    assert run.config_path.read_text() == dump_config(cfg)
    assert run.read_config() == cfg


def test_an_existing_run_needs_resume_and_the_same_config(tmp_path):
    run = RunDir(tmp_path)
    cfg = tiny()
    run.prepare(cfg, resume=False)
    _fake_checkpoint(run, 2)
    with pytest.raises(RunDirError, match="--resume"):
        run.prepare(cfg, resume=False)
    assert run.prepare(cfg, resume=True) == 2
    with pytest.raises(RunDirError, match=r"differs in train\.lr\b"):
        run.prepare(_with(cfg, "train.lr=0.5"), resume=True)


def test_more_epochs_only_with_a_constant_learning_rate(tmp_path):
    cosine = _with(tiny(), "train.lr_schedule=cosine")
    run = RunDir(tmp_path / "cosine")
    run.prepare(cosine, resume=False)
    _fake_checkpoint(run, 2)
    with pytest.raises(RunDirError, match=r"train\.epochs"):
        run.prepare(_with(cosine, "train.epochs=4"), resume=True)
    constant = _with(tiny(), "train.lr_schedule=constant")
    run = RunDir(tmp_path / "constant")
    run.prepare(constant, resume=False)
    _fake_checkpoint(run, 2)
    assert run.prepare(_with(constant, "train.epochs=4"), resume=True) == 2


def test_saved_models_load_identically_and_must_fit_the_config(tmp_path):
    cfg = _with(tiny(), "train.ensemble=2")
    models = [cfg.model.build(seed) for seed in (5, 6)]
    for m in models:
        m.sources["Rb"].mean[...] = m.sources["Rb"].mean[...] + 3.0  # a non-default statistic
    run = RunDir(tmp_path)
    run.save_models(models)
    loaded = run.load_models(cfg)
    assert len(loaded) == 2
    for original, back in zip(models, loaded, strict=True):
        a = nnx.to_flat_state(nnx.state(original))
        b = nnx.to_flat_state(nnx.state(back))
        for (pa, va), (pb, vb) in zip(a, b, strict=True):
            assert pa == pb
            np.testing.assert_array_equal(va[...], vb[...])
    with np.load(run.model_path, allow_pickle=False) as npz:  # no pickled objects inside
        assert int(npz["members"]) == 2
    with pytest.raises(RunDirError, match="does not fit"):
        run.load_models(_with(cfg, "model.hidden=[8]"))


def test_missing_run_pieces_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        RunDir(tmp_path).read_config()
    with pytest.raises(FileNotFoundError, match="no trained model"):
        RunDir(tmp_path).load_models(tiny())
