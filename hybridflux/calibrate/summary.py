"""Posterior summaries and convergence diagnostics: mean, sd, 94 % intervals, R-hat, ESS.

Per scalar parameter (ArviZ column names):

- ``mean``, ``sd``; ``hdi_3%``/``hdi_97%``, the 94 % highest-density interval; ``q3%``/``q97%``,
  the equal-tailed 94 % interval (3 % and 97 % quantiles);
- ``r_hat``: the rank-normalised split R-hat of Vehtari et al. (2021, Bayesian Analysis 16,
  667–718), the larger of the bulk (rank-normalised draws) and tail (rank-normalised
  ``|x − median|``) values, computed with ``numpyro.diagnostics.gelman_rubin`` on split chains;
- ``ess_bulk``: ESS of the rank-normalised split chains; ``ess_tail``: the smaller ESS of the
  indicators ``x ≤ q5 %`` and ``x ≤ q95 %`` (``numpyro.diagnostics.effective_sample_size``).

:func:`diagnostic_messages` lists divergences and R-hat above a threshold (1.01);
:func:`warn_diagnostics` issues them as :class:`CalibrationWarning`.

Example:
    >>> rng = np.random.default_rng(0)
    >>> from hybridflux.calibrate.inference import Posterior
    >>> post = Posterior({"Q10": 1.5 + 0.01 * rng.standard_normal((4, 500))},
    ...                  np.zeros((4, 500), bool), "nuts", 1.0)
    >>> row = summary_table(post).loc["Q10"]
    >>> round(float(row["mean"]), 2), bool(row["r_hat"] < 1.01), bool(row["ess_bulk"] > 1000)
    (1.5, True, True)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from numpyro.diagnostics import effective_sample_size, gelman_rubin, hpdi
from scipy.special import ndtri
from scipy.stats import rankdata

from hybridflux.calibrate.inference import Posterior

__all__ = [
    "CalibrationWarning",
    "INTERVAL",
    "SUMMARY_COLUMNS",
    "rank_normalize",
    "r_hat",
    "ess_bulk",
    "ess_tail",
    "summary_table",
    "diagnostic_messages",
    "warn_diagnostics",
]

#: Probability mass of the reported credible intervals (ArviZ's default, 94 %).
INTERVAL = 0.94
#: Columns of :func:`summary_table`.
SUMMARY_COLUMNS = (
    "mean",
    "sd",
    "hdi_3%",
    "hdi_97%",
    "q3%",
    "q97%",
    "r_hat",
    "ess_bulk",
    "ess_tail",
)
_TAIL_QUANTILES = (0.05, 0.95)


class CalibrationWarning(UserWarning):
    """A posterior that may not be trustworthy: divergences, R-hat above the threshold."""


def _usable(x: np.ndarray) -> bool:
    """Enough finite, non-constant draws for R-hat/ESS (else they are reported as NaN)."""
    return x.shape[1] >= 4 and bool(np.isfinite(x).all()) and bool(np.ptp(x) > 0)


def _finite(value) -> float:
    value = float(value)
    return value if np.isfinite(value) else float("nan")


def _split(x: np.ndarray) -> np.ndarray:
    """``(chain, draw)`` → ``(2·chain, draw // 2)``: each chain cut into two halves."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def rank_normalize(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks, ``Φ⁻¹((r − 3/8)/(S + 1/4))`` (Vehtari et al. 2021).

    Example:
        >>> z = rank_normalize(np.array([[3.0, 1.0], [2.0, 10.0]]))
        >>> bool(z[0, 1] < z[1, 0] < z[0, 0] < z[1, 1])
        True
    """
    x = np.asarray(x, np.float64)
    ranks = rankdata(x, method="average").reshape(x.shape)
    return ndtri((ranks - 0.375) / (x.size + 0.25))


def r_hat(x: np.ndarray) -> float:
    """Rank-normalised split R-hat of ``(chain, draw)`` draws (max of bulk and tail).

    Example:
        >>> x = np.stack([np.zeros(100), np.ones(100)]) + np.random.default_rng(0).normal(
        ...     0, 0.1, (2, 100))
        >>> bool(r_hat(x) > 1.5)
        True
    """
    x = np.asarray(x, np.float64)
    if not _usable(x):
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        bulk = gelman_rubin(rank_normalize(_split(x)))
        tail = gelman_rubin(rank_normalize(_split(np.abs(x - np.median(x)))))
    return _finite(max(bulk, tail))


def ess_bulk(x: np.ndarray) -> float:
    """Bulk effective sample size: ESS of the rank-normalised split chains.

    Example:
        >>> x = np.random.default_rng(1).standard_normal((4, 250))
        >>> bool(700 < ess_bulk(x) < 1400)
        True
    """
    x = np.asarray(x, np.float64)
    if not _usable(x):
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return _finite(effective_sample_size(rank_normalize(_split(x))))


def ess_tail(x: np.ndarray) -> float:
    """Tail effective sample size: the smaller ESS of ``1[x ≤ q5%]`` and ``1[x ≤ q95%]``.

    Example:
        >>> bool(ess_tail(np.random.default_rng(2).standard_normal((4, 250))) > 300)
        True
    """
    x = np.asarray(x, np.float64)
    if not _usable(x):
        return float("nan")
    values = []
    for q in _TAIL_QUANTILES:
        indicator = (x <= np.quantile(x, q)).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            values.append(_finite(effective_sample_size(_split(indicator))))
    finite = [v for v in values if np.isfinite(v)]
    return min(finite) if finite else float("nan")


def _row(x: np.ndarray) -> dict[str, float]:
    flat = x.reshape(-1)
    lo, hi = (float(v) for v in hpdi(flat, prob=INTERVAL))
    tail = (1.0 - INTERVAL) / 2.0
    q_lo, q_hi = (float(v) for v in np.quantile(flat, [tail, 1.0 - tail]))
    return {
        "mean": float(flat.mean()),
        "sd": float(flat.std(ddof=1)) if flat.size > 1 else 0.0,
        "hdi_3%": lo,
        "hdi_97%": hi,
        "q3%": q_lo,
        "q97%": q_hi,
        "r_hat": r_hat(x),
        "ess_bulk": ess_bulk(x),
        "ess_tail": ess_tail(x),
    }


def summary_table(posterior: Posterior) -> pd.DataFrame:
    """One row per scalar parameter (vector parameters: one row per element, ``name[i]``).

    Returns:
        ``DataFrame`` indexed by parameter with the columns :data:`SUMMARY_COLUMNS`.
    """
    rows: dict[str, dict[str, float]] = {}
    for name, draws in posterior.samples.items():
        draws = np.asarray(draws, np.float64)
        if draws.ndim == 2:
            rows[name] = _row(draws)
            continue
        flat = draws.reshape(*draws.shape[:2], -1)
        for i in range(flat.shape[-1]):
            rows[f"{name}[{i}]"] = _row(flat[..., i])
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY_COLUMNS))
    table.index.name = "parameter"
    return table


def diagnostic_messages(
    posterior: Posterior, table: pd.DataFrame, r_hat_max: float = 1.01
) -> list[str]:
    """Problems of a NUTS posterior: divergences and R-hat above ``r_hat_max``.

    SVI posteriors have no chains to compare: only non-finite draws are reported.

    Example:
        >>> post = Posterior({"Q10": np.ones((2, 4))}, np.eye(2, 4, dtype=bool), "nuts", 1.0)
        >>> diagnostic_messages(post, summary_table(post))[0][:45]
        '2 divergent transitions after warm-up (of 8 d'
    """
    messages = []
    if posterior.divergences:
        messages.append(
            f"{posterior.divergences} divergent transitions after warm-up (of "
            f"{posterior.chains * posterior.draws} draws); raise inference.target_accept or "
            "reparametrise"
        )
    if posterior.method == "nuts" and posterior.chains > 1:
        high = table["r_hat"][~(table["r_hat"] <= r_hat_max)]
        for name, value in high.items():
            messages.append(
                f"r_hat of {name} is {value:.3f} > {r_hat_max}: the chains disagree; "
                "run more warm-up/samples"
            )
    bad = [name for name, v in posterior.samples.items() if not np.isfinite(v).all()]
    if bad:
        messages.append(f"non-finite draws of {', '.join(bad)}")
    return messages


def warn_diagnostics(messages: list[str]) -> None:
    """Issue each message as a :class:`CalibrationWarning`.

    Example:
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_diagnostics(["r_hat of Q10 is 1.2 > 1.01"])
        >>> caught[0].category.__name__
        'CalibrationWarning'
    """
    for message in messages:
        warnings.warn(message, CalibrationWarning, stacklevel=2)
