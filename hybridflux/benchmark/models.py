"""How a benchmark entry becomes a model: trained modules, hybrids, the type → class lookup.

A benchmark config lists models by name, each an entry ``{type: ..., <options>}``; ``type``
is a key of :data:`hybridflux.config.registry.BENCHMARK_MODELS` (the one place that maps these
names to classes), the options are the keyword arguments of that class. Adding a model to a
benchmark is adding an entry; adding a kind of model is adding a class and a registry name.

Every class is built as ``cls(context, **options)`` with a :class:`BuildContext` (the
scenario's input columns, the targets, the seed, the benchmark-wide training defaults) and
satisfies :class:`Estimator`: ``fit(train, val)`` on float32 columns and ``predict(data)`` →
target name → predictions. Models trained by gradient descent go through the training engine
(:func:`hybridflux.training.fit` / :func:`~hybridflux.training.fit_ensemble`) via
:class:`TrainedModule`; :class:`HybridEntry` (type ``hybrid``) wraps any model of the run
config's registry (:data:`hybridflux.config.MODELS`, e.g. ``lue_q10_nee``).

The contract (:class:`BuildContext`, :class:`Estimator`, :class:`FitOptions`,
:data:`TRAIN_DEFAULTS`, :class:`MissingDependency`) is defined in
:mod:`hybridflux.benchmark.contract` and re-exported here.

Example:
    >>> ctx = BuildContext({"TA_F": ("TA_F",), "PFT": ("PFT_ENF", "PFT_GRA")}, {"GPP": "G"})
    >>> ctx.inputs, ctx.expand(["TA_F", "PFT"])
    (('TA_F', 'PFT_ENF', 'PFT_GRA'), ['TA_F', 'PFT_ENF', 'PFT_GRA'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from hybridflux.benchmark.contract import (
    TRAIN_DEFAULTS,
    BuildContext,
    Estimator,
    FitOptions,
    MissingDependency,
)
from hybridflux.config import (
    LOSSES,
    TRAINABLE,
    ConfigError,
    ConstraintsConfig,
    TrainConfig,
)
from hybridflux.config.sections import ModelConfig
from hybridflux.constraints import FluxBalance
from hybridflux.losses import Objective
from hybridflux.runs.build import build_optimizer
from hybridflux.runs.pipeline import Columns, predict_columns
from hybridflux.training import fit, fit_ensemble

__all__ = [
    "BuildContext",
    "Estimator",
    "MissingDependency",
    "FitOptions",
    "TRAIN_DEFAULTS",
    "TrainedModule",
    "HybridEntry",
    "model_class",
    "build_model",
]


class TrainedModule:
    """An estimator around an nnx module trained with :mod:`hybridflux.training`.

    Args:
        make: builds the (untrained) module from a seed; it maps a batch to named outputs and
            has ``inputs`` and ``set_normalization`` (a :class:`~hybridflux.hybrid.HybridModel`).
        context: the build context (targets, seed).
        outputs: target name → the module's output predicting it.
        train_on: the targets in the loss (default all of ``outputs``).
        options: resolved training options (:meth:`BuildContext.options`).
        trainable: key of :data:`hybridflux.config.TRAINABLE` (joint|networks|physics).
        constraints: constraint terms added to the objective.

    Example:
        >>> from hybridflux.hybrid.models import hybrid_q10
        >>> ctx = BuildContext({"TA_F": ("TA_F",)}, {"RECO": "RECO_obs"})
        >>> make = lambda seed: hybrid_q10(["TA_F"], hidden=(4,), rngs=seed)
        >>> est = TrainedModule(make, ctx, {"RECO": "RECO"}, None, {**TRAIN_DEFAULTS, "epochs": 2})
        >>> ta = np.linspace(0.0, 20.0, 64)
        >>> est.fit({"TA_F": ta, "RECO_obs": 2.0 * 1.5 ** ((ta - 15) / 10)}, None)
        >>> est.predict({"TA_F": ta[:3]})["RECO"].shape
        (3,)
    """

    def __init__(
        self,
        make: Callable[[int], Any],
        context: BuildContext,
        outputs: Mapping[str, str],
        train_on: Sequence[str] | None,
        options: Mapping[str, Any],
        trainable: str = "joint",
        constraints: Sequence[Any] = (),
    ):
        train_on = list(outputs) if train_on is None else list(train_on)
        unknown = [t for t in train_on if t not in outputs]
        if unknown:
            raise ValueError(f"train_on {unknown}: not among the model's targets {list(outputs)}")
        self._make, self.context, self.outputs = make, context, dict(outputs)
        self.objective = Objective(
            {outputs[t]: context.targets[t] for t in train_on},
            loss=LOSSES[options["loss"]],
            constraints=list(constraints),
        )
        self.options, self.trainable = dict(options), TRAINABLE[trainable]
        self.models: list[Any] = []
        self.info: dict[str, Any] = {}

    def fit(self, train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray] | None) -> None:
        """Train (an ensemble when ``ensemble > 1``); early stopping on ``val`` if given."""
        o, seed = self.options, self.context.seed
        inputs = self._make(seed).inputs
        names = [*inputs, *self.objective.columns]
        data = {k: np.asarray(train[k], np.float32) for k in names}
        val_data = None if val is None else {k: np.asarray(val[k], np.float32) for k in names}
        cfg = TrainConfig(
            epochs=o["epochs"],
            batch_size=o["batch_size"],
            seed=seed,
            patience=o["patience"],
            checkpoint_every=o["epochs"],
            lr=o["lr"],
            lr_schedule=o["lr_schedule"],
            clip_norm=o["clip_norm"],
        )

        def make(s: int) -> Any:
            model = self._make(int(s))
            model.set_normalization(data)
            return model

        kwargs = dict(
            objective=self.objective,
            epochs=o["epochs"],
            batch_size=o["batch_size"],
            seed=seed,
            trainable=self.trainable,
            val_data=val_data,
            patience=o["patience"] if val_data is not None else 0,
        )
        optimizer = build_optimizer(cfg, len(data[names[0]]))
        if o["ensemble"] > 1:
            result = fit_ensemble(make, o["ensemble"], data, optimizer, **kwargs)
            self.models = list(result.models)
        else:
            result = fit(make(seed), data, optimizer, **kwargs)
            self.models = [result.model]
        self.info = {"epochs_run": int(result.epochs_run), "stopped_early": result.stopped_early}

    def predict(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Target name → predictions (the ensemble mean)."""
        if not self.models:
            raise RuntimeError("predict before fit")
        n = len(next(iter(data.values())))
        columns = Columns(
            {k: np.asarray(data[k], np.float32) for k in self.models[0].inputs},
            np.zeros(n, np.int64),
            np.zeros(n, np.int64),
        )
        out = predict_columns(self.models, columns)
        return {t: out[name] for t, name in self.outputs.items()}


