"""Bayesian calibration of process parameters with numpyro (``hybridflux calibrate``).

Posteriors, not point estimates, for Q10, light-use efficiency and the other physics
parameters: numpyro models built from the process functions (:mod:`.models`), a masked
Gaussian or Student-t likelihood with learned or observed noise (:mod:`.likelihood`), NUTS with
several chains or SVI (:mod:`.inference`), the global parameters of a trained hybrid model
with its networks fixed (:mod:`.hybrid`), ArviZ-layout outputs, summaries and figures
(:mod:`.outputs`, :mod:`.summary`, :mod:`.figures`), and the YAML front end
(:mod:`.config`, :func:`run_calibration`).

Example:
    >>> import jax.numpy as jnp
    >>> from hybridflux.calibrate import CalibrationData, Q10Respiration, flux_model, run_nuts
    >>> ta = jnp.linspace(0.0, 25.0, 60)
    >>> reco = 2.0 * 1.5 ** ((ta - 15.0) / 10.0) * (1.0 + 0.05 * jnp.sin(7.0 * ta))
    >>> post = run_nuts(flux_model, Q10Respiration(), CalibrationData({"TA_F": ta},
    ...                 {"RECO": reco}), chains=2, samples=100, warmup=100)
    >>> round(float(post.samples["Q10"].mean()), 1)
    1.5

From the command line: ``hybridflux calibrate configs/calibrate_q10.yaml --out DIR``
(:func:`run_calibration`).
"""

from hybridflux.calibrate.config import CalibrateConfig as CalibrateConfig
from hybridflux.calibrate.config import load_calibrate_config as load_calibrate_config
from hybridflux.calibrate.config import run_calibration as run_calibration
from hybridflux.calibrate.hybrid import HybridGlobals as HybridGlobals
from hybridflux.calibrate.hybrid import hybrid_spec as hybrid_spec
from hybridflux.calibrate.inference import Posterior as Posterior
from hybridflux.calibrate.inference import run_nuts as run_nuts
from hybridflux.calibrate.inference import run_svi as run_svi
from hybridflux.calibrate.likelihood import Gaussian as Gaussian
from hybridflux.calibrate.likelihood import LearnedNoise as LearnedNoise
from hybridflux.calibrate.likelihood import Likelihood as Likelihood
from hybridflux.calibrate.likelihood import ObservedNoise as ObservedNoise
from hybridflux.calibrate.likelihood import StudentT as StudentT
from hybridflux.calibrate.models import LUEQ10NEE as LUEQ10NEE
from hybridflux.calibrate.models import CalibrationData as CalibrationData
from hybridflux.calibrate.models import Q10Respiration as Q10Respiration
from hybridflux.calibrate.models import flux_model as flux_model
from hybridflux.calibrate.summary import CalibrationWarning as CalibrationWarning
from hybridflux.calibrate.summary import summary_table as summary_table

__all__ = [
    "CalibrateConfig",
    "CalibrationData",
    "CalibrationWarning",
    "Gaussian",
    "HybridGlobals",
    "LUEQ10NEE",
    "LearnedNoise",
    "Likelihood",
    "ObservedNoise",
    "Posterior",
    "Q10Respiration",
    "StudentT",
    "flux_model",
    "hybrid_spec",
    "load_calibrate_config",
    "run_calibration",
    "run_nuts",
    "run_svi",
    "summary_table",
]
