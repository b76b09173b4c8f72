"""Calibrate the global physics parameters of a trained hybrid model, networks fixed.

A hybrid model (:class:`~hybridflux.hybrid.model.HybridModel`) takes each process parameter
from a source: a network of covariates (``Modulated``), a constant (``Fixed``) or one learned
scalar (``Global``, e.g. Q10). With the network weights of a trained run held fixed, the
network-predicted parameters are known numbers per row, so the posterior of the ``Global``
parameters is a small NUTS problem:

    θ_g ~ prior_g                       (Global parameters; default Uniform(lo, hi) of the
                                          Global's bounds)
    μ_i = process({θ_g, NN_p(x_i)}, drivers_i)
    y_i ~ Family(μ_i, σ_i)

:func:`network_columns` evaluates the fixed sources once (columns ``param/<name>``);
:class:`HybridGlobals` is the process spec that reads them and calls the model's own process
function (Reichstein et al. 2022: calibrate physics on top of a trained hybrid model).

Example:
    >>> from hybridflux.hybrid.models import hybrid_q10
    >>> spec = hybrid_spec(hybrid_q10(q10_init=1.5, rngs=0))
    >>> sorted(spec.priors), spec.drivers
    (['Q10'], ('TA_F', 'param/Rb'))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import numpyro.distributions as dist

from hybridflux.hybrid.sources import Global
from hybridflux.runs.pipeline import Columns, predict_columns
from hybridflux.runs.rundir import RunDir

__all__ = [
    "PARAM_PREFIX",
    "HybridGlobals",
    "global_priors",
    "hybrid_spec",
    "network_columns",
    "load_run_model",
]

#: Prefix of the data columns holding the fixed (network-predicted) parameters.
PARAM_PREFIX = "param/"


@dataclass(frozen=True)
class HybridGlobals:
    """Process spec of a trained hybrid model whose Global parameters are calibrated.

    Attributes:
        process: the model's process function ``process(params, drivers) -> dict``.
        fixed: names of the parameters read from the ``param/<name>`` columns.
        priors: Global parameter → prior.
        model_drivers: the process's own driver columns.
        model_outputs: the model's outputs.

    Example:
        >>> spec = HybridGlobals(lambda p, d: {"Y": p["a"] * d["x"] + p["b"]}, ("b",),
        ...                      {"a": dist.Uniform(0.0, 5.0)}, ("x",), ("Y",))
        >>> float(spec({"a": 2.0}, {"x": 3.0, "param/b": 1.0})["Y"])
        7.0
    """

    process: Callable[..., dict[str, jax.Array]]
    fixed: tuple[str, ...]
    priors: Mapping[str, dist.Distribution]
    model_drivers: tuple[str, ...]
    model_outputs: tuple[str, ...]

    @property
    def drivers(self) -> tuple[str, ...]:
        """The process drivers, then the ``param/<name>`` columns."""
        return (*self.model_drivers, *(PARAM_PREFIX + name for name in self.fixed))

    @property
    def outputs(self) -> tuple[str, ...]:
        """The model's outputs."""
        return self.model_outputs

    def __call__(self, params, drivers) -> dict[str, jax.Array]:
        """The model's outputs with the fixed parameters from the data and ``params`` global."""
        full = {name: drivers[PARAM_PREFIX + name] for name in self.fixed}
        full.update(params)
        result = self.process(full, drivers)
        return {name: result[name] for name in self.model_outputs}


def _globals(model: Any) -> dict[str, Global]:
    return {name: s for name, s in model.sources.items() if isinstance(s, Global)}


def global_priors(model: Any) -> dict[str, dist.Distribution]:
    """Default priors of a model's Global parameters from their bounds.

    ``Uniform(lo, hi)`` for a bounded Global; ``TruncatedNormal(θ, max(|θ|, 1), low=lo)``
    around the trained value θ for one without upper bound.

    Example:
        >>> from hybridflux.hybrid.models import hybrid_q10
        >>> prior = global_priors(hybrid_q10(q10_bounds=(0.5, 5.0), rngs=0))["Q10"]
        >>> float(prior.low), float(prior.high)
        (0.5, 5.0)
    """
    priors = {}
    for name, source in _globals(model).items():
        if len(source.bounds) == 2:
            priors[name] = dist.Uniform(*source.bounds)
        else:
            value = float(source.value)
            scale = max(abs(value), 1.0)
            priors[name] = dist.TruncatedNormal(value, scale, low=source.bounds[0])
    return priors


def hybrid_spec(model: Any, priors: Mapping[str, dist.Distribution] | None = None) -> HybridGlobals:
    """The :class:`HybridGlobals` spec of a (trained) hybrid model.

    Args:
        model: a :class:`~hybridflux.hybrid.model.HybridModel`.
        priors: overrides of :func:`global_priors`, by Global parameter name.

    Raises:
        ValueError: the model has no Global parameter, or a prior names no Global parameter.
    """
    defaults = global_priors(model)
    if not defaults:
        raise ValueError("the model has no Global parameter to calibrate")
    unknown = sorted(set(priors or {}) - set(defaults))
    if unknown:
        raise ValueError(
            f"priors for {unknown}, which are not Global parameters of the model "
            f"(those are {sorted(defaults)})"
        )
    fixed = tuple(name for name in model.sources if name not in defaults)
    return HybridGlobals(
        model.process,
        fixed,
        {**defaults, **dict(priors or {})},
        tuple(model.drivers),
        tuple(model.outputs),
    )


def network_columns(model: Any, columns: Columns) -> dict[str, np.ndarray]:
    """The fixed parameters (networks, constants) of ``model`` on the rows, ``param/<name>``.

    Args:
        model: the trained hybrid model.
        columns: rows with every model input.

    Returns:
        ``param/<name>`` → ``(N,)`` float32 values.
    """
    predicted = predict_columns([model], columns)
    fixed = [name for name in model.sources if name not in _globals(model)]
    return {PARAM_PREFIX + n: predicted[PARAM_PREFIX + n].astype(np.float32) for n in fixed}


def load_run_model(run: str | os.PathLike, member: int = 0) -> tuple[Any, Any]:
    """The config and one trained model of a run directory (``member`` of an ensemble).

    Raises:
        FileNotFoundError: not a run directory, or the run has no trained model.
        ValueError: ``member`` out of range.
    """
    rundir = RunDir(run)
    cfg = rundir.read_config()
    models = rundir.load_models(cfg)
    if not 0 <= member < len(models):
        raise ValueError(f"{run} has {len(models)} trained model(s); member {member} is not one")
    return cfg, models[member]
