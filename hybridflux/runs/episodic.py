"""The episodic branch of the run layer: site models (TAM-RL) trained by episodes over sites.

A site model (:class:`~hybridflux.hybrid.tamrl.TamRL`, ``model.type: tamrl`` or
``tamrl_hybrid``) sees each site's months as a set (:class:`~hybridflux.hybrid.tamrl.SiteWindows`)
rather than flat rows, so :func:`train_episodic` trains it with
:func:`hybridflux.training.episodes.fit_episodes` (``train.episodes``) and predicts with
:func:`~hybridflux.training.episodes.predict_sites` — zero-shot (covariates and traits only) or
few-shot (``k_shot`` observed months per site). The run directory is the same as for row
models (config.yaml, metrics.json, checkpoints/model.npz, predictions.nc, figures/), so
``hybridflux predict``/``evaluate`` apply a run to other sites' files unchanged. Categorical
covariates (``PFT``) become 0/1 columns of a fixed class list (registry ``CATEGORICAL``).

Reference:
    Renganathan, Rozanov et al., "Task Aware Modulation using Representation Learning for
    upscaling of terrestrial carbon fluxes".

Example:
    >>> from hybridflux.hybrid.tamrl import tamrl_film
    >>> is_episodic(tamrl_film(["TA_F"], hidden=(4,), rngs=0))
    True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from hybridflux.config.registry import CATEGORICAL, TRAINABLE
from hybridflux.config.sections import Config, ConfigError
from hybridflux.data import DataError
from hybridflux.data.schema import first_source
from hybridflux.data.splits import Split
from hybridflux.hybrid.tamrl import FLUXES, TamRL
from hybridflux.runs.build import build_optimizer
from hybridflux.runs.figures import write_figures
from hybridflux.runs.metrics import compute_metrics, metrics_json
from hybridflux.runs.pipeline import (
    load_dataset,
    make_run_split,
    predictions_dataset,
    to_columns,
)
from hybridflux.runs.rundir import RunDir, RunDirError
from hybridflux.training.episodes import (
    fit_episodes,
    predict_sites,
    site_windows,
    support_masks,
    to_rows,
)

__all__ = ["is_episodic", "with_categorical", "site_rows", "predict_episodic", "train_episodic"]


def is_episodic(model: Any) -> bool:
    """Whether a built model is a site model trained by episodes (a :class:`TamRL`)."""
    return isinstance(model, TamRL)


def with_categorical(ds: xr.Dataset, columns: Sequence[str]) -> xr.Dataset:
    """``ds`` with the 0/1 columns among ``columns`` of the registry's categorical covariates.

    ``PFT_GRA`` is 1 at every time of the sites whose ``igbp`` is ``GRA``, else 0.

    Raises:
        DataError: a categorical column is needed but the data lack its per-site coordinate.

    Example:
        >>> from hybridflux.data import load_sample
        >>> ds = with_categorical(load_sample("monthly"), ["TA_F", "PFT_GRA"])
        >>> int(ds["PFT_GRA"].isel(time=0).sum())
        3
    """
    new = {}
    for name, (coord, classes) in CATEGORICAL.items():
        wanted = [c for c in classes if f"{name}_{c}" in columns]
        if not wanted:
            continue
        if coord not in ds.coords:
            where = first_source(ds)
            raise DataError(where, f"no per-site coordinate {coord!r} for the covariate {name}")
        values = np.asarray(ds[coord].values).astype(str)
        shape = (ds.sizes["site"], ds.sizes["time"])
        for c in wanted:
            grid = np.broadcast_to((values == c)[:, None], shape).astype(float)
            new[f"{name}_{c}"] = (("site", "time"), grid, {"units": "1"})
    return ds.assign(new)


def _targets(cfg: Config, ds: xr.Dataset) -> tuple[str | None, ...]:
    """The target columns in the order of ``FLUXES`` (None where absent from config or data)."""
    return tuple(cfg.targets[k] if k in cfg.targets and cfg.targets[k] in ds else None
                 for k in FLUXES)  # fmt: skip


def site_rows(cfg: Config, model: TamRL, ds: xr.Dataset, mask: np.ndarray | None = None):
    """Windows of the sites of ``ds`` (cells of ``mask`` with finite covariates).

    Returns:
        ``(windows, index, columns)``: :class:`~hybridflux.hybrid.tamrl.SiteWindows`, the row
        of each window cell (:func:`~hybridflux.training.episodes.site_windows`) and the rows.
    """
    targets = _targets(cfg, ds)
    names = [*model.covariates, *(t for t in targets if t is not None)]
    cols = to_columns(ds, list(dict.fromkeys(names)), finite=model.covariates, mask=mask)
    windows, index, _ = site_windows(cols.data, cols.site, model.covariates, targets)
    return windows, index, cols


#: Units of the task-aware parameters of ``tamrl_hybrid``.
PARAMETER_UNITS = {"eps": "gC MJ-1", "Rb": "gC m-2 d-1", "Q10": "1"}


def _per_site_q10(out: xr.Dataset) -> xr.Dataset:
    """Parameter units; Q10 (one value per site) as a ``(site,)`` variable."""
    for name, units in PARAMETER_UNITS.items():
        if name in out:
            out[name].attrs.update(units=units, long_name=f"task-aware parameter {name}")
    if "Q10" in out:
        out["Q10"] = out["Q10"].mean("time", skipna=True, keep_attrs=True)
    return out


def parameter_summary(predictions: xr.Dataset) -> dict:
    """5/50/95 % quantiles of each task-aware parameter over sites (Q10) or site-months.

    Example:
        >>> ds = xr.Dataset({"Q10": ("site", np.array([1.5, 2.0, 2.5]))})
        >>> parameter_summary(ds)["q10"]["median"]
        2.0
    """
    out = {}
    for name in PARAMETER_UNITS:
        if name in predictions:
            values = np.asarray(predictions[name].values, float)
            values = values[np.isfinite(values)]
            if values.size:
                q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
                out[name.lower()] = {"p05": float(q05), "median": float(q50), "p95": float(q95)}
    return out


def predict_episodic(
    cfg: Config,
    models: Sequence[TamRL],
    ds: xr.Dataset,
    split: Split | None,
    units: str | None,
    k_shot: int = 0,
    seed: int = 0,
) -> xr.Dataset:
    """GPP, RECO, NEE of site models on every cell of ``ds`` with finite covariates.

    Args:
        cfg: the run's config.
        models: the trained members (ensemble mean).
        ds: the prepared data (categorical columns are added here).
        split: recorded as ``split`` codes, or None.
        units: units of the fluxes (those of the training targets).
        k_shot: 0 for zero-shot; else ``k_shot`` observed months per site (drawn with
            ``seed``) are the few-shot support (needs the target columns in ``ds``).
        seed: seed of the support draw.

    Returns:
        Predictions on ``(site, time)`` (:func:`~hybridflux.runs.pipeline.predictions_dataset`);
        for ``tamrl_hybrid`` also the task-aware ``eps``, ``Rb`` (site, time) and ``Q10``
        (site); with ``k_shot``, ``support`` (1 where the month was a support month, else 0).
    """
    ds = with_categorical(ds, models[0].covariates)
    windows, index, cols = site_rows(cfg, models[0], ds)
    if len(cols) == 0:
        return predictions_dataset(ds, cols, {}, units=units, split=split)
    support = None
    if k_shot:
        support = support_masks(np.asarray(windows.obs), np.random.default_rng(seed), k_shot, 0.0)
    # zero-shot NEE shrinkage only for sites the models did not train on (all, on new data)
    shrink = None if split is None else ~split.train.any(axis=1)[np.unique(cols.site)]
    grids = predict_sites(models, windows, support, parameters=True, shrink=shrink)
    predicted = {k: to_rows(v, index, len(cols)) for k, v in grids.items()}
    out = _per_site_q10(predictions_dataset(ds, cols, predicted, units=units, split=split))
    if support is not None:
        rows = to_rows(support.astype(float), index, len(cols))
        grid = np.zeros((ds.sizes["site"], ds.sizes["time"]), np.int8)
        grid[cols.site, cols.time] = np.nan_to_num(rows).astype(np.int8)
        out["support"] = (("site", "time"), grid, {
            "long_name": f"few-shot support month ({k_shot} per site, seed {seed})",
            "flag_values": [0, 1], "flag_meanings": "predicted support"})  # fmt: skip
    return out


def _check(cfg: Config, run: RunDir) -> None:
    problems = []
    if cfg.train.episodes is None:
        problems.append(f"train.episodes: the model {cfg.model.type} is trained by episodes; "
                        "add train.episodes (e.g. {batch_sites: 16, k_support: 6})")  # fmt: skip
    wrong = [k for k in cfg.targets if k not in FLUXES]
    if wrong:
        problems.append(f"targets: {wrong} are not outputs of {cfg.model.type} ({FLUXES})")
    if cfg.constraints.flux_balance is not None:
        problems.append("constraints.flux_balance: NEE = RECO - GPP holds by construction")
    if problems:
        raise ConfigError("config", problems)
    if run.model_path.is_file():
        raise RunDirError(f"{run.path} already holds a trained model; choose another --out")


def _episode_data(cfg: Config, ds: xr.Dataset, split: Split) -> tuple[Any, Any]:
    """Training and validation site windows; errors before anything is written."""
    probe = cfg.model.build(cfg.train.seed)
    train, _, cols = site_rows(cfg, probe, ds, split.mask("train"))
    if not np.asarray(train.obs).any():
        where = first_source(ds)
        raise DataError(where, "no training site has finite covariates and an observed target")
    val = None
    if split.val.any():
        val = site_rows(cfg, probe, ds, split.mask("val"))[0]
        val = val if np.asarray(val.obs).any() else None
    if cfg.train.patience and val is None:
        raise ConfigError("config", ["train.patience: early stopping needs validation sites "
                                     "(split.val_fraction > 0)"])  # fmt: skip
    return train, val


def _fit(cfg: Config, train: Any, val: Any, run: RunDir, resume: bool):
    make: Callable[[int], Any] = cfg.model.build
    ep, n_sites = cfg.train.episodes, int(train.x.shape[0])
    steps = math.ceil(n_sites / min(ep.batch_sites, n_sites))
    optimizer = build_optimizer(cfg.train.model_copy(update={"batch_size": 1}), steps)
    return fit_episodes(
        make, train, optimizer, epochs=cfg.train.epochs, batch_sites=ep.batch_sites,
        k_support=ep.k_support, zero_shot=ep.zero_shot, pretrain_epochs=ep.pretrain_epochs,
        members=cfg.train.ensemble, seed=cfg.train.seed, val=val, patience=cfg.train.patience,
        trainable=TRAINABLE[cfg.train.trainable], checkpoint_dir=run.checkpoints_dir,
        checkpoint_every=cfg.train.checkpoint_every, resume=resume,
    )  # fmt: skip


def _history(result: Any) -> dict[str, np.ndarray]:
    out = {"train_loss": np.asarray(result.history["loss"])}
    if "val" in result.history:
        out["val_loss"] = np.asarray(result.history["val"])
    return out


def train_episodic(cfg: Config, out: str | Path, *, resume: bool = False, log=None):
    """Train a site model by episodes and write a complete run directory.

    Same contract as :func:`hybridflux.runs.train.train_from_config` (which dispatches here
    for site models): ``predictions.nc`` holds zero-shot GPP/RECO/NEE of every site in the
    units of the targets; ``metrics.json`` the scores per split and site, ``training`` and
    ``timing``; ``checkpoints/model.npz`` every member's variables. Episode checkpoints
    (``checkpoints/epoch_NNNNNN.npz``, every ``train.checkpoint_every`` epochs) let
    ``resume`` continue an interrupted run to the same result.

    Raises:
        ConfigError: no ``train.episodes``, targets other than GPP/RECO/NEE, a flux-balance
            constraint, or early stopping without validation sites.
        RunDirError: ``out`` already holds a trained model, holds checkpoints and ``resume`` is
            false, or ``resume`` with another config.
        DataError: unreadable data or no training site with observations.
    """
    from hybridflux.runs.train import RunResult, observed_pairs, target_units

    t0 = time.perf_counter()
    run = RunDir(out)
    _check(cfg, run)
    pairs = observed_pairs(cfg)
    ds = load_dataset(cfg.data, observed=list(pairs.values()), require=list(cfg.targets.values()))
    split = make_run_split(ds, cfg.split, record=list(cfg.targets.values()))
    train, val = _episode_data(cfg, with_categorical(ds, cfg.model.columns()), split)
    start = run.prepare(cfg, resume=resume)  # config and data checked: now the run is written
    if start is not None:
        (log or (lambda m: None))(f"resuming {run.path} from epoch {start}")
    load_s = time.perf_counter() - t0
    result = _fit(cfg, train, val, run, resume)
    fit_s = time.perf_counter() - t0 - load_s
    models = result.models
    run.save_models(models)
    units = target_units(cfg, ds)
    predictions = predict_episodic(cfg, models, ds, split, units)
    metrics = compute_metrics(predictions, ds, pairs, split)
    history = _history(result)
    epochs_run = len(history["train_loss"])
    metrics.update(
        parameters=parameter_summary(predictions),
        units=units,
        timing={"load_s": load_s, "fit_s": fit_s},
    )
    metrics["training"] = {
        "epochs_run": epochs_run,
        "best_epoch": np.asarray(result.best_epoch).tolist(),
        "stopped_early": epochs_run < cfg.train.epochs,
        "final_train_loss": history["train_loss"][-1].tolist(),
        "prediction": "zero-shot",
    }
    run.write_predictions(predictions)
    if cfg.output.figures:
        write_figures(run.figures_dir, predictions, ds, pairs, responses={}, history=history)
    metrics["timing"]["total_s"] = time.perf_counter() - t0
    run.write_metrics(metrics_json(metrics))
    (log or (lambda m: None))(f"trained {len(models)} member(s) by episodes, {epochs_run} epochs")
    return RunResult(run.path, cfg, metrics, predictions, models, history, None)
