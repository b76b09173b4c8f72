"""Toy hybrid model and data for the training-engine tests (independent of hybrid/, losses.py).

RECO = Rb(x) · Q10^((T − 15)/10) with Rb an unknown smooth function of two covariates (learned by
a 2-16-16-1 MLP) and Q10 = 1.5 a global physics parameter (``PhysicsParam``, stored
unconstrained: Q10 = 1 + 2·sigmoid(z)). T is independent of x, so Q10 is identifiable.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from hybridflux.hybrid.params import PhysicsParam, Stat

TRUE_Q10 = 1.5
T_REF = 15.0


class ToyQ10(nnx.Module):
    """2-16-16-1 MLP for Rb(x1, x2) (softplus head) times a global Q10."""

    def __init__(self, seed: int = 0, q10_init: float = 2.0):
        rngs = nnx.Rngs(seed)
        self.l1 = nnx.Linear(2, 16, rngs=rngs)
        self.l2 = nnx.Linear(16, 16, rngs=rngs)
        self.l3 = nnx.Linear(16, 1, rngs=rngs)
        z = np.log((q10_init - 1.0) / (3.0 - q10_init))  # inverse of 1 + 2·sigmoid(z)
        self.q10_z = PhysicsParam(jnp.asarray(z, jnp.float32))
        self.x_mean = Stat(jnp.full(2, 0.5))

    def q10(self) -> jax.Array:
        return 1.0 + 2.0 * jax.nn.sigmoid(self.q10_z[...])

    def __call__(self, batch):
        x = jnp.stack([batch["x1"], batch["x2"]], axis=-1) - self.x_mean[...]
        h = jnp.tanh(self.l1(x))
        h = jnp.tanh(self.l2(h))
        rb = jax.nn.softplus(self.l3(h))[..., 0]
        return {"RECO": rb * self.q10() ** ((batch["TA"] - T_REF) / 10.0)}


def masked_mse(outputs, batch, weight):
    """Weighted MSE of RECO over rows with weight > 0 and a finite target (double-where)."""
    y = batch["RECO"]
    ok = jnp.isfinite(y) & (weight > 0)
    w = jnp.where(ok, weight, 0.0)
    resid = jnp.where(ok, outputs["RECO"] - jnp.where(ok, y, 0.0), 0.0)
    total = jnp.sum(w)
    mse = jnp.where(total > 0, jnp.sum(w * resid**2) / jnp.where(total > 0, total, 1.0), 0.0)
    return mse, {"rmse": jnp.sqrt(mse + 1e-12)}


def toy_data(n: int, seed: int = 0, noise: float = 0.05) -> dict[str, jax.Array]:
    """Synthetic RECO data; ``noise`` is the relative noise level."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(0.0, 1.0, (2, n))
    ta = rng.uniform(-5.0, 30.0, n)
    rb = 0.5 + 1.5 * x1 * x2 + 0.5 * np.sin(3.0 * x1)
    reco = rb * TRUE_Q10 ** ((ta - T_REF) / 10.0) * (1.0 + noise * rng.standard_normal(n))
    cols = {"x1": x1, "x2": x2, "TA": ta, "RECO": reco}
    return {k: jnp.asarray(v, jnp.float32) for k, v in cols.items()}


@pytest.fixture
def data():
    """512 rows of toy data."""
    return toy_data(512)


@pytest.fixture
def val_data():
    """256 validation rows of toy data (another draw)."""
    return toy_data(256, seed=1)
