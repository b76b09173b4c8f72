"""Calibrate from a config and fill an output folder: the orchestration of ``hybridflux calibrate``.

::

    OUT/
      config.yaml       the fully resolved config
      posterior.nc      one variable per parameter, dims (chain, draw) (ArviZ layout)
      summary.csv       mean, sd, 94 % HDI and quantiles, r_hat, ess_bulk, ess_tail
      predictive.nc     credible and posterior-predictive bands, dims (quantile, site, time)
      diagnostics.json  divergences, max r_hat, min ESS, warnings, timing
      figures/          trace.png, pair.png, predictive_<OUT>_<SITE>.png

Steps: data (:func:`hybridflux.runs.pipeline.load_dataset`, the rows with finite drivers,
observations may be NaN — masked), the process spec and likelihood of the config, NUTS or SVI,
summary, posterior predictive, files, then warnings for divergences and high R-hat.

Example:
    >>> import tempfile
    >>> from hybridflux.calibrate.config import parse_calibrate_config
    >>> cfg = parse_calibrate_config({
    ...     "data": {"paths": ["sample:fr-pue-daily"], "period": ["2010-01-01", "2010-03-31"]},
    ...     "model": {"type": "q10_respiration"}, "targets": {"RECO": "RECO_NT_VUT_REF"},
    ...     "inference": {"chains": 2, "samples": 200, "warmup": 200},
    ...     "output": {"figures": False, "r_hat_max": 1.1}})
    >>> text = calibrate(cfg, tempfile.mkdtemp())
    >>> text.splitlines()[0][:44]
    'calibrated q10_respiration on 90 rows (1 sit'
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr
import yaml

from hybridflux.calibrate.config import CalibrateConfig, HybridModelConfig
from hybridflux.calibrate.figures import write_figures
from hybridflux.calibrate.hybrid import hybrid_spec, load_run_model, network_columns
from hybridflux.calibrate.inference import GUIDES, Posterior, run_nuts, run_svi
from hybridflux.calibrate.likelihood import Likelihood
from hybridflux.calibrate.models import CalibrationData, flux_model
from hybridflux.calibrate.outputs import (
    predictive_dataset,
    predictive_quantiles,
    write_posterior,
    write_predictive,
    write_summary,
)
from hybridflux.calibrate.summary import diagnostic_messages, summary_table, warn_diagnostics
from hybridflux.config import ConfigError, DataConfig
from hybridflux.data import DataError
from hybridflux.data.schema import first_source
from hybridflux.runs.pipeline import Columns, load_dataset, to_columns
from hybridflux.runs.rundir import atomic_write_text

__all__ = ["Problem", "prepare", "infer", "calibrate", "format_summary"]


@dataclass(frozen=True)
class Problem:
    """Everything inference needs, and the grid to map results back to.

    Attributes:
        spec: the process spec (priors, drivers, outputs, call).
        likelihood: the observation model.
        data: drivers and observations of the rows.
        ds: the canonical Dataset the rows come from.
        columns: the rows (site and time indices into ``ds``).
    """

    spec: Any
    likelihood: Likelihood
    data: CalibrationData
    ds: xr.Dataset
    columns: Columns


def _run_data(run: DataConfig, own: DataConfig) -> DataConfig:
    """The run's data preparation, with the keys set in the calibrate config replacing its own
    (``features`` are added to the run's: the networks need theirs)."""
    update = {k: getattr(own, k) for k in own.model_fields_set if k != "features"}
    update["features"] = list(dict.fromkeys([*run.features, *own.features]))
    return run.model_copy(update=update)


def prepare(cfg: CalibrateConfig) -> Problem:
    """Read the data and build the process spec and likelihood of a config.

    Raises:
        ConfigError: targets that the (hybrid) model does not output.
        DataError: unreadable data, missing columns, no row with finite drivers and an
            observation.
    """
    targets = dict(cfg.targets)
    data_cfg, model = cfg.data, None
    if isinstance(cfg.model, HybridModelConfig):
        run_cfg, model = load_run_model(cfg.model.run, cfg.model.member)
        spec = hybrid_spec(model, {k: v.build() for k, v in cfg.model.priors.items()})
        data_cfg = _run_data(run_cfg.data, cfg.data)
        inputs = list(model.inputs)
    else:
        spec = cfg.model.build()
        inputs = list(spec.drivers)
    wrong = sorted(set(targets) - set(spec.outputs))
    if wrong:
        raise ConfigError("targets", [f"{wrong}: the model outputs {list(spec.outputs)}"])
    unc = {o: cfg.likelihood.uncertainty_column(o, c) for o, c in targets.items()}
    ds = load_dataset(data_cfg, [*targets.values(), *unc.values()], require=list(targets.values()))
    likelihood = cfg.likelihood.build(list(ds.data_vars), targets)
    unc = {o: c for o, c in unc.items() if c in ds}
    columns = to_columns(ds, [*inputs, *targets.values(), *unc.values()], finite=inputs)
    if not any(np.isfinite(columns.data[c]).any() for c in targets.values()):
        raise DataError(
            first_source(ds, "data"),
            f"no row with finite drivers {inputs} and an observation of {list(targets.values())}",
        )
    drivers = {k: columns.data[k] for k in inputs}
    if model is not None:
        drivers.update(network_columns(model, columns))
    data = CalibrationData(
        {k: jnp.asarray(v) for k, v in drivers.items()},
        {o: jnp.asarray(columns.data[c]) for o, c in targets.items()},
        {o: jnp.asarray(columns.data[c]) for o, c in unc.items()},
    )
    return Problem(spec, likelihood, data, ds, columns)


def infer(cfg: CalibrateConfig, problem: Problem) -> Posterior:
    """NUTS or SVI on a prepared problem, as the ``inference`` section says."""
    inf = cfg.inference
    args = (flux_model, problem.spec, problem.data, problem.likelihood)
    if inf.method == "svi":
        return run_svi(
            *args,
            guide=GUIDES[inf.guide],
            steps=inf.steps,
            learning_rate=inf.learning_rate,
            samples=inf.samples,
            seed=inf.seed,
            subsample_size=inf.subsample,
        )
    method = None if inf.chain_method == "auto" else inf.chain_method
    return run_nuts(
        *args,
        chains=inf.chains,
        samples=inf.samples,
        warmup=inf.warmup,
        seed=inf.seed,
        target_accept=inf.target_accept,
        max_tree_depth=inf.max_tree_depth,
        chain_method=method,
    )


def _describe(cfg: CalibrateConfig, post: Posterior, problem: Problem) -> str:
    rows, sites = len(problem.columns), len(np.unique(problem.columns.site))
    head = f"calibrated {cfg.model.type} on {rows} rows ({sites} site{'s' * (sites > 1)})"
    if post.method == "svi":
        return f"{head}, SVI ({post.info['guide']}, {post.info['steps']} steps), {post.draws} draws"
    return (
        f"{head}, NUTS {post.chains} chains × {post.draws} draws (+{post.info['warmup']} "
        f"warm-up, {post.info['chain_method']}), {post.divergences} divergences"
    )


def format_summary(
    header: str, table: pd.DataFrame, messages: list[str], timing: dict[str, float], out: Path
) -> str:
    """The text :func:`calibrate` returns.

    Example:
        >>> t = pd.DataFrame({"mean": [1.5], "sd": [0.01]}, index=pd.Index(["Q10"]))
        >>> print(format_summary("calibrated", t, [], {"total_s": 1.0}, Path("out")))
        calibrated
             mean   sd
        Q10   1.5 0.01
        time: total 1.0 s
        outputs: out
    """
    lines = [header, table.to_string(float_format=lambda v: f"{v:.4g}")]
    lines += [f"warning: {m}" for m in messages]
    spent = ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in timing.items())
    lines.append(f"time: {spent}")
    lines.append(f"outputs: {out}")
    return "\n".join(lines)


