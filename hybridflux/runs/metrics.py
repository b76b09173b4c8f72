"""Skill scores of a run's predictions: per split part × variable, and per site.

For a variable with predictions ``ŷ`` and observations ``y`` on the ``n`` cells where both are
finite:

- ``rmse = sqrt(mean((ŷ − y)²))``, units of the variable;
- ``r2 = 1 − Σ(ŷ − y)² / Σ(y − ȳ)²``, the coefficient of determination (Nash–Sutcliffe
  efficiency; 1 is perfect, 0 is as good as the observed mean, negative is worse), ``None``
  when ``n < 2`` or the observations are constant;
- ``bias = mean(ŷ − y)`` (positive: the model overestimates);
- ``n``.

``metrics.json`` (DESIGN.md): ``{"splits": {part: {VAR: {rmse, r2, bias, n}}}, "sites": {site:
{part: {VAR: ...}}}, "compared_with": {VAR: column}, "parameters": {...}, "units": ...,
"training": {...}, "timing": {...}}``; non-finite numbers are written as ``null``.

Example:
    >>> s = scores(np.array([1.0, 2.0, 3.0, np.nan]), np.array([1.0, 2.0, 4.0, 5.0]))
    >>> s["n"], round(s["rmse"], 4), round(s["bias"], 4), round(s["r2"], 4)
    (3, 0.5774, -0.3333, 0.7857)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from hybridflux.data.splits import PARTS, Split

__all__ = ["scores", "compute_metrics", "format_metrics", "metrics_json"]


def scores(pred: np.ndarray, obs: np.ndarray) -> dict[str, Any]:
    """RMSE, r², bias and n of predictions against observations (finite pairs only).

    Args:
        pred: predictions, any shape.
        obs: observations, same shape; NaN cells are left out.

    Returns:
        ``{"rmse", "r2", "bias", "n"}``; the floats are NaN when ``n == 0`` (r² also when
        ``n < 2`` or the observations are constant).

    Example:
        >>> scores(np.array([2.0, 4.0]), np.array([1.0, 3.0]))
        {'rmse': 1.0, 'r2': 0.0, 'bias': 1.0, 'n': 2}
    """
    pred, obs = np.asarray(pred, np.float64), np.asarray(obs, np.float64)
    ok = np.isfinite(pred) & np.isfinite(obs)
    p, o = pred[ok], obs[ok]
    n = int(ok.sum())
    if n == 0:
        return {"rmse": math.nan, "r2": math.nan, "bias": math.nan, "n": 0}
    err = p - o
    ss_tot = float(np.sum((o - o.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / ss_tot if n >= 2 and ss_tot > 0 else math.nan
    return {"rmse": float(np.sqrt(np.mean(err**2))), "r2": r2, "bias": float(err.mean()), "n": n}


def _grid(ds: xr.Dataset, name: str) -> np.ndarray:
    return ds[name].transpose("site", "time").values


def _parts(split: Split | None, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    if split is None:
        return {"all": np.ones(shape, bool)}
    return {part: split.mask(part) for part in PARTS if split.mask(part).any()}


def compute_metrics(
    predictions: xr.Dataset,
    observed: xr.Dataset,
    pairs: Mapping[str, str],
    split: Split | None = None,
) -> dict[str, Any]:
    """Scores of every predicted variable against its observed column, per part and site.

    Args:
        predictions: dims ``(site, time)`` with the predicted variables.
        observed: the Dataset of the observations, on the same grid.
        pairs: predicted variable → observed column (targets and references); pairs whose
            variable or column is absent are skipped.
        split: the parts to score separately; ``None`` scores everything as ``"all"``.

    Returns:
        ``{"splits": {part: {VAR: scores}}, "sites": {site: {part: {VAR: scores}}},
        "compared_with": {VAR: column}}``.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> obs = site_dataset(pd.DataFrame({"NEE_VUT_REF": [1.0, 3.0]},
        ...     index=pd.date_range("2010-01-01", periods=2)), "FR-Pue", time_step="DD",
        ...     units={"NEE_VUT_REF": "gC m-2 d-1"}, source_format="x", source_file="x")
        >>> pred = obs.rename({"NEE_VUT_REF": "NEE"}) + 1.0
        >>> compute_metrics(pred, obs, {"NEE": "NEE_VUT_REF"})["splits"]["all"]["NEE"]["bias"]
        1.0
    """
    used = {v: c for v, c in pairs.items() if v in predictions and c in observed}
    grids = {v: (_grid(predictions, v), _grid(observed, c)) for v, c in used.items()}
    shape = (observed.sizes["site"], observed.sizes["time"])
    parts = _parts(split, shape)
    out: dict[str, Any] = {"splits": {}, "sites": {}, "compared_with": dict(used)}
    for part, mask in parts.items():
        out["splits"][part] = {v: scores(p[mask], o[mask]) for v, (p, o) in grids.items()}
    for i, site in enumerate(str(s) for s in observed["site"].values):
        out["sites"][site] = {
            part: {v: scores(p[i][mask[i]], o[i][mask[i]]) for v, (p, o) in grids.items()}
            for part, mask in parts.items()
            if mask[i].any()
        }
    return out


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metrics_json(metrics: Mapping[str, Any]) -> str:
    """``metrics`` as JSON text, non-finite numbers as ``null``.

    Example:
        >>> metrics_json({"r2": float("nan"), "n": np.int64(3)})
        '{\\n  "r2": null,\\n  "n": 3\\n}'
    """
    return json.dumps(_clean(metrics), indent=2, allow_nan=False)


def _fmt(value: Any) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and not math.isfinite(value))
        else (f"{value:.3f}" if isinstance(value, float) else str(value))
    )


def format_metrics(metrics: Mapping[str, Any], parts: Sequence[str] = ("test",)) -> str:
    """A plain-text table of the scores of some parts, the compared columns and parameters.

    Example:
        >>> m = {"splits": {"test": {"NEE": scores(np.array([1.0, 2.0]), np.array([1.0, 2.5]))}},
        ...      "compared_with": {"NEE": "NEE_VUT_REF"}, "parameters": {"q10": 1.5}}
        >>> print(format_metrics(m))
        part  variable  vs           r2       rmse     bias     n
        test  NEE       NEE_VUT_REF  0.778    0.354    -0.250   2
        learned: q10 = 1.500
    """
    header = ("part", "variable", "vs", "r2", "rmse", "bias", "n")
    rows = [header]
    compared = metrics.get("compared_with", {})
    for part in parts:
        for var, s in metrics.get("splits", {}).get(part, {}).items():
            values = (s["r2"], s["rmse"], s["bias"], s["n"])
            rows.append((part, var, compared.get(var, ""), *(_fmt(v) for v in values)))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    widths[3:6] = [max(w, 7) for w in widths[3:6]]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    learned = {k: v for k, v in metrics.get("parameters", {}).items() if isinstance(v, float)}
    if learned:
        lines.append("learned: " + ", ".join(f"{k} = {v:.3f}" for k, v in learned.items()))
    return "\n".join(lines)
