"""Emulator networks and features (hybridflux.emulator.models)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from hybridflux.emulator.models import (
    Anchored,
    DriverMLP,
    EquilibriumEmulator,
    WindowedEmulator,
    climate_summary,
    set_stats,
    window_features,
)


def test_trailing_means_wrap_the_record_like_a_spin_up_cycle():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(730, 2))
    doy = np.tile(np.arange(1.0, 366.0), 2)
    f = np.asarray(window_features(jnp.asarray(x), jnp.asarray(doy), windows=(7, 365)))
    wrapped = np.concatenate([x[-365:], x])
    for t in (0, 3, 400, 729):
        np.testing.assert_allclose(f[t, 2:4], wrapped[t + 365 - 6 : t + 366].mean(0), atol=1e-5)
        np.testing.assert_allclose(f[t, 4:6], wrapped[t + 1 : t + 366].mean(0), atol=1e-5)
    assert f[0, 6] == pytest.approx(np.sin(2 * np.pi / 365), abs=1e-6)
    assert f[0, 8] == 1.0 and f[365, 9] == pytest.approx(np.exp(-1.0))  # exp(-t/30), exp(-t/365)
    short = window_features(jnp.ones((20, 1)), jnp.arange(20.0), windows=(30,))
    np.testing.assert_allclose(short[:, 1], 1.0, rtol=1e-6)  # records < 1 year are tiled


def test_climate_summary_by_hand():
    t = np.arange(365)
    ta = 10 + 8 * np.sin(2 * np.pi * t / 365)
    drivers = np.stack([ta, np.full(365, 150.0), np.ones(365), np.full(365, 0.5), np.ones(365)], -1)
    s = np.asarray(climate_summary(jnp.asarray(drivers), jnp.asarray(45.0)))
    assert s.shape == (11,)
    assert s[0] == pytest.approx(10.0, abs=1e-4) and s[5] == pytest.approx(8 / np.sqrt(2), 1e-3)
    assert s[1] == pytest.approx(150.0) and s[6] == pytest.approx(0.0, abs=1e-3) and s[10] == 0.5


def _batch(n=2, t=400, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "drivers": jnp.asarray(rng.normal(size=(n, t, 5)), jnp.float32),
        "doy": jnp.tile(jnp.arange(t, dtype=jnp.float32) % 365 + 1, (n, 1)),
        "static": jnp.asarray(rng.normal(size=(n, 3)), jnp.float32),
        "pools0": jnp.asarray(rng.uniform(10, 100, (n, 9)), jnp.float32),
    }


def test_windowed_emulator_outputs_and_stats():
    em = WindowedEmulator(3, 9, 4, hidden=(16,), rngs=nnx.Rngs(0))
    batch = _batch()
    em.set_input_stats(batch)
    split = (em.x_mean[...], em.x_std[...])
    set_stats(em, "x", em.features(batch))  # the same stats from the broadcast features
    np.testing.assert_allclose(split[0], em.x_mean[...], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(split[1], em.x_std[...], rtol=1e-5)
    # the split first layer equals the plain MLP on the concatenated inputs
    z = em.net((em.features(batch) - em.x_mean[...]) / em.x_std[...])
    out = em(batch)
    np.testing.assert_allclose(out["Z"], z, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["NEE"], z[..., 3] * em.y_std[3] + em.y_mean[3], 1e-4, 1e-5)
    pools = (batch["pools0"][:, None] + 1) * np.exp(out["Z"][..., 4:]) - 1
    np.testing.assert_allclose(out["POOLS"], pools, 1e-5)
    np.testing.assert_allclose(out["RECO"], out["RA"] + out["RH"])
    # after the first year (no wrapped days in the windows) day t ignores later drivers
    long = _batch(t=800)
    later = dict(long, drivers=long["drivers"].at[:, 700:].set(5.0))
    np.testing.assert_allclose(em(later)["GPP"][:, 400:700], em(long)["GPP"][:, 400:700], atol=1e-4)
    p0 = batch["pools0"]
    assert em.targets(p0[:, None, :4], p0[:, None], p0).shape == (2, 1, 13)


def test_windowed_emulator_disequilibrium_input():
    """The last P per-run inputs are log((C0 + 1)/(C* + 1)): zero without ``pools_eq``."""
    em = WindowedEmulator(3, 9, 4, hidden=(8,), rngs=nnx.Rngs(0))
    batch = _batch()
    _, static = em.split_features(batch)
    np.testing.assert_array_equal(static[:, -9:], 0.0)
    np.testing.assert_allclose(em(dict(batch, pools_eq=batch["pools0"]))["NEE"], em(batch)["NEE"])
    eq = batch["pools0"] * 2.0
    _, static = em.split_features(dict(batch, pools_eq=eq))
    expected = np.log((batch["pools0"] + 1.0) / (eq + 1.0))
    np.testing.assert_allclose(static[:, -9:], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(static[:, -18:-9], np.log(batch["pools0"] + 1.0), rtol=1e-6)
    assert not np.allclose(em(dict(batch, pools_eq=eq))["NEE"], em(batch)["NEE"])


def test_emulator_call_traces_once():
    em = WindowedEmulator(3, 9, 4, hidden=(8,), rngs=nnx.Rngs(1))
    graph, state = nnx.split(em)
    run = jax.jit(
        eqx.debug.assert_max_traces(lambda s, b: nnx.merge(graph, s)(b)["NEE"], max_traces=1)
    )
    for seed in (1, 2, 3):
        jax.block_until_ready(run(state, _batch(seed=seed)))


def test_equilibrium_emulator_and_anchor_drift():
    eq = EquilibriumEmulator(4, 3, hidden=(8,), members=3, rngs=nnx.Rngs(0))
    x = jnp.asarray(np.random.default_rng(2).normal(size=(5, 4)), jnp.float32)
    out = eq({"x_eq": x})
    np.testing.assert_allclose(out["Z"], np.mean(out["Z_MEMBERS"], 0), rtol=1e-6)
    expected = np.maximum(np.exp(out["LOG_POOLS"]) - 1.0, 0.0)  # log(C + 1) inverted
    np.testing.assert_allclose(out["POOLS0"], expected, rtol=1e-5, atol=1e-6)
    anchored = Anchored(eq)
    assert float(anchored({"x_eq": x})["DRIFT"]) == 0.0
    layer = eq.nets[0].layers[0]
    layer.kernel[...] = layer.kernel[...] + 0.5
    expected = 0.25 * layer.kernel[...].size / anchored.size
    assert float(anchored({"x_eq": x})["DRIFT"]) == pytest.approx(expected, rel=1e-5)


def test_driver_mlp_baseline_shapes():
    net = DriverMLP(hidden=(8,), rngs=nnx.Rngs(0))
    out = net(_batch())
    assert set(out) == {"GPP", "RECO", "NEE"} and out["NEE"].shape == (2, 400)
