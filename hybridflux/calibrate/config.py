"""The YAML configuration of ``hybridflux calibrate``: pydantic models, strict (unknown keys fail).

Sections (``configs/calibrate_q10.yaml`` is a complete example):

- ``data``: as for training (:class:`hybridflux.config.DataConfig`): ``paths`` (relative to the
  config file, or ``sample:NAME``), ``time_step``, ``period``, ``qc_threshold``, ``features``,
  ``synthetic``.
- ``model``: ``type`` — ``q10_respiration`` (``ta``, ``t_ref``), ``lue_q10_nee`` (``sw_in``,
  ``ta``, ``fapar``, ``lai``) or ``hybrid`` (``run``: a trained run directory, ``member``) —
  and ``priors``: parameter → ``{dist, loc, scale, low, high}`` overriding the defaults. A
  ``hybrid`` model's data are prepared as its run prepared them (features, synthetic targets,
  QC): keys set in this config's ``data`` replace the run's, ``features`` are added to them.
- ``targets``: model output → observed column, e.g. ``{RECO: RECO_syn}``.
- ``likelihood``: ``family`` (normal|student_t), ``df``, ``noise`` (auto|learned|column: auto
  uses ``<column>_RANDUNC`` when the data have it), ``relative``, ``noise_prior``,
  ``uncertainty`` (output → uncertainty column).
- ``inference``: ``method`` (nuts|svi), ``chains``, ``samples``, ``warmup``, ``seed``,
  ``target_accept``, ``max_tree_depth``, ``chain_method``; SVI: ``guide``, ``steps``,
  ``learning_rate``, ``subsample``.
- ``output``: ``figures``, ``predictive_draws``, ``quantiles``, ``r_hat_max``, ``max_sites``.

Example:
    >>> cfg = parse_calibrate_config({
    ...     "data": {"paths": ["sample:fr-pue-daily"]},
    ...     "model": {"type": "q10_respiration", "priors": {"Q10": {"dist": "uniform",
    ...                                                             "low": 1.0, "high": 3.0}}},
    ...     "targets": {"RECO": "RECO_NT_VUT_REF"}})
    >>> cfg.inference.chains, float(cfg.model.build().priors["Q10"].high)
    (4, 3.0)
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpyro.distributions as dist
from pydantic import Field, ValidationError, model_validator

from hybridflux.calibrate.inference import GUIDES
from hybridflux.calibrate.likelihood import (
    Gaussian,
    LearnedNoise,
    Likelihood,
    ObservedNoise,
    StudentT,
)
from hybridflux.calibrate.models import LUEQ10NEE, Q10Respiration
from hybridflux.calibrate.outputs import QUANTILES
from hybridflux.config import (
    ConfigError,
    DataConfig,
    _Strict,
    apply_overrides,
    read_yaml,
    resolve_paths,
)

__all__ = [
    "PRIOR_FAMILIES",
    "PriorConfig",
    "Q10ModelConfig",
    "LUEModelConfig",
    "HybridModelConfig",
    "LikelihoodConfig",
    "InferenceConfig",
    "CalibrateOutputConfig",
    "CalibrateConfig",
    "parse_calibrate_config",
    "load_calibrate_config",
    "run_calibration",
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

    dist: Literal[tuple(PRIOR_FAMILIES)]
    loc: float | None = None
    scale: float | None = Field(None, gt=0)
    low: float | None = None
    high: float | None = None

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
    run: str
    member: int = Field(0, ge=0)
    priors: dict[str, PriorConfig] = {}


ModelSection = Annotated[
    typing.Union[Q10ModelConfig, LUEModelConfig, HybridModelConfig],  # noqa: UP007
    Field(discriminator="type"),
]


class LikelihoodConfig(_Strict):
    """Error family and noise of the observations (``likelihood``)."""

    family: Literal["normal", "student_t"] = "normal"
    df: float = Field(4.0, gt=0)
    noise: Literal["auto", "learned", "column"] = "auto"
    relative: bool = False
    noise_prior: PriorConfig | None = None
    uncertainty: dict[str, str] = {}

    def uncertainty_column(self, output: str, column: str) -> str:
        """The uncertainty column of a target (default ``<column>_RANDUNC``)."""
        return self.uncertainty.get(output, f"{column}_RANDUNC")

    def build(self, columns: Sequence[str], targets: Mapping[str, str]) -> Likelihood:
        """The :class:`Likelihood`, given the columns the data have.

        Raises:
            ConfigError: ``noise: column`` without the uncertainty column in the data.
        """
        learned = LearnedNoise(relative=self.relative)
        if self.noise_prior is not None:
            learned = LearnedNoise(self.noise_prior.build(), relative=self.relative)
        noise: dict[str, LearnedNoise | ObservedNoise] = {}
        for output, column in targets.items():
            unc = self.uncertainty_column(output, column)
            if self.noise == "column" and unc not in columns:
                raise ConfigError("likelihood.noise", [f"column: the data have no {unc!r}"])
            use_column = self.noise == "column" or (self.noise == "auto" and unc in columns)
            noise[output] = ObservedNoise() if use_column else learned
        family = StudentT(self.df) if self.family == "student_t" else Gaussian()
        return Likelihood(family, noise)


class InferenceConfig(_Strict):
    """NUTS or SVI settings (``inference``)."""

    method: Literal["nuts", "svi"] = "nuts"
    chains: int = Field(4, ge=1)
    samples: int = Field(1000, ge=1)
    warmup: int = Field(1000, ge=0)
    seed: int = 0
    target_accept: float = Field(0.8, gt=0, lt=1)
    max_tree_depth: int = Field(10, ge=1, le=15)
    chain_method: Literal["auto", "vectorized", "parallel", "sequential"] = "auto"
    guide: Literal[tuple(GUIDES)] = "normal"
    steps: int = Field(5000, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    subsample: int | None = Field(None, ge=1)


class CalibrateOutputConfig(_Strict):
    """What is written besides posterior and summary (``output``)."""

    figures: bool = True
    predictive_draws: int = Field(400, ge=1)
    quantiles: list[float] = Field(default_factory=lambda: list(QUANTILES), min_length=1)
    r_hat_max: float = Field(1.01, gt=1)
    max_sites: int = Field(4, ge=1)

    @model_validator(mode="after")
    def _quantiles(self) -> CalibrateOutputConfig:
        if not all(0 < q < 1 for q in self.quantiles) or sorted(self.quantiles) != self.quantiles:
            raise ValueError("quantiles must be increasing and within (0, 1)")
        return self


class CalibrateConfig(_Strict):
    """A complete ``hybridflux calibrate`` configuration (see the module docstring)."""

    data: DataConfig
    model: ModelSection
    targets: dict[str, str] = Field(min_length=1)
    likelihood: LikelihoodConfig = LikelihoodConfig()
    inference: InferenceConfig = InferenceConfig()
    output: CalibrateOutputConfig = CalibrateOutputConfig()

    @model_validator(mode="after")
    def _targets_are_outputs(self) -> CalibrateConfig:
        known = {"q10_respiration": ("RECO",), "lue_q10_nee": ("NEE", "GPP", "RECO")}
        allowed = known.get(self.model.type)
        wrong = sorted(set(self.targets) - set(allowed)) if allowed else []
        if wrong:
            raise ValueError(f"targets {wrong}: model {self.model.type} outputs {list(allowed)}")
        return self


def _problem(error: Mapping[str, Any]) -> str:
    loc = [
        str(p) for p in error["loc"] if str(p) not in ("q10_respiration", "lue_q10_nee", "hybrid")
    ]
    key = ".".join(loc) or "<top level>"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing required key"
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return f"{key}.type: one of q10_respiration, lue_q10_nee, hybrid"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message} (got {error.get('input')!r})"


def parse_calibrate_config(
    raw: Mapping[str, Any], base: str | Path = ".", source: str = "config"
) -> CalibrateConfig:
    """Validate a calibrate config; data paths and ``model.run`` resolved against ``base``.

    Raises:
        ConfigError: unknown or missing keys, wrong values (every problem, by key).
        FileNotFoundError: a data path or run directory that does not exist.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(source, [f"the config must be a mapping of sections, got {raw!r}"])
    try:
        cfg = CalibrateConfig.model_validate(dict(raw))
    except ValidationError as err:
        raise ConfigError(source, [_problem(e) for e in err.errors()]) from None
    data = cfg.data.model_copy(update={"paths": resolve_paths(cfg.data.paths, base)})
    update: dict[str, Any] = {"data": data}
    if isinstance(cfg.model, HybridModelConfig):
        run = Path(cfg.model.run).expanduser()
        run = run if run.is_absolute() else Path(base) / run
        if not run.is_dir():
            raise FileNotFoundError(f"model.run: no run directory {str(run)!r}")
        update["model"] = cfg.model.model_copy(update={"run": str(run.resolve())})
    return cfg.model_copy(update=update)


