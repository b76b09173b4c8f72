"""What the benchmark gives every model and asks of it: the build context, training options.

Every benchmark model class is built as ``cls(context, **options)`` with a
:class:`BuildContext` (the scenario's input columns, the targets, the seed, the benchmark-wide
training defaults :class:`FitOptions`) and satisfies :class:`Estimator`; a model whose
optional dependency is missing raises :class:`MissingDependency`. The classes and the builder
are in :mod:`hybridflux.benchmark.models`, which re-exports these names.

Example:
    >>> BuildContext({"x": ("x",)}, {"Y": "y"}).options(FitOptions(epochs=5))["epochs"]
    5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import Field

from hybridflux.config import LOSSES, _Strict

__all__ = ["BuildContext", "Estimator", "MissingDependency", "FitOptions", "TRAIN_DEFAULTS"]


class MissingDependency(ImportError):
    """An optional dependency of a model is not installed; the benchmark skips the model.

    Example:
        >>> str(MissingDependency("gbt needs lightgbm"))
        'gbt needs lightgbm'
    """


class FitOptions(_Strict):
    """Training options of a model trained by gradient descent (``train`` of an entry).

    Every key is optional: unset (or null) keys come from the benchmark's ``train`` section,
    then from the model's defaults (:data:`TRAIN_DEFAULTS`; type ``process`` has its own).

    Example:
        >>> FitOptions(epochs=5).model_dump(exclude_none=True)
        {'epochs': 5}
    """

    epochs: int | None = Field(
        None,
        ge=1,
        description="Training epochs; null: the benchmark's `train` value, else 300 "
        "(`process`: 100).",
    )
    batch_size: int | None = Field(
        None,
        ge=1,
        description="Rows per optimizer step (not used by `tamrl` models, which batch sites); "
        "null: the benchmark's `train` value, else 256 (`process`: 512).",
    )
    lr: float | None = Field(
        None,
        gt=0,
        description="Learning rate of Adam; null: the benchmark's `train` value, else 0.001 "
        "(`process`: 0.02).",
    )
    lr_schedule: Literal["constant", "cosine"] | None = Field(
        None,
        description="`cosine`: decay to 1 % of `lr` over all steps; null: the benchmark's "
        "`train` value, else `constant`.",
    )
    clip_norm: float | None = Field(
        None,
        gt=0,
        description="Clip gradients to this global norm; null: the benchmark's `train` value, "
        "else no clipping.",
    )
    loss: Literal[tuple(LOSSES)] | None = Field(
        None,
        description="Masked data loss per target: `mse`, `huber` or `nse` (1 − Nash–Sutcliffe "
        "efficiency; not used by `tamrl` models); null: the benchmark's `train` value, else "
        "`mse`.",
    )
    patience: int | None = Field(
        None,
        ge=0,
        description="Stop after this many epochs without a lower validation loss (0: never; only "
        "with a validation part); null: the benchmark's `train` value, else 30 (`process`: 10).",
    )
    ensemble: int | None = Field(
        None,
        ge=1,
        description="Members trained from seeds `seed`, `seed + 1`, …, predictions their mean; "
        "null: the benchmark's `train` value, else 1.",
    )


#: Defaults of :class:`FitOptions` (a model class may have its own).
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 300,
    "batch_size": 256,
    "lr": 1e-3,
    "lr_schedule": "constant",
    "clip_norm": None,
    "loss": "mse",
    "patience": 30,
    "ensemble": 1,
}


@dataclass(frozen=True)
class BuildContext:
    """What the benchmark gives every model it builds.

    Attributes:
        groups: input name → its columns in this scenario (a categorical input's one-hot
            columns; a numeric input is its own column).
        targets: target name → dataset column (e.g. ``{"GPP": "GPP_NT_VUT_REF"}``).
        seed: seed of the model's initialisation and training.
        train: the benchmark-wide training defaults (``train`` section).

    Example:
        >>> ctx = BuildContext({"x": ("x",)}, {"Y": "y"}, train=FitOptions(epochs=9))
        >>> ctx.options(FitOptions(lr=0.1))["epochs"], ctx.options(FitOptions(lr=0.1))["lr"]
        (9, 0.1)
    """

    groups: Mapping[str, tuple[str, ...]]
    targets: Mapping[str, str]
    seed: int = 0
    train: FitOptions = field(default_factory=FitOptions)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input column of the scenario."""
        return tuple(c for cols in self.groups.values() for c in cols)

    def expand(self, names: Sequence[str]) -> list[str]:
        """Names with every input name replaced by its columns (others kept)."""
        return [c for name in names for c in self.groups.get(name, (name,))]

    def options(self, own: FitOptions, defaults: Mapping[str, Any] = TRAIN_DEFAULTS) -> dict:
        """Training options: ``defaults`` < the benchmark's ``train`` < the entry's ``train``."""
        out = dict(defaults)
        out.update(self.train.model_dump(exclude_none=True))
        out.update(own.model_dump(exclude_none=True))
        return out


class Estimator(Protocol):
    """What the benchmark needs from a model.

    Example:
        >>> from hybridflux.benchmark.baselines import LinearRegression
        >>> callable(LinearRegression.fit) and callable(LinearRegression.predict)
        True
    """

    def fit(self, train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray] | None) -> None:
        """Train on columns (inputs and target columns; targets may hold NaN)."""

    def predict(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Target name → ``(N,)`` predictions for rows of input columns."""
