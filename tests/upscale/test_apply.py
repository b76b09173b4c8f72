"""ChunkPredictor: one compiled shape for any chunk length, NaN rows skipped, ensemble mean."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.runs.rundir import RunDir
from hybridflux.upscale.apply import ChunkPredictor

from .conftest import make_run


def _columns(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "TA_F": rng.normal(10, 8, n).astype(np.float32),
        "VPD_F": rng.uniform(0, 20, n).astype(np.float32),
        "SW_IN_F": rng.uniform(0, 350, n).astype(np.float32),
    }


def _direct(models, columns) -> np.ndarray:
    """Member mean of the un-jitted models on all rows at once."""
    batch = {k: jnp.asarray(v) for k, v in columns.items()}
    return np.mean([np.asarray(m(batch)["GPP"]) for m in models], axis=0)


def test_padding_the_last_batch_does_not_retrace(run_dir):
    models = RunDir(run_dir).load_models()
    predictor = ChunkPredictor(models, ["GPP"], batch_size=8)
    assert predictor.traces == 1  # compiled once when made
    for n in (3, 8, 13, 17, 1):  # shorter than, equal to, and between multiples of the batch
        columns = _columns(n, seed=n)
        out = predictor(columns)["GPP"]
        np.testing.assert_allclose(out, _direct(models, columns), rtol=2e-5, atol=1e-5)
    assert predictor.traces == 1
    with pytest.raises(RuntimeError, match="traced"):  # the guard is live: a new shape fails
        predictor._forward({k: jnp.zeros(5) for k in predictor.inputs})


def test_rows_with_a_non_finite_input_are_nan_and_skipped(run_dir):
    models = RunDir(run_dir).load_models()
    predictor = ChunkPredictor(models, ["GPP"], batch_size=4)
    columns = _columns(10)
    columns["VPD_F"][[0, 7]] = np.nan
    columns["TA_F"][3] = np.inf
    out = predictor(columns)["GPP"]
    assert np.isnan(out[[0, 3, 7]]).all() and np.isfinite(np.delete(out, [0, 3, 7])).all()
    keep = np.delete(np.arange(10), [0, 3, 7])
    expected = _direct(models, {k: v[keep] for k, v in columns.items()})
    np.testing.assert_allclose(out[keep], expected, rtol=2e-5, atol=1e-5)
    empty = predictor({k: np.full(3, np.nan, np.float32) for k in predictor.inputs})["GPP"]
    assert np.isnan(empty).all() and predictor.traces == 1


def test_an_ensemble_predicts_the_member_mean(tmp_path):
    models = RunDir(make_run(tmp_path / "run", members=3)).load_models()
    columns = _columns(20)
    out = ChunkPredictor(models, ["GPP"], batch_size=16)(columns)["GPP"]
    single = [np.asarray(m({k: jnp.asarray(v) for k, v in columns.items()})["GPP"]) for m in models]
    assert np.ptp(np.stack(single), axis=0).max() > 1e-3  # members differ
    np.testing.assert_allclose(out, np.mean(single, axis=0), rtol=2e-5, atol=1e-5)


def test_unknown_output_is_an_error(run_dir):
    with pytest.raises(ValueError, match="LE"):
        ChunkPredictor(RunDir(run_dir).load_models(), ["LE"])


def test_columnar_and_as_written_evaluations_agree(tmp_path):
    """The fused column-by-column forward pass (the default) gives the numbers of the model
    evaluated as written (a matrix product per layer) to float32 rounding, ensembles too."""
    models = RunDir(make_run(tmp_path / "run", members=2)).load_models()
    fast = ChunkPredictor(models, ["GPP"], batch_size=64)
    plain = ChunkPredictor(models, ["GPP"], batch_size=64, columnar=False)
    assert fast.columnar and not plain.columnar
    columns = _columns(300, seed=4)
    a, b = fast(columns)["GPP"], plain(columns)["GPP"]
    assert np.ptp(b) > 1.0
    np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6 * np.ptp(b))
    assert fast.traces == plain.traces == 1
