"""numpyro calibration models: process outputs, priors, the masked likelihood against scipy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro import handlers
from numpyro.infer import Predictive
from numpyro.infer.util import log_density
from scipy import stats

from hybridflux.calibrate.likelihood import (
    LearnedNoise,
    Likelihood,
    ObservedNoise,
    StudentT,
)
from hybridflux.calibrate.models import (
    LUEQ10NEE,
    PRIORS,
    CalibrationData,
    Q10Respiration,
    flux_model,
)

TA = np.array([-2.0, 5.0, 12.0, 18.0, 27.0])
PARAMS = {"Rb": 2.0, "Q10": 1.5, "sigma_RECO": 0.3}


def _prior_lp(spec, params) -> float:
    return sum(float(spec.priors[k].log_prob(params[k])) for k in spec.priors)


def _loglik(spec, data, likelihood, params) -> float:
    lp, _ = log_density(flux_model, (spec, data, likelihood), {}, params)
    noise = likelihood.noise_of("RECO")
    learned = isinstance(noise, LearnedNoise)
    sigma_lp = float(noise.prior.log_prob(params["sigma_RECO"])) if learned else 0.0
    return float(lp) - _prior_lp(spec, params) - sigma_lp


def test_q10_spec_calls_the_process_formula():
    # independent formula: Rb * Q10 ** ((T - 15) / 10)
    out = Q10Respiration()({"Rb": 2.0, "Q10": 1.5}, {"TA_F": jnp.asarray(TA)})
    np.testing.assert_allclose(out["RECO"], 2.0 * 1.5 ** ((TA - 15.0) / 10.0), rtol=1e-6)
    shifted = Q10Respiration(t_ref=10.0, ta="TS")({"Rb": 1.0, "Q10": 2.0}, {"TS": 20.0})
    assert float(shifted["RECO"]) == pytest.approx(2.0)


def test_default_priors_come_from_the_constants_and_can_be_overridden():
    spec = Q10Respiration()
    rb, q10 = spec.priors["Rb"], spec.priors["Q10"]
    assert float(jnp.exp(rb.loc)) == pytest.approx(2.0)  # Q10_RESPIRATION.r_base
    assert (float(q10.low), float(q10.high)) == PRIORS.q10_bounds
    assert not bool(q10.support.check(0.4)) and bool(q10.support.check(1.5))
    custom = Q10Respiration({"Q10": dist.Uniform(1.0, 2.0)})
    assert isinstance(custom.priors["Q10"], dist.Uniform) and custom.priors["Rb"] is not None
    with pytest.raises(ValueError, match="unknown parameters"):
        Q10Respiration({"E0": dist.Normal(0.0, 1.0)})


def test_gaussian_likelihood_equals_scipy_and_masks_gaps():
    y = np.array([1.0, np.nan, 2.1, 2.6, np.nan])
    spec, lik = Q10Respiration(), Likelihood()
    data = CalibrationData({"TA_F": jnp.asarray(TA)}, {"RECO": jnp.asarray(y)})
    mu = 2.0 * 1.5 ** ((TA - 15.0) / 10.0)
    ok = np.isfinite(y)
    expected = stats.norm.logpdf(y[ok], mu[ok], 0.3).sum()
    assert _loglik(spec, data, lik, PARAMS) == pytest.approx(expected, rel=1e-5)
    # gaps contribute nothing: same as dropping the rows
    kept = CalibrationData({"TA_F": jnp.asarray(TA[ok])}, {"RECO": jnp.asarray(y[ok])})
    assert _loglik(spec, kept, lik, PARAMS) == pytest.approx(expected, rel=1e-5)


def test_relative_noise_and_student_t_equal_scipy():
    y = np.array([1.0, 1.4, 2.1, 2.6, 4.0])
    mu = 2.0 * 1.5 ** ((TA - 15.0) / 10.0)
    data = CalibrationData({"TA_F": jnp.asarray(TA)}, {"RECO": jnp.asarray(y)})
    spec = Q10Respiration()
    lik = Likelihood(StudentT(df=3.0), LearnedNoise(relative=True))
    expected = stats.t.logpdf(y, 3.0, loc=mu, scale=0.3 * mu).sum()
    assert _loglik(spec, data, lik, PARAMS) == pytest.approx(expected, rel=1e-5)


def test_observed_noise_uses_the_uncertainty_column():
    y = np.array([1.0, 1.4, 2.1, 2.6, 4.0])
    unc = np.array([0.2, np.nan, 0.3, 0.4, 0.5])
    mu = 2.0 * 1.5 ** ((TA - 15.0) / 10.0)
    data = CalibrationData(
        {"TA_F": jnp.asarray(TA)}, {"RECO": jnp.asarray(y)}, {"RECO": jnp.asarray(unc)}
    )
    lik = Likelihood(noise={"RECO": ObservedNoise()})
    lp, trace = log_density(flux_model, (Q10Respiration(), data, lik), {}, PARAMS)
    assert "sigma_RECO" not in trace  # nothing learned
    ok = np.isfinite(unc)  # rows without uncertainty are left out
    expected = stats.norm.logpdf(y[ok], mu[ok], unc[ok]).sum()
    assert float(lp) - _prior_lp(Q10Respiration(), PARAMS) == pytest.approx(expected, rel=1e-5)


def test_gradient_is_finite_on_gappy_data():
    y = jnp.array([jnp.nan, 1.4, jnp.nan, 2.6, jnp.nan])
    data = CalibrationData({"TA_F": jnp.asarray(TA)}, {"RECO": y})
    lik = Likelihood(noise=LearnedNoise(relative=True))

    def lp(p):
        return log_density(flux_model, (Q10Respiration(), data, lik), {}, p)[0]

    grads = jax.grad(lp)({k: jnp.asarray(v) for k, v in PARAMS.items()})
    assert all(bool(jnp.isfinite(g)) for g in grads.values())
    assert float(grads["Q10"]) != 0.0


def test_lue_spec_partitions_nee():
    spec = LUEQ10NEE(fapar="FPAR")
    drivers = {
        "SW_IN_F": jnp.array([0.0, 150.0, 300.0]),
        "TA_F": jnp.array([5.0, 15.0, 25.0]),
        "FPAR": jnp.array([0.5, 0.5, 0.8]),
    }
    out = spec({"eps": 1.2, "Rb": 2.0, "Q10": 2.0}, drivers)
    # independent: GPP = eps * FPAR * 0.5 * SW_IN * 0.0864 (MJ m-2 d-1 of PAR)
    gpp = 1.2 * np.array([0.5, 0.5, 0.8]) * 0.5 * np.array([0.0, 150.0, 300.0]) * 0.0864
    np.testing.assert_allclose(out["GPP"], gpp, rtol=1e-5)
    np.testing.assert_allclose(out["NEE"], out["RECO"] - out["GPP"], rtol=1e-6)
    assert spec.drivers == ("SW_IN_F", "TA_F", "FPAR") and sorted(spec.priors) == [
        "Q10",
        "Rb",
        "eps",
    ]
    with pytest.raises(ValueError, match="at most one"):
        LUEQ10NEE(fapar="FPAR", lai="LAI")


def test_predict_mode_samples_every_row_and_records_outputs():
    y = jnp.array([1.0, jnp.nan, 2.0])
    data = CalibrationData({"TA_F": jnp.array([5.0, 15.0, 25.0])}, {"RECO": y})
    samples = {
        "Rb": jnp.full(200, 2.0),
        "Q10": jnp.full(200, 1.5),
        "sigma_RECO": jnp.full(200, 0.1),
    }
    pred = Predictive(flux_model, posterior_samples=samples)(
        jax.random.key(0), Q10Respiration(), data, predict=True
    )
    assert pred["RECO_obs"].shape == (200, 3) and bool(jnp.isfinite(pred["RECO_obs"]).all())
    np.testing.assert_allclose(pred["RECO"][0], 2.0 * 1.5 ** (np.array([-1.0, 0.0, 1.0])))
    # the noise has the learned scale: sd over draws ≈ 0.1 (absolute)
    assert float(pred["RECO_obs"][:, 1].std()) == pytest.approx(0.1, rel=0.2)


def test_subsampled_likelihood_is_rescaled_to_all_rows():
    n = 8
    data = CalibrationData({"TA_F": jnp.full(n, 15.0)}, {"RECO": jnp.full(n, 2.5)})
    full, _ = log_density(flux_model, (Q10Respiration(), data), {}, PARAMS)
    seeded = handlers.seed(flux_model, rng_seed=0)
    half, _ = log_density(seeded, (Q10Respiration(), data), {"subsample_size": 4}, PARAMS)
    # identical rows: the subsample's likelihood scaled by n/4 equals the full likelihood
    assert float(half) == pytest.approx(float(full), rel=1e-5)
