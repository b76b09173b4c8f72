"""The benchmark's outputs: ``results.csv`` (long format), skill scores, ``summary.md``.

``results.csv`` has one row per number, columns ``model, scenario, target, scale, statistic,
value``. Statistics (:mod:`hybridflux.benchmark.scales`): ``rmse_median``, ``rmse_q90``,
``r2_median``, ``r2_q10``, ``bias_median``, ``abs_bias_q90``, ``n_sites`` (and at
``site_mean`` ``rmse_across_sites``, ``r2_across_sites``), plus ``skill`` and ``skill_q90`` —
``1 − RMSE_model / RMSE_reference`` of the median and of the 90th-percentile RMSE — per
scenario and scale, and averaged over scenario × scale in rows with ``scenario = scale =
"all"``. Figures are in :mod:`hybridflux.benchmark.figures`.

Example:
    >>> rows = [dict(model=m, scenario="s", target="GPP", scale="monthly",
    ...              statistic="rmse_median", value=v) for m, v in (("linear", 2.0), ("mlp", 1.5))]
    >>> table = add_skill(pd.DataFrame(rows, columns=COLUMNS), "linear")
    >>> overall = table.query("statistic == 'skill' and scenario == 'all'")
    >>> overall[["model", "value"]].values.tolist()
    [['linear', 0.0], ['mlp', 0.25]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hybridflux.benchmark.scales import skill

__all__ = ["COLUMNS", "add_skill", "markdown_table", "text_table", "summary_markdown"]

#: Columns of ``results.csv``.
COLUMNS: tuple[str, ...] = ("model", "scenario", "target", "scale", "statistic", "value")

_SKILL_FROM = {"skill": "rmse_median", "skill_q90": "rmse_q90"}


def add_skill(results: pd.DataFrame, reference: str) -> pd.DataFrame:
    """``results`` with skill rows against ``reference`` added (see the module docstring).

    Args:
        results: long-format rows (:data:`COLUMNS`) with ``rmse_median``/``rmse_q90``.
        reference: the model whose RMSE is the denominator.

    Returns:
        A new frame: the input rows, the per-(scenario, scale) skill rows, and their means over
        scenario × scale (``scenario = scale = "all"``), per model and target.

    Example:
        >>> rows = [("ref", "s", "GPP", "monthly", "rmse_q90", 4.0),
        ...         ("m", "s", "GPP", "monthly", "rmse_q90", 3.0)]
        >>> out = add_skill(pd.DataFrame(rows, columns=COLUMNS), "ref")
        >>> out.query("statistic == 'skill_q90' and model == 'm'")["value"].tolist()
        [0.25, 0.25]
    """
    keys = ["scenario", "target", "scale"]
    pieces = [results]
    for name, source in _SKILL_FROM.items():
        rmse = results[results["statistic"] == source]
        ref = rmse[rmse["model"] == reference].set_index(keys)["value"]
        joined = rmse.join(ref.rename("ref"), on=keys)
        rows = joined.assign(statistic=name, value=skill(joined["value"], joined["ref"]))
        rows = rows[list(COLUMNS)]
        mean = rows.groupby(["model", "target"], sort=False)["value"].mean().reset_index()
        mean = mean.assign(scenario="all", scale="all", statistic=name)[list(COLUMNS)]
        pieces += [rows, mean]
    return pd.concat(pieces, ignore_index=True)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown_table(
    frame: pd.DataFrame,
    *,
    best: Callable[[pd.Series], Any] | None = None,
    extra: pd.DataFrame | None = None,
    digits: int = 3,
) -> str:
    """A markdown table of a frame (index = rows), best value per column in bold.

    Args:
        frame: numbers; the index labels the rows, the columns the columns.
        best: picks the best value of a column (``pd.Series.min``/``max``); None: no bold.
        extra: an optional second frame of the same shape, shown after `` · `` in each cell
            with its own best in bold (e.g. the 90th percentile beside the median).
        digits: decimals.

    Example:
        >>> f = pd.DataFrame({"s": [1.0, 2.0]}, index=["a", "b"])
        >>> print(markdown_table(f, best=pd.Series.min))
        | model | s |
        |---|---|
        | a | **1.000** |
        | b | 2.000 |
    """

    def cells(f: pd.DataFrame) -> pd.DataFrame:
        out = f.map(lambda v: _fmt(float(v), digits))
        if best is not None:
            for col in f.columns:
                values = f[col].astype(float)
                if values.notna().any():
                    top = best(values.dropna())
                    hit = np.isclose(values, top, rtol=0, atol=0.5 * 10**-digits)
                    out.loc[hit, col] = "**" + out.loc[hit, col] + "**"
        return out

    shown = cells(frame)
    if extra is not None:
        shown = shown + " · " + cells(extra.reindex_like(frame))
    header = "| model | " + " | ".join(str(c) for c in frame.columns) + " |"
    lines = [header, "|" + "---|" * (len(frame.columns) + 1)]
    lines += [
        f"| {i} | " + " | ".join(row) + " |"
        for i, row in zip(shown.index, shown.values.tolist(), strict=True)
    ]
    return "\n".join(lines)


def text_table(frame: pd.DataFrame) -> str:
    """A markdown table of a frame's columns as text (the index is not shown).

    Example:
        >>> print(text_table(pd.DataFrame({"name": ["a"], "n": [3]})))
        | name | n |
        |---|---|
        | a | 3 |
    """
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rows = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.values.tolist()]
    return "\n".join([header, "|" + "---|" * len(frame.columns), *rows])


def _pivot(results: pd.DataFrame, statistic: str, target: str, scale: str, order) -> pd.DataFrame:
    rows = results[
        (results["statistic"] == statistic)
        & (results["target"] == target)
        & (results["scale"] == scale)
    ]
    table = rows.pivot_table(index="model", columns="scenario", values="value", dropna=False)
    return table.reindex(index=order["models"], columns=order["scenarios"])


def _target_section(results, target: str, column: str, units: str, order, scales) -> list[str]:
    lines = [f"## {target} ({column}, {units})", ""]
    for scale in scales:
        median = _pivot(results, "rmse_median", target, scale, order)
        if median.isna().all().all():
            continue
        q90 = _pivot(results, "rmse_q90", target, scale, order)
        lines += [
            f"### {scale}: RMSE across sites, median · 90th percentile",
            "",
            markdown_table(median, best=pd.Series.min, extra=q90),
            "",
        ]
    native = scales[0]
    for stat, label, best in (
        ("r2_median", "r² median", pd.Series.max),
        ("bias_median", "bias median", None),
    ):
        table = _pivot(results, stat, target, native, order)
        lines += [f"### {native}: {label} across sites", "", markdown_table(table, best=best), ""]
    return lines


def _skill_tables(results: pd.DataFrame, targets: Sequence[str], order, reference) -> list[str]:
    skills = results[results["statistic"] == "skill"]
    overall = skills[skills["scenario"] == "all"].pivot_table(
        index="model", columns="target", values="value", dropna=False
    )
    overall = overall.reindex(index=order["models"], columns=list(targets))
    lines = [
        f"## Skill against {reference}",
        "",
        f"`1 − RMSE / RMSE_{reference}` of the median RMSE across sites, averaged over "
        "scenario × scale (1 perfect, 0 as good as the reference, < 0 worse).",
        "",
        markdown_table(overall, best=pd.Series.max),
        "",
    ]
    per = skills[skills["scenario"] != "all"]
    per = per.groupby(["model", "target", "scenario"])["value"].mean().reset_index()
    for target in targets:
        table = per[per["target"] == target].pivot_table(
            index="model", columns="scenario", values="value", dropna=False
        )
        table = table.reindex(index=order["models"], columns=order["scenarios"])
        lines += [
            f"### {target}: skill per scenario (mean over scales)",
            "",
            markdown_table(table, best=pd.Series.max),
            "",
        ]
    return lines


def summary_markdown(results: pd.DataFrame, meta: Mapping[str, Any]) -> str:
    """The ``summary.md`` text: setup, skill tables, per-target tables per scale, timings.

    Args:
        results: all rows, skill included (:func:`add_skill`).
        meta: ``title``, ``header`` (lines), ``targets`` (name → column), ``units``,
            ``scales``, ``reference``, ``models`` and ``scenarios`` (ordered names),
            ``scenario_table`` and ``model_table`` (frames), ``timing`` (frame: model ×
            scenario, seconds), ``notes`` (lines).

    Returns:
        Markdown text.

    Example:
        >>> rows = [("m", "s", "GPP", "monthly", "rmse_median", 1.0)]
        >>> results = add_skill(pd.DataFrame(rows, columns=COLUMNS), "m")
        >>> meta = dict(title="t", targets={"GPP": "G"}, units={}, scales=["monthly"],
        ...             reference="m", models=["m"], scenarios=["s"],
        ...             scenario_table=pd.DataFrame({"scenario": ["s"]}),
        ...             model_table=pd.DataFrame({"model": ["m"]}),
        ...             timing=pd.DataFrame({"s": [1.0]}, index=["m"]))
        >>> summary_markdown(results, meta).splitlines()[0]
        '# t'
    """
    order = {"models": list(meta["models"]), "scenarios": list(meta["scenarios"])}
    lines = [f"# {meta['title']}", "", *meta.get("header", []), ""]
    lines += ["## Scenarios", "", text_table(meta["scenario_table"]), ""]
    lines += ["## Models", "", text_table(meta["model_table"]), ""]
    lines += [*meta.get("notes", []), ""] if meta.get("notes") else []
    lines += _skill_tables(results, list(meta["targets"]), order, meta["reference"])
    for target, column in meta["targets"].items():
        units = meta["units"].get(target, "")
        lines += _target_section(results, target, column, units, order, list(meta["scales"]))
    lines += ["## Fit and predict time (s)", "", markdown_table(meta["timing"], digits=1), ""]
    return "\n".join(lines).rstrip() + "\n"
