"""Name → object registries of the YAML front-end: the one place that maps names to code.

STYLE rule 3: the library below never switches on strings; the config layer looks names up
here (model types, activations, losses, trainable groups, synthetic generators).

Example:
    >>> sorted(MODELS)
    ['direct_fluxes', 'hybrid_q10', 'lue_q10_nee', 'tamrl', 'tamrl_hybrid']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from hybridflux.hybrid.models import direct_fluxes, hybrid_q10, lue_q10_nee
from hybridflux.hybrid.params import TRAIN_JOINT, TRAIN_NETWORKS, TRAIN_PHYSICS
from hybridflux.hybrid.tamrl import tamrl_film, tamrl_hybrid
from hybridflux.losses import masked_huber, masked_mse, masked_nse

__all__ = [
    "MODELS",
    "CATEGORICAL",
    "IGBP_CLASSES",
    "ACTIVATIONS",
    "LOSSES",
    "TRAINABLE",
    "SYNTHETIC",
    "SAMPLE_PREFIX",
    "BENCHMARK_MODELS",
]

#: Model ``type`` → factory of :mod:`hybridflux.hybrid.models` (row models, trained by
#: :func:`hybridflux.training.fit.fit`) or :mod:`hybridflux.hybrid.tamrl` (site models, trained
#: by episodes, :mod:`hybridflux.runs.episodic`): the one place that maps model names to code
#: (STYLE rule 3).
MODELS: dict[str, Callable[..., Any]] = {
    "hybrid_q10": hybrid_q10,
    "lue_q10_nee": lue_q10_nee,
    "direct_fluxes": direct_fluxes,
    "tamrl": tamrl_film,
    "tamrl_hybrid": tamrl_hybrid,
}

#: The 17 IGBP land-cover classes (a fixed list: one-hot columns identical in every data set).
IGBP_CLASSES: tuple[str, ...] = (
    "ENF", "EBF", "DNF", "DBF", "MF", "CSH", "OSH", "WSA", "SAV", "GRA", "WET", "CRO", "URB",
    "CVM", "SNO", "BSV", "WAT",
)  # fmt: skip

#: Categorical covariate of a site model → (per-site coordinate, classes): ``PFT`` in
#: ``model.covariates`` stands for the 0/1 columns ``PFT_ENF``, ``PFT_EBF``, ... of ``igbp``.
CATEGORICAL: dict[str, tuple[str, tuple[str, ...]]] = {"PFT": ("igbp", IGBP_CLASSES)}

#: Activation names accepted where a factory takes an ``activation`` callable.
ACTIVATIONS: dict[str, Callable] = {
    name: getattr(jax.nn, name) for name in ("tanh", "relu", "gelu", "silu", "softplus", "elu")
}

#: ``train.loss`` → masked data loss of :mod:`hybridflux.losses`.
LOSSES: dict[str, Callable] = {"mse": masked_mse, "huber": masked_huber, "nse": masked_nse}

#: ``train.trainable`` → nnx filter of the trained variables (:mod:`hybridflux.hybrid.params`).
TRAINABLE: dict[str, Any] = {
    "joint": TRAIN_JOINT,
    "networks": TRAIN_NETWORKS,
    "physics": TRAIN_PHYSICS,
}

#: ``data.synthetic.generator`` → ``"module:function"`` adding synthetic targets to a Dataset.
SYNTHETIC: dict[str, str] = {"q10_respiration": "hybridflux.data.synthetic:q10_respiration_dataset"}

#: Prefix of a ``data.paths`` entry naming a bundled sample (``sample:fr-pue-daily``).
SAMPLE_PREFIX = "sample:"

#: ``hybridflux benchmark`` model ``type`` → ``"module:Class"`` of the estimator (imported when
#: the benchmark config is parsed; the options of an entry are the class's keyword arguments).
BENCHMARK_MODELS: dict[str, str] = {
    "linear": "hybridflux.benchmark.baselines:LinearRegression",
    "gradient_boosting": "hybridflux.benchmark.baselines:GradientBoosting",
    "mlp": "hybridflux.benchmark.baselines:MLPRegression",
    "process": "hybridflux.benchmark.baselines:ProcessModel",
    "hybrid": "hybridflux.benchmark.models:HybridEntry",
    "tamrl": "hybridflux.benchmark.tamrl:TamRLEntry",
    "tamrl_hybrid": "hybridflux.benchmark.tamrl:TamRLHybridEntry",
}
