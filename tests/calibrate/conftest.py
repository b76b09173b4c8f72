"""Shared fixtures of the calibration tests: synthetic Q10 data and one NUTS posterior."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from hybridflux.calibrate.inference import Posterior, run_nuts
from hybridflux.calibrate.likelihood import LearnedNoise, Likelihood
from hybridflux.calibrate.models import CalibrationData, Q10Respiration, flux_model

#: The truth of the synthetic data.
RB, Q10, NOISE = 2.0, 1.5, 0.1
#: The likelihood matching the data: relative (multiplicative) Gaussian noise.
LIKELIHOOD = Likelihood(noise=LearnedNoise(relative=True))


def synthetic_data(n: int = 240, seed: int = 3) -> CalibrationData:
    """Respiration with 10 % multiplicative noise and gaps (numpy, independent of the code)."""
    rng = np.random.default_rng(seed)
    ta = 12.0 + 10.0 * np.sin(np.linspace(0.0, 4 * np.pi, n)) + rng.normal(0.0, 2.0, n)
    reco = RB * Q10 ** ((ta - 15.0) / 10.0) * (1.0 + NOISE * rng.standard_normal(n))
    reco[::17] = np.nan
    return CalibrationData({"TA_F": jnp.asarray(ta, jnp.float32)}, {"RECO": jnp.asarray(reco)})


@pytest.fixture(scope="session")
def nuts_posterior() -> tuple[CalibrationData, Posterior]:
    """2 chains × 400 draws of the Q10 model on :func:`synthetic_data` (seed 1)."""
    data = synthetic_data()
    post = run_nuts(
        flux_model, Q10Respiration(), data, LIKELIHOOD, chains=2, samples=400, warmup=400, seed=1
    )
    return data, post
