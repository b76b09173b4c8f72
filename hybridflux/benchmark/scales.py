"""Errors at several temporal scales, per site, and their statistics across sites.

FLUXtrapolation (Fries et al. 2026) scores a model per site at several scales, then summarises
the per-site errors by the median and the 90th percentile across sites (the tail). The same is
done here for predictions ``p`` and observations ``o`` on a ``(site, time)`` grid, on the cells
where both are finite (one common mask, so that both series are averaged over the same cells):

- native step (``halfhourly``, ``hourly``, ``daily``, ``weekly``, ``monthly``): the series as is;
- ``weekly`` (native step HH, HR or DD): means over the weeks of
  :func:`hybridflux.data.aggregate` (7-day blocks from 1 January, the last one 8–9 days);
- ``seasonal_cycle``: the mean seasonal cycle ``s(k) = mean_{t: key(t)=k} x(t)`` with ``key``
  the month of the year (MM), the week of the year (WW) or the day of the year (DD, and daily
  means of HH/HR data);
- ``anomalies``: ``x(t) − s(key(t))``, each series minus its own seasonal cycle;
- ``interannual``: annual means of the anomalies (the inter-annual variability; annual means of
  the anomalies rather than of the series, so that gaps in a year do not alias the seasonal
  cycle into it);
- ``site_mean``: one value per site, the mean of the native series.

Anomalies and interannual need data in at least ``min_years`` calendar years of a site (with one
year the anomalies are zero by construction); other sites get NaN at these scales.

Per site and scale: ``rmse = sqrt(mean((p − o)²))``, ``bias = mean(p − o)`` and
``r2 = 1 − Σ(p − o)² / Σ(o − ō)²`` (NaN with fewer than two values or constant ``o``), as
:func:`hybridflux.runs.metrics.scores`. At ``site_mean`` a site has one value, so its rmse is
``|p̄ − ō|`` and r² is computed across sites instead.

Statistics across sites (:func:`site_statistics`): ``rmse_median``, ``rmse_q90`` (90th
percentile, the tail), ``r2_median``, ``r2_q10`` (10th percentile: the tail of r² is its low
end), ``bias_median``, ``abs_bias_q90``, ``n_sites``; at ``site_mean`` also
``rmse_across_sites`` and ``r2_across_sites``. Skill against a reference model
(:func:`skill`) is ``1 − RMSE_model / RMSE_reference``.

Example:
    >>> time = np.array(["2010-01-01", "2010-02-01", "2011-01-01", "2011-02-01"],
    ...                 dtype="datetime64[ns]")
    >>> obs = np.array([[1.0, 3.0, 2.0, 4.0]])
    >>> pred = obs + np.array([[1.0, 1.0, -1.0, -1.0]])
    >>> out = per_site_scores(pred, obs, time, "MM", ["monthly", "seasonal_cycle", "site_mean"])
    >>> [float(out[s]["rmse"][0]) for s in ("monthly", "seasonal_cycle", "site_mean")]
    [1.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse

__all__ = [
    "NATIVE_SCALE",
    "SCALES",
    "scales_for",
    "at_scale",
    "site_scores",
    "per_site_scores",
    "site_statistics",
    "skill",
]

#: Name of the native scale of each time step.
NATIVE_SCALE: dict[str, str] = {
    "HH": "halfhourly",
    "HR": "hourly",
    "DD": "daily",
    "WW": "weekly",
    "MM": "monthly",
    "YY": "annual",
}

#: Every scale name, finest first (``at_scale`` accepts these).
SCALES: tuple[str, ...] = (
    *NATIVE_SCALE.values(),
    "seasonal_cycle",
    "anomalies",
    "interannual",
    "site_mean",
)

_SUB_DAILY = ("HH", "HR")
_WEEKS_PER_YEAR = 52


def scales_for(step: str) -> list[str]:
    """The scales that apply to data of a time step, native first.

    Example:
        >>> scales_for("MM")
        ['monthly', 'seasonal_cycle', 'anomalies', 'interannual', 'site_mean']
        >>> scales_for("DD")[:2]
        ['daily', 'weekly']
    """
    if step not in NATIVE_SCALE:
        raise ValueError(f"unknown time step {step!r}; expected one of {list(NATIVE_SCALE)}")
    out = [NATIVE_SCALE[step]]
    if step in (*_SUB_DAILY, "DD"):
        out.append("weekly")
    if step != "YY":
        out += ["seasonal_cycle", "anomalies", "interannual"]
    return [*out, "site_mean"]


def _group_means(x: np.ndarray, keys: np.ndarray, n_keys: int) -> np.ndarray:
    """Per row, the mean of the finite values of ``x`` (S, T) in each key (S, K); NaN if none."""
    t = keys.size
    onehot = scipy.sparse.csr_matrix((np.ones(t), (np.arange(t), keys)), shape=(t, n_keys))
    finite = np.isfinite(x)
    sums = np.asarray((onehot.T @ np.where(finite, x, 0.0).T).T)
    counts = np.asarray((onehot.T @ finite.T.astype(float)).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(labels, return_inverse=True)
    return uniques, codes.ravel()


def _days(x: np.ndarray, time: np.ndarray, step: str) -> tuple[np.ndarray, np.ndarray]:
    """Daily means of sub-daily data (other steps unchanged), and their times."""
    if step not in _SUB_DAILY:
        return x, time
    days, codes = _codes(time.astype("datetime64[D]"))
    return _group_means(x, codes, days.size), days


def _season_key(time: np.ndarray, step: str) -> tuple[np.ndarray, int]:
    """Key of the period of the year: month (MM), week (WW) or day of the year (DD)."""
    day_of_year = (time.astype("datetime64[D]") - time.astype("datetime64[Y]")).astype(int)
    if step == "MM":
        return (time.astype("datetime64[M]").astype(int) % 12), 12
    if step == "WW":
        return np.minimum(day_of_year // 7, _WEEKS_PER_YEAR - 1), _WEEKS_PER_YEAR
    return day_of_year, 366


def _years(time: np.ndarray) -> np.ndarray:
    return time.astype("datetime64[Y]").astype(int)


def _anomalies(x: np.ndarray, time: np.ndarray, step: str, min_years: int) -> np.ndarray:
    """``x − seasonal cycle`` (daily-or-coarser steps); rows with < min_years years → NaN."""
    key, n_keys = _season_key(time, step)
    cycle = _group_means(x, key, n_keys)
    anomalies = x - cycle[:, key]
    years = _years(time)
    n_years = np.array([np.unique(years[np.isfinite(row)]).size for row in x])
    return np.where((n_years >= min_years)[:, None], anomalies, np.nan)


def at_scale(
    x: np.ndarray, time: np.ndarray, step: str, scale: str, *, min_years: int = 2
) -> np.ndarray:
    """A ``(site, time)`` series at one scale, shape ``(site, K)`` (NaN where undefined).

    Args:
        x: values on the ``(site, time)`` grid, NaN where missing (already masked to the cells
            that count: apply the same mask to predictions and observations first).
        time: ``(time,)`` datetime64 starts of the intervals.
        step: the time step of ``x`` (``"HH"``, ``"HR"``, ``"DD"``, ``"WW"``, ``"MM"``, ``"YY"``).
        scale: one of :func:`scales_for` ``(step)``.
        min_years: years with data a site needs for ``anomalies`` and ``interannual``.

    Returns:
        ``(site, K)`` values; K is the number of time steps, weeks, keys of the seasonal
        cycle, years, or 1 (``site_mean``).

    Raises:
        ValueError: a scale that does not apply to ``step``.

    Example:
        >>> time = np.array(["2010-01-01", "2010-02-01", "2011-01-01"], dtype="datetime64[ns]")
        >>> at_scale(np.array([[1.0, 2.0, 3.0]]), time, "MM", "seasonal_cycle")[0, :2].tolist()
        [2.0, 2.0]
    """
    if scale not in scales_for(step):
        raise ValueError(f"scale {scale!r} does not apply to time step {step!r}")
    x = np.asarray(x, dtype=np.float64)
    time = np.asarray(time).astype("datetime64[ns]")
    if scale == NATIVE_SCALE[step]:
        return x
    if scale == "site_mean":
        count = np.isfinite(x).sum(axis=1, keepdims=True)
        total = np.where(np.isfinite(x), x, 0.0).sum(axis=1, keepdims=True)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    days, day_time = _days(x, time, step)
    coarse = "DD" if step in _SUB_DAILY else step
    if scale == "weekly":
        years = _years(day_time)
        week, _ = _season_key(day_time, "WW")
        _, codes = _codes((years - years.min()) * _WEEKS_PER_YEAR + week)
        return _group_means(days, codes, int(codes.max()) + 1)
    if scale == "seasonal_cycle":
        key, n_keys = _season_key(day_time, coarse)
        return _group_means(days, key, n_keys)
    anomalies = _anomalies(days, day_time, coarse, min_years)
    if scale == "anomalies":
        return anomalies
    years = _years(day_time)
    return _group_means(anomalies, years - years.min(), int(years.max() - years.min()) + 1)


def site_scores(pred: np.ndarray, obs: np.ndarray) -> dict[str, np.ndarray]:
    """RMSE, r², bias and n per row (site) of ``(site, K)`` arrays, on cells finite in both.

    Example:
        >>> s = site_scores(np.array([[2.0, 4.0, np.nan]]), np.array([[1.0, 3.0, 5.0]]))
        >>> [float(s[k][0]) for k in ("rmse", "r2", "bias", "n")]
        [1.0, 0.0, 1.0, 2.0]
    """
    pred, obs = np.asarray(pred, np.float64), np.asarray(obs, np.float64)
    ok = np.isfinite(pred) & np.isfinite(obs)
    n = ok.sum(axis=1).astype(float)
    err = np.where(ok, pred - obs, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_obs = np.where(ok, obs, 0.0).sum(axis=1) / n
        ss_tot = np.where(ok, (obs - mean_obs[:, None]) ** 2, 0.0).sum(axis=1)
        ss_err = (err**2).sum(axis=1)
        rmse = np.where(n > 0, np.sqrt(ss_err / n), np.nan)
        bias = np.where(n > 0, err.sum(axis=1) / n, np.nan)
        r2 = np.where((n >= 2) & (ss_tot > 0), 1.0 - ss_err / ss_tot, np.nan)
    return {"rmse": rmse, "r2": r2, "bias": bias, "n": n}


def per_site_scores(
    pred: np.ndarray,
    obs: np.ndarray,
    time: np.ndarray,
    step: str,
    scales: Sequence[str] | None = None,
    *,
    min_years: int = 2,
) -> dict[str, dict[str, np.ndarray]]:
    """Per-site scores at each scale (:func:`site_scores` of :func:`at_scale` series).

    Args:
        pred: predictions on the ``(site, time)`` grid, NaN where not predicted.
        obs: observations, same shape, NaN where missing or not scored.
        time: ``(time,)`` datetime64.
        step: the time step of the grid.
        scales: scales to score (default :func:`scales_for` ``(step)``).
        min_years: see :func:`at_scale`.

    Returns:
        scale → ``{"rmse", "r2", "bias", "n"}`` of ``(site,)`` arrays. At ``site_mean`` the
        extra keys ``"pred"`` and ``"obs"`` hold the site means.
    """
    pred, obs = np.asarray(pred, np.float64), np.asarray(obs, np.float64)
    ok = np.isfinite(pred) & np.isfinite(obs)
    pred, obs = np.where(ok, pred, np.nan), np.where(ok, obs, np.nan)
    out: dict[str, dict[str, np.ndarray]] = {}
    for scale in scales if scales is not None else scales_for(step):
        p = at_scale(pred, time, step, scale, min_years=min_years)
        o = at_scale(obs, time, step, scale, min_years=min_years)
        out[scale] = site_scores(p, o)
        if scale == "site_mean":
            out[scale].update(pred=p[:, 0], obs=o[:, 0])
    return out


def _quantile(values: np.ndarray, q: float) -> float:
    values = values[np.isfinite(values)]
    return float(np.quantile(values, q)) if values.size else float("nan")


def site_statistics(scores: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Statistics across sites of one scale's per-site scores (see the module docstring).

    Sites with no scored value (n = 0) are left out.

    Example:
        >>> s = {"rmse": np.array([1.0, 2.0, 3.0, np.nan]), "r2": np.array([0.5, 0.7, 0.9, 0.0]),
        ...      "bias": np.array([-1.0, 0.0, 2.0, np.nan]), "n": np.array([3.0, 3.0, 3.0, 0.0])}
        >>> st = site_statistics(s)
        >>> st["rmse_median"], round(st["rmse_q90"], 2), st["abs_bias_q90"], st["n_sites"]
        (2.0, 2.8, 1.8, 3.0)
    """
    used = np.asarray(scores["n"]) > 0
    rmse, r2, bias = (np.asarray(scores[k])[used] for k in ("rmse", "r2", "bias"))
    out = {
        "rmse_median": _quantile(rmse, 0.5),
        "rmse_q90": _quantile(rmse, 0.9),
        "r2_median": _quantile(r2, 0.5),
        "r2_q10": _quantile(r2, 0.1),
        "bias_median": _quantile(bias, 0.5),
        "abs_bias_q90": _quantile(np.abs(bias), 0.9),
        "n_sites": float(used.sum()),
    }
    if "pred" in scores:
        p, o = np.asarray(scores["pred"])[used], np.asarray(scores["obs"])[used]
        across = site_scores(p[None, :], o[None, :])
        out["rmse_across_sites"] = float(across["rmse"][0])
        out["r2_across_sites"] = float(across["r2"][0])
    return out


def skill(rmse: float | np.ndarray, rmse_reference: float | np.ndarray) -> np.ndarray:
    """Skill against a reference model, ``1 − RMSE / RMSE_reference`` (NaN if the latter ≤ 0).

    1 is perfect, 0 is as good as the reference, negative is worse.

    Example:
        >>> float(skill(0.75, 1.0)), float(skill(1.5, 1.0))
        (0.25, -0.5)
    """
    rmse, ref = np.asarray(rmse, np.float64), np.asarray(rmse_reference, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ref > 0, 1.0 - rmse / ref, np.nan)
