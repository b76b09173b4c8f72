"""Figures of a calibration: traces, pair plot, posterior-predictive band over observations.

Drawn with matplotlib's object API on the Agg canvas (no ``pyplot``), saved atomically as PNG.

- :func:`trace_figure` — per parameter, the draws of each chain against the draw index and a
  histogram per chain (chains that disagree show at a glance);
- :func:`pair_figure` — the joint draws of every pair of parameters (correlations, funnels),
  divergent transitions in red, marginal histograms on the diagonal;
- :func:`predictive_figure` — per calibrated flux and site: the 94 % posterior-predictive band,
  the 94 % credible band of the modelled flux, its median and the observations.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from hybridflux.calibrate.inference import Posterior
    >>> rng = np.random.default_rng(0)
    >>> post = Posterior({"Rb": rng.normal(2, 0.1, (2, 50)), "Q10": rng.normal(1.5, 0.1, (2, 50))},
    ...                  np.zeros((2, 50), bool), "nuts", 0.1)
    >>> trace_figure(post, Path(tempfile.mkdtemp()) / "trace.png").stat().st_size > 0
    True
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hybridflux.calibrate.inference import Posterior
from hybridflux.runs.rundir import atomic_write

__all__ = ["trace_figure", "pair_figure", "predictive_figure", "write_figures"]

_DPI = 100
_MAX_PAIR_POINTS = 4000
_MAX_PARAMS = 8


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=_DPI, format="png"))


def _scalars(posterior: Posterior) -> dict[str, np.ndarray]:
    """The scalar parameters (at most ``_MAX_PARAMS``), ``(chain, draw)`` each."""
    scalars = {k: v for k, v in posterior.samples.items() if np.ndim(v) == 2}
    return dict(list(scalars.items())[:_MAX_PARAMS])


def trace_figure(posterior: Posterior, path: str | os.PathLike) -> Path:
    """Trace (left) and per-chain histogram (right) of each scalar parameter."""
    params = _scalars(posterior)
    n = max(len(params), 1)
    fig = Figure(figsize=(11, 2.2 * n), layout="constrained")
    for i, (name, draws) in enumerate(params.items()):
        trace, hist = fig.add_subplot(n, 2, 2 * i + 1), fig.add_subplot(n, 2, 2 * i + 2)
        for chain in range(draws.shape[0]):
            trace.plot(draws[chain], lw=0.5, alpha=0.8, color=f"C{chain % 10}")
            hist.hist(draws[chain], bins=40, histtype="step", color=f"C{chain % 10}")
        trace.set_ylabel(name)
        hist.set_xlabel(name)
    fig.suptitle(f"{posterior.method.upper()}: {posterior.chains} chain(s) × {posterior.draws}")
    return _save(fig, path)


def pair_figure(posterior: Posterior, path: str | os.PathLike) -> Path:
    """Lower-triangle scatter of every parameter pair; divergences in red; diagonal histograms."""
    params = _scalars(posterior)
    names = list(params)
    n = max(len(names), 1)
    flat = {k: v.reshape(-1) for k, v in params.items()}
    diverging = posterior.diverging.reshape(-1)
    step = max(1, diverging.size // _MAX_PAIR_POINTS)
    fig = Figure(figsize=(2.6 * n, 2.6 * n), layout="constrained")
    for row, y_name in enumerate(names):
        for col, x_name in enumerate(names[: row + 1]):
            ax = fig.add_subplot(n, n, row * n + col + 1)
            x = flat[x_name]
            if row == col:
                ax.hist(x, bins=40, color="C0")
            else:
                y = flat[y_name]
                ax.scatter(x[::step], y[::step], s=2, alpha=0.3, linewidths=0, color="C0")
                if diverging.any():
                    ax.scatter(x[diverging], y[diverging], s=6, color="red", label="divergent")
            if row == n - 1:
                ax.set_xlabel(x_name)
            if col == 0 and row > 0:
                ax.set_ylabel(y_name)
    return _save(fig, path)


def _band(ax, time, band: xr.DataArray, site: int, color: str, label: str) -> None:
    lo, hi = band.sel(quantile=band["quantile"].min()), band.sel(quantile=band["quantile"].max())
    ax.fill_between(
        time, lo.values[site], hi.values[site], color=color, alpha=0.3, lw=0, label=label
    )


def predictive_figure(predictive: xr.Dataset, output: str, site: int, path) -> Path:
    """Posterior-predictive band, credible band, median and observations of one flux and site.

    Args:
        predictive: from :func:`hybridflux.calibrate.outputs.predictive_dataset`.
        output: a calibrated flux (``<output>_predictive`` and ``<output>_observed`` present).
        site: index of the site.
        path: PNG file.
    """
    time = pd.DatetimeIndex(predictive["time"].values)
    q = predictive["quantile"].values
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    ax = fig.add_subplot()
    pct = round(100 * (q.max() - q.min()))
    _band(ax, time, predictive[f"{output}_predictive"], site, "C1", f"{pct} % predictive")
    if output in predictive:
        _band(ax, time, predictive[output], site, "C3", f"{pct} % credible")
        median = predictive[output].sel(quantile=0.5, method="nearest").values[site]
        ax.plot(time, median, lw=0.8, color="C3", label=f"median {output}")
    observed = predictive[f"{output}_observed"].values[site]
    ax.plot(time, observed, ".", ms=2, color="0.2", label="observed")
    units = predictive[f"{output}_predictive"].attrs.get("units", "")
    ax.set_ylabel(f"{output} ({units})" if units else output)
    ax.legend(loc="upper left", fontsize=7, ncols=4)
    ax.set_title(str(predictive["site"].values[site]))
    return _save(fig, path)


def write_figures(
    folder: str | os.PathLike,
    posterior: Posterior,
    predictive: xr.Dataset | None = None,
    *,
    max_sites: int = 4,
) -> list[Path]:
    """``trace.png``, ``pair.png`` and ``predictive_<OUT>_<SITE>.png`` in ``folder``.

    Returns:
        The written PNG paths.
    """
    folder = Path(folder)
    written = [trace_figure(posterior, folder / "trace.png")]
    if len(_scalars(posterior)) > 1:
        written.append(pair_figure(posterior, folder / "pair.png"))
    if predictive is None:
        return written
    outputs = [
        str(k).removesuffix("_predictive")
        for k in predictive.data_vars
        if str(k).endswith("_predictive")
    ]
    for output in outputs:
        for site in range(min(predictive.sizes["site"], max_sites)):
            name = str(predictive["site"].values[site])
            path = folder / f"predictive_{output}_{name}.png"
            written.append(predictive_figure(predictive, output, site, path))
    return written
