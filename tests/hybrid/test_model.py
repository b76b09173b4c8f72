"""HybridModel: composition, trainable groups as filters, one trace under jit."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from hybridflux.hybrid.model import HybridModel
from hybridflux.hybrid.params import TRAIN_NETWORKS, TRAIN_PHYSICS, PhysicsParam, Stat
from hybridflux.hybrid.sources import Fixed, Global, Modulated


def reco_process(params, drivers):
    factor = params["Q10"] ** ((drivers["TA_F"] - params["T_ref"]) / 10.0)
    return {"RECO": params["Rb"] * factor, "extra": factor}


def make_model(seed=0):
    return HybridModel(
        reco_process,
        {
            "Rb": Modulated(["SW_POT_sm", "SW_POT_sm_diff"], lo=0.0, rngs=nnx.Rngs(seed)),
            "Q10": Global(2.0, 0.5, 5.0),
            "T_ref": Fixed(15.0),
        },
        ["RECO"],
        drivers=["TA_F"],
    )


def make_batch(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "TA_F": jnp.asarray(rng.normal(12.0, 6.0, n), dtype=jnp.float32),
        "SW_POT_sm": jnp.asarray(rng.uniform(50.0, 400.0, n), dtype=jnp.float32),
        "SW_POT_sm_diff": jnp.asarray(rng.normal(0.0, 2.0, n), dtype=jnp.float32),
        "RECO_obs": jnp.asarray(rng.uniform(0.5, 5.0, n), dtype=jnp.float32),
    }


def test_call_returns_requested_outputs_from_parameters():
    model, batch = make_model(), make_batch()
    out = model(batch)
    assert set(out) == {"RECO"} and out["RECO"].shape == (32,)
    p = {k: np.asarray(v) for k, v in model.parameters(batch).items()}
    assert set(p) == {"Rb", "Q10", "T_ref"}
    np.testing.assert_allclose(p["Q10"], 2.0, rtol=1e-6)
    expected = p["Rb"] * 2.0 ** ((np.asarray(batch["TA_F"]) - 15.0) / 10.0)
    np.testing.assert_allclose(out["RECO"], expected, rtol=1e-5)


def test_inputs_lists_drivers_and_covariates_once():
    assert make_model().inputs == ("TA_F", "SW_POT_sm", "SW_POT_sm_diff")


def test_missing_driver_and_missing_output_raise():
    batch = make_batch()
    with pytest.raises(KeyError, match="TA_F"):
        make_model()({k: v for k, v in batch.items() if k != "TA_F"})
    bad = HybridModel(reco_process, {"Q10": Global(2.0, 0.5, 5.0)}, ["NEE"])
    with pytest.raises(KeyError):
        bad(batch)
    with pytest.raises(TypeError):
        HybridModel(reco_process, {}, "RECO")


def test_set_normalization_forwards_to_modulated_sources():
    model, batch = make_model(), make_batch()
    model.set_normalization(batch)
    rb = model.sources["Rb"]
    expected = [float(np.mean(batch["SW_POT_sm"])), float(np.mean(batch["SW_POT_sm_diff"]))]
    np.testing.assert_allclose(rb.mean[...], expected, rtol=1e-5)


def test_split_separates_physics_from_network_weights():
    graphdef, physics, networks, rest = nnx.split(make_model(), PhysicsParam, nnx.Param, ...)
    physics_paths = [path for path, _ in nnx.to_flat_state(physics)]
    assert physics_paths == [("sources", "Q10", "z")]
    network_paths = [path for path, _ in nnx.to_flat_state(networks)]
    assert network_paths and all(p[:3] == ("sources", "Rb", "net") for p in network_paths)
    assert all(isinstance(v, Stat) for _, v in nnx.to_flat_state(rest))


def _sgd_step(model, batch, wrt):
    """One plain gradient step on the variables selected by ``wrt``, the others held."""
    graphdef, trainable, rest = nnx.split(model, wrt, ...)

    def loss(trainable):
        pred = nnx.merge(graphdef, trainable, rest)(batch)["RECO"]
        return jnp.mean((pred - batch["RECO_obs"]) ** 2)

    grads = jax.grad(loss)(trainable)
    nnx.update(model, jax.tree.map(lambda p, g: p - 0.1 * g, trainable, grads))


@pytest.mark.parametrize(
    ("wrt", "frozen"), [(TRAIN_PHYSICS, nnx.Param), (TRAIN_NETWORKS, PhysicsParam)]
)
def test_gradient_step_only_moves_the_selected_group(wrt, frozen):
    model, batch = make_model(), make_batch()
    frozen_before = jax.tree.map(np.asarray, nnx.state(model, frozen))
    trained_before = jax.tree.map(np.asarray, nnx.state(model, wrt))
    _sgd_step(model, batch, wrt)
    frozen_after = jax.tree.map(np.asarray, nnx.state(model, frozen))
    trained_after = jax.tree.map(np.asarray, nnx.state(model, wrt))
    for a, b in zip(jax.tree.leaves(frozen_before), jax.tree.leaves(frozen_after), strict=True):
        np.testing.assert_array_equal(a, b)
    moved = [
        not np.array_equal(a, b)
        for a, b in zip(
            jax.tree.leaves(trained_before), jax.tree.leaves(trained_after), strict=True
        )
    ]
    assert any(moved)


def test_functional_apply_traces_once_for_same_shape_batches():
    model = make_model()
    graphdef, state = nnx.split(model)

    @jax.jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def apply(state, batch):
        return nnx.merge(graphdef, state)(batch)["RECO"]

    for seed in range(3):
        apply(state, make_batch(seed=seed))
    state = jax.tree.map(lambda x: x + 0.01, state)  # new values, same structure
    apply(state, make_batch(seed=4))


def test_nnx_jit_of_model_call_traces_once():
    model, traces = make_model(), []

    @nnx.jit
    def apply(model, batch):
        traces.append(1)
        return model(batch)

    for seed in range(3):
        apply(model, make_batch(seed=seed))
    model.sources["Q10"].z[...] = model.sources["Q10"].z[...] + 0.3  # new value, same type
    apply(model, make_batch(seed=5))
    assert len(traces) == 1
