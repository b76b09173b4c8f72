"""Figures of a benchmark: skill heatmap, per-site error boxplots and per-site skill maps.

Drawn with matplotlib's object API on the Agg canvas (no ``pyplot``), saved as PNG atomically:

- ``skill_heatmap.png`` — per target, models × (scenario, scale), colour = skill
  ``1 − RMSE_model / RMSE_reference`` of the median RMSE across sites;
- ``site_rmse_<target>.png`` — per scenario, boxplots of the per-site RMSE at the native scale;
- ``site_map_<target>.png`` — per scenario, the test sites on a longitude/latitude plot coloured
  by the per-site skill of a chosen model (the best by mean skill) against the reference.

Example:
    >>> import tempfile
    >>> from hybridflux.benchmark.report import COLUMNS
    >>> rows = [("linear", "s", "GPP", "monthly", "skill", 0.0),
    ...         ("mlp", "s", "GPP", "monthly", "skill", 0.3)]
    >>> results = pd.DataFrame(rows, columns=COLUMNS)
    >>> path = skill_heatmap(results, Path(tempfile.mkdtemp()) / "skill.png")
    >>> path.stat().st_size > 0
    True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hybridflux.benchmark.scales import skill
from hybridflux.runs.rundir import atomic_write

__all__ = ["skill_heatmap", "site_boxplots", "site_map", "write_figures"]

_DPI = 100


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=_DPI, format="png"))


def _ordered(values: pd.Series) -> list[str]:
    return list(dict.fromkeys(values.tolist()))


def skill_heatmap(results: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Heatmap of the skill per model × (scenario, scale), one panel per target.

    Args:
        results: long-format results with ``skill`` rows (:func:`~.report.add_skill`).
        path: the PNG to write.
    """
    rows = results[(results["statistic"] == "skill") & (results["scenario"] != "all")]
    targets, models = _ordered(rows["target"]), _ordered(rows["model"])
    columns = list(dict.fromkeys(zip(rows["scenario"], rows["scale"], strict=True)))
    fig = Figure(
        figsize=(
            max(6.0, 0.45 * len(columns) + 2.5),
            1.0 + 0.45 * len(models) * len(targets) + 0.9 * len(targets),
        ),
        constrained_layout=True,
    )
    axes = fig.subplots(len(targets), 1, squeeze=False)[:, 0]
    image = None
    for ax, target in zip(axes, targets, strict=True):
        table = rows[rows["target"] == target].pivot_table(
            index="model", columns=["scenario", "scale"], values="value", dropna=False
        )
        grid = table.reindex(index=models, columns=pd.MultiIndex.from_tuples(columns)).values
        image = ax.imshow(np.clip(grid, -1, 1), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6)
        ax.set_yticks(range(len(models)), models, fontsize=7)
        ax.set_xticks(
            range(len(columns)), [f"{s}\n{c}" for s, c in columns], fontsize=6, rotation=90
        )
        ax.set_title(
            f"{target}: skill vs reference (1 − RMSE/RMSE_ref, median across sites)", fontsize=8
        )
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.8, label="skill")
    return _save(fig, path)


def site_boxplots(sites: pd.DataFrame, target: str, scale: str, path: str | os.PathLike) -> Path:
    """Boxplots of the per-site RMSE of every model, one panel per scenario.

    Args:
        sites: per-site rows with ``model, scenario, target, scale, site, rmse``.
        target: the target shown.
        scale: the scale shown (the native one).
        path: the PNG to write.

    Example:
        >>> import tempfile
        >>> sites = pd.DataFrame({"model": ["a", "b"], "scenario": "s", "target": "GPP",
        ...                       "scale": "monthly", "site": "X", "rmse": [1.0, 2.0]})
        >>> site_boxplots(sites, "GPP", "monthly", Path(tempfile.mkdtemp()) / "b.png").suffix
        '.png'
    """
    rows = sites[(sites["target"] == target) & (sites["scale"] == scale)]
    scenarios, models = _ordered(rows["scenario"]), _ordered(rows["model"])
    fig = Figure(figsize=(3.2 * max(len(scenarios), 1), 3.6), constrained_layout=True)
    axes = fig.subplots(1, max(len(scenarios), 1), squeeze=False, sharey=True)[0]
    for ax, scenario in zip(axes, scenarios, strict=False):
        part = rows[rows["scenario"] == scenario]
        data = [part.loc[part["model"] == m, "rmse"].dropna().to_numpy() for m in models]
        ax.boxplot(data, showfliers=True, flierprops={"markersize": 2})
        ax.set_xticks(range(1, len(models) + 1), models, rotation=60, fontsize=7)
        ax.set_title(scenario, fontsize=9)
    axes[0].set_ylabel(f"per-site RMSE of {target} ({scale})")
    return _save(fig, path)


