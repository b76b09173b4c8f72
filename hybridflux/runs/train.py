"""Train from a config and fill a run directory: the orchestration behind ``hybridflux train``.

:func:`train_from_config` reads the data (:mod:`~hybridflux.runs.pipeline`), splits them,
builds the model from the config registry, trains it with
:func:`hybridflux.training.fit.fit` (or :func:`~hybridflux.training.ensemble.fit_ensemble`),
checkpointing into ``RUN/checkpoints``, then predicts every cell with finite inputs, scores
the predictions (:mod:`~hybridflux.runs.metrics`) and writes ``predictions.nc``,
``metrics.json``, the model and the figures. It prints nothing: progress and messages go to
the injected ``progress`` and ``log``.

Example:
    >>> import tempfile
    >>> from hybridflux.demo import demo_config
    >>> cfg = demo_config(["train.epochs=2"])
    >>> result = train_from_config(cfg, tempfile.mkdtemp())
    >>> sorted(result.metrics["splits"]), "q10" in result.metrics["parameters"]
    (['test', 'train', 'val'], True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hybridflux.config import TRAINABLE, Config
from hybridflux.data.splits import Split
from hybridflux.hybrid.sources import Modulated
from hybridflux.runs.build import (
    TrainingData,
    build_objective,
    build_optimizer,
    check_model,
    training_data,
    with_optional_covariates,
)
from hybridflux.runs.figures import write_figures
from hybridflux.runs.metrics import compute_metrics, metrics_json
from hybridflux.runs.pipeline import (
    global_parameters,
    load_dataset,
    make_run_split,
    predict_columns,
    predictions_dataset,
    to_columns,
)
from hybridflux.runs.rundir import RunDir
from hybridflux.training.ensemble import fit_ensemble
from hybridflux.training.fit import fit
from hybridflux.training.progress import Progress
from hybridflux.training.sharding import is_primary

__all__ = [
    "RunResult",
    "train_from_config",
    "observed_pairs",
    "predict_dataset",
    "target_units",
    "parameter_covariates",
    "summary",
]


@dataclass(frozen=True)
class RunResult:
    """What :func:`train_from_config` returns.

    Attributes:
        run_dir: the run directory.
        config: the resolved config.
        metrics: the content of ``metrics.json``.
        predictions: the content of ``predictions.nc``.
        models: the trained model(s) (one per ensemble member).
        history: per-epoch training history.
        resumed_from: the epoch training resumed from, or ``None``.
    """

    run_dir: Path
    config: Config
    metrics: dict[str, Any]
    predictions: xr.Dataset
    models: list[Any]
    history: dict[str, np.ndarray]
    resumed_from: int | None


def observed_pairs(cfg: Config) -> dict[str, str]:
    """Predicted variable → observed column: the targets, then the references.

    Example:
        >>> from hybridflux.demo import demo_config
        >>> observed_pairs(demo_config())
        {'NEE': 'NEE_VUT_REF', 'GPP': 'GPP_NT_VUT_REF', 'RECO': 'RECO_NT_VUT_REF'}
    """
    refs = {k: v for k, v in cfg.evaluate.references.items() if k not in cfg.targets}
    return {**cfg.targets, **refs}


def _fit(cfg: Config, data: TrainingData, checkpointer, resume: bool, progress) -> Any:
    """Train one model (or an ensemble); returns the FitResult/EnsembleResult."""
    train, val = data.train, data.val
    make = _model_maker(cfg, train.data)
    options = dict(
        objective=build_objective(cfg),
        epochs=cfg.train.epochs,
        batch_size=cfg.train.batch_size,
        trainable=TRAINABLE[cfg.train.trainable],
        val_data=None if val is None else val.data,
        patience=cfg.train.patience,
        checkpointer=checkpointer,
        resume=resume,
        progress=progress,
        devices=cfg.train.devices,
    )
    optimizer = build_optimizer(cfg.train, len(train))
    if cfg.train.ensemble > 1:
        return fit_ensemble(
            make, cfg.train.ensemble, train.data, optimizer, seed=cfg.train.seed, **options
        )
    return fit(make(cfg.train.seed), train.data, optimizer, seed=cfg.train.seed, **options)


def _model_maker(cfg: Config, train: dict[str, np.ndarray]) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        model = cfg.model.build(int(seed))
        model.set_normalization(train)
        return model

    return make


def target_units(cfg: Config, ds: xr.Dataset) -> str | None:
    """Units of the first target column in ``ds`` (``None`` if the data lack it).

    Example:
        >>> from hybridflux.data import load_sample
        >>> from hybridflux.demo import demo_config
        >>> target_units(demo_config(), load_sample("fr-pue-daily"))
        'gC m-2 d-1'
    """
    column = next(iter(cfg.targets.values()))
    return ds[column].attrs.get("units") if column in ds else None


def predict_dataset(
    cfg: Config,
    models: Sequence[Any],
    ds: xr.Dataset,
    split: Split | None,
    units: str | None = None,
    k_shot: int = 0,
    seed: int = 0,
) -> xr.Dataset:
    """Predictions of the model(s) on every cell of ``ds`` whose inputs are finite.

    Args:
        cfg: the run's config.
        models: the trained model(s).
        ds: the prepared data.
        split: the split (recorded as ``split`` codes), or ``None``.
        units: units of the flux outputs; default those of the target column in ``ds``.
        k_shot: few-shot support months per site (site models only; 0: zero-shot).
        seed: seed of the support draw.

    Returns:
        The predictions Dataset (:func:`~hybridflux.runs.pipeline.predictions_dataset`).

    Raises:
        ValueError: ``k_shot`` for a model that is not a site model.
    """
    from hybridflux.runs.episodic import is_episodic, predict_episodic

    if is_episodic(models[0]):  # site models: windows per site, zero- or few-shot
        units = units or target_units(cfg, ds)
        return predict_episodic(cfg, models, ds, split, units, k_shot=k_shot, seed=seed)
    if k_shot:
        raise ValueError(
            f"k_shot={k_shot}: few-shot prediction needs a site model (model.type tamrl or "
            f"tamrl_hybrid); this run's model is {cfg.model.type}"
        )
    inputs = models[0].inputs
    columns = to_columns(ds, inputs, finite=inputs)
    predicted = predict_columns(models, columns) if len(columns) else {}
    units = units or target_units(cfg, ds)
    scalars = global_parameters(models)
    return predictions_dataset(ds, columns, predicted, units=units, split=split, scalars=scalars)


def _parameters(models: Sequence[Any], predictions: xr.Dataset) -> dict[str, Any]:
    """Learned globals (lower-case names) and summaries of the per-time parameters."""
    out: dict[str, Any] = {k.lower(): v for k, v in global_parameters(models).items()}
    for name, source in models[0].sources.items():
        if isinstance(source, Modulated) and name in predictions:
            values = predictions[name].values
            values = values[np.isfinite(values)]
            if values.size:
                q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
                out[name.lower()] = {"p05": q05, "median": q50, "p95": q95}
    return out


def _training_summary(result: Any, fit_s: float, load_s: float) -> dict[str, Any]:
    timing = {"load_s": load_s, "fit_s": fit_s, **result.timing}
    history = result.history
    training = {
        "epochs_run": int(result.epochs_run),
        "best_epoch": np.asarray(result.best_epoch).tolist(),
        "stopped_early": bool(result.stopped_early),
        "final_train_loss": np.asarray(history["train_loss"][-1]).tolist()
        if "train_loss" in history
        else None,
    }
    return {"timing": timing, "training": training}


def parameter_covariates(models: Sequence[Any]) -> dict[str, list[str]]:
    """Each network-predicted parameter → its covariates (for response figures).

    Example:
        >>> from hybridflux.hybrid.models import hybrid_q10
        >>> parameter_covariates([hybrid_q10()])
        {'Rb': ['SW_POT_sm', 'SW_POT_sm_diff']}
    """
    sources = getattr(models[0], "sources", {})  # site models have no sources
    return {n: list(s.inputs) for n, s in sources.items() if isinstance(s, Modulated)}


def train_from_config(
    cfg: Config,
    out: str | Path,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Train the model of a config and write a complete run directory.

    Args:
        cfg: the resolved config (:func:`hybridflux.config.load_config`).
        out: the run directory.
        resume: continue from the latest checkpoint in ``out/checkpoints`` (the run then ends
            exactly where an uninterrupted run with the same config ends).
        progress: a progress reporter for the epochs (e.g. ``RichProgress()``).
        log: receives one-line messages (e.g. ``"resuming from epoch 10"``).

    Returns:
        A :class:`RunResult`.

    Raises:
        ConfigError: targets/references the model lacks; early stopping without validation rows.
        DataError: unreadable data, missing columns, no training rows.
        RunDirError: ``out`` holds another run (or a different config when resuming).
        TrainingDiverged: a non-finite loss (the last good checkpoint is kept).
    """
    from hybridflux.runs.episodic import is_episodic, train_episodic

    if is_episodic(cfg.model.build(cfg.train.seed)):  # site models: episodes over sites
        return train_episodic(cfg, out, resume=resume, log=log)
    t0 = time.perf_counter()
    run = RunDir(out)
    say = log or (lambda message: None)
    pairs = observed_pairs(cfg)
    ds = load_dataset(cfg.data, observed=list(pairs.values()), require=list(cfg.targets.values()))
    cfg = with_optional_covariates(cfg, ds)
    split = make_run_split(ds, cfg.split, record=list(cfg.targets.values()))
    probe = cfg.model.build(cfg.train.seed)
    check_model(cfg, probe)
    data = training_data(cfg, ds, split, probe.inputs)
    # Only now, with config and data checked, is anything written. Several processes
    # (jax.distributed): process 0 writes, the others only train along.
    primary = is_primary()
    resumed_from = run.prepare(cfg, resume=resume) if primary else run.latest_epoch()
    if resume:
        say(
            f"resuming from epoch {resumed_from}" if resumed_from else "nothing to resume; starting"
        )
    load_s = time.perf_counter() - t0
    checkpointer = run.checkpointer(cfg.train.checkpoint_every, cfg.output.keep_checkpoints)
    result = _fit(cfg, data, checkpointer, resume, progress)
    fit_s = time.perf_counter() - t0 - load_s
    models = list(getattr(result, "models", None) or [result.model])
    if primary:
        run.save_models(models)
    predictions = predict_dataset(cfg, models, ds, split)
    metrics = compute_metrics(predictions, ds, pairs, split)
    metrics["parameters"] = _parameters(models, predictions)
    metrics["units"] = target_units(cfg, ds)
    metrics.update(_training_summary(result, fit_s, load_s))
    if primary:
        run.write_predictions(predictions)
    if primary and cfg.output.figures:
        responses = parameter_covariates(models)
        write_figures(run.figures_dir, predictions, ds, pairs, responses=responses,
                      history=result.history)  # fmt: skip
    metrics["timing"]["total_s"] = time.perf_counter() - t0
    if primary:
        run.write_metrics(metrics_json(metrics))
    history = {k: np.asarray(v) for k, v in result.history.items()}
    return RunResult(run.path, cfg, metrics, predictions, models, history, resumed_from)


def summary(result: RunResult, parts: Sequence[str] = ("test",)) -> str:
    """A short text summary of a run: the score table and where the run directory is.

    Example:
        >>> summary.__name__
        'summary'
    """
    from hybridflux.runs.metrics import format_metrics

    return f"{format_metrics(result.metrics, parts)}\nrun directory: {result.run_dir}"
