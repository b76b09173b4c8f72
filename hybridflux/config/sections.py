"""The sections of the run configuration as strict pydantic models (unknown keys are errors).

See :mod:`hybridflux.config` for the meaning of every section and key.

Example:
    >>> TrainConfig(epochs=2, batch_size=8, seed=0, patience=0, checkpoint_every=1).lr
    0.001
"""

from __future__ import annotations

import datetime
import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from hybridflux.config.registry import (
    ACTIVATIONS,
    CATEGORICAL,
    LOSSES,
    MODELS,
    SYNTHETIC,
    TRAINABLE,
)
from hybridflux.data.splits import SPLIT_KINDS

__all__ = [
    "ConfigError",
    "Config",
    "DataConfig",
    "SyntheticConfig",
    "SplitConfig",
    "TrainConfig",
    "EpisodesConfig",
    "FluxBalanceConfig",
    "ConstraintsConfig",
    "EvaluateConfig",
    "OutputConfig",
]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the offending key(s).

    Example:
        >>> print(ConfigError("config.yaml", ["train.epochs: missing required key"]))
        config.yaml: invalid configuration
          train.epochs: missing required key
    """

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: invalid configuration", *(f"  {p}" for p in self.problems)]
        super().__init__("\n".join(lines))


class _Strict(BaseModel):
    """Base of every section: unknown keys are errors, defaults are validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class SyntheticConfig(_Strict):
    """Synthetic target generation on the real drivers (``data.synthetic``).

    ``generator`` names a function of :mod:`hybridflux.data.synthetic`; ``q10``, ``noise``
    and ``seed`` are passed to it (``q10_respiration``: Cohrs et al. 2024, RECO_syn).
    """

    generator: Literal[tuple(SYNTHETIC)] = "q10_respiration"
    q10: float = Field(1.5, gt=0)
    noise: float = Field(0.0, ge=0)
    seed: int = 0


class DataConfig(_Strict):
    """Where the data come from and how they are prepared (``data``)."""

    paths: list[str] = Field(min_length=1)
    time_step: Literal["HH", "HR", "DD", "WW", "MM", "YY"] | None = None
    period: tuple[datetime.date, datetime.date] | None = None
    qc_threshold: float | None = None
    qc_drivers: bool = False
    features: list[str] = []
    synthetic: SyntheticConfig | None = None


#: Split kind → its options (parameters of the kind's function in hybridflux.data.splits).
_SPLIT_OPTIONS = {
    kind: set(inspect.signature(fn).parameters) - {"ds", "seed", "val_fraction"}
    for kind, fn in SPLIT_KINDS.items()
}


