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

import optax
import xarray as xr

from hybridflux.config import LOSSES, Config, ConfigError, TrainConfig
from hybridflux.constraints import FluxBalance
from hybridflux.data import DataError
from hybridflux.data.splits import Split
from hybridflux.losses import Objective
from hybridflux.runs.pipeline import Columns, to_columns

__all__ = ["check_model", "build_objective", "build_optimizer", "TrainingData", "training_data"]


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
        where = ds.attrs.get("source_files", "the data").split("\n")[0]
        raise DataError(
            where, f"no training row has finite {list(inputs)} and a finite target {columns}"
        )
    val = rows("val") if split.val.any() else None
    val = val if val is not None and len(val) else None
    if cfg.train.patience and val is None:
        problem = "train.patience: early stopping needs validation rows (split.val_fraction > 0)"
        raise ConfigError("config", [problem])
    return TrainingData(train, val)
