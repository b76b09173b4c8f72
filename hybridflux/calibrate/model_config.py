"""The ``model`` section of a calibrate config: the process models, their priors.

:class:`PriorConfig` is one prior (``dist`` and its parameters, :data:`PRIOR_FAMILIES`);
:class:`Q10ModelConfig` (``q10_respiration``), :class:`LUEModelConfig` (``lue_q10_nee``) and
:class:`HybridModelConfig` (``hybrid``) are the kinds of ``model``, told apart by ``type``
(:data:`ModelSection`). The rest of the config is :mod:`hybridflux.calibrate.config`.

Example:
    >>> Q10ModelConfig(type="q10_respiration", priors={"Q10": {"dist": "uniform", "low": 1.0,
    ...                                                        "high": 3.0}}).build().ta
    'TA_F'
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpyro.distributions as dist
from pydantic import Field, model_validator

from hybridflux.calibrate.models import LUEQ10NEE, Q10Respiration
from hybridflux.config import _Strict

__all__ = [
    "PRIOR_FAMILIES",
    "PriorConfig",
    "Q10ModelConfig",
    "LUEModelConfig",
    "HybridModelConfig",
    "ModelSection",
]

#: ``dist`` of a prior → (numpyro distribution, its required keys, its optional keys).
PRIOR_FAMILIES: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "normal": (dist.Normal, ("loc", "scale"), ()),
    "lognormal": (dist.LogNormal, ("loc", "scale"), ()),
    "truncated_normal": (dist.TruncatedNormal, ("loc", "scale"), ("low", "high")),
    "halfnormal": (dist.HalfNormal, ("scale",), ()),
    "uniform": (dist.Uniform, ("low", "high"), ()),
}
_PRIOR_KEYS = ("loc", "scale", "low", "high")


class PriorConfig(_Strict):
    """A prior: ``dist`` (a key of :data:`PRIOR_FAMILIES`) and its parameters.

    ``lognormal``'s ``loc``/``scale`` are those of the logarithm.

    Example:
        >>> float(PriorConfig(dist="lognormal", loc=0.0, scale=1.0).build().mean) > 1.0
        True
    """

    dist: Literal[tuple(PRIOR_FAMILIES)] = Field(
        description="Distribution: `normal`, `lognormal` (loc, scale), `truncated_normal` (loc, "
        "scale; optional low, high), `halfnormal` (scale) or `uniform` (low, high)."
    )
    loc: float | None = Field(
        None,
        description="Location, in the parameter's units: the mean (of the untruncated normal for "
        "`truncated_normal`); for `lognormal` the mean of the logarithm.",
    )
    scale: float | None = Field(
        None,
        gt=0,
        description="Standard deviation, in the parameter's units (of the untruncated normal for "
        "`truncated_normal`); for `lognormal` that of the logarithm.",
    )
    low: float | None = Field(
        None,
        description="Lower bound: of `uniform`, or where `truncated_normal` is cut (null: none).",
    )
    high: float | None = Field(
        None,
        description="Upper bound: of `uniform`, or where `truncated_normal` is cut (null: none).",
    )

    @model_validator(mode="after")
    def _keys_of_family(self) -> PriorConfig:
        _, required, optional = PRIOR_FAMILIES[self.dist]
        missing = [k for k in required if getattr(self, k) is None]
        extra = [
            k for k in _PRIOR_KEYS if k not in required + optional and getattr(self, k) is not None
        ]
        if missing or extra:
            raise ValueError(
                f"dist {self.dist!r} takes {', '.join(required + optional)}; "
                f"missing {missing}, not allowed {extra}"
            )
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"need low < high, got low={self.low}, high={self.high}")
        return self

    def build(self) -> dist.Distribution:
        """The numpyro distribution."""
        family, required, optional = PRIOR_FAMILIES[self.dist]
        args = [getattr(self, k) for k in required]
        kwargs = {k: getattr(self, k) for k in optional if getattr(self, k) is not None}
        return family(*args, **kwargs)


def _check_priors(priors: Mapping[str, PriorConfig], allowed: Sequence[str]) -> None:
    unknown = sorted(set(priors) - set(allowed))
    if unknown:
        raise ValueError(f"priors for unknown parameters {unknown}; known: {sorted(allowed)}")


class Q10ModelConfig(_Strict):
    """``model`` of type ``q10_respiration``: ``RECO = Rb · Q10^((ta − t_ref)/10)``."""

    type: Literal["q10_respiration"]
    ta: str = "TA_F"
    t_ref: float = 15.0
    priors: dict[str, PriorConfig] = {}

    @model_validator(mode="after")
    def _known_priors(self) -> Q10ModelConfig:
        _check_priors(self.priors, ("Rb", "Q10"))
        return self

    def build(self) -> Q10Respiration:
        """The process spec."""
        priors = {k: v.build() for k, v in self.priors.items()}
        return Q10Respiration(priors, ta=self.ta, t_ref=self.t_ref)


class LUEModelConfig(_Strict):
    """``model`` of type ``lue_q10_nee``: LUE GPP, Q10 RECO, ``NEE = RECO − GPP``."""

    type: Literal["lue_q10_nee"]
    sw_in: str = "SW_IN_F"
    ta: str = "TA_F"
    fapar: str | None = None
    lai: str | None = None
    priors: dict[str, PriorConfig] = {}

    @model_validator(mode="after")
    def _known_priors(self) -> LUEModelConfig:
        _check_priors(self.priors, ("eps", "Rb", "Q10"))
        if self.fapar is not None and self.lai is not None:
            raise ValueError("give at most one of fapar and lai")
        return self

    def build(self) -> LUEQ10NEE:
        """The process spec."""
        priors = {k: v.build() for k, v in self.priors.items()}
        return LUEQ10NEE(priors, sw_in=self.sw_in, ta=self.ta, fapar=self.fapar, lai=self.lai)


class HybridModelConfig(_Strict):
    """``model`` of type ``hybrid``: the Global parameters of a trained run, networks fixed."""

    type: Literal["hybrid"]
    run: str = Field(
        description="Run directory of `hybridflux train` (relative to this config file); its "
        "trained model is loaded and its networks are held fixed."
    )
    member: int = Field(
        0, ge=0, description="Which trained model of an ensemble run (0-based; 0 for one model)."
    )
    priors: dict[str, PriorConfig] = Field(
        {},
        description="Global parameter → prior, overriding the default: Uniform(lo, hi) on the "
        "Global's bounds, or a normal around the trained value truncated at lo.",
    )


#: The ``model`` section: one of the kinds above, chosen by its ``type``.
ModelSection = Annotated[
    typing.Union[Q10ModelConfig, LUEModelConfig, HybridModelConfig],  # noqa: UP007
    Field(discriminator="type"),
]
