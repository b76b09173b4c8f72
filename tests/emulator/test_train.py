"""Pretraining, equilibrium and fine-tuning (hybridflux.emulator.train, finetune)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from hybridflux.emulator.finetune import FinetuneObjective, finetune, masked_sq, new_like
from hybridflux.emulator.models import WindowedEmulator
from hybridflux.emulator.train import (
    PretrainObjective,
    pretrain,
    sequence_columns,
    train_equilibrium,
)


def test_masked_sq_by_hand():
    pred = jnp.array([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0]])
    obs = jnp.array([[0.0, jnp.nan, 2.0], [jnp.nan] * 3])
    np.testing.assert_allclose(masked_sq(pred, obs, jnp.ones(2)), [2.5, 0.0])


def test_pretrain_objective_terms_by_hand():
    obj = PretrainObjective(
        jnp.zeros(6), jnp.ones(6), lambda_flux=1.0, lambda_pool=1.0, pool_tol=0.5
    )
    # one run, two days, fluxes GPP RA RH NEE, two pools
    out = {
        "GPP": jnp.array([[5.0, 5.0]]),
        "RA": jnp.array([[2.0, 2.0]]),
        "RH": jnp.array([[1.0, 1.0]]),
        "NEE": jnp.array([[-2.0, -1.0]]),
        "POOLS": jnp.array([[[10.0, 20.0], [11.0, 22.0]]]),
        "Z": jnp.zeros((1, 2, 6)),
    }
    batch = {
        "fluxes": jnp.zeros((1, 2, 4)),
        "pools": jnp.array([[[10.0, 20.0], [11.0, 22.0]]]),
        "pools0": jnp.array([[10.0, 20.0]]),
    }
    loss, aux = obj(out, batch, jnp.ones(1))
    # data: targets = fluxes 0 and log ratios log((C + 1)/(C0 + 1)) = log(12/11), log(23/21)
    expected = (np.log(12 / 11) ** 2 + np.log(23 / 21) ** 2) / 12
    assert float(aux["data"]) == pytest.approx(expected, rel=1e-5)
    # flux balance: day 1 residual 0; day 2 |−1 − (3 − 5)| = 1 minus 1 % of 3 → 0.97, mean 0.485
    assert float(aux["flux_balance"]) == pytest.approx(0.97 / 2, rel=1e-6)
    # pools: day 1 Σ change 0 − net 2 → |−2| − 0.5; day 2 change 3 − 2 = 1 → 0.5; mean 1.0
    assert float(aux["pool_balance"]) == pytest.approx(1.0, rel=1e-6)
    assert float(loss) == pytest.approx(float(aux["data"]) + 0.485 + 1.0, rel=1e-6)


def test_pretraining_and_equilibrium_learn(tiny_data):
    train = tiny_data[0]
    cols = sequence_columns(train)
    result = pretrain(cols, hidden=(16,), epochs=40, batch_size=2, lr=1e-2)
    hist = result.history["train_loss"]
    assert hist[-1] < 0.5 * hist[0]
    assert isinstance(result.model, WindowedEmulator)
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = np.stack([x[:, 0] + 0.5 * x[:, 1] ** 2, np.sin(x[:, 2])], -1).astype(np.float32)
    eq = train_equilibrium(
        x[:32], y[:32], val=(x[32:], y[32:]), hidden=(16,), epochs=600, lr=1e-2, patience=0
    )
    pred = np.asarray(eq.model({"x_eq": jnp.asarray(x)})["LOG_POOLS"])
    assert np.mean((pred - y) ** 2) < 0.1 * np.var(y)


def test_drift_penalty_keeps_weights_close(tiny_data):
    train = tiny_data[0]
    cols = sequence_columns(train)
    base = pretrain(cols, hidden=(8,), epochs=2, batch_size=2).model
    obs = dict(cols, obs_NEE=cols["fluxes"][..., 3] + 3.0)  # a biased "observation"
    targets = {"NEE": "obs_NEE"}
    _, free = finetune(nnx.clone(base), obs, targets, epochs=40, lr=1e-2)
    _, tied = finetune(nnx.clone(base), obs, targets, epochs=40, lr=1e-2, lambda_drift=1e4)

    def dist(m):
        a, b = nnx.state(m, nnx.Param), nnx.state(base, nnx.Param)
        import jax

        return sum(
            float(jnp.sum((x - y) ** 2))
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
        )

    assert dist(tied) < 0.2 * dist(free)
    fresh = new_like(base, seed=5)
    assert float(fresh.y_std[0]) == float(base.y_std[0])
    loss, aux = FinetuneObjective(targets)(free(obs), obs, jnp.ones(obs["drivers"].shape[0]))
    assert set(aux) == {"NEE", "flux_balance"} and float(loss) >= 0
