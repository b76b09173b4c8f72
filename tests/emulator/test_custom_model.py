"""The harness on a user's own process model: a two-pool bucket model written in a few lines."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from hybridflux.emulator import ProcessModel, load_emulator_config, run_workflow

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "emulator_tiny.yaml"


class BucketModel:
    """Vegetation and soil carbon, daily; GPP = ε·0.5·SW·0.0864·W, Ra = GPP/2, Rh = k·Q10·W·C_s."""

    flux_names = ("GPP", "RA", "RH", "NEE")
    pool_names = ("veg", "soil")
    param_names = ("eps", "k_soil")
    spin_cycles = 30

    def sample_parameters(self, rng, n):
        lo, hi = np.array([0.5, 0.002]), np.array([1.5, 0.006])
        return (lo + (hi - lo) * rng.random((n, 2))).astype(np.float32)

    def prior_mean(self):
        return np.array([1.0, 0.004], np.float32)

    @staticmethod
    @jax.jit
    def _run(theta, state, values):
        def day(pools, v):
            veg, soil = pools
            gpp = theta[:, 0] * 0.5 * v[:, 1] * 0.0864 * v[:, 3]
            ra, litter = 0.5 * gpp, 0.01 * veg
            rh = theta[:, 1] * 2.0 ** ((v[:, 0] - 10.0) / 10.0) * v[:, 3] * soil
            new = (veg + gpp - ra - litter, soil + litter - rh)
            return new, (jnp.stack([gpp, ra, rh, ra + rh - gpp], -1), jnp.stack(new, -1))

        end, (fluxes, pools) = jax.lax.scan(day, state, jnp.swapaxes(values, 0, 1))
        return end, jnp.swapaxes(fluxes, 0, 1), jnp.swapaxes(pools, 0, 1)

    def spin_up(self, theta, values, doy, lat):
        n = theta.shape[0]
        state = (jnp.full(n, 100.0), jnp.full(n, 1000.0))
        for _ in range(self.spin_cycles):
            state = self._run(jnp.asarray(theta), state, jnp.asarray(values, jnp.float32))[0]
        return state, np.full(n, self.spin_cycles * values.shape[1] / 365), np.ones(n, bool)

    def simulate(self, theta, state, values, doy, lat):
        return self._run(jnp.asarray(theta), state, jnp.asarray(values, jnp.float32))

    def pools(self, state):
        return jnp.stack(state, -1)

    def scale_pools(self, state, factors):
        return (state[0] * factors[:, 0], state[1] * factors[:, 1])


def test_bucket_model_satisfies_the_protocol():
    assert isinstance(BucketModel(), ProcessModel)


def test_the_harness_needs_the_four_fluxes(tmp_path):
    class Other(BucketModel):
        flux_names = ("GPP", "NEE")

    cfg = load_emulator_config(CONFIG)
    with pytest.raises(ValueError, match="flux_names"):
        run_workflow(cfg, tmp_path, model=Other())


@pytest.mark.slow
def test_the_whole_workflow_runs_on_a_users_model(tmp_path):
    cfg = load_emulator_config(CONFIG, ["cells.years=2"])
    result = run_workflow(cfg, tmp_path, model=BucketModel())
    bench = json.loads((tmp_path / "emulator.json").read_text())
    assert set(bench["r2"]) == {"GPP", "RA", "RH", "NEE", "veg", "soil"}
    assert bench["spinup_years"] == pytest.approx(2 * BucketModel.spin_cycles)
    frame = pd.read_csv(tmp_path / "sample_efficiency.csv")
    assert {"pretrained_finetuned", "scratch"} <= set(frame["model"])
    assert result["samples"] == cfg.cells.train * len(cfg.cells.variants) * 2 * 365
