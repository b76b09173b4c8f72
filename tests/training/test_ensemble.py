"""vmapped ensembles and per-site models equal their members trained alone."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from hybridflux.training.checkpoint import Checkpointer
from hybridflux.training.ensemble import fit_ensemble, fit_sites, stack_members
from hybridflux.training.fit import fit
from tests.training.conftest import ToyQ10, masked_mse, toy_data

OPTIONS = {"objective": masked_mse, "epochs": 3, "batch_size": 128}


def test_ensemble_members_differ_and_equal_training_each_seed_alone(data, val_data):
    result = fit_ensemble(ToyQ10, 3, data, optax.adam(1e-2), seed=5, val_data=val_data, **OPTIONS)
    assert result.flat.shape == (3, 338) and result.history["train_loss"].shape == (3, 3)
    for i in range(3):
        for j in range(i):
            assert not np.allclose(result.flat[i], result.flat[j], atol=1e-3)
    for i in range(3):
        alone = fit(ToyQ10(5 + i), data, optax.adam(1e-2), seed=5 + i, val_data=val_data, **OPTIONS)
        np.testing.assert_allclose(result.flat[i], alone.flat, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            result.history["val_loss"][:, i], alone.history["val_loss"], rtol=1e-5
        )
        assert result.best_epoch[i] == alone.best_epoch
    out = result.predict(val_data)["RECO"]
    assert out.shape == (3, 256)
    np.testing.assert_allclose(out[1], result.models[1](val_data)["RECO"], rtol=1e-6)


def test_each_member_shuffles_with_its_own_seed():
    # Identical models and data: members differ only through their row orders.
    def same_init(seed):
        return ToyQ10(0)

    data = toy_data(512)
    result = fit_ensemble(same_init, 2, data, optax.adam(1e-2), seed=3, **OPTIONS)
    assert not np.allclose(result.flat[0], result.flat[1], atol=1e-4)
    for i in range(2):
        alone = fit(ToyQ10(0), data, optax.adam(1e-2), seed=3 + i, **OPTIONS)
        np.testing.assert_allclose(result.flat[i], alone.flat, rtol=1e-5, atol=1e-5)


def test_ensemble_compiles_once_and_resumes_exactly(tmp_path, data):
    traces = []

    def counting(outputs, batch, weight):
        traces.append(1)  # runs only while tracing
        return masked_mse(outputs, batch, weight)

    def run(epochs, **kwargs):
        options = dict(OPTIONS, objective=counting, epochs=epochs)
        return fit_ensemble(ToyQ10, 2, data, optax.adam(1e-2), seed=9, **options, **kwargs)

    whole = run(4)
    assert len(traces) == 1  # one trace of the vmapped epoch for 4 epochs
    run(2, checkpointer=Checkpointer(tmp_path))
    resumed = run(4, checkpointer=Checkpointer(tmp_path), resume=True)
    assert resumed.epochs_run == 4
    assert np.array_equal(resumed.flat, whole.flat)
    assert np.array_equal(resumed.history["train_loss"], whole.history["train_loss"])


def _ragged_sites():
    """Two sites: site 1 keeps only its first 300 of 512 rows; the rest is NaN padding."""
    site0, site1 = toy_data(512, seed=2), toy_data(512, seed=3)
    weight = np.ones((2, 512), np.float32)
    weight[1, 300:] = 0.0
    site1 = {k: v.at[300:].set(jnp.nan) for k, v in site1.items()}
    data = {k: jnp.stack([site0[k], site1[k]]) for k in site0}
    return data, jnp.asarray(weight)


def test_sites_train_independently_on_ragged_records():
    data, weight = _ragged_sites()
    result = fit_sites(ToyQ10, data, optax.adam(1e-2), weight=weight, seed=1, **OPTIONS)
    assert np.all(np.isfinite(result.flat))
    for s in range(2):
        site = {k: v[s] for k, v in data.items()}
        alone = fit(ToyQ10(1 + s), site, optax.adam(1e-2), weight=weight[s], seed=1 + s, **OPTIONS)
        np.testing.assert_allclose(result.flat[s], alone.flat, rtol=1e-5, atol=1e-5)
    assert result.predict(data)["RECO"].shape == (2, 512)


def test_per_member_early_stopping_restores_each_members_best():
    class Slope(nnx.Module):
        def __init__(self, seed):
            self.w = nnx.Param(jnp.array(0.1 * seed))

        def __call__(self, batch):
            return {"RECO": self.w[...] * batch["x"]}

    x = jnp.linspace(0.1, 1.0, 32)
    result = fit_ensemble(
        Slope,
        2,
        {"x": x, "RECO": 2.0 * x},
        optax.sgd(0.05),
        objective=masked_mse,
        epochs=300,
        batch_size=16,
        val_data={"x": x, "RECO": x},
        patience=4,
    )
    val = result.history["val_loss"]
    assert result.stopped_early
    assert list(result.best_epoch) == list(np.argmin(val, axis=0))
    assert result.best_epoch[0] != result.best_epoch[1]  # each its own best
    assert [round(float(m.w[...]), 1) for m in result.models] == [1.0, 1.0]


def test_members_of_different_structure_are_refused():
    with pytest.raises(ValueError, match="member 1"):
        stack_members([nnx.Linear(2, 3, rngs=nnx.Rngs(0)), nnx.Linear(2, 4, rngs=nnx.Rngs(0))])


def test_site_data_must_share_the_site_and_row_axes():
    data = {"x1": jnp.ones((2, 8)), "x2": jnp.ones((3, 8))}
    with pytest.raises(ValueError, match=r"data\['x2'\] has shape \(3, 8\)"):
        fit_sites(ToyQ10, data, optax.sgd(0.1), **OPTIONS)
