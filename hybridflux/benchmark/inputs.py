"""The benchmark's data: targets, inputs, one-hot categorical inputs, per-scenario input columns.

Every model of a benchmark sees the same input columns (FLUXtrapolation: meteorology, remote
sensing and the plant functional type; no coordinates and no calendar year). A categorical
input (e.g. ``PFT`` from the per-site coordinate ``igbp``) becomes one 0/1 column per class,
``PFT_ENF``, ``PFT_GRA``, ... (classes of the whole dataset, sorted). In a scenario, a one-hot
column that is constant over the training cells (a class held out entirely, as in a spatial
scenario grouped by IGBP) is dropped for every model: no model can learn anything about it,
and a network would otherwise apply untrained weights to it at test time.

Example:
    >>> from hybridflux.data import load_sample
    >>> data = prepare_data(load_sample("monthly"), {"GPP": "GPP_NT_VUT_REF"},
    ...                     ["TA_F", "PFT"], {"PFT": "igbp"})
    >>> data.groups["PFT"][:3]
    ('PFT_CRO', 'PFT_DBF', 'PFT_EBF')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from hybridflux.data import DataError
from hybridflux.data.schema import first_source

__all__ = ["BenchmarkData", "one_hot", "prepare_data", "scenario_groups"]


@dataclass(frozen=True)
class BenchmarkData:
    """A Dataset ready for the benchmark.

    Attributes:
        ds: the canonical Dataset with the one-hot columns added (and the targets masked
            jointly when asked).
        targets: target name → dataset column (e.g. ``{"GPP": "GPP_NT_VUT_REF"}``).
        groups: input name → its columns (a numeric input is its own single column).
        usable: ``(site, time)`` cells where every input column is finite.

    Example:
        >>> BenchmarkData.__dataclass_fields__["groups"].type
        'Mapping[str, tuple[str, ...]]'
    """

    ds: xr.Dataset
    targets: Mapping[str, str]
    groups: Mapping[str, tuple[str, ...]]
    usable: np.ndarray

    @property
    def columns(self) -> tuple[str, ...]:
        """Every input column, in the order of the inputs."""
        return tuple(c for cols in self.groups.values() for c in cols)

    @property
    def canonical(self) -> xr.Dataset:
        """The Dataset without the one-hot columns (what splits are made on: the one-hot
        columns are defined everywhere and would make every year a record year)."""
        added = [c for name, cols in self.groups.items() if cols != (name,) for c in cols]
        return self.ds.drop_vars(added)


def _source(ds: xr.Dataset) -> str:
    return first_source(ds)


def one_hot(ds: xr.Dataset, name: str, coord: str) -> tuple[xr.Dataset, tuple[str, ...]]:
    """Add one 0/1 column ``<name>_<class>`` per class of a per-site coordinate.

    Args:
        ds: canonical Dataset with the per-site coordinate ``coord``.
        name: prefix of the new columns (e.g. ``"PFT"``).
        coord: per-site coordinate (e.g. ``"igbp"``); sites with an empty value get 0
            everywhere.

    Returns:
        The Dataset with the columns added (constant over time, units ``"1"``), and their names.

    Raises:
        DataError: the Dataset has no per-site coordinate ``coord``.

    Example:
        >>> from hybridflux.data import load_sample
        >>> ds, cols = one_hot(load_sample("monthly"), "PFT", "igbp")
        >>> cols[-1], int(ds["PFT_GRA"].isel(time=0).sum())
        ('PFT_WSA', 3)
    """
    if coord not in ds.coords or ds[coord].dims != ("site",):
        raise DataError(_source(ds), f"no per-site coordinate {coord!r} for the input {name!r}")
    values = np.asarray(ds[coord].values).astype(str)
    classes = sorted({v for v in values if v.strip()})
    columns = tuple(f"{name}_{c}" for c in classes)
    shape = (ds.sizes["site"], ds.sizes["time"])
    new = {
        col: (
            ("site", "time"),
            np.broadcast_to((values == c)[:, None], shape).astype(float),
            {"units": "1", "long_name": f"{coord} is {c}"},
        )
        for col, c in zip(columns, classes, strict=True)
    }
    return ds.assign(new), columns


def prepare_data(
    ds: xr.Dataset,
    targets: Mapping[str, str],
    inputs: Sequence[str],
    categorical: Mapping[str, str] | None = None,
    *,
    joint_targets: bool = False,
) -> BenchmarkData:
    """Check the columns, add the one-hot inputs and (optionally) mask the targets jointly.

    Args:
        ds: canonical Dataset (read, QC-filtered, features added).
        targets: target name → dataset column.
        inputs: input names: columns of ``ds`` or keys of ``categorical``.
        categorical: input name → per-site coordinate, one-hot encoded (:func:`one_hot`).
        joint_targets: keep a target value only where every target is finite (so that e.g.
            ``NEE = RECO − GPP`` holds on every scored cell when the data satisfy it).

    Returns:
        A :class:`BenchmarkData`.

    Raises:
        DataError: a target or input column is not in the Dataset.

    Example:
        >>> from hybridflux.data import load_sample
        >>> data = prepare_data(load_sample("monthly"), {"NEE": "NEE_VUT_REF"}, ["TA_F", "LAI"])
        >>> data.columns, data.usable.shape
        (('TA_F', 'LAI'), (13, 288))
    """
    categorical = dict(categorical or {})
    missing = [
        c for c in [*targets.values(), *(i for i in inputs if i not in categorical)] if c not in ds
    ]
    if missing:
        raise DataError(_source(ds), f"no column {missing} for the benchmark's targets/inputs")
    groups: dict[str, tuple[str, ...]] = {}
    for name in inputs:
        if name in categorical:
            ds, groups[name] = one_hot(ds, name, categorical[name])
        else:
            groups[name] = (name,)
    if joint_targets:
        grids = [ds[c].transpose("site", "time") for c in targets.values()]
        every = np.all([np.isfinite(g.values) for g in grids], axis=0)
        keep = xr.DataArray(every, dims=("site", "time"))
        ds = ds.assign({c: ds[c].where(keep) for c in dict.fromkeys(targets.values())})
    usable = np.ones((ds.sizes["site"], ds.sizes["time"]), bool)
    for cols in groups.values():
        for col in cols:
            usable &= np.isfinite(ds[col].transpose("site", "time").values)
    return BenchmarkData(ds, dict(targets), groups, usable)


def scenario_groups(data: BenchmarkData, train: np.ndarray) -> dict[str, tuple[str, ...]]:
    """The input groups of a scenario: one-hot columns constant over the training cells dropped.

    Args:
        data: the benchmark data.
        train: ``(site, time)`` training cells of the scenario.

    Returns:
        Input name → the columns the models use in this scenario (numeric inputs unchanged).

    Example:
        >>> from hybridflux.data import load_sample
        >>> data = prepare_data(load_sample("monthly"), {"GPP": "GPP_NT_VUT_REF"},
        ...                     ["TA_F", "PFT"], {"PFT": "igbp"})
        >>> train = np.zeros(data.usable.shape, bool)
        >>> train[:2] = True  # two grassland sites train
        >>> scenario_groups(data, train)
        {'TA_F': ('TA_F',), 'PFT': ()}
    """
    cells = train & data.usable
    out: dict[str, tuple[str, ...]] = {}
    for name, cols in data.groups.items():
        if cols == (name,):
            out[name] = cols
            continue
        kept = []
        for col in cols:
            values = data.ds[col].transpose("site", "time").values[cells]
            if values.size and values.min() != values.max():
                kept.append(col)
        out[name] = tuple(kept)
    return out