def _expand_section(section: Any, context: BuildContext) -> Any:
    """A model section with input names (e.g. ``PFT``) replaced by their columns."""
    update = {}
    for key in type(section).model_fields:
        value = getattr(section, key)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            update[key] = context.expand(value)
    return section.model_copy(update=update)


class HybridEntry(TrainedModule):
    """A model of the run config's registry (``hybrid_q10``, ``lue_q10_nee``, ...) as an entry.

    Its covariates may name benchmark inputs (``PFT`` stands for its one-hot columns) and may
    only use the benchmark's inputs. It predicts the benchmark targets named like its outputs.

    Args:
        context: the build context.
        model: the ``model`` section of a run config (``type`` and the factory's options).
        train: training options (:class:`FitOptions`).
        train_on: targets in the loss (default every target the model predicts; e.g.
            ``[NEE]`` to learn GPP and RECO from NEE alone).
        trainable: joint|networks|physics.
        constraints: e.g. ``{flux_balance: {weight: 1.0}}`` for models without a built-in
            carbon balance.

    Raises:
        ValueError: the model reads a column that is not a benchmark input, or predicts none
            of the targets.

    Example:
        >>> from hybridflux.config.sections import _MODEL_SECTIONS
        >>> section = _MODEL_SECTIONS["hybrid_q10"](type="hybrid_q10", covariates=["SW_IN_F"])
        >>> ctx = BuildContext({"TA_F": ("TA_F",), "SW_IN_F": ("SW_IN_F",)}, {"RECO": "RECO"})
        >>> HybridEntry(ctx, model=section).outputs
        {'RECO': 'RECO'}
    """

    def __init__(
        self,
        context: BuildContext,
        *,
        model: ModelConfig,
        train: FitOptions = FitOptions(),  # noqa: B008 - pydantic default, never mutated
        train_on: list[str] | None = None,
        trainable: Literal[tuple(TRAINABLE)] = "joint",
        constraints: ConstraintsConfig = ConstraintsConfig(),  # noqa: B008
    ):
        section = _expand_section(model, context)
        probe = section.build(context.seed)
        foreign = [c for c in probe.inputs if c not in context.inputs]
        if foreign:
            raise ValueError(
                f"the model reads {foreign}, which are not benchmark inputs "
                f"(inputs: {list(context.groups)})"
            )
        outputs = {t: t for t in context.targets if t in probe.outputs}
        if not outputs:
            raise ValueError(
                f"the model's outputs {list(probe.outputs)} are none of the "
                f"targets {list(context.targets)}"
            )
        terms = []
        if constraints.flux_balance is not None:
            fb = constraints.flux_balance
            terms.append(FluxBalance(weight=fb.weight, tol=fb.tol, power=fb.power))
        super().__init__(
            section.build, context, outputs, train_on, context.options(train), trainable, terms
        )


def model_class(type_name: str) -> type:
    """The class of a benchmark model type (:data:`~hybridflux.config.registry.BENCHMARK_MODELS`).

    Example:
        >>> model_class("hybrid").__name__
        'HybridEntry'
    """
    from hybridflux.config.registry import BENCHMARK_MODELS

    if type_name not in BENCHMARK_MODELS:
        raise ConfigError(
            "models", [f"unknown model type {type_name!r}; known: {', '.join(BENCHMARK_MODELS)}"]
        )
    module, name = BENCHMARK_MODELS[type_name].split(":")
    return getattr(importlib.import_module(module), name)


def build_model(entry: Any, context: BuildContext, name: str = "model") -> Estimator:
    """Build the estimator of a validated config entry (its ``type`` and options).

    Args:
        entry: a model entry of :class:`hybridflux.benchmark.config.BenchmarkConfig`.
        context: the scenario's build context.
        name: the entry's name, for error messages.

    Raises:
        ConfigError: the options do not fit the data (e.g. a column that is not an input).
        MissingDependency: an optional dependency of the model is not installed.

    Example:
        >>> from hybridflux.benchmark.config import ENTRY_SECTIONS
        >>> entry = ENTRY_SECTIONS["linear"](type="linear")
        >>> type(build_model(entry, BuildContext({"x": ("x",)}, {"Y": "y"}))).__name__
        'LinearRegression'
    """
    options = {k: getattr(entry, k) for k in type(entry).model_fields if k != "type"}
    try:
        return model_class(entry.type)(context, **options)
    except (ValueError, TypeError) as err:
        raise ConfigError("config", [f"models.{name}: {err}"]) from err
