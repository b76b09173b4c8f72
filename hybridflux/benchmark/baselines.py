"""Baseline models of the benchmark: linear regression, boosted trees, an MLP, the process model.

- :class:`LinearRegression` (type ``linear``) — ordinary least squares per target on the
  standardised inputs, ``y = β₀ + Σ_j β_j (x_j − μ_j)/σ_j`` (minimum-norm solution of
  ``numpy.linalg.lstsq``); the reference of the skill scores (FLUXtrapolation).
- :class:`GradientBoosting` (type ``gradient_boosting``) — LightGBM regression trees per target
  with early stopping on the validation part (Ke et al. 2017); LightGBM is an optional
  dependency: without it the benchmark skips the model with a message.
- :class:`MLPRegression` (type ``mlp``) — one MLP per target with a linear output, trained by
  the training engine (as FLUXCOM's ANN, Tramontana et al. 2020).
- :class:`ProcessModel` (type ``process``) — the LUE–Q10 process model alone,
  ``GPP = ε·fAPAR(LAI)·PAR``, ``RECO = R_b·Q10^((T − 15)/10)``, ``NEE = RECO − GPP`` with ε, R_b
  and Q10 global parameters calibrated on the training part (Monteith 1972; Reichstein et al.
  2022).

Example:
    >>> from hybridflux.benchmark.models import BuildContext
    >>> ctx = BuildContext({"x": ("x",)}, {"Y": "y"})
    >>> model = LinearRegression(ctx)
    >>> model.fit({"x": np.array([0.0, 1.0, 2.0]), "y": np.array([1.0, 3.0, 5.0])}, None)
    >>> model.predict({"x": np.array([3.0])})["Y"].round(6).tolist()
    [7.0]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from flax import nnx

from hybridflux.benchmark.models import (
    TRAIN_DEFAULTS,
    BuildContext,
    FitOptions,
    MissingDependency,
    TrainedModule,
)
from hybridflux.config import ACTIVATIONS
from hybridflux.hybrid.model import HybridModel
from hybridflux.hybrid.models import lue_q10_process
from hybridflux.hybrid.sources import Global, Modulated

__all__ = [
    "LinearRegression",
    "GradientBoosting",
    "MLPRegression",
    "ProcessModel",
    "linear_head",
    "identity_process",
]


def _matrix(data: Mapping[str, np.ndarray], columns: tuple[str, ...]) -> np.ndarray:
    return np.column_stack([np.asarray(data[c], np.float64) for c in columns])


class LinearRegression:
    """Ordinary least squares per target on standardised inputs (type ``linear``).

    Args:
        context: the build context (inputs, targets).

    Example:
        >>> ctx = BuildContext({"x": ("x",), "z": ("z",)}, {"Y": "y"})
        >>> m = LinearRegression(ctx)
        >>> m.fit({"x": np.array([0.0, 1, 2, 3]), "z": np.array([1.0, 0, 1, 0]),
        ...        "y": np.array([1.0, 1, 5, 5])}, None)
        >>> m.predict({"x": np.array([4.0]), "z": np.array([1.0])})["Y"].round(6).tolist()
        [9.0]
    """

    def __init__(self, context: BuildContext):
        self.context = context
        self.coef: dict[str, np.ndarray] = {}

    def fit(self, train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray] | None) -> None:
        """Least squares per target on the training rows where it is finite (``val`` unused)."""
        x = _matrix(train, self.context.inputs)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        design = np.column_stack([np.ones(len(x)), (x - self.mean) / self.std])
        for name, column in self.context.targets.items():
            y = np.asarray(train[column], np.float64)
            ok = np.isfinite(y)
            self.coef[name] = np.linalg.lstsq(design[ok], y[ok], rcond=None)[0]

    def predict(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Target name → ``β₀ + Σ β_j z_j``."""
        z = (_matrix(data, self.context.inputs) - self.mean) / self.std
        design = np.column_stack([np.ones(len(z)), z])
        return {name: design @ coef for name, coef in self.coef.items()}


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError:
        raise MissingDependency(
            "gradient_boosting needs LightGBM, which is not installed (pip install lightgbm)"
        ) from None
    return lightgbm