def load_calibrate_config(path: str | Path, overrides: Sequence[str] = ()) -> CalibrateConfig:
    """Read a YAML calibrate config (safe loader), apply ``a.b=value`` overrides, validate.

    Raises:
        FileNotFoundError: no such config file, data path or run directory.
        ConfigError: unparseable YAML, unknown or missing keys, wrong values.
    """
    path = Path(path)
    raw = apply_overrides(read_yaml(path), overrides)
    return parse_calibrate_config(raw, base=path.resolve().parent, source=str(path))


def run_calibration(config_path: str | Path, out: str | Path, overrides: Sequence[str] = ()) -> str:
    """Calibrate the model of a config file and write the results to ``out``.

    Writes ``config.yaml`` (resolved), ``posterior.nc``, ``summary.csv``, ``predictive.nc``,
    ``diagnostics.json`` and ``figures/`` (see :mod:`hybridflux.calibrate.run`); divergences and
    R-hat above ``output.r_hat_max`` are issued as ``CalibrationWarning`` after the files are
    written.

    Args:
        config_path: the YAML config.
        out: output folder (created; files in it are replaced).
        overrides: ``"a.b=value"`` strings (``--set``).

    Returns:
        A text summary: the posterior table, diagnostics, timing and the output folder.
    """
    from hybridflux.calibrate.run import calibrate

    return calibrate(load_calibrate_config(config_path, overrides), out)
