"""The per-scenario loop of a benchmark: split, build, train, predict and score every model.

:func:`_run_scenarios` is the loop behind :func:`hybridflux.benchmark.run.benchmark`: per
scenario it makes the split (:func:`~hybridflux.benchmark.scenarios.make_scenario`), builds
every model not skipped, trains it on the training part (validation part for early stopping),
predicts the test part (:func:`_fit_predict`) and scores it per site at every scale
(:func:`_score`, :mod:`~hybridflux.benchmark.scales`) on the cells with finite inputs and a
finite observation. Writing the results is :mod:`hybridflux.benchmark.run`.

Example:
    >>> from types import SimpleNamespace
    >>> part = SimpleNamespace(data={"x": np.zeros(2)}, site=[0, 1])
    >>> sorted(_with_site(part)), _plain(part) is part.data
    (['site', 'x'], True)
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hybridflux.benchmark.inputs import BenchmarkData, scenario_groups
from hybridflux.benchmark.models import BuildContext, build_model
from hybridflux.benchmark.scales import per_site_scores, site_statistics
from hybridflux.benchmark.scenarios import make_scenario, scenario_info
from hybridflux.runs.pipeline import Columns, to_columns
from hybridflux.training import TrainingDiverged

#: Site coordinates kept in the per-site scores (those the data have).
_SITE_COORDS = ("lat", "lon", "igbp", "climate")


def _parts(data: BenchmarkData, split) -> tuple[Columns, Columns | None, Columns]:
    """Training, validation and test rows: cells with finite inputs (and a target to train)."""
    targets = list(dict.fromkeys(data.targets.values()))
    names = [*data.columns, *targets]

    def rows(part: str, **kw) -> Columns:
        return to_columns(data.ds, names, finite=data.columns, mask=split.mask(part), **kw)

    val = rows("val", any_finite=targets)
    return rows("train", any_finite=targets), (val if len(val) else None), rows("test")


def _observed(data: BenchmarkData, split) -> dict[str, np.ndarray]:
    scored = split.test & data.usable
    return {
        name: np.where(scored, data.ds[col].transpose("site", "time").values, np.nan)
        for name, col in data.targets.items()
    }


def _scored(data: BenchmarkData) -> np.ndarray:
    """Cells with finite inputs and at least one finite target."""
    grids = [
        np.isfinite(data.ds[c].transpose("site", "time").values) for c in data.targets.values()
    ]
    return data.usable & np.any(grids, axis=0)


def _score(data, key, predicted, test, observed, scales, min_years) -> tuple[list, list]:
    """Results rows and per-site frames of one model in one scenario."""
    rows, site_frames = [], []
    time, step = data.ds["time"].values, data.ds.attrs["time_step"]
    coords = {c: data.ds[c].values for c in _SITE_COORDS if c in data.ds.coords}
    for target, values in predicted.items():
        grid = np.full(observed[target].shape, np.nan)
        grid[test.site, test.time] = values
        per_site = per_site_scores(grid, observed[target], time, step, scales, min_years=min_years)
        for scale, scores in per_site.items():
            rows += [(*key, target, scale, k, v) for k, v in site_statistics(scores).items()]
            frame = pd.DataFrame({"site": data.ds["site"].values.astype(str), **coords})
            frame = frame.assign(
                model=key[0],
                scenario=key[1],
                target=target,
                scale=scale,
                **{k: scores[k] for k in ("rmse", "r2", "bias")},
                n=scores["n"].astype(int),
            )
            site_frames.append(frame[frame["n"] > 0])
    return rows, site_frames


def _plain(part) -> dict[str, np.ndarray]:
    return part.data


def _with_site(part) -> dict[str, np.ndarray]:
    """The part's columns plus each row's site index (task-aware models such as TAM-RL)."""
    return {**part.data, "site": np.asarray(part.site)}


def _fit_predict(entry, name, context, parts, log) -> tuple[dict[str, np.ndarray], float]:
    """Build, train and apply one model; a diverged training predicts nothing."""
    train, val, test = parts
    t0 = time.perf_counter()
    try:
        model = build_model(entry, context, name)
        rows = _with_site if getattr(model, "needs_site", False) else _plain
        model.fit(rows(train), None if val is None else rows(val))
        predicted = model.predict(rows(test))
    except TrainingDiverged as err:
        log(f"{name} diverged: {err}")
        predicted = {}
    return predicted, time.perf_counter() - t0


def _bar(enabled: bool) -> Any:
    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        return nullcontext(None)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console)


def _cell(cfg, data, name, scenario, context, parts, observed, scales, cells, log):
    """Rows, site frames and seconds of one model in one scenario: read back from ``cells``
    when a resumed run finished it before, else trained, scored and stored there."""
    done = None if cells is None else cells.load(name, scenario)
    if done is not None:
        return done
    say = lambda m: log(f"scenario {scenario}: {m}")  # noqa: E731
    predicted, seconds = _fit_predict(cfg.models[name], name, context, parts, say)
    r, s = _score(data, (name, scenario), predicted, parts[2], observed, scales, cfg.min_years)
    if cells is not None:
        cells.save(name, scenario, r, s, seconds)
    return r, s, seconds


def _run_scenarios(
    cfg, data, skipped, scales, progress, log, cells=None
) -> tuple[list, list, dict, dict]:
    """Every model not ``skipped`` in every scenario; finished cells kept in ``cells``
    (a :class:`~hybridflux.benchmark.cells.CellStore`, or None)."""
    rows, site_frames, timing, info = [], [], {}, {}
    scored = _scored(data)
    with _bar(progress) as bar:
        task = bar.add_task("benchmark", total=len(cfg.models) * len(cfg.scenarios)) if bar else 0
        for scenario in cfg.scenarios:
            split = make_scenario(data.canonical, **cfg.scenario_options(scenario))
            groups = scenario_groups(data, split.train)
            context = BuildContext(groups, cfg.targets, cfg.seed, cfg.train)
            parts, observed = _parts(data, split), _observed(data, split)
            info[scenario] = {**scenario_info(split, scored), "inputs": len(context.inputs)}
            for name in cfg.models:
                if bar:
                    bar.update(task, description=f"{scenario} · {name}")
                if name not in skipped:
                    r, s, seconds = _cell(cfg, data, name, scenario, context, parts, observed,
                                          scales, cells, log)  # fmt: skip
                    timing[(name, scenario)] = seconds
                    rows, site_frames = rows + r, site_frames + s
                if bar:
                    bar.advance(task)
    return rows, site_frames, timing, info
