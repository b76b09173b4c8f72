"""Run a benchmark: every model × every scenario, scored at every scale; write the results.

:func:`benchmark` reads the data once (:func:`hybridflux.runs.pipeline.load_dataset`), adds the
one-hot inputs, then per scenario (:func:`~hybridflux.benchmark.scenarios.make_scenario`)
builds every model from its config entry, trains it on the training part (validation part for
early stopping), predicts the test part and scores it per site at every scale
(:mod:`~hybridflux.benchmark.scales`). Every model is scored on the same cells: test cells
with finite inputs and a finite observation. It writes into ``out``:

- ``results.csv`` — long format ``model, scenario, target, scale, statistic, value``;
- ``sites.csv`` — per-site scores ``model, scenario, target, scale, site, rmse, r2, bias, n``
  with the site's ``lat, lon, igbp, climate``;
- ``summary.md`` — setup, skill tables, per-target tables (best per column in bold), timings;
- ``config.yaml`` — the resolved config; ``figures/`` (:mod:`~hybridflux.benchmark.figures`);
- ``cells/`` — the finished model × scenario cells, read back by ``resume``
  (:mod:`~hybridflux.benchmark.cells`).

A model whose optional dependency is missing (LightGBM) is skipped with a message.
The loop over scenarios and models is in :mod:`hybridflux.benchmark.loop`.

Example:
    >>> import tempfile
    >>> text = run_benchmark("configs/benchmark_monthly.yaml", tempfile.mkdtemp(), [
    ...     "data.paths=[sample:monthly]", "train.epochs=2", "output.figures=false",
    ...     "scenarios={temporal: {kind: temporal, test_fraction: 0.3}}",
    ...     "models={linear: {type: linear}, mlp: {type: mlp, hidden: [4]}}"], progress=False)
    >>> "skill against linear" in text.lower()
    True
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from hybridflux.benchmark.cells import start_cells
from hybridflux.benchmark.config import (
    BenchmarkConfig,
    load_benchmark_config,
)
from hybridflux.benchmark.figures import write_figures
from hybridflux.benchmark.inputs import BenchmarkData, prepare_data
from hybridflux.benchmark.loop import _SITE_COORDS, _run_scenarios
from hybridflux.benchmark.loop import _bar as _bar
from hybridflux.benchmark.loop import _fit_predict as _fit_predict
from hybridflux.benchmark.loop import _observed as _observed
from hybridflux.benchmark.loop import _parts as _parts
from hybridflux.benchmark.loop import _plain as _plain
from hybridflux.benchmark.loop import _score as _score
from hybridflux.benchmark.loop import _scored as _scored
from hybridflux.benchmark.loop import _with_site as _with_site
from hybridflux.benchmark.models import BuildContext, MissingDependency, build_model
from hybridflux.benchmark.report import COLUMNS, add_skill, markdown_table, summary_markdown
from hybridflux.benchmark.scales import scales_for
from hybridflux.config import ConfigError
from hybridflux.runs.pipeline import load_dataset
from hybridflux.runs.rundir import atomic_write, atomic_write_text

__all__ = ["BenchmarkResult", "benchmark", "run_benchmark"]

_SITE_COLUMNS = ("model", "scenario", "target", "scale", "site", "rmse", "r2", "bias", "n")


@dataclass(frozen=True)
class BenchmarkResult:
    """What :func:`benchmark` returns.

    Attributes:
        out: the output folder.
        results: the rows of ``results.csv`` (skill included).
        sites: the rows of ``sites.csv``.
        summary: the text of ``summary.md``.
        timing: seconds to build, fit and predict, model × scenario.

    Example:
        >>> sorted(BenchmarkResult.__dataclass_fields__)[:3]
        ['out', 'results', 'sites']
    """

    out: Path
    results: pd.DataFrame
    sites: pd.DataFrame
    summary: str
    timing: pd.DataFrame


def _load(cfg: BenchmarkConfig) -> BenchmarkData:
    columns = list(dict.fromkeys(cfg.targets.values()))
    ds = load_dataset(cfg.data, observed=columns, require=columns)
    return prepare_data(
        ds, cfg.targets, cfg.inputs, cfg.categorical, joint_targets=cfg.joint_targets
    )


def _scales(cfg: BenchmarkConfig, step: str) -> list[str]:
    possible = scales_for(step)
    if cfg.scales is None:
        return possible
    wrong = [s for s in cfg.scales if s not in possible]
    if wrong:
        raise ConfigError(
            "config", [f"scales: {wrong} do not apply to time step {step}; possible: {possible}"]
        )
    return [s for s in possible if s in cfg.scales]


def _check_models(cfg: BenchmarkConfig, data: BenchmarkData) -> dict[str, str]:
    """Build every entry once (config errors before any training); returns skipped → why."""
    context = BuildContext(data.groups, cfg.targets, cfg.seed, cfg.train)
    skipped = {}
    for name, entry in cfg.models.items():
        try:
            build_model(entry, context, name)
        except MissingDependency as err:
            skipped[name] = str(err)
    if cfg.reference in skipped:
        raise ConfigError(
            "config", [f"reference: {cfg.reference} is skipped: {skipped[cfg.reference]}"]
        )
    return skipped


def _tables(cfg, info, skipped) -> tuple[pd.DataFrame, pd.DataFrame]:
    scen = []
    for name, sc in cfg.scenarios.items():
        opts = {k: v for k, v in cfg.scenario_options(name).items() if k != "kind"}
        scen.append(
            {
                "scenario": name,
                "kind": sc.kind,
                "options": ", ".join(f"{k}={v}" for k, v in opts.items()),
                **info.get(name, {}),
            }
        )
    models = []
    for name, entry in cfg.models.items():
        options = entry.model_dump(mode="json", exclude={"type"}, exclude_defaults=True)
        text = yaml.safe_dump(options, default_flow_style=True, sort_keys=False, width=10**6)
        text = text.strip()[1:-1] if options else "defaults"
        status = f"skipped: {skipped[name]}" if name in skipped else "ok"
        models.append({"model": name, "type": entry.type, "options": text, "status": status})
    return pd.DataFrame(scen), pd.DataFrame(models)


def _header(cfg, data, command, wall_s) -> list[str]:
    ds = data.ds
    t = pd.DatetimeIndex(ds["time"].values)
    inputs = ", ".join(
        f"{k} ({len(v)} one-hot columns)" if len(v) != 1 or v[0] != k else k
        for k, v in data.groups.items()
    )
    return [
        f"- Date: {datetime.date.today().isoformat()}",
        f"- Command: `{command}`" if command else "- Command: (library call)",
        f"- Data: {ds.sizes['site']} sites, time step {ds.attrs.get('time_step')}, "
        f"{t.min():%Y-%m} to {t.max():%Y-%m}; targets "
        + ", ".join(f"{k} = {v}" for k, v in cfg.targets.items()),
        f"- Inputs (every model): {inputs}",
        f"- Seed {cfg.seed}; reference model `{cfg.reference}`; wall time {wall_s:.0f} s on "
        f"{platform.machine()} with {os.cpu_count()} CPUs",
    ]


def benchmark(
    cfg: BenchmarkConfig,
    out: str | Path,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    command: str | None = None,
    title: str = "benchmark",
    resume: bool = False,
) -> BenchmarkResult:
    """Run every model in every scenario and write the outputs (module docstring) to ``out``.

    Args:
        cfg: the validated config (:func:`~hybridflux.benchmark.config.load_benchmark_config`).
        out: the output folder (created; files in it are replaced).
        progress: show a progress bar over model × scenario (on a terminal only).
        log: receives one-line messages (skipped models, diverged trainings).
        command: the command line, written at the top of ``summary.md``.
        title: the name in the title of ``summary.md`` (e.g. the config's name).
        resume: continue an interrupted benchmark in ``out``: the model × scenario cells it
            finished are read back, not trained again (:mod:`~hybridflux.benchmark.cells`).

    Returns:
        A :class:`BenchmarkResult`.

    Raises:
        ConfigError: entries that do not fit the data, scales that do not apply; ``resume``
            with another config in ``out``. Raised before anything is written.
        DataError: unreadable data, missing target or input columns.

    Example:
        >>> import tempfile
        >>> from hybridflux.benchmark.config import load_benchmark_config
        >>> cfg = load_benchmark_config("configs/benchmark_monthly.yaml", [
        ...     "data.paths=[sample:monthly]", "output.figures=false",
        ...     "scenarios={warm: {kind: temperature}}", "models={linear: {type: linear}}"])
        >>> result = benchmark(cfg, tempfile.mkdtemp(), progress=False)
        >>> sorted(set(result.results["scale"]))[:3]
        ['all', 'anomalies', 'interannual']
    """
    t0, say, out = time.perf_counter(), log or (lambda message: None), Path(out)
    data = _load(cfg)
    scales = _scales(cfg, data.ds.attrs["time_step"])
    skipped = _check_models(cfg, data)
    for name, why in skipped.items():
        say(f"model {name} skipped: {why}")
    cells = start_cells(cfg, out, resume)
    if resume:
        total = (len(cfg.models) - len(skipped)) * len(cfg.scenarios)
        say(f"resuming: {cells.count()} of {total} cells done")
    rows, site_frames, timing, info = _run_scenarios(
        cfg, data, skipped, scales, progress, say, cells
    )
    results = add_skill(pd.DataFrame(rows, columns=list(COLUMNS)), cfg.reference)
    columns = [*_SITE_COLUMNS, *(c for c in _SITE_COORDS if c in data.ds.coords)]
    sites = pd.concat(site_frames, ignore_index=True) if site_frames else pd.DataFrame()
    sites = sites.reindex(columns=columns)
    times = pd.Series(timing).unstack() if timing else pd.DataFrame()
    times = times.reindex(
        index=[m for m in cfg.models if m not in skipped], columns=list(cfg.scenarios)
    )
    scenario_table, model_table = _tables(cfg, info, skipped)
    units = {k: data.ds[c].attrs.get("units", "") for k, c in cfg.targets.items()}
    meta = dict(
        title=f"hybridflux benchmark: {title}",
        header=_header(cfg, data, command, time.perf_counter() - t0),
        targets=cfg.targets,
        units=units,
        scales=scales,
        reference=cfg.reference,
        models=[m for m in cfg.models if m not in skipped],
        scenarios=list(cfg.scenarios),
        scenario_table=scenario_table,
        model_table=model_table,
        timing=times,
    )
    summary = summary_markdown(results, meta)
    atomic_write(out / "results.csv", lambda tmp: results.to_csv(tmp, index=False))
    atomic_write(out / "sites.csv", lambda tmp: sites.to_csv(tmp, index=False))
    atomic_write_text(out / "summary.md", summary)
    if cfg.output.figures and len(results):
        write_figures(
            results,
            sites,
            out / "figures",
            targets=list(cfg.targets),
            native=scales[0],
            reference=cfg.reference,
        )
    return BenchmarkResult(out, results, sites, summary, times)


def _short_summary(result: BenchmarkResult, cfg: BenchmarkConfig) -> str:
    skills = result.results.query("statistic == 'skill' and scenario == 'all'")
    table = skills.pivot_table(index="model", columns="target", values="value", dropna=False)
    table = table.reindex(index=list(result.timing.index), columns=list(cfg.targets))
    return (
        f"Skill against {cfg.reference} (1 - RMSE/RMSE_{cfg.reference}, median across "
        f"sites, mean over scenario x scale):\n{markdown_table(table, best=pd.Series.max)}\n"
        f"results: {result.out / 'results.csv'}\nsummary: {result.out / 'summary.md'}"
    )


def run_benchmark(
    config_path: str | Path,
    out: str | Path,
    overrides: Sequence[str] = (),
    *,
    progress=True,
    resume: bool = False,
) -> str:
    """``hybridflux benchmark CONFIG --out OUT [--resume] [--set k=v ...]``: run and write a
    benchmark.

    Args:
        config_path: the benchmark YAML config.
        out: the output folder.
        overrides: ``"a.b=value"`` strings (``--set``).
        progress: show the progress bar (on a terminal).
        resume: continue an interrupted benchmark in ``out`` (see :func:`benchmark`).

    Returns:
        A short text summary: the skill table and where the files are.

    Example:
        >>> import tempfile
        >>> text = run_benchmark("configs/benchmark_monthly.yaml", tempfile.mkdtemp(), [
        ...     "data.paths=[sample:monthly]", "output.figures=false",
        ...     "scenarios={s: {kind: spatial}}", "models={linear: {type: linear}}"],
        ...     progress=False)
        >>> text.splitlines()[0][:22]
        'Skill against linear ('
    """
    cfg = load_benchmark_config(config_path, overrides)
    parts = ["hybridflux", "benchmark", str(config_path), "--out", str(out)]
    parts += ["--resume"] if resume else []
    parts += [a for o in overrides for a in ("--set", o)]
    command = " ".join(shlex.quote(p) for p in parts)
    say = lambda message: print(message, file=sys.stderr)  # noqa: E731
    result = benchmark(cfg, out, progress=progress, log=say, command=command,
                       title=Path(config_path).stem, resume=resume)  # fmt: skip
    return _short_summary(result, cfg)