class GradientBoosting:
    """LightGBM gradient-boosted regression trees per target (type ``gradient_boosting``).

    Args:
        context: the build context.
        num_boost_round: maximum number of trees.
        learning_rate: shrinkage of each tree.
        num_leaves: leaves per tree.
        min_data_in_leaf: minimum training rows per leaf.
        feature_fraction: fraction of inputs drawn per tree.
        bagging_fraction: fraction of rows drawn per tree (every iteration).
        early_stopping_rounds: stop after this many rounds without a lower validation RMSE
            (needs a validation part; 0: never).
        num_threads: threads of LightGBM.

    Raises:
        MissingDependency: LightGBM is not installed.

    Reference:
        Ke, G., et al. (2017). LightGBM: a highly efficient gradient boosting decision tree.
        NeurIPS 30.

    Example:
        >>> try:
        ...     m = GradientBoosting(BuildContext({"x": ("x",)}, {"Y": "y"}), num_leaves=7)
        ...     print(m.params["num_leaves"])
        ... except MissingDependency:
        ...     print(7)
        7
    """

    def __init__(
        self,
        context: BuildContext,
        *,
        num_boost_round: int = 1000,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_data_in_leaf: int = 20,
        feature_fraction: float = 0.9,
        bagging_fraction: float = 0.8,
        early_stopping_rounds: int = 50,
        num_threads: int = 1,
    ):
        self.lgb = _lightgbm()
        self.context, self.rounds, self.stop = context, num_boost_round, early_stopping_rounds
        self.params = dict(
            objective="regression",
            learning_rate=learning_rate,
            num_leaves=num_leaves,
            min_data_in_leaf=min_data_in_leaf,
            feature_fraction=feature_fraction,
            bagging_fraction=bagging_fraction,
            bagging_freq=1,
            num_threads=num_threads,
            seed=context.seed,
            deterministic=True,
            verbosity=-1,
        )
        self.boosters: dict[str, Any] = {}

    def _dataset(self, data: Mapping[str, np.ndarray], column: str, reference=None):
        x, y = _matrix(data, self.context.inputs), np.asarray(data[column], np.float64)
        ok = np.isfinite(y)
        names = list(self.context.inputs)
        return self.lgb.Dataset(
            x[ok], y[ok], feature_name=names, reference=reference, free_raw_data=False
        )

    def fit(self, train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray] | None) -> None:
        """Boost per target; early stopping on ``val`` when given."""
        for name, column in self.context.targets.items():
            dtrain = self._dataset(train, column)
            callbacks, valid = [], []
            if val is not None and self.stop:
                valid = [self._dataset(val, column, reference=dtrain)]
                callbacks = [self.lgb.early_stopping(self.stop, verbose=False)]
            self.boosters[name] = self.lgb.train(
                self.params, dtrain, self.rounds, valid_sets=valid, callbacks=callbacks
            )

    def predict(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Target name → predictions of the best iteration."""
        x = _matrix(data, self.context.inputs)
        return {
            name: np.asarray(b.predict(x, num_iteration=b.best_iteration or None), np.float64)
            for name, b in self.boosters.items()
        }


def linear_head(z: jax.Array, *bounds: float) -> jax.Array:
    """The identity output head ``θ = z`` (bounds ignored): an unbounded regression output.

    Example:
        >>> float(linear_head(jax.numpy.asarray(-2.5), 0.0))
        -2.5
    """
    del bounds
    return z


def identity_process(params: Mapping[str, jax.Array], drivers: Mapping[str, Any]) -> dict:
    """The process of a plain network: the outputs are the network-predicted parameters.

    Example:
        >>> identity_process({"GPP": 1.0}, {})
        {'GPP': 1.0}
    """
    del drivers
    return dict(params)


class MLPRegression(TrainedModule):
    """One MLP per target with a linear output, trained jointly (type ``mlp``).

    Args:
        context: the build context.
        hidden: hidden-layer widths of each network.
        activation: key of :data:`hybridflux.config.ACTIVATIONS`.
        train: training options (:class:`~hybridflux.benchmark.models.FitOptions`).

    Example:
        >>> ctx = BuildContext({"x": ("x",)}, {"Y": "y", "Z": "z"})
        >>> model = MLPRegression(ctx, hidden=(4,), train=FitOptions(epochs=2))
        >>> model.options["epochs"], sorted(model._make(0).sources)
        (2, ['Y', 'Z'])
    """

    def __init__(
        self,
        context: BuildContext,
        *,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        train: FitOptions = FitOptions(),  # noqa: B008 - pydantic default, never mutated
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: known {sorted(ACTIVATIONS)}")
        inputs, names = context.inputs, list(context.targets)
        act, widths = ACTIVATIONS[activation], tuple(hidden)

        def make(seed: int) -> HybridModel:
            rngs = nnx.Rngs(seed)
            nets = {
                t: Modulated(
                    inputs, 0.0, hidden=widths, activation=act, head=linear_head, rngs=rngs
                )
                for t in names
            }
            return HybridModel(identity_process, nets, names)

        super().__init__(make, context, {t: t for t in names}, None, context.options(train))


@dataclasses.dataclass(frozen=True)
class _LueQ10:
    """``lue_q10_process`` with its column names bound (equal by value: shared jit caches)."""

    sw_in: str
    ta: str
    lai: str

    def __call__(self, params, drivers):
        return lue_q10_process(params, drivers, sw_in=self.sw_in, ta=self.ta, lai=self.lai)


class ProcessModel(TrainedModule):
    """The LUE–Q10 process model with calibrated global parameters (type ``process``).

    ``GPP = ε·(1 − exp(−k·LAI))·PAR``, ``RECO = R_b·Q10^((T − 15)/10)``, ``NEE = RECO − GPP``
    (:func:`hybridflux.hybrid.models.lue_q10_process`); ε (gC MJ-1), R_b (gC m-2 d-1) and
    Q10 are :class:`~hybridflux.hybrid.sources.Global` parameters fitted on the training part.

    Args:
        context: the build context.
        sw_in: incoming shortwave column, W m-2 (daily mean).
        ta: air-temperature column, °C.
        lai: leaf-area-index column, m2 m-2.
        eps_init: starting ε, gC MJ-1, strictly inside ``eps_bounds``.
        eps_bounds: ``[lo, hi]`` of ε, gC MJ-1 (``ε = lo + sigmoid(z)·(hi − lo)``).
        rb_init: starting R_b, gC m-2 d-1, strictly inside ``rb_bounds``.
        rb_bounds: ``[lo, hi]`` of R_b, gC m-2 d-1.
        q10_init: starting Q10 (dimensionless), strictly inside ``q10_bounds``.
        q10_bounds: ``[lo, hi]`` of Q10.
        train: training options (default 100 epochs, lr 0.02, batch 512, patience 10).

    Example:
        >>> ctx = BuildContext({k: (k,) for k in ("SW_IN_F", "TA_F", "LAI")}, {"GPP": "G"})
        >>> model = ProcessModel(ctx)
        >>> model.outputs, sorted(model._make(0).sources), model.options["lr"]
        ({'GPP': 'GPP'}, ['Q10', 'Rb', 'eps'], 0.02)
    """

    DEFAULTS = {**TRAIN_DEFAULTS, "epochs": 100, "lr": 0.02, "batch_size": 512, "patience": 10}

    def __init__(
        self,
        context: BuildContext,
        *,
        sw_in: str = "SW_IN_F",
        ta: str = "TA_F",
        lai: str = "LAI",
        eps_init: float = 1.0,
        eps_bounds: tuple[float, float] = (0.0, 5.0),
        rb_init: float = 2.0,
        rb_bounds: tuple[float, float] = (0.0, 20.0),
        q10_init: float = 2.0,
        q10_bounds: tuple[float, float] = (0.5, 5.0),
        train: FitOptions = FitOptions(),  # noqa: B008 - pydantic default, never mutated
    ):
        foreign = [c for c in (sw_in, ta, lai) if c not in context.inputs]
        if foreign:
            raise ValueError(f"the process model reads {foreign}, which are not inputs")
        process = _LueQ10(sw_in, ta, lai)
        globals_ = {
            "eps": (eps_init, *eps_bounds),
            "Rb": (rb_init, *rb_bounds),
            "Q10": (q10_init, *q10_bounds),
        }

        def make(seed: int) -> HybridModel:
            del seed
            sources = {name: Global(*args) for name, args in globals_.items()}
            return HybridModel(process, sources, ("NEE", "GPP", "RECO"), drivers=(sw_in, ta, lai))

        outputs = {t: t for t in context.targets if t in ("NEE", "GPP", "RECO")}
        if not outputs:
            raise ValueError(
                f"the process model predicts NEE, GPP, RECO; targets: {list(context.targets)}"
            )
        options = context.options(train, self.DEFAULTS)
        super().__init__(make, context, outputs, None, options, "physics")
