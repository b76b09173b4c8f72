"""Extrapolation scenarios of the benchmark: which (site, time) cells train, validate and test.

The scenarios of FLUXtrapolation (Fries et al. 2026), built with the splits of
:mod:`hybridflux.data.splits` (the same code as ``hybridflux train``):

- ``temporal`` — per site, the last years of its record are the test part (train on early
  years, test on later years); validation = the last training years of each site;
- ``spatial`` — whole sites held out, at random (``by="random"``) or as whole groups of a
  per-site coordinate (``by="igbp"`` / ``"climate"``: every site of a held-out group is test);
- ``temperature`` — the warmest sites by mean air temperature are held out; validation = the
  next-warmest training sites.

Validation is always carved from the training part, never from the test part. For grouped
spatial scenarios ``val_by="random"`` draws the validation sites at random among the training
sites instead of as whole groups (with only four climate zones a whole-group validation part
would take a third of the training sites or more). The same ``seed`` gives the same scenario.

Example:
    >>> from hybridflux.data import load_sample
    >>> ds = load_sample("monthly")
    >>> split = make_scenario(ds, "spatial", seed=0, val_fraction=0.1, test_fraction=0.2)
    >>> info = scenario_info(split)
    >>> info["test_sites"], info["val_sites"], info["train_sites"]
    (3, 1, 9)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from hybridflux.data.splits import PARTS, Split, make_split

__all__ = ["VAL_BY", "make_scenario", "scenario_info"]

#: How the validation part of a spatial scenario is chosen: ``"split"`` as the split kind does
#: it (whole groups for grouped spatial splits), ``"random"`` random training sites.
VAL_BY: tuple[str, ...] = ("split", "random")


def make_scenario(
    ds: xr.Dataset,
    kind: str,
    *,
    seed: int = 0,
    val_fraction: float = 0.1,
    val_by: str = "split",
    **options: Any,
) -> Split:
    """The train/validation/test split of one extrapolation scenario.

    Args:
        ds: canonical Dataset (dims ``site``, ``time``; per-site ``igbp``/``climate`` for
            grouped spatial scenarios, ``TA_F`` in °C for the temperature scenario).
        kind: ``"temporal"``, ``"spatial"``, ``"temperature"`` or ``"none"``.
        seed: seed of the random choices; the same seed gives the same split.
        val_fraction: fraction of the training years (temporal) or training sites (spatial,
            temperature) used for validation.
        val_by: ``"split"`` or ``"random"`` (spatial only): see :data:`VAL_BY`.
        **options: options of the split kind (:func:`hybridflux.data.make_split`):
            ``test_fraction``, ``test_years``, ``by``, ``test_sites``, ``test_count``,
            ``variable``.

    Returns:
        A :class:`~hybridflux.data.Split` whose parts are disjoint and cover the grid.

    Raises:
        ValueError: an unknown kind, option or ``val_by``, or ``val_by="random"`` for a
            split kind other than spatial.

    Example:
        >>> from hybridflux.data import load_sample
        >>> ds = load_sample("monthly")
        >>> a = make_scenario(ds, "spatial", seed=3, by="climate", val_by="random")
        >>> b = make_scenario(ds, "spatial", seed=3, by="climate", val_by="random")
        >>> bool((a.test == b.test).all() and (a.val == b.val).all())
        True
    """
    if val_by not in VAL_BY:
        raise ValueError(f"val_by must be one of {VAL_BY}; got {val_by!r}")
    if val_by == "split":
        return make_split(ds, kind, seed=seed, val_fraction=val_fraction, **options)
    if kind != "spatial":
        raise ValueError(f"val_by='random' applies to spatial scenarios only, not {kind!r}")
    held_out = make_split(ds, kind, seed=seed, val_fraction=0.0, **options)
    test_sites = list(held_out.info["test_sites"])
    split = make_split(
        ds, "spatial", seed=seed, val_fraction=val_fraction, by="random", test_sites=test_sites
    )
    info = {**split.info, "by": held_out.info["by"], "val_by": "random"}
    return Split(split.train, split.val, split.test, kind, split.site, split.time, info)


def scenario_info(split: Split, has_data: np.ndarray | None = None) -> dict[str, int]:
    """Sizes of a scenario's parts: sites with cells in each part and cells per part.

    Args:
        split: the scenario's split.
        has_data: optional ``(site, time)`` mask of the cells that count (e.g. finite inputs
            and targets); default every cell.

    Returns:
        ``{"train_sites", "val_sites", "test_sites", "train_cells", "val_cells",
        "test_cells"}``.

    Example:
        >>> from hybridflux.data import load_sample
        >>> split = make_scenario(load_sample("monthly"), "temperature", test_fraction=0.2)
        >>> scenario_info(split)["test_sites"]
        3
    """
    mask = np.ones(split.train.shape, bool) if has_data is None else has_data
    out: dict[str, int] = {}
    for part in PARTS:
        cells = split.mask(part) & mask
        out[f"{part}_sites"] = int(cells.any(axis=1).sum())
        out[f"{part}_cells"] = int(cells.sum())
    return {k: out[k] for k in sorted(out, key=lambda k: (k.endswith("cells"), k))}