def _diagnostics(post: Posterior, table, messages, timing, rows: int) -> str:
    info = {k: v for k, v in post.info.items() if k != "svi_loss"}
    if "svi_loss" in post.info:
        info["final_svi_loss"] = float(np.asarray(post.info["svi_loss"])[-1])
    body = {
        "method": post.method,
        "rows": rows,
        "chains": post.chains,
        "draws": post.draws,
        "divergences": post.divergences,
        "max_r_hat": float(table["r_hat"].max()),
        "min_ess_bulk": float(table["ess_bulk"].min()),
        "warnings": messages,
        "settings": info,
        "timing": timing,
    }
    return json.dumps(body, indent=2, default=float, allow_nan=True) + "\n"


def calibrate(cfg: CalibrateConfig, out: str | Path) -> str:
    """Run a calibration and write ``out`` (see the module docstring); returns the summary.

    Raises:
        ConfigError, DataError, FileNotFoundError: see :func:`prepare`.
    """
    t0 = time.perf_counter()
    out = Path(out)
    problem = prepare(cfg)
    t_load = time.perf_counter()
    post = infer(cfg, problem)
    t_inf = time.perf_counter()
    table = summary_table(post)
    messages = diagnostic_messages(post, table, cfg.output.r_hat_max)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        out / "config.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
    )
    write_posterior(out / "posterior.nc", post)
    write_summary(out / "summary.csv", table)
    q = cfg.output.quantiles
    bands = predictive_quantiles(
        flux_model,
        post,
        problem.spec,
        problem.data,
        problem.likelihood,
        quantiles=q,
        draws=cfg.output.predictive_draws,
        seed=cfg.inference.seed,
    )
    predictive = predictive_dataset(problem.ds, problem.columns, bands, cfg.targets, quantiles=q)
    write_predictive(out / "predictive.nc", predictive)
    if cfg.output.figures:
        write_figures(out / "figures", post, predictive, max_sites=cfg.output.max_sites)
    t_end = time.perf_counter()
    timing = {
        "load_s": t_load - t0,
        "inference_s": t_inf - t_load,
        "outputs_s": t_end - t_inf,
        "total_s": t_end - t0,
    }
    text = _diagnostics(post, table, messages, timing, len(problem.columns))
    atomic_write_text(out / "diagnostics.json", text)
    warn_diagnostics(messages)
    return format_summary(_describe(cfg, post, problem), table, messages, timing, out)
