"""The sections of the run configuration as strict pydantic models (unknown keys are errors).

See :mod:`hybridflux.config` for the meaning of every section and key.

Example:
    >>> TrainConfig(epochs=2, batch_size=8, seed=0, patience=0, checkpoint_every=1).lr
    0.001
"""

from __future__ import annotations

import datetime
import inspect
from typing import Any, Literal

from pydantic import Field, model_validator

from hybridflux.config.base import ConfigError, _Strict
from hybridflux.config.model_sections import _MODEL_SECTIONS as _MODEL_SECTIONS
from hybridflux.config.model_sections import ModelConfig
from hybridflux.config.registry import LOSSES, SYNTHETIC, TRAINABLE
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


class SyntheticConfig(_Strict):
    """Synthetic target generation on the real drivers (``data.synthetic``).

    ``generator`` names a function of :mod:`hybridflux.data.synthetic`; ``q10``, ``noise``
    and ``seed`` are passed to it (``q10_respiration``: Cohrs et al. 2024, RECO_syn).
    """

    generator: Literal[tuple(SYNTHETIC)] = Field(
        "q10_respiration",
        description="Generator of the synthetic targets; `q10_respiration` adds `RECO_syn` "
        "and the true base respiration `RB_syn` (gC m-2 d-1).",
    )
    q10: float = Field(1.5, gt=0, description="True temperature sensitivity Q10 (1).")
    noise: float = Field(
        0.0, ge=0, description="σ of the multiplicative Gaussian noise (1): 0.1 for 10 %."
    )
    seed: int = Field(0, description="Seed of the noise.")


class DataConfig(_Strict):
    """Where the data come from and how they are prepared (``data``)."""

    paths: list[str] = Field(
        min_length=1,
        description="Data files or glob patterns, relative to the config file's folder (or "
        "absolute), or a bundled sample written `sample:NAME` (e.g. `sample:fr-pue-daily`).",
    )
    time_step: Literal["HH", "HR", "DD", "WW", "MM", "YY"] | None = Field(
        None,
        description="Time step every file must have (half-hourly, hourly, daily, weekly, "
        "monthly, yearly); null: that of the first file, the others the same.",
    )
    period: tuple[datetime.date, datetime.date] | None = Field(
        None,
        description="`[first day, last day]` of the records used (applied after the derived "
        "features, so that windowed features are complete at its edges); null: all.",
    )
    qc_threshold: float | None = Field(
        None,
        description="QC rule of `hybridflux.data.apply_qc`: highest accepted flag for HH/HR "
        "(0–3, default 1), lowest fraction of good records for DD and coarser (0–1, default "
        "0.5); null: the default of the time step.",
    )
    qc_drivers: bool = Field(
        False,
        description="Also QC-filter the model inputs (by default only targets and references; "
        "gap-filled drivers are usually wanted).",
    )
    features: list[str] = Field(
        [],
        description="Derived features to add (`hybridflux.data.add_features`), e.g. "
        "`SW_POT_sm`, `SW_POT_sm_diff`, `P_ANT_30`, `TA_F_MEAN_30`.",
    )
    synthetic: SyntheticConfig | None = Field(
        None, description="Synthetic targets generated on the real drivers; null: none."
    )


#: Split kind → its options (parameters of the kind's function in hybridflux.data.splits).
_SPLIT_OPTIONS = {
    kind: set(inspect.signature(fn).parameters) - {"ds", "seed", "val_fraction"}
    for kind, fn in SPLIT_KINDS.items()
}


class SplitConfig(_Strict):
    """Train/validation/test split (``split``), see :func:`hybridflux.data.make_split`."""

    kind: Literal[tuple(SPLIT_KINDS)] = Field(
        description="`none` (everything trains), `temporal` (held-out years per site), "
        "`spatial` (held-out sites) or `temperature` (the warmest sites held out)."
    )
    test_years: list[int] | None = Field(
        description="temporal: the calendar years held out (null: the last `test_fraction` "
        "of each site's years); must be null for the other kinds."
    )
    test_sites: list[str] | None = Field(
        description="spatial: the site IDs held out (null: chosen by `test_fraction` and "
        "`by`); must be null for the other kinds."
    )
    val_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fraction of the training years (none, temporal: the last ones) or "
        "training sites (spatial, temperature) used for validation and early stopping.",
    )
    seed: int = Field(0, description="Seed of the random choices; same seed, same split.")
    test_fraction: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="temporal: fraction of each site's years held out (the last ones); "
        "spatial, temperature: fraction of the sites; null: 0.2.",
    )
    by: Literal["random", "igbp", "climate"] | None = Field(
        None,
        description="spatial: hold out random sites or whole groups of the sites' `igbp` or "
        "`climate` coordinate; null: `random`.",
    )
    test_count: int | None = Field(
        None,
        ge=0,
        description="temperature: number of warmest sites held out (instead of `test_fraction`).",
    )
    variable: str | None = Field(
        None,
        description="temperature: the variable whose site mean ranks the sites; null: `TA_F`.",
    )

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

    batch_sites: int = Field(16, ge=1, description="Sites per optimizer step.")
    k_support: int = Field(
        6, ge=1, description="Observed support time steps (months) of a few-shot site."
    )
    zero_shot: float = Field(
        0.5, ge=0, le=1, description="Probability that a site of an episode has no support."
    )
    pretrain_epochs: int = Field(
        0,
        ge=0,
        description="First epochs that train the decoder without modulation (< `epochs`).",
    )


