"""The ``model`` sections of the run configuration, generated from the model registry.

Every factory of :data:`hybridflux.config.registry.MODELS` gets a strict section whose keys are
the factory's keyword arguments (``type`` picks the section); site models (TAM-RL) share
:class:`_SiteModelBase`. Row models may name ``optional_covariates``: columns added to a
covariate list when the data have them (:meth:`_RowModelBase.with_optional`).

Example:
    >>> section = _MODEL_SECTIONS["lue_q10_nee"](type="lue_q10_nee")
    >>> section.gpp_covariates
    ['TA_F', 'VPD_F', 'SW_IN_F']
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, create_model, model_validator

from hybridflux.config.base import _Strict
from hybridflux.config.registry import ACTIVATIONS, CATEGORICAL, MODELS

__all__ = ["ModelConfig"]


class _ModelBase(_Strict):
    """Shared behaviour of the generated ``model`` sections."""

    type: str

    def build(self, seed: int) -> Any:
        """The model of this section, its weights initialised from ``seed``."""
        kwargs = self.model_dump(exclude={"type", "optional_covariates"})
        if "activation" in kwargs:
            kwargs["activation"] = ACTIVATIONS[kwargs["activation"]]
        return MODELS[self.type](**kwargs, rngs=seed)


class _RowModelBase(_ModelBase):
    """Row-model sections: the factory's keyword arguments plus ``optional_covariates``."""

    optional_covariates: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Covariate list → columns appended to it when the data have them (finite "
        "on at least 90 % of the records with a target), e.g. `{gpp_covariates: "
        "[SWC_F_MDS_1]}`; the run's config.yaml records the lists as used (and this key empty).",
    )

    @model_validator(mode="after")
    def _optional_lists(self) -> _RowModelBase:
        lists = sorted(k for k, v in self if k.endswith("covariates") and isinstance(v, list))
        unknown = sorted(set(self.optional_covariates) - set(lists))
        if unknown:
            raise ValueError(f"{unknown} are not covariate lists of this model (these are {lists})")
        return self

    def with_optional(self, available: Callable[[str], bool]) -> _RowModelBase:
        """A copy with every optional column for which ``available(column)`` is true appended
        to its list (once) and ``optional_covariates`` emptied.

        Example:
            >>> m = _MODEL_SECTIONS["lue_q10_nee"](
            ...     type="lue_q10_nee", optional_covariates={"rb_covariates": ["SWC", "TS"]})
            >>> m.with_optional(lambda name: name == "SWC").rb_covariates
            ['SW_POT_sm', 'SW_POT_sm_diff', 'SWC']
        """
        update: dict[str, Any] = {"optional_covariates": {}}
        for key, columns in self.optional_covariates.items():
            current = list(getattr(self, key))
            update[key] = current + [c for c in columns if c not in current and available(c)]
        return self.model_copy(update=update)


class _SiteModelBase(_ModelBase):
    """Shared behaviour of site (TAM-RL) model sections: covariates with categorical names
    expanded (``PFT`` → ``PFT_ENF``, …, registry ``CATEGORICAL``), trained by episodes."""

    #: Trained by episodes over sites (``train.episodes``), not on rows.
    episodic: ClassVar[bool] = True
    covariates: list[str] = Field(min_length=1)
    embed_dim: int = Field(16, ge=1)
    hidden: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)
    encoder_hidden: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)
    nee_site_weight: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Zero-shot predictions of sites not trained on: each site's mean NEE "
        "becomes this weight times the predicted mean plus (1 - weight) times the mean over "
        "training sites of their mean observed NEE (RECO shifted alike, GPP untouched; 1: off).",
    )

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


class _TamRLFilmBase(_SiteModelBase):
    """The carbon-balance parameterisation of the FiLM decoder (``FluxDecoder``)."""

    balance: Literal["reco", "nee"] = Field(
        "reco",
        description="Decoder heads: `reco` (GPP and RECO, NEE = RECO - GPP) or `nee` (GPP and "
        "NEE, RECO = smooth max(GPP + NEE, 0)); the balance NEE = RECO - GPP holds either way.",
    )


class _TamRLHybridBase(_SiteModelBase):
    """Drivers of the task-aware LUE–Q10 decoder (their columns must be covariates)."""

    hidden: list[int] = Field(default_factory=lambda: [32, 32], min_length=1)
    sw_in: str = "SW_IN_F"
    ta: str = "TA_F"
    lai: str | None = None


#: Site-model types → the base of their section (their factories take covariates first).
_SITE_BASES = {"tamrl": _TamRLFilmBase, "tamrl_hybrid": _TamRLHybridBase}


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
    base = _RowModelBase
    return create_model(name, __base__=base, __doc__=doc, type=(Literal[name], ...), **fields)


_MODEL_SECTIONS = {
    name: (_site_section if name in _SITE_BASES else _model_section)(name, factory)
    for name, factory in MODELS.items()
}
ModelConfig = Annotated[
    typing.Union[tuple(_MODEL_SECTIONS.values())],  # noqa: UP007 - built from the registry
    Field(discriminator="type"),
]
