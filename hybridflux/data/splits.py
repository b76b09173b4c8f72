"""Train/validation/test splits of a canonical Dataset over (site, time).

The extrapolation scenarios of FLUXtrapolation (Fries et al. 2026) and the held-out-site
evaluation of TAM-RL (Renganathan et al. 2026):

- ``none``: every record trains (validation, if asked, as in ``temporal``);
- ``temporal``: per site, the last years of its record (``test_fraction``) or the calendar
  years ``test_years`` are the test part; validation = the last training years of each site;
- ``spatial``: whole sites held out, at random (``by="random"``) or by group
  (``by="igbp"``/``"climate"``: all sites of a held-out group are test), or ``test_sites``;
  validation = whole training sites (whole groups when grouped);
- ``temperature``: the warmest sites by mean air temperature (``test_fraction`` or
  ``test_count``); validation = the next-warmest training sites.

A :class:`Split` holds three boolean masks of shape ``(site, time)`` that are disjoint and
cover the grid (cells without data are assigned too; losses mask NaN). The same ``seed`` gives
the same split. A site's record years are the years in which it has any non-missing value.

Example:
    >>> import pandas as pd
    >>> from hybridflux.data.schema import site_dataset
    >>> frame = pd.DataFrame({"TA_F": range(5)},
    ...                      index=pd.date_range("2010-01-01", periods=5, freq="YS"))
    >>> ds = site_dataset(frame.astype(float), "FR-Pue", time_step="YY",
    ...                   units={"TA_F": "degC"}, source_format="example", source_file="x.csv")
    >>> split = make_split(ds, "temporal", test_fraction=0.2, val_fraction=0.25)
    >>> split.train.astype(int).tolist(), split.val.astype(int).tolist()
    ([[1, 1, 1, 0, 0]], [[0, 0, 0, 1, 0]])
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["PARTS", "SPLIT_KINDS", "Split", "make_split", "apply_split"]

#: Names of the parts of a split.
PARTS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """Boolean masks over ``(site, time)``: disjoint, together covering the grid.

    Attributes:
        train: training cells, bool array of shape ``(site, time)``.
        val: validation cells (carved from the training part), same shape.
        test: test cells, same shape.
        kind: the kind of split that made it.
        site: site IDs of the Dataset the masks belong to.
        time: time coordinate of that Dataset.
        info: what was held out (``test_sites``/``val_sites`` or per-site ``test_years``/
            ``val_years``, the seed, mean temperatures, ...), JSON-friendly.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"TA_F": [1.0, 2.0]},
        ...                      index=pd.date_range("2010-01-01", periods=2, freq="YS"))
        >>> ds = site_dataset(frame, "FR-Pue", time_step="YY", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv")
        >>> make_split(ds, "temporal", test_fraction=0.5).mask("test").tolist()
        [[False, True]]
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    kind: str
    site: np.ndarray
    time: np.ndarray
    info: Mapping[str, object] = field(default_factory=dict)

    def mask(self, part: str) -> np.ndarray:
        """The mask of ``part`` (``"train"``, ``"val"`` or ``"test"``)."""
        if part not in PARTS:
            raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")
        return getattr(self, part)


def _count(fraction: float, n: int) -> int:
    """How many of n items a fraction takes: ≥ 1 if fraction > 0, always leaving one."""
    if n < 2 or fraction <= 0:
        return 0
    return int(min(max(round(fraction * n), 1), n - 1))


def _has_data(ds: xr.Dataset) -> np.ndarray:
    """(site, time): any non-missing value of a non-QC, non-coverage variable."""
    out = np.zeros((ds.sizes["site"], ds.sizes["time"]), dtype=bool)
    for name, var in ds.data_vars.items():
        if str(name).endswith(("_QC", "_COVERAGE")) or set(var.dims) != {"site", "time"}:
            continue
        out |= np.isfinite(var.transpose("site", "time").values)
    return out


def _by_years(ds, test_years, test_fraction, val_fraction):
    """Per-site test/val years → (test, val) masks and the years chosen."""
    years = pd.DatetimeIndex(ds["time"].values).year.to_numpy()
    has = _has_data(ds)
    test = np.zeros(has.shape, dtype=bool)
    val = np.zeros(has.shape, dtype=bool)
    info: dict[str, dict[str, list[int]]] = {"test_years": {}, "val_years": {}}
    for i, site in enumerate(ds["site"].values.tolist()):
        record = sorted(set(years[has[i]].tolist()))
        if test_years is not None:
            test_set = sorted(int(y) for y in test_years)
        else:
            test_set = record[len(record) - _count(test_fraction, len(record)) :]
        train_years = [y for y in record if y not in test_set]
        val_set = train_years[len(train_years) - _count(val_fraction, len(train_years)) :]
        test[i] = np.isin(years, test_set)
        val[i] = np.isin(years, val_set) & ~test[i]
        info["test_years"][site] = [y for y in test_set if y in record]
        info["val_years"][site] = val_set
    return test, val, info


def _rows(ds: xr.Dataset, sites: Sequence[str]) -> np.ndarray:
    """(site, time) mask of whole rows of the given sites."""
    rows = np.isin(ds["site"].values, list(sites))
    return np.repeat(rows[:, None], ds.sizes["time"], axis=1)


def _pick_groups(groups: dict[str, list[str]], order: Sequence[str], target: int) -> list[str]:
    """Sites of whole groups, taken in ``order`` until ≥ target sites; never every group."""
    chosen: list[str] = []
    for taken, key in enumerate(order):
        if len(chosen) >= target or taken == len(order) - 1:
            break
        chosen.extend(groups[key])
    return chosen


def _choose_sites(sites, rng, fraction, by, coord_values):
    """Held-out sites (random or whole groups) from ``sites``."""
    target = _count(fraction, len(sites))
    if by == "random" or target == 0:
        return [sites[i] for i in rng.permutation(len(sites))[:target]]
    groups: dict[str, list[str]] = {}
    for site in sites:
        groups.setdefault(str(coord_values[site]), []).append(site)
    keys = sorted(groups)
    return _pick_groups(groups, [keys[i] for i in rng.permutation(len(keys))], target)


def _none(ds, *, seed, val_fraction):
    test, val, info = _by_years(ds, [], 0.0, val_fraction)
    return test, val, {"val_years": info["val_years"]}


def _temporal(ds, *, seed, val_fraction, test_years=None, test_fraction=0.2):
    return _by_years(ds, test_years, test_fraction, val_fraction)


def _spatial(ds, *, seed, val_fraction, test_fraction=0.2, by="random", test_sites=None):
    if by != "random" and by not in ds.coords:
        raise ValueError(f"spatial split by {by!r}: no per-site coordinate {by!r} in the Dataset")
    rng = np.random.default_rng(seed)
    sites = [str(s) for s in ds["site"].values]
    coord = dict(zip(sites, ds[by].values.tolist(), strict=True)) if by != "random" else {}
    if test_sites is None:
        test_sites = _choose_sites(sites, rng, test_fraction, by, coord)
    unknown = sorted(set(test_sites) - set(sites))
    if unknown:
        raise ValueError(f"test_sites {unknown} are not in the Dataset; sites: {sites}")
    rest = [s for s in sites if s not in test_sites]
    val_sites = _choose_sites(rest, rng, val_fraction, by, coord)
    info = {"test_sites": sorted(test_sites), "val_sites": sorted(val_sites), "by": by}
    return _rows(ds, test_sites), _rows(ds, val_sites), info


def _temperature(ds, *, seed, val_fraction, test_fraction=0.2, test_count=None, variable="TA_F"):
    if variable not in ds:
        raise ValueError(f"temperature split needs variable {variable!r} in the Dataset")
    values = ds[variable].transpose("site", "time").values
    n = np.isfinite(values).sum(axis=1)
    mean = np.where(n > 0, np.nansum(values, axis=1) / np.maximum(n, 1), np.nan)
    sites = [str(s) for s in ds["site"].values]
    ranked = [sites[i] for i in np.argsort(-mean, kind="stable") if np.isfinite(mean[i])]
    k = _count(test_fraction, len(ranked)) if test_count is None else int(test_count)
    if not 0 <= k < max(len(ranked), 1):
        raise ValueError(f"test_count={k} must leave a training site among {len(ranked)}")
    kv = _count(val_fraction, len(ranked) - k)
    info = {
        "test_sites": ranked[:k],
        "val_sites": ranked[k : k + kv],
        "mean_temperature": {
            s: float(m) for s, m in zip(sites, mean, strict=True) if np.isfinite(m)
        },
        "unranked_sites": [s for s, m in zip(sites, mean, strict=True) if not np.isfinite(m)],
    }
    return _rows(ds, ranked[:k]), _rows(ds, ranked[k : k + kv]), info


#: Split kind → function making (test, val, info); the one place that maps kind names.
SPLIT_KINDS = {
    "none": _none,
    "temporal": _temporal,
    "spatial": _spatial,
    "temperature": _temperature,
}


def make_split(
    ds: xr.Dataset,
    kind: str,
    *,
    seed: int = 0,
    val_fraction: float = 0.0,
    record: Sequence[str] | None = None,
    **options,
) -> Split:
    """Split the (site, time) grid of a Dataset into train, validation and test masks.

    Args:
        ds: canonical Dataset.
        kind: ``"none"``, ``"temporal"``, ``"spatial"`` or ``"temperature"``.
        seed: seed of the random choices (spatial); the same seed gives the same split.
        val_fraction: fraction of the training years (none, temporal) or training sites
            (spatial, temperature) used for validation; 0 gives an empty validation part.
        record: variables whose non-missing values make a site's record years (none,
            temporal), e.g. the training targets, so that years holding only drivers or
            derived features are not chosen as test or validation years; default every
            non-QC variable.
        **options: per kind — temporal: ``test_years`` (calendar years) or ``test_fraction``
            (of each site's record years, default 0.2); spatial: ``test_fraction`` (of sites,
            default 0.2), ``by`` (``"random"``, ``"igbp"``, ``"climate"``), ``test_sites``;
            temperature: ``test_fraction`` or ``test_count``, ``variable`` (default TA_F).

    Returns:
        A :class:`Split` whose masks are disjoint and cover the grid.

    Raises:
        ValueError: unknown kind or option, fractions outside [0, 1), unknown sites.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import combine_sites, site_dataset
        >>> index = pd.date_range("2010-01-01", periods=3, freq="D")
        >>> ds = combine_sites([
        ...     site_dataset(pd.DataFrame({"TA_F": [t] * 3}, index=index), s, time_step="DD",
        ...                  units={"TA_F": "degC"}, source_format="example", source_file="x")
        ...     for s, t in [("A-One", 5.0), ("B-Two", 25.0), ("C-Thr", 15.0)]])
        >>> make_split(ds, "temperature", test_count=1).info["test_sites"]
        ['B-Two']
    """
    if kind not in SPLIT_KINDS:
        raise ValueError(f"unknown split kind {kind!r}; expected one of {sorted(SPLIT_KINDS)}")
    for key in ("test_fraction", "val_fraction"):
        value = options.get(key, val_fraction if key == "val_fraction" else 0.0)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{key} must lie in [0, 1); got {value!r}")
    allowed = set(inspect.signature(SPLIT_KINDS[kind]).parameters) - {"ds", "seed", "val_fraction"}
    if set(options) - allowed:
        raise ValueError(
            f"split kind {kind!r} has no option(s) {sorted(set(options) - allowed)}; "
            f"its options: {sorted(allowed)}"
        )
    present = [v for v in record or () if v in ds]
    source = ds[present] if present and kind in ("none", "temporal") else ds
    test, val, info = SPLIT_KINDS[kind](source, seed=seed, val_fraction=val_fraction, **options)
    val = val & ~test
    train = ~(test | val)
    info = {"seed": seed, **info}
    return Split(train, val, test, kind, ds["site"].values.copy(), ds["time"].values.copy(), info)


def apply_split(ds: xr.Dataset, split: Split, part: str, *, select: bool = False) -> xr.Dataset:
    """The records of one part of a split; the others are NaN.

    Args:
        ds: the Dataset the split was made for (same sites and time axis).
        split: a :class:`Split`.
        part: ``"train"``, ``"val"`` or ``"test"``.
        select: also drop sites and time steps that have no cell in ``part``.

    Returns:
        A new Dataset; every (site, time) variable is NaN outside ``part``.

    Raises:
        ValueError: the Dataset's sites or time axis differ from the split's.

    Example:
        >>> import pandas as pd
        >>> from hybridflux.data.schema import site_dataset
        >>> frame = pd.DataFrame({"TA_F": [1.0, 2.0, 3.0]},
        ...                      index=pd.date_range("2010-01-01", periods=3, freq="YS"))
        >>> ds = site_dataset(frame, "FR-Pue", time_step="YY", units={"TA_F": "degC"},
        ...                   source_format="example", source_file="x.csv")
        >>> split = make_split(ds, "temporal", test_years=[2012])
        >>> apply_split(ds, split, "test", select=True)["TA_F"].values.tolist()
        [[3.0]]
    """
    same_sites = np.array_equal(ds["site"].values, split.site)
    if not same_sites or not np.array_equal(ds["time"].values, split.time):
        raise ValueError("the Dataset's sites or time axis differ from those of the split")
    mask = xr.DataArray(split.mask(part), dims=("site", "time"), coords={"site": ds["site"]})
    out = ds.copy()
    for name, var in ds.data_vars.items():
        if set(var.dims) == {"site", "time"}:
            out[name] = var.where(mask)
            out[name].attrs = dict(var.attrs)
    if select:
        out = out.isel(site=mask.any("time").values, time=mask.any("site").values)
    out.attrs["split"] = f"{split.kind}:{part}"
    return out
