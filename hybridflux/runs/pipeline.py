"""From a config to model-ready columns and back: the one xarray ↔ array boundary of a run.

``config → Dataset`` (:func:`load_dataset`: read, synthetic targets, QC, derived features)
``→ split`` (:func:`make_run_split`) ``→ float32 columns`` (:func:`to_columns`: the
(site, time) cells of a mask whose model inputs are all finite; targets may be NaN)
``→ predictions`` (:func:`predict_columns`, chunked and jitted) ``→ Dataset`` with dims
``(site, time)`` (:func:`predictions_dataset`).

Example:
    >>> import numpy as np, pandas as pd
    >>> from hybridflux.data.schema import site_dataset
    >>> frame = pd.DataFrame({"TA_F": [1.0, np.nan, 3.0], "NEE_VUT_REF": [0.5, 1.0, np.nan]},
    ...                      index=pd.date_range("2010-01-01", periods=3, freq="D"))
    >>> ds = site_dataset(frame, "FR-Pue", time_step="DD",
    ...                   units={"TA_F": "degC", "NEE_VUT_REF": "gC m-2 d-1"},
    ...                   source_format="example", source_file="x.csv")
    >>> cols = to_columns(ds, ["TA_F", "NEE_VUT_REF"], finite=["TA_F"])
    >>> cols.data["TA_F"].tolist(), cols.data["NEE_VUT_REF"].tolist(), cols.time.tolist()
    ([1.0, 3.0], [0.5, nan], [0, 2])
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from flax import nnx

from hybridflux.config import SAMPLE_PREFIX, SYNTHETIC, DataConfig, SplitConfig
from hybridflux.data import DataError, add_features, apply_qc, make_split, read
from hybridflux.data.sample import sample_paths
from hybridflux.data.schema import first_source
from hybridflux.data.splits import PARTS, Split
from hybridflux.hybrid.sources import Global

__all__ = [
    "Columns",
    "data_files",
    "load_dataset",
    "make_run_split",
    "to_columns",
    "predict_columns",
    "global_parameters",
    "predictions_dataset",
]

_PREDICT_CHUNK = 65536


@dataclass(frozen=True)
class Columns:
    """Rows of a (site, time) grid as equal-length float32 columns.

    Attributes:
        data: column name → ``(N,)`` float32 array.
        site: ``(N,)`` site index of each row into the Dataset's ``site`` axis.
        time: ``(N,)`` time index of each row.

    Example:
        >>> c = Columns({"x": np.zeros(2, np.float32)}, np.array([0, 0]), np.array([3, 4]))
        >>> len(c)
        2
    """

    data: dict[str, np.ndarray]
    site: np.ndarray
    time: np.ndarray

    def __len__(self) -> int:
        return int(self.site.size)


def data_files(paths: Sequence[str]) -> list[str]:
    """Files to read: ``sample:NAME`` entries expanded to the bundled sample's files.

    Example:
        >>> [p.rsplit("/", 1)[-1] for p in data_files(["sample:fr-pue-daily"])]
        ['FLX_FR-Pue_FLUXDATAKIT_FULLSET_DD_2000_2014_2-3.csv']
    """
    out: list[str] = []
    for entry in paths:
        if entry.startswith(SAMPLE_PREFIX):
            out.extend(str(p) for p in sample_paths(entry[len(SAMPLE_PREFIX) :]))
        else:
            out.append(entry)
    return out


def _synthetic(ds: xr.Dataset, cfg: DataConfig) -> xr.Dataset:
    spec = cfg.synthetic
    module, name = SYNTHETIC[spec.generator].split(":")
    generator = getattr(importlib.import_module(module), name)
    return generator(ds, q10=spec.q10, noise=spec.noise, seed=spec.seed)


def load_dataset(
    cfg: DataConfig,
    observed: Sequence[str] = (),
    *,
    require: Sequence[str] = (),
    paths: Sequence[str] | None = None,
) -> xr.Dataset:
    """Read the data of a config into a canonical Dataset ready for the model.

    Steps: :func:`hybridflux.data.read` → synthetic targets (``cfg.synthetic``) →
    :func:`hybridflux.data.apply_qc` (on the ``observed`` columns only, or on everything when
    ``cfg.qc_drivers``: gap-filled drivers are usually wanted) → derived ``cfg.features`` →
    ``cfg.period`` (last, so that windowed features are complete at its edges).

    Args:
        cfg: the ``data`` section.
        observed: target and reference columns, QC-filtered where present.
        require: columns that must be in the data (the targets when training).
        paths: files to read instead of ``cfg.paths`` (``predict``/``evaluate`` on new data).

    Returns:
        The canonical Dataset.

    Raises:
        DataError: unreadable files, or a required column missing from the data.
    """
    files = data_files(cfg.paths if paths is None else paths)
    ds = read(files, time_step=cfg.time_step)
    if cfg.synthetic is not None:
        ds = _synthetic(ds, cfg)
    missing = [c for c in require if c not in ds]
    if missing:
        raise DataError(files[0], f"no column {missing} for the targets of the config")
    checked = apply_qc(ds, threshold=cfg.qc_threshold)
    if cfg.qc_drivers:
        ds = checked
    else:
        ds = ds.assign({name: checked[name] for name in observed if name in ds})
    ds = add_features(ds, list(cfg.features)) if cfg.features else ds
    return ds if cfg.period is None else _period(ds, cfg.period, files[0])


def _period(ds: xr.Dataset, period: Sequence[Any], where: str) -> xr.Dataset:
    """The records from the first to the last day of ``period`` (inclusive)."""
    first, last = (np.datetime64(day, "D") for day in period)
    ds = ds.sel(time=slice(first, last + np.timedelta64(1, "D") - np.timedelta64(1, "ns")))
    if ds.sizes["time"] == 0:
        raise DataError(where, f"no record in data.period {first} .. {last}")
    return ds


def make_run_split(ds: xr.Dataset, cfg: SplitConfig, record: Sequence[str] | None = None) -> Split:
    """The split of the ``split`` section (:func:`hybridflux.data.make_split`); ``record``:
    the variables (the targets) whose years count as a site's record.

    Example:
        >>> from hybridflux.config import SplitConfig
        >>> from hybridflux.data import load_sample
        >>> ds = load_sample("fr-pue-daily")
        >>> cfg = SplitConfig(kind="temporal", test_years=[2014], test_sites=None)
        >>> int(make_run_split(ds, cfg).test.sum())
        365
    """
    options = cfg.options()
    return make_split(ds, cfg.kind, record=record, **options)


def _grid(ds: xr.Dataset, name: str) -> np.ndarray:
    if name not in ds:
        raise DataError(
            first_source(ds),
            f"the model needs column {name!r}, which the data do not have "
            "(add it to data.features if it is derived)",
            variable=name,
        )
    return ds[name].transpose("site", "time").values


def to_columns(
    ds: xr.Dataset,
    names: Sequence[str],
    *,
    finite: Sequence[str] = (),
    mask: np.ndarray | None = None,
    any_finite: Sequence[str] = (),
) -> Columns:
    """The (site, time) cells of ``mask`` as float32 columns.

    Args:
        ds: canonical Dataset.
        names: columns to take.
        finite: columns that must be finite in a kept row (the model inputs).
        mask: ``(site, time)`` boolean cells to consider (default all).
        any_finite: if given, a kept row needs at least one of these finite (the targets).

    Returns:
        :class:`Columns`, rows ordered by site then time.

    Raises:
        DataError: a named column is not in the Dataset.
    """
    grids = {name: _grid(ds, name) for name in dict.fromkeys([*names, *finite, *any_finite])}
    keep = np.ones((ds.sizes["site"], ds.sizes["time"]), bool) if mask is None else mask.copy()
    for name in finite:
        keep &= np.isfinite(grids[name])
    if any_finite:
        keep &= np.any([np.isfinite(grids[n]) for n in any_finite], axis=0)
    site, time = np.nonzero(keep)
    data = {name: grids[name][site, time].astype(np.float32) for name in names}
    return Columns(data, site, time)


def _chunked(fn, columns: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """``fn`` on fixed-size padded chunks (one compilation), outputs concatenated."""
    size = min(_PREDICT_CHUNK, max(n, 1))
    pieces: list[dict[str, np.ndarray]] = []
    for start in range(0, n, size):
        chunk = {k: v[start : start + size] for k, v in columns.items()}
        m = next(iter(chunk.values())).shape[0]
        padded = {k: np.pad(v, (0, size - m), mode="edge") for k, v in chunk.items()}
        out = jax.device_get(fn(padded))
        pieces.append({k: np.asarray(v)[:m] for k, v in out.items()})
    return {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]} if pieces else {}


def predict_columns(models: Sequence[Any], columns: Columns) -> dict[str, np.ndarray]:
    """Outputs and per-sample parameters of a model (ensemble: the member mean).

    Args:
        models: one or more :class:`~hybridflux.hybrid.model.HybridModel` of one structure.
        columns: rows with every model input.

    Returns:
        Output name → ``(N,)`` and ``"param/<name>"`` → ``(N,)``, float64.
    """
    graphdef, _ = nnx.split(models[0])
    states = jax.tree.map(lambda *xs: jnp.stack(xs), *[nnx.state(m) for m in models])

    @jax.jit
    def run(batch):
        def one(state):
            model = nnx.merge(graphdef, state)
            params = {f"param/{k}": v for k, v in model.parameters(batch).items()}
            return {**model(batch), **params}

        return jax.tree.map(lambda x: jnp.mean(x, axis=0), jax.vmap(one)(states))

    inputs = {name: columns.data[name] for name in models[0].inputs}
    out = _chunked(run, inputs, len(columns))
    return {k: v.astype(np.float64) for k, v in out.items()}


def global_parameters(models: Sequence[Any]) -> dict[str, float]:
    """Values of the models' global learned parameters (ensemble: the member mean).

    Example:
        >>> from hybridflux.hybrid.models import hybrid_q10
        >>> {k: round(v, 4) for k, v in global_parameters([hybrid_q10(q10_init=1.5)]).items()}
        {'Q10': 1.5}
    """
    values: dict[str, list[float]] = {}
    for model in models:
        for name, source in model.sources.items():
            if isinstance(source, Global):
                values.setdefault(name, []).append(float(source.value))
    return {name: float(np.mean(v)) for name, v in values.items()}


def _part_codes(split: Split, shape: tuple[int, int]) -> np.ndarray:
    codes = np.full(shape, -1, np.int8)
    for i, part in enumerate(PARTS):
        codes[split.mask(part)] = i
    return codes


def predictions_dataset(
    ds: xr.Dataset,
    columns: Columns,
    predicted: Mapping[str, np.ndarray],
    *,
    units: str | None,
    split: Split | None = None,
    scalars: Mapping[str, float] | None = None,
) -> xr.Dataset:
    """Predictions on the (site, time) grid of ``ds`` (NaN where not predicted).

    Args:
        ds: the Dataset the rows come from (its site, time and site coordinates are kept).
        columns: the rows that were predicted.
        predicted: from :func:`predict_columns`; ``"param/<name>"`` become per-time variables
            ``<name>`` unless ``name`` is in ``scalars``.
        units: units of the flux outputs (those of the target column).
        split: adds ``split`` (0 train, 1 val, 2 test) when given.
        scalars: global learned parameters, written as scalar variables.

    Returns:
        ``xarray.Dataset`` with dims ``(site, time)``.
    """
    shape = (ds.sizes["site"], ds.sizes["time"])
    coords = {k: v for k, v in ds.coords.items() if set(v.dims) <= {"site", "time"}}
    out = xr.Dataset(coords=coords)
    scalars = dict(scalars or {})
    for key, values in predicted.items():
        name = key.removeprefix("param/")
        if name in scalars:
            continue
        grid = np.full(shape, np.nan)
        grid[columns.site, columns.time] = values
        attrs = {"long_name": f"learned parameter {name}"}
        if key == name:
            attrs = {"long_name": f"predicted {name}", **({"units": units} if units else {})}
        out[name] = (("site", "time"), grid, attrs)
    for name, value in scalars.items():
        out[name] = xr.DataArray(float(value), attrs={"long_name": f"learned global {name}"})
    if split is not None:
        attrs = {"flag_values": [0, 1, 2], "flag_meanings": " ".join(PARTS)}
        out["split"] = (("site", "time"), _part_codes(split, shape), attrs)
    out.attrs = {"nee_sign": ds.attrs.get("nee_sign", ""), "time_step": ds.attrs.get("time_step")}
    return out
