"""Library objects from config sections: model check, objective, optimizer, training data.

The names in a config are mapped to objects only through the registries of
:mod:`hybridflux.config`; the functions here assemble those objects.

Example:
    >>> from hybridflux.config import TrainConfig
    >>> cfg = TrainConfig(epochs=10, batch_size=32, seed=0, patience=0, checkpoint_every=5,
    ...                   lr_schedule="cosine", clip_norm=1.0)
    >>> import jax.numpy as jnp
    >>> opt = build_optimizer(cfg, n_rows=100)
    >>> opt.init(jnp.zeros(3)) is not None
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import optax
import xarray as xr

from hybridflux.config import LOSSES, Config, ConfigError, TrainConfig
from hybridflux.constraints import FluxBalance
from hybridflux.data import DataError
from hybridflux.data.schema import first_source
from hybridflux.data.splits import Split
from hybridflux.losses import Objective
from hybridflux.runs.pipeline import Columns, to_columns

__all__ = [
    "check_model",
    "with_optional_covariates",
    "build_objective",
    "build_optimizer",
    "TrainingData",
    "training_data",
]

#: Least fraction of the records with a target on which an optional covariate must be finite.
OPTIONAL_COVERAGE = 0.9


def check_model(cfg: Config, model: Any) -> None:
    """Raise a :class:`ConfigError` if the targets or references name outputs the model lacks.

    Example:
        >>> from hybridflux.demo import demo_config
        >>> cfg = demo_config(["targets={LE: LE_F_MDS}"])
        >>> try:
        ...     check_model(cfg, cfg.model.build(0))
        ... except ConfigError as err:
        ...     print(err.problems[0])
        targets.LE: the model lue_q10_nee has no output 'LE'; its outputs: NEE, GPP, RECO
    """
    problems = [
        f"targets.{name}: the model {cfg.model.type} has no output {name!r}; "
        f"its outputs: {', '.join(model.outputs)}"
        for name in cfg.targets
        if name not in model.outputs
    ]
    known = (*model.outputs, *model.sources)
    problems += [
        f"evaluate.references.{name}: the model {cfg.model.type} has no output or parameter "
        f"{name!r}; it has: {', '.join(known)}"
        for name in cfg.evaluate.references
        if name not in known
    ]
    if problems:
        raise ConfigError("config", problems)


def with_optional_covariates(cfg: Config, ds: xr.Dataset) -> Config:
    """The config with ``model.optional_covariates`` resolved against the data.

    An optional column is used when ``ds`` has it and it is finite on at least
    :data:`OPTIONAL_COVERAGE` of the (site, time) records where a target is finite; it is then
    appended to its covariate list, and ``optional_covariates`` is emptied, so the resolved
    config (written to the run's ``config.yaml``) says which inputs the model has.

    Example:
        >>> from hybridflux.demo import demo_config
        >>> from hybridflux.data import load_sample
        >>> cfg = demo_config(["model.optional_covariates={rb_covariates: [TA_F, NO_SUCH]}"])
        >>> with_optional_covariates(cfg, load_sample("fr-pue-daily")).model.rb_covariates[-1]
        'TA_F'
    """
    optional = getattr(cfg.model, "optional_covariates", None)
    if not optional:
        return cfg
    targets = [ds[c].values for c in cfg.targets.values() if c in ds]
    records = np.logical_or.reduce([np.isfinite(t) for t in targets]) if targets else None

    def available(name: str) -> bool:
        if name not in ds or records is None or not records.any():
            return False
        return float(np.isfinite(ds[name].values)[records].mean()) >= OPTIONAL_COVERAGE

    return cfg.model_copy(update={"model": cfg.model.with_optional(available)})


def build_objective(cfg: Config) -> Objective:
    """The training objective: ``train.loss`` on the targets plus the ``constraints``."""
    constraints = []
    if cfg.constraints.flux_balance is not None:
        fb = cfg.constraints.flux_balance
        constraints.append(FluxBalance(weight=fb.weight, tol=fb.tol, power=fb.power))
    return Objective(dict(cfg.targets), loss=LOSSES[cfg.train.loss], constraints=constraints)


def build_optimizer(cfg: TrainConfig, n_rows: int) -> optax.GradientTransformation:
    """Adam with the learning rate (constant or cosine decay over all steps), optional clipping.

    Args:
        cfg: the ``train`` section.
        n_rows: training rows (steps per epoch = ``ceil(n_rows / batch_size)``).
    """
    lr: Any = cfg.lr
    if cfg.lr_schedule == "cosine":
        steps = cfg.epochs * math.ceil(n_rows / cfg.batch_size)
        lr = optax.cosine_decay_schedule(cfg.lr, decay_steps=max(steps, 1), alpha=0.01)
    adam = optax.adam(lr)
    return (
        adam
        if cfg.clip_norm is None
        else optax.chain(optax.clip_by_global_norm(cfg.clip_norm), adam)
    )


@dataclass(frozen=True)
class TrainingData:
    """The rows a run trains and validates on.

    Attributes:
        train: training rows (inputs finite, at least one target finite).
        val: validation rows, or ``None`` when the split has no validation part.
    """

    train: Columns
    val: Columns | None


def training_data(
    cfg: Config, ds: xr.Dataset, split: Split, inputs: tuple[str, ...]
) -> TrainingData:
    """Training and validation columns: the model inputs and the target columns.

    Raises:
        DataError: no training row has finite inputs and a finite target.
        ConfigError: ``train.patience > 0`` without validation rows.
    """
    columns = list(dict.fromkeys(cfg.targets.values()))
    names = [*inputs, *columns]

    def rows(part: str) -> Columns:
        return to_columns(ds, names, finite=inputs, mask=split.mask(part), any_finite=columns)

    train = rows("train")
    if len(train) == 0:
        where = first_source(ds)
        empty = [c for c in names if c in ds and not np.isfinite(ds[c].values).any()]
        why = f"; every record of {empty} is missing" if empty else ""
        raise DataError(
            where, f"no training row has finite {list(inputs)} and a finite target {columns}{why}"
        )
    val = rows("val") if split.val.any() else None
    val = val if val is not None and len(val) else None
    if cfg.train.patience and val is None:
        problem = "train.patience: early stopping needs validation rows (split.val_fraction > 0)"
        raise ConfigError("config", [problem])
    return TrainingData(train, val)
