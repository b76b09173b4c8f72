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

The ``model`` section and its priors are defined in :mod:`hybridflux.calibrate.model_config`
and re-exported here.

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

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from hybridflux.calibrate.inference import GUIDES
from hybridflux.calibrate.likelihood import (
    Gaussian,
    LearnedNoise,
    Likelihood,
    ObservedNoise,
    StudentT,
)
from hybridflux.calibrate.model_config import _PRIOR_KEYS as _PRIOR_KEYS
from hybridflux.calibrate.model_config import (
    PRIOR_FAMILIES,
    HybridModelConfig,
    LUEModelConfig,
    ModelSection,
    PriorConfig,
    Q10ModelConfig,
)
from hybridflux.calibrate.model_config import _check_priors as _check_priors
from hybridflux.calibrate.outputs import QUANTILES
from hybridflux.config import (
    ConfigError,
    DataConfig,
    _Strict,
    apply_overrides,
    pydantic_problem,
    read_yaml,
    resolve_paths,
    validate_mapping,
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


class LikelihoodConfig(_Strict):
    """Error family and noise of the observations (``likelihood``)."""

    family: Literal["normal", "student_t"] = Field(
        "normal",
        description="Error distribution: `normal` or `student_t` (heavy tails, robust to "
        "outliers such as spikes in half-hourly fluxes).",
    )
    df: float = Field(
        4.0, gt=0, description="Degrees of freedom ν of `student_t` (smaller: heavier tails)."
    )
    noise: Literal["auto", "learned", "column"] = Field(
        "auto",
        description="Error scale σ: `learned` (a parameter `sigma_<output>` per target), "
        "`column` (the data's uncertainty column, rows without it left out) or `auto` (the "
        "column where the data have it, else learned).",
    )
    relative: bool = Field(
        False,
        description="Learned σ only: relative errors, σ_i = σ·abs(μ_i) with dimensionless σ, "
        "instead of σ_i = σ in the flux's units.",
    )
    noise_prior: PriorConfig | None = Field(
        None, description="Prior of a learned σ (null: HalfNormal(1))."
    )
    uncertainty: dict[str, str] = Field(
        {},
        description="Target output → its uncertainty column (default `<column>_RANDUNC`, e.g. "
        "`NEE_VUT_REF_RANDUNC`), for `noise: column` or `auto`.",
    )

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

    method: Literal["nuts", "svi"] = Field(
        "nuts",
        description="`nuts` (No-U-Turn sampler) or `svi` (stochastic variational inference, for "
        "data too large for NUTS).",
    )
    chains: int = Field(4, ge=1, description="NUTS: number of chains (at least 2 for R-hat).")
    samples: int = Field(
        1000,
        ge=1,
        description="Draws per chain after warm-up (NUTS), or from the fitted guide (SVI).",
    )
    warmup: int = Field(
        1000, ge=0, description="NUTS: adaptation steps per chain before the draws, discarded."
    )
    seed: int = Field(
        0, description="Seed of the chains or the SVI fit and draws, and of the predictive draws."
    )
    target_accept: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="NUTS: target acceptance probability of the step-size adaptation; raise it "
        "(e.g. 0.95) against divergent transitions.",
    )
    max_tree_depth: int = Field(
        10, ge=1, le=15, description="NUTS: at most 2^depth leapfrog steps per draw."
    )
    chain_method: Literal["auto", "vectorized", "parallel", "sequential"] = Field(
        "auto",
        description="NUTS: chains in one vmap (`vectorized`), one per device (`parallel`) or one "
        "after another (`sequential`); `auto`: `parallel` with a device per chain, else "
        "`vectorized`.",
    )
    guide: Literal[tuple(GUIDES)] = Field(
        "normal",
        description="SVI: `normal` (AutoNormal, mean-field) or `multivariate_normal` "
        "(AutoMultivariateNormal, full-rank), started at the prior medians.",
    )
    steps: int = Field(5000, ge=1, description="SVI: optimisation steps (Adam on the ELBO).")
    learning_rate: float = Field(0.01, gt=0, description="SVI: step size of Adam.")
    subsample: int | None = Field(
        None, ge=1, description="SVI: rows per step, a random minibatch (null: all rows)."
    )


class CalibrateOutputConfig(_Strict):
    """What is written besides posterior and summary (``output``)."""

    figures: bool = Field(
        True,
        description="Write `figures/`: `trace.png`, `pair.png` (two or more parameters) and "
        "`predictive_<OUT>_<SITE>.png`.",
    )
    predictive_draws: int = Field(
        400,
        ge=1,
        description="Posterior draws (evenly thinned) behind the bands of `predictive.nc`.",
    )
    quantiles: list[float] = Field(
        default_factory=lambda: list(QUANTILES),
        min_length=1,
        description="Quantile levels of the bands in `predictive.nc`, increasing, in (0, 1).",
    )
    r_hat_max: float = Field(
        1.01,
        gt=1,
        description="NUTS: a parameter with a higher R-hat gets a `CalibrationWarning` (written "
        "to `diagnostics.json`).",
    )
    max_sites: int = Field(
        4,
        ge=1,
        description="Predictive figures for at most this many sites (the first), per target.",
    )

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
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return f"{key}.type: one of q10_respiration, lue_q10_nee, hybrid"
    return pydantic_problem(error, key)


def parse_calibrate_config(
    raw: Mapping[str, Any], base: str | Path = ".", source: str = "config"
) -> CalibrateConfig:
    """Validate a calibrate config; data paths and ``model.run`` resolved against ``base``.

    Raises:
        ConfigError: unknown or missing keys, wrong values (every problem, by key).
        FileNotFoundError: a data path or run directory that does not exist.
    """
    cfg = validate_mapping(CalibrateConfig, raw, source, _problem)
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
