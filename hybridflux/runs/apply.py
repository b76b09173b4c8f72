"""Use a finished run on other data: ``hybridflux predict`` and ``hybridflux evaluate``.

The run's ``config.yaml`` says how to prepare data (QC, features, synthetic targets; its
``data.period`` is not applied: new data are used whole) and which model to build;
``checkpoints/model.npz`` holds the trained variables (input normalisation included), so
predictions on new data need nothing else from the training data.

Example:
    >>> import tempfile
    >>> from hybridflux.demo import demo_config
    >>> from hybridflux.runs.train import train_from_config
    >>> cfg = demo_config(["train.epochs=2", "output.figures=false"])
    >>> run = train_from_config(cfg, tempfile.mkdtemp()).run_dir
    >>> predict_from_run(run, ["sample:fr-pue-daily"])["NEE"].dims
    ('site', 'time')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from hybridflux.config import resolve_paths
from hybridflux.runs.episodic import is_episodic
from hybridflux.runs.figures import write_figures
from hybridflux.runs.metrics import compute_metrics, metrics_json
from hybridflux.runs.pipeline import load_dataset
from hybridflux.runs.rundir import RunDir, RunDirError, atomic_write_text
from hybridflux.runs.train import (
    observed_pairs,
    parameter_covariates,
    predict_dataset,
    target_units,
)

__all__ = ["predict_from_run", "evaluate_from_run"]


def _prepared(
    run: RunDir, paths: Sequence[str], k_shot: int = 0
) -> tuple[Any, list[Any], xr.Dataset]:
    cfg = run.read_config()
    models = run.load_models(cfg)
    if k_shot and not is_episodic(models[0]):
        raise RunDirError(
            f"{run.path}: --k-shot needs a site model (model.type tamrl or tamrl_hybrid); "
            f"this run's model is {cfg.model.type}"
        )
    files = resolve_paths(list(paths), Path.cwd())
    data = cfg.data.model_copy(update={"period": None})  # new data: all their records
    ds = load_dataset(data, observed=list(observed_pairs(cfg).values()), paths=files)
    return cfg, models, ds


def predict_from_run(
    run: str | os.PathLike, paths: Sequence[str], *, k_shot: int = 0, seed: int = 0
) -> xr.Dataset:
    """Predictions of a trained run on the data files ``paths``.

    Args:
        run: the run directory of ``hybridflux train``.
        paths: data files or globs (relative to the working directory) or ``sample:NAME``.
        k_shot: site models (TAM-RL) only: use ``k_shot`` observed months of each site in
            ``paths`` as its few-shot support (marked in the ``support`` variable); 0 is
            zero-shot (covariates only).
        seed: seed of the support draw.

    Returns:
        Dims ``(site, time)``: the model's outputs (``GPP``/``RECO``/``NEE``) in the units of
        the target column, learned per-time parameters and global parameters.

    Raises:
        FileNotFoundError: not a run directory, no trained model, or missing data files.
        DataError: unreadable data or a model input missing from them.
    """
    rundir = RunDir(run)
    cfg, models, ds = _prepared(rundir, paths, k_shot)
    units = _units(rundir, cfg, ds)
    return predict_dataset(cfg, models, ds, split=None, units=units, k_shot=k_shot, seed=seed)


def evaluate_from_run(
    run: str | os.PathLike,
    paths: Sequence[str],
    out: str | os.PathLike | None = None,
    *,
    k_shot: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Score a trained run on the data files ``paths`` (all their records).

    Args:
        run: the run directory.
        paths: data files, globs or ``sample:NAME``.
        out: if given, a folder for ``metrics.json``, ``predictions.nc`` and ``figures/``.
        k_shot, seed: few-shot support of site models (see `predict_from_run`); the support
            months are left out of the scores (``metrics["k_shot"]`` records it).

    Returns:
        ``{"splits": {"all": {VAR: {rmse, r2, bias, n}}}, "sites": ..., "compared_with": ...,
        "parameters": ..., "run": ..., "data": ...}``.
    """
    rundir = RunDir(run)
    cfg, models, ds = _prepared(rundir, paths, k_shot)
    pairs = observed_pairs(cfg)
    units = _units(rundir, cfg, ds)
    predictions = predict_dataset(cfg, models, ds, None, units, k_shot=k_shot, seed=seed)
    scored = ds
    if "support" in predictions:  # the support months were seen: not scored
        seen = predictions["support"].values.astype(bool)
        scored = ds.assign({c: ds[c].where(~seen) for c in pairs.values() if c in ds})
    metrics = compute_metrics(predictions, scored, pairs, split=None)
    metrics["parameters"] = {k.lower(): float(predictions[k]) for k in _scalars(predictions)}
    metrics["run"] = str(Path(run).resolve())
    metrics["data"] = list(paths)
    metrics["k_shot"] = {"k": k_shot, "seed": seed, "support_excluded_from_scores": bool(k_shot)}
    if out is not None:
        target = RunDir(out)
        target.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target.metrics_path, metrics_json(metrics))
        target.write_predictions(predictions)
        write_figures(
            target.figures_dir, predictions, ds, pairs, responses=parameter_covariates(models)
        )
    return metrics


def _units(run: RunDir, cfg: Any, ds: xr.Dataset) -> str | None:
    """The target's units in the new data, else those the run was trained with."""
    units = target_units(cfg, ds)
    if units is None and run.metrics_path.is_file():
        units = run.read_metrics().get("units")
    return units


def _scalars(ds: xr.Dataset) -> list[str]:
    return [str(name) for name, var in ds.data_vars.items() if var.ndim == 0]