def site_map(
    sites: pd.DataFrame, target: str, scale: str, model: str, reference: str, path
) -> Path:
    """Test sites by longitude/latitude coloured by the per-site skill of ``model``.

    Per site ``1 − RMSE_model / RMSE_reference`` at ``scale``; one panel per scenario.

    Args:
        sites: per-site rows with ``model, scenario, target, scale, site, rmse, lat, lon``.
        target: the target shown.
        scale: the scale shown.
        model: the model whose skill is shown.
        reference: the reference model.
        path: the PNG to write.

    Example:
        >>> import tempfile
        >>> sites = pd.DataFrame({"model": ["a", "ref"], "scenario": "s", "target": "GPP",
        ...                       "scale": "monthly", "site": "X", "rmse": [1.0, 2.0],
        ...                       "lat": 50.0, "lon": 10.0})
        >>> site_map(sites, "GPP", "monthly", "a", "ref", Path(tempfile.mkdtemp()) / "m.png").name
        'm.png'
    """
    rows = sites[(sites["target"] == target) & (sites["scale"] == scale)]
    scenarios = _ordered(rows["scenario"])
    fig = Figure(figsize=(4.0 * max(len(scenarios), 1), 3.0), constrained_layout=True)
    axes = fig.subplots(1, max(len(scenarios), 1), squeeze=False)[0]
    image = None
    for ax, scenario in zip(axes, scenarios, strict=False):
        part = rows[rows["scenario"] == scenario].set_index(["model", "site"])
        present = set(part.index.get_level_values("model"))
        if model not in present or reference not in present:
            continue
        mine, ref = part.loc[model], part.loc[reference]
        joined = mine.join(ref["rmse"].rename("ref"), how="inner")
        values = np.clip(skill(joined["rmse"], joined["ref"]), -1, 1)
        image = ax.scatter(
            joined["lon"],
            joined["lat"],
            c=values,
            cmap="RdBu",
            vmin=-1,
            vmax=1,
            s=14,
            edgecolors="k",
            linewidths=0.3,
        )
        ax.set_xlim(-180, 180)
        ax.set_ylim(-60, 85)
        ax.set_title(f"{scenario}: {model} vs {reference}", fontsize=8)
        ax.set_xlabel("longitude")
    axes[0].set_ylabel("latitude")
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.8, label=f"per-site skill ({target}, {scale})")
    return _save(fig, path)


def write_figures(
    results: pd.DataFrame,
    sites: pd.DataFrame,
    folder: str | os.PathLike,
    *,
    targets: Sequence[str],
    native: str,
    reference: str,
) -> list[Path]:
    """Write every figure of a benchmark into ``folder``; returns their paths.

    The maps show, per target, the model with the highest mean skill other than the reference.

    Example:
        >>> write_figures.__name__
        'write_figures'
    """
    folder = Path(folder)
    paths = [skill_heatmap(results, folder / "skill_heatmap.png")]
    overall = results[(results["statistic"] == "skill") & (results["scenario"] == "all")]
    for target in targets:
        paths.append(site_boxplots(sites, target, native, folder / f"site_rmse_{target}.png"))
        ranked = overall[(overall["target"] == target) & (overall["model"] != reference)]
        ranked = ranked.dropna(subset=["value"]).sort_values("value", ascending=False)
        if len(ranked):
            best = str(ranked["model"].iloc[0])
            path = folder / f"site_map_{target}.png"
            paths.append(site_map(sites, target, native, best, reference, path))
    return paths