class SplitConfig(_Strict):
    """Train/validation/test split (``split``), see :func:`hybridflux.data.make_split`."""

    kind: Literal[tuple(SPLIT_KINDS)]
    test_years: list[int] | None
    test_sites: list[str] | None
    val_fraction: float = Field(0.0, ge=0, lt=1)
    seed: int = 0
    test_fraction: float | None = Field(None, ge=0, lt=1)
    by: Literal["random", "igbp", "climate"] | None = None
    test_count: int | None = Field(None, ge=0)
    variable: str | None = None

    @model_validator(mode="after")
    def _options_of_kind(self) -> SplitConfig:
        every = set().union(*_SPLIT_OPTIONS.values())
        wrong = sorted(k for k in every - _SPLIT_OPTIONS[self.kind] if getattr(self, k) is not None)
        if wrong:
            keys = ", ".join(f"split.{k}" for k in wrong)
            raise ValueError(f"{keys} must be null for split kind {self.kind!r}")
        return self

    def options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`hybridflux.data.make_split` (null options left out)."""
        names = _SPLIT_OPTIONS[self.kind]
        options = {k: getattr(self, k) for k in sorted(names) if getattr(self, k) is not None}
        return {"seed": self.seed, "val_fraction": self.val_fraction, **options}


class EpisodesConfig(_Strict):
    """Episodic training of a site model (``train.episodes``), see
    :func:`hybridflux.training.episodes.fit_episodes`: ``batch_sites`` sites per step, each
    with ``k_support`` observed support months (none with probability ``zero_shot``); the
    first ``pretrain_epochs`` epochs train the decoder without modulation.

    Example:
        >>> EpisodesConfig(batch_sites=4).k_support
        6
    """

    batch_sites: int = Field(16, ge=1)
    k_support: int = Field(6, ge=1)
    zero_shot: float = Field(0.5, ge=0, le=1)
    pretrain_epochs: int = Field(0, ge=0)


#: Keys of ``train`` that episodic training does not use; they may be left out with episodes.
_NOT_EPISODIC = {"batch_size": 1, "checkpoint_every": 1}


class TrainConfig(_Strict):
    """Optimisation settings (``train``); see :func:`hybridflux.training.fit.fit`.

    With ``episodes`` (site models such as ``tamrl``) the steps are site batches
    (``episodes.batch_sites``), ``batch_size`` and ``checkpoint_every`` are not used (and may
    be left out), the loss is the episode loss (``loss: mse``) on one device.
    """

    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    seed: int
    patience: int = Field(ge=0)
    checkpoint_every: int = Field(ge=1)
    lr: float = Field(1e-3, gt=0)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    clip_norm: float | None = Field(None, gt=0)
    loss: Literal[tuple(LOSSES)] = "mse"
    trainable: Literal[tuple(TRAINABLE)] = "joint"
    ensemble: int = Field(1, ge=1)
    #: Devices to train on, data-parallel (``null``: every visible device); same numbers as one.
    devices: int | None = Field(None, ge=1)
    episodes: EpisodesConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _episodic_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("episodes") is not None:
            return {**_NOT_EPISODIC, **data}
        return data

    @model_validator(mode="after")
    def _episodic_options(self) -> TrainConfig:
        if self.episodes is None:
            return self
        wrong = [f"loss={self.loss!r}"] if self.loss != "mse" else []
        wrong += [f"devices={self.devices}"] if self.devices not in (None, 1) else []
        if self.episodes.pretrain_epochs >= self.epochs:
            wrong.append(f"episodes.pretrain_epochs={self.episodes.pretrain_epochs} >= epochs")
        if wrong:
            raise ValueError(
                f"with train.episodes: {', '.join(wrong)} is not supported (episode loss is "
                "the scaled masked MSE, one device, pretraining shorter than training)"
            )
        return self


class FluxBalanceConfig(_Strict):
    """Weight, tolerance and power of :class:`hybridflux.constraints.FluxBalance`."""

    weight: float = Field(1.0, ge=0)
    tol: float = Field(0.0, ge=0)
    power: Literal[1, 2] = 2


class ConstraintsConfig(_Strict):
    """Constraint terms added to the objective (``constraints``)."""

    flux_balance: FluxBalanceConfig | None = None


class EvaluateConfig(_Strict):
    """What the predictions are compared with besides the targets (``evaluate``)."""

    references: dict[str, str] = {}


class OutputConfig(_Strict):
    """What a run writes besides config, metrics, checkpoints and predictions (``output``)."""

    figures: bool = True
    keep_checkpoints: int = Field(2, ge=1)


class _ModelBase(_Strict):
    """Shared behaviour of the generated ``model`` sections."""

    type: str

    def build(self, seed: int) -> Any:
        """The model of this section, its weights initialised from ``seed``."""
        kwargs = self.model_dump(exclude={"type"})
        if "activation" in kwargs:
            kwargs["activation"] = ACTIVATIONS[kwargs["activation"]]
        return MODELS[self.type](**kwargs, rngs=seed)


class _SiteModelBase(_ModelBase):
    """Shared behaviour of site (TAM-RL) model sections: covariates with categorical names
    expanded (``PFT`` → ``PFT_ENF``, …, registry ``CATEGORICAL``), trained by episodes."""

    #: Trained by episodes over sites (``train.episodes``), not on rows.
    episodic: ClassVar[bool] = True
    covariates: list[str] = Field(min_length=1)
    embed_dim: int = Field(16, ge=1)
    hidden: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)
    encoder_hidden: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)

    def columns(self) -> list[str]:
        """The covariate columns of the model (categorical covariates as their 0/1 columns)."""
        out: list[str] = []
        for name in self.covariates:
            classes = CATEGORICAL[name][1] if name in CATEGORICAL else None
            out.extend([name] if classes is None else [f"{name}_{c}" for c in classes])
        return out

    def build(self, seed: int) -> Any:
        """The model of this section, its weights initialised from ``seed``."""
        kwargs = self.model_dump(exclude={"type", "covariates"})
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        return MODELS[self.type](self.columns(), **kwargs, rngs=int(seed))


class _TamRLHybridBase(_SiteModelBase):
    """Drivers of the task-aware LUE–Q10 decoder (their columns must be covariates)."""

    hidden: list[int] = Field(default_factory=lambda: [32, 32], min_length=1)
    sw_in: str = "SW_IN_F"
    ta: str = "TA_F"
    lai: str | None = None


#: Site-model types → the base of their section (their factories take covariates first).
_SITE_BASES = {"tamrl": _SiteModelBase, "tamrl_hybrid": _TamRLHybridBase}


def _site_section(name: str, factory: Callable) -> type[_ModelBase]:
    doc = f"The ``model`` section of type ``{name}`` (``{factory.__name__}``), a site model."
    return create_model(name, __base__=_SITE_BASES[name], __doc__=doc, type=(Literal[name], ...))


def _field(annotation: Any, default: Any, name: str) -> tuple[Any, Any]:
    """Pydantic field of a factory parameter (sequences as lists: YAML round trips)."""
    if name == "activation":
        return Literal[tuple(ACTIVATIONS)], "tanh"
    origin = typing.get_origin(annotation)
    if origin is Sequence or origin is typing.Sequence:
        (item,) = typing.get_args(annotation)
        return list[item], Field(default_factory=lambda d=default: list(d))
    return annotation, default


def _model_section(name: str, factory: Callable) -> type[_ModelBase]:
    """A pydantic model of ``factory``'s keyword arguments (``rngs`` comes from train.seed)."""
    hints = typing.get_type_hints(factory)
    fields = {
        key: _field(hints[key], param.default, key)
        for key, param in inspect.signature(factory).parameters.items()
        if key != "rngs" and param.default is not inspect.Parameter.empty
    }
    doc = f"The ``model`` section of type ``{name}``: keyword arguments of ``{factory.__name__}``."
    return create_model(name, __base__=_ModelBase, __doc__=doc, type=(Literal[name], ...), **fields)


_MODEL_SECTIONS = {
    name: (_site_section if name in _SITE_BASES else _model_section)(name, factory)
    for name, factory in MODELS.items()
}
ModelConfig = Annotated[
    typing.Union[tuple(_MODEL_SECTIONS.values())],  # noqa: UP007 - built from the registry
    Field(discriminator="type"),
]


class Config(_Strict):
    """A complete run configuration (see the module docstring for the sections)."""

    data: DataConfig
    model: ModelConfig
    targets: dict[str, str] = Field(min_length=1)
    constraints: ConstraintsConfig = ConstraintsConfig()
    split: SplitConfig
    train: TrainConfig
    evaluate: EvaluateConfig = EvaluateConfig()
    output: OutputConfig = OutputConfig()
