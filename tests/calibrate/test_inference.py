"""NUTS and SVI recover known parameters from synthetic data; seeding; the chain method."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal

from hybridflux.calibrate import inference
from hybridflux.calibrate.inference import chain_method_for, run_nuts, run_svi
from hybridflux.calibrate.models import Q10Respiration, flux_model
from hybridflux.calibrate.summary import summary_table
from tests.calibrate.conftest import LIKELIHOOD, Q10, RB, synthetic_data


def test_nuts_recovers_rb_and_q10_with_converged_chains(nuts_posterior):
    _, post = nuts_posterior
    assert post.samples["Q10"].shape == (2, 400) and post.method == "nuts"
    assert post.diverging.shape == (2, 400) and post.divergences == 0
    table = summary_table(post)
    for name, truth in (("Rb", RB), ("Q10", Q10), ("sigma_RECO", 0.1)):
        # within 3 posterior sd of the truth (a calibrated posterior misses with p ≈ 0.003)
        assert abs(table.loc[name, "mean"] - truth) < 3 * table.loc[name, "sd"], name
        assert table.loc[name, "r_hat"] < 1.02, name
        assert table.loc[name, "ess_bulk"] > 200, name
    # 220 observed rows at 10 % noise pin Q10 to about ± 0.02: the check above is not vacuous
    assert table.loc["Q10", "sd"] < 0.03 and table.loc["Rb", "sd"] < 0.03


def test_nuts_is_reproducible_with_a_seed(nuts_posterior):
    data, first = nuts_posterior
    again = run_nuts(
        flux_model, Q10Respiration(), data, LIKELIHOOD, chains=2, samples=400, warmup=400, seed=1
    )
    for name, draws in first.samples.items():
        np.testing.assert_array_equal(again.samples[name], draws)
    assert not np.array_equal(draws[0], draws[1])  # each chain has its own key


def test_chain_method_follows_the_device_count(monkeypatch):
    monkeypatch.setattr(jax, "local_device_count", lambda: 4)
    assert chain_method_for(4) == "parallel" and chain_method_for(8) == "vectorized"
    monkeypatch.setattr(jax, "local_device_count", lambda: 1)
    assert chain_method_for(4) == "vectorized"
    assert inference.GUIDES["normal"] is AutoNormal


def test_svi_recovers_q10_full_rank():
    guide = AutoMultivariateNormal
    post = run_svi(
        flux_model,
        Q10Respiration(),
        synthetic_data(),
        LIKELIHOOD,
        guide=guide,
        steps=1500,
        learning_rate=0.02,
        samples=300,
        seed=0,
    )
    assert post.samples["Q10"].shape == (1, 300) and post.method == "svi"
    assert set(post.samples) == {"Rb", "Q10", "sigma_RECO"}
    loss = post.info["svi_loss"]
    assert loss[-100:].mean() < loss[:100].mean()
    assert abs(float(post.samples["Q10"].mean()) - Q10) < 0.05
    assert abs(float(post.samples["Rb"].mean()) - RB) < 0.1


def test_svi_mean_field_with_minibatches():
    post = run_svi(
        flux_model,
        Q10Respiration(),
        synthetic_data(600),
        LIKELIHOOD,
        steps=2000,
        learning_rate=0.02,
        samples=200,
        seed=0,
        subsample_size=64,
    )
    assert post.info["guide"] == "AutoNormal"
    assert abs(float(post.samples["Q10"].mean()) - Q10) < 0.08


@pytest.mark.slow
def test_parallel_chains_on_several_devices():
    """With a (fake) CPU device per chain the chains run in parallel and agree."""
    code = textwrap.dedent(
        """
        import jax.numpy as jnp, numpy as np
        from hybridflux.calibrate import CalibrationData, Q10Respiration, flux_model, run_nuts
        ta = jnp.linspace(0.0, 25.0, 80)
        reco = 2.0 * 1.5 ** ((ta - 15.0) / 10.0) * (1.0 + 0.05 * jnp.sin(7.0 * ta))
        post = run_nuts(flux_model, Q10Respiration(), CalibrationData({"TA_F": ta},
                        {"RECO": reco}), chains=2, samples=200, warmup=200)
        print(post.info["chain_method"], round(float(np.mean(post.samples["Q10"])), 1))
        """
    )
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert result.stdout.split() == ["parallel", "1.5"]
