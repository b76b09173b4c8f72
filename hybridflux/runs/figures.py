"""Figures of a run: observed vs predicted, time series, learned functional responses, loss.

Drawn with matplotlib's object API on the Agg canvas (no ``pyplot``, no global backend
switch, nothing shown), saved as PNG.

Example:
    >>> import tempfile
    >>> path = loss_figure({"train_loss": np.array([2.0, 1.0, 0.5])},
    ...                    Path(tempfile.mkdtemp()) / "loss.png")
    >>> path.stat().st_size > 0
    True
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hybridflux.runs.metrics import scores
from hybridflux.runs.rundir import atomic_write

__all__ = [
    "scatter_figure",
    "timeseries_figure",
    "response_figure",
    "loss_figure",
    "write_figures",
]

_DPI = 100
_MAX_POINTS = 20000


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=_DPI, format="png"))


def _grid(ds: xr.Dataset, name: str) -> np.ndarray:
    return ds[name].transpose("site", "time").values


def _thin(*arrays: np.ndarray) -> list[np.ndarray]:
    """Every k-th point so that at most ``_MAX_POINTS`` are drawn."""
    step = max(1, arrays[0].size // _MAX_POINTS)
    return [a[::step] for a in arrays]


def scatter_figure(
    predictions: xr.Dataset,
    observed: xr.Dataset,
    pairs: Mapping[str, str],
    mask: np.ndarray,
    path: str | os.PathLike,
    title: str = "",
) -> Path:
    """Observed (x) vs predicted (y) per variable on the cells of ``mask``, with the 1:1 line.

    Args:
        predictions: predicted variables on ``(site, time)``.
        observed: observations on the same grid.
        pairs: predicted variable → observed column.
        mask: ``(site, time)`` cells to draw (e.g. the test part).
        path: PNG file.
        title: prefix of the panel titles (e.g. ``"test"``).
    """
    fig = Figure(figsize=(4 * max(len(pairs), 1), 4), layout="constrained")
    for i, (var, col) in enumerate(pairs.items()):
        ax = fig.add_subplot(1, max(len(pairs), 1), i + 1)
        pred, obs = _grid(predictions, var)[mask], _grid(observed, col)[mask]
        ok = np.isfinite(pred) & np.isfinite(obs)
        x, y = _thin(obs[ok], pred[ok])
        ax.scatter(x, y, s=4, alpha=0.4, linewidths=0)
        if x.size:
            lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        r2 = scores(pred, obs)["r2"]
        ax.set_title(f"{title} {var}: r² = {r2:.2f}".strip())
        ax.set_xlabel(f"observed {col}")
        ax.set_ylabel(f"predicted {var}")
    return _save(fig, path)


def timeseries_figure(
    predictions: xr.Dataset,
    observed: xr.Dataset,
    pairs: Mapping[str, str],
    site: int,
    path: str | os.PathLike,
) -> Path:
    """Observed points and predicted line per variable for one site; test period shaded.

    Args:
        predictions: predicted variables (and ``split``) on ``(site, time)``.
        observed: observations on the same grid.
        pairs: predicted variable → observed column.
        site: index of the site.
        path: PNG file.
    """
    time = pd.DatetimeIndex(observed["time"].values)
    n = max(len(pairs), 1)
    fig = Figure(figsize=(12, 2.6 * n), layout="constrained")
    test = _grid(predictions, "split")[site] == 2 if "split" in predictions else None
    for i, (var, col) in enumerate(pairs.items()):
        ax = fig.add_subplot(n, 1, i + 1)
        ax.plot(time, _grid(observed, col)[site], ".", ms=2, color="0.4", label=col)
        ax.plot(time, _grid(predictions, var)[site], lw=0.8, color="C3", label=f"predicted {var}")
        if test is not None and test.any():
            ax.fill_between(time, 0, 1, where=test, transform=ax.get_xaxis_transform(),
                            color="C0", alpha=0.1, label="test")  # fmt: skip
        ax.set_ylabel(var)
        ax.legend(loc="upper left", fontsize=7, ncols=3)
    fig.suptitle(str(observed["site"].values[site]))
    return _save(fig, path)


def response_figure(
    predictions: xr.Dataset,
    observed: xr.Dataset,
    responses: Mapping[str, Sequence[str]],
    path: str | os.PathLike,
) -> Path:
    """Each learned per-time parameter against each of its covariates.

    Args:
        predictions: learned parameters on ``(site, time)`` (e.g. ``Rb``).
        observed: the covariates on the same grid.
        responses: parameter → its covariates (e.g. ``{"Rb": ["SW_POT_sm", ...]}``).
        path: PNG file.
    """
    panels = [(p, c) for p, covs in responses.items() for c in covs]
    n = max(len(panels), 1)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = Figure(figsize=(4 * cols, 3.4 * rows), layout="constrained")
    for i, (param, cov) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        y, x = _grid(predictions, param).ravel(), _grid(observed, cov).ravel()
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = _thin(x[ok], y[ok])
        ax.scatter(x, y, s=3, alpha=0.4, linewidths=0)
        ax.set_xlabel(cov)
        ax.set_ylabel(f"learned {param}")
    return _save(fig, path)


def loss_figure(history: Mapping[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Training (and validation) loss per epoch, log scale (ensembles: one line per member)."""
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot()
    for key in ("train_loss", "val_loss"):
        if key in history:
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.legend()
    return _save(fig, path)


def write_figures(
    folder: str | os.PathLike,
    predictions: xr.Dataset,
    observed: xr.Dataset,
    pairs: Mapping[str, str],
    *,
    responses: Mapping[str, Sequence[str]],
    history: Mapping[str, Any] | None = None,
    max_sites: int = 5,
) -> list[Path]:
    """The figures of a run: scatter per part, time series per site, responses, loss.

    Args:
        folder: output folder (``RUN/figures``).
        predictions: with ``split`` codes (0 train, 1 val, 2 test; -1/absent: all).
        observed: the observations and covariates.
        pairs: predicted variable → observed column (only pairs present in both are drawn).
        responses: learned parameter → its covariates.
        history: training history (for the loss curve).
        max_sites: time series for at most this many sites.

    Returns:
        The written PNG paths.
    """
    folder = Path(folder)
    pairs = {v: c for v, c in pairs.items() if v in predictions and c in observed}
    codes = _grid(predictions, "split") if "split" in predictions else None
    written = []
    parts = {"all": np.ones((observed.sizes["site"], observed.sizes["time"]), bool)}
    if codes is not None and (codes >= 0).any():
        parts = {
            p: codes == i for i, p in enumerate(("train", "val", "test")) if (codes == i).any()
        }
    for part, mask in parts.items():
        written.append(scatter_figure(predictions, observed, pairs, mask,
                                      folder / f"scatter_{part}.png", title=part))  # fmt: skip
    for site in range(min(observed.sizes["site"], max_sites)):
        name = str(observed["site"].values[site])
        written.append(timeseries_figure(predictions, observed, pairs, site,
                                         folder / f"timeseries_{name}.png"))  # fmt: skip
    responses = {p: [c for c in cs if c in observed] for p, cs in responses.items()
                 if p in predictions and predictions[p].ndim == 2}  # fmt: skip
    if responses:
        written.append(response_figure(predictions, observed, responses, folder / "responses.png"))
    if history and "train_loss" in history:
        written.append(loss_figure(history, folder / "loss.png"))
    return written
