"""Files of a calibration: posterior (ArviZ layout), summary table, posterior-predictive bands.

- ``posterior.nc`` — one variable per parameter with dims ``(chain, draw)``. The root group
  holds them (``xarray.open_dataset(path)``), and the groups ``posterior`` and
  ``sample_stats`` (``diverging``) repeat them as ArviZ's ``InferenceData.to_netcdf`` writes
  them, so ``arviz.from_netcdf(path)`` reads the file too.
- ``summary.csv`` — :func:`hybridflux.calibrate.summary.summary_table`.
- ``predictive.nc`` — dims ``(quantile, site, time)``: ``<OUT>`` is the credible band of the
  modelled flux (parameter uncertainty), ``<OUT>_predictive`` the posterior-predictive band
  (with observation noise) of each calibrated flux, ``<OUT>_observed`` (``(site, time)``) the
  observations; NaN where the drivers are missing.

Every file is written to a temporary file and moved into place (``os.replace``).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from hybridflux.calibrate.inference import Posterior
    >>> post = Posterior({"Q10": np.full((2, 3), 1.5)}, np.zeros((2, 3), bool), "nuts", 0.5)
    >>> path = write_posterior(Path(tempfile.mkdtemp()) / "posterior.nc", post)
    >>> with xr.open_dataset(path) as ds:
    ...     ds["Q10"].dims
    ('chain', 'draw')
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
import xarray as xr
from numpyro.infer import Predictive

from hybridflux.calibrate.inference import Posterior
from hybridflux.calibrate.models import CalibrationData
from hybridflux.runs.pipeline import Columns
from hybridflux.runs.rundir import atomic_write

__all__ = [
    "QUANTILES",
    "posterior_dataset",
    "write_posterior",
    "write_summary",
    "predictive_quantiles",
    "predictive_dataset",
    "write_predictive",
]

#: Quantiles of the predictive bands: the 94 % interval, the quartiles and the median.
QUANTILES: tuple[float, ...] = (0.03, 0.25, 0.5, 0.75, 0.97)
_CHUNK = 65536


def posterior_dataset(posterior: Posterior) -> xr.Dataset:
    """The draws as a Dataset with dims ``(chain, draw)`` (ArviZ's ``posterior`` group).

    Example:
        >>> post = Posterior({"Rb": np.ones((2, 4))}, np.zeros((2, 4), bool), "nuts", 0.1)
        >>> posterior_dataset(post)["Rb"].shape
        (2, 4)
    """
    coords = {"chain": np.arange(posterior.chains), "draw": np.arange(posterior.draws)}
    data_vars = {}
    for name, values in posterior.samples.items():
        extra = tuple(f"{name}_dim_{i}" for i in range(values.ndim - 2))
        data_vars[name] = (("chain", "draw", *extra), np.asarray(values))
    attrs = {
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "inference_library": "numpyro",
        "inference_library_version": numpyro.__version__,
        "method": posterior.method,
        "wall_s": float(posterior.wall_s),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def write_posterior(path: str | os.PathLike, posterior: Posterior) -> Path:
    """Write ``posterior.nc`` (root + ArviZ groups ``posterior`` and ``sample_stats``)."""
    post = posterior_dataset(posterior)
    stats = xr.Dataset(
        {"diverging": (("chain", "draw"), posterior.diverging.astype(np.int8))},
        coords=post.coords,
        attrs={"long_name": "divergent transition (1) after warm-up"},
    )

    def write(tmp: Path) -> None:
        post.to_netcdf(tmp, mode="w")
        post.to_netcdf(tmp, mode="a", group="posterior")
        stats.to_netcdf(tmp, mode="a", group="sample_stats")

    return atomic_write(path, write)


def write_summary(path: str | os.PathLike, table: pd.DataFrame) -> Path:
    """Write the summary table as CSV (index ``parameter``)."""
    return atomic_write(path, lambda tmp: tmp.write_text(table.to_csv(), encoding="utf-8"))


def _thin(posterior: Posterior, draws: int) -> dict[str, jax.Array]:
    flat = posterior.flat()
    total = next(iter(flat.values())).shape[0]
    idx = np.unique(np.linspace(0, total - 1, min(draws, total)).round().astype(int))
    return {k: jnp.asarray(v[idx]) for k, v in flat.items()}


def _rows(data: CalibrationData, start: int, size: int) -> CalibrationData:
    """Rows ``start:start+size`` of ``data``, padded with the last row to ``size``."""

    def take(v):
        piece = np.asarray(v)[start : start + size]
        return jnp.asarray(np.pad(piece, (0, size - piece.shape[0]), mode="edge"))

    pick = {f: {k: take(v) for k, v in getattr(data, f).items()} for f in data._fields}
    return CalibrationData(**pick)


def predictive_quantiles(
    model: Callable,
    posterior: Posterior,
    process: Any,
    data: CalibrationData,
    likelihood: Any,
    *,
    quantiles: Sequence[float] = QUANTILES,
    draws: int = 400,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Quantiles of the modelled fluxes and of the posterior predictive, row by row.

    Runs ``model(process, data, likelihood, predict=True)`` for ``draws`` evenly thinned
    posterior draws (numpyro ``Predictive``), in padded chunks of rows (one compilation).

    Returns:
        ``<OUT>`` (every process output) and ``<OUT>_predictive`` (observed outputs) →
        ``(len(quantiles), N)`` arrays.
    """
    samples = _thin(posterior, draws)
    sites = [*process.outputs, *(f"{out}_obs" for out in data.observed)]
    predictive = Predictive(model, posterior_samples=samples, return_sites=sites)
    run = jax.jit(lambda key, chunk: predictive(key, process, chunk, likelihood, predict=True))
    q = jnp.asarray(quantiles)
    size, n, pieces = min(_CHUNK, data.rows), data.rows, []
    for i, start in enumerate(range(0, n, size)):
        out = run(jax.random.fold_in(jax.random.key(seed), i), _rows(data, start, size))
        m = min(size, n - start)
        pieces.append({k: np.asarray(jnp.quantile(v, q, axis=0))[:, :m] for k, v in out.items()})
    rename = {f"{out}_obs": f"{out}_predictive" for out in data.observed}
    return {rename.get(k, k): np.concatenate([p[k] for p in pieces], axis=1) for k in sites}


def predictive_dataset(
    ds: xr.Dataset,
    columns: Columns,
    bands: Mapping[str, np.ndarray],
    observed: Mapping[str, str],
    *,
    quantiles: Sequence[float] = QUANTILES,
) -> xr.Dataset:
    """The bands of :func:`predictive_quantiles` on the ``(site, time)`` grid of ``ds``.

    Args:
        ds: the calibration data (its site/time coordinates are kept).
        columns: the rows the bands belong to.
        bands: name → ``(quantile, N)``.
        observed: calibrated output → observed column of ``ds`` (units come from it).
        quantiles: the quantile levels.

    Returns:
        Dataset with ``(quantile, site, time)`` bands and ``<OUT>_observed`` on ``(site, time)``.
    """
    shape = (len(quantiles), ds.sizes["site"], ds.sizes["time"])
    coords = {k: v for k, v in ds.coords.items() if set(v.dims) <= {"site", "time"}}
    out = xr.Dataset(coords={**coords, "quantile": np.asarray(quantiles, np.float64)})
    units = next((ds[c].attrs.get("units") for c in observed.values() if c in ds), None)
    for name, values in bands.items():
        grid = np.full(shape, np.nan)
        grid[:, columns.site, columns.time] = values
        kind = "posterior predictive" if name.endswith("_predictive") else "credible band of"
        attrs = {"long_name": f"{kind} {name.removesuffix('_predictive')}"}
        out[name] = (
            ("quantile", "site", "time"),
            grid,
            {**attrs, **({"units": units} if units else {})},
        )
    for output, column in observed.items():
        out[f"{output}_observed"] = ds[column].transpose("site", "time").copy()
        out[f"{output}_observed"].attrs["long_name"] = f"observed {column}"
    out.attrs = {"nee_sign": ds.attrs.get("nee_sign", ""), "time_step": ds.attrs.get("time_step")}
    return out


def write_predictive(path: str | os.PathLike, ds: xr.Dataset) -> Path:
    """Write the predictive Dataset as netCDF."""
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp))