#: Keys of ``train`` that may be left out with episodes: ``batch_size`` is not used; episodic
#: checkpoints are written every 10 epochs unless ``checkpoint_every`` says otherwise.
_NOT_EPISODIC = {"batch_size": 1, "checkpoint_every": 10}


class TrainConfig(_Strict):
    """Optimisation settings (``train``); see :func:`hybridflux.training.fit.fit`.

    With ``episodes`` (site models such as ``tamrl``) the steps are site batches
    (``episodes.batch_sites``), ``batch_size`` is not used and may be left out (as may
    ``checkpoint_every``, default 10), the loss is the episode loss (``loss: mse``) on one
    device.
    """

    epochs: int = Field(ge=1, description="Total number of epochs (resumed runs included).")
    batch_size: int = Field(
        ge=1, description="Rows per optimizer step (the last batch is padded with weight 0)."
    )
    seed: int = Field(
        description="Seed of the weights and of the row order; ensemble member i gets seed + i."
    )
    patience: int = Field(
        ge=0,
        description="Stop after this many epochs without a lower validation loss (0: never; "
        "needs a validation part); the best epoch is kept.",
    )
    checkpoint_every: int = Field(ge=1, description="Epochs between checkpoints.")
    lr: float = Field(1e-3, gt=0, description="Learning rate of Adam.")
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant",
        description="`cosine`: decay to 1 % of `lr` over all steps "
        "(`optax.cosine_decay_schedule`).",
    )
    clip_norm: float | None = Field(
        None, gt=0, description="Clip gradients to this global norm; null: no clipping."
    )
    loss: Literal[tuple(LOSSES)] = Field(
        "mse",
        description="Masked data loss per target (`hybridflux.losses`): `mse`, `huber` or "
        "`nse` (1 − Nash–Sutcliffe efficiency).",
    )
    trainable: Literal[tuple(TRAINABLE)] = Field(
        "joint",
        description="Variables trained: `joint` (all), `networks` (only the networks) or "
        "`physics` (only the physical parameters); the rest stays unchanged.",
    )
    ensemble: int = Field(
        1,
        ge=1,
        description="Members trained together (vmapped) from seeds `seed`, `seed + 1`, …; "
        "predictions and parameters are the member mean.",
    )
    devices: int | None = Field(
        None,
        ge=1,
        description="Devices to train on, data-parallel (null: every visible device); the same "
        "numbers as on one device up to float rounding.",
    )
    episodes: EpisodesConfig | None = Field(
        None,
        description="Episodic training over sites, for site models (`tamrl`, `tamrl_hybrid`); "
        "null: training on rows.",
    )

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

    weight: float = Field(1.0, ge=0, description="λ, the weight of the term in the objective.")
    tol: float = Field(0.0, ge=0, description="Tolerance of `abs(NEE − (RECO − GPP))`, gC m-2 d-1.")
    power: Literal[1, 2] = Field(2, description="p of `relu(abs(NEE − (RECO − GPP)) − tol)^p`.")


class ConstraintsConfig(_Strict):
    """Constraint terms added to the objective (``constraints``)."""

    flux_balance: FluxBalanceConfig | None = Field(
        None,
        description="Flux-balance term `λ · mean relu(abs(NEE − (RECO − GPP)) − tol)^p` "
        "(`hybridflux.constraints.FluxBalance`); null: none.",
    )


class EvaluateConfig(_Strict):
    """What the predictions are compared with besides the targets (``evaluate``)."""

    references: dict[str, str] = Field(
        {},
        description="Model output → dataset column it is compared with but not trained on, "
        "e.g. `{GPP: GPP_NT_VUT_REF}`.",
    )


class OutputConfig(_Strict):
    """What a run writes besides config, metrics, checkpoints and predictions (``output``)."""

    figures: bool = Field(True, description="Write the figures into `figures/`.")
    keep_checkpoints: int = Field(2, ge=1, description="Most recent checkpoints kept.")


class Config(_Strict):
    """A complete run configuration (see the module docstring for the sections)."""

    data: DataConfig = Field(description="Where the data come from and how they are prepared.")
    model: ModelConfig = Field(
        description="The model: `type` plus the keyword arguments of that model's factory."
    )
    targets: dict[str, str] = Field(
        min_length=1,
        description="Model output → dataset column it is trained on, e.g. `{NEE: NEE_VUT_REF}`.",
    )
    constraints: ConstraintsConfig = Field(
        ConstraintsConfig(), description="Constraint terms added to the objective."
    )
    split: SplitConfig = Field(description="Train/validation/test split.")
    train: TrainConfig = Field(description="Optimisation settings.")
    evaluate: EvaluateConfig = Field(
        EvaluateConfig(), description="What the predictions are compared with besides targets."
    )
    output: OutputConfig = Field(
        OutputConfig(), description="What a run writes besides config, metrics and predictions."
    )
