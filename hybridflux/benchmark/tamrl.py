"""TAM-RL models as benchmark estimators (``type: tamrl`` / ``tamrl_hybrid`` in a benchmark).

Adapters of :func:`hybridflux.training.episodes.fit_episodes` and
:func:`~hybridflux.training.episodes.predict_sites` to the benchmark's estimator interface
(``fit(train, val)``, ``predict(data)`` on flat rows with a site-id column).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import optax

from hybridflux.hybrid.tamrl import (
    BALANCES,
    FLUXES,
    site_means,
    tamrl_film,
    tamrl_hybrid,
)
from hybridflux.training.episodes import fit_episodes, predict_sites, site_windows, to_rows

__all__ = ["TamRLEntry", "TamRLHybridEntry", "site_weight_from"]


def site_weight_from(predicted: np.ndarray, observed: np.ndarray) -> float:
    """α of :func:`~hybridflux.hybrid.tamrl.shrink_site_nee` fitted on validation sites: the
    least-squares slope of the observed on the predicted site-mean NEE,
    ``cov(m_obs, m_pred)/var(m_pred)``, clipped to [0, 1] (1 when the predicted means do not
    vary).

    Example:
        >>> site_weight_from(np.array([0.0, 2.0, 4.0]), np.array([0.0, 1.0, 2.0]))
        0.5
    """
    ok = np.isfinite(predicted) & np.isfinite(observed)
    p, o = predicted[ok], observed[ok]
    var = np.var(p) if ok.sum() > 1 else 0.0
    return 1.0 if var <= 0 else float(np.clip(np.mean((p - p.mean()) * (o - o.mean())) / var, 0, 1))


class TamRLEntry:
    """TAM-RL (FiLM decoder) as a benchmark estimator: ``fit(train, val)``, ``predict(data)``.

    Rows must carry their site id in the column ``site_column`` (episodes are sites); the
    benchmark passes it when the estimator's ``needs_site`` is true. Prediction is zero-shot
    (the sites' covariates and traits only).

    Args:
        context: the benchmark's ``BuildContext`` (inputs, targets GPP/RECO/NEE, seed, train).
        embed_dim: D. hidden: decoder widths. encoder_hidden: set-encoder widths.
        balance: decoder heads GPP, RECO (``"reco"``) or GPP, NEE (``"nee"``), NEE = RECO − GPP
            either way (:class:`~hybridflux.hybrid.tamrl.FluxDecoder`).
        nee_site_weight: weight α of :func:`~hybridflux.hybrid.tamrl.shrink_site_nee` (a model
            option, :class:`~hybridflux.hybrid.tamrl.TamRL`): each site's predicted mean NEE
            shrunk toward the mean over training sites of their mean observed NEE; 1: off;
            ``"val"``: α fitted on the validation sites (:func:`site_weight_from`).
        k_support: support months of a few-shot training site. zero_shot: fraction of
            zero-shot sites per episode. batch_sites: sites per step.
        pretrain_epochs: epochs with the modulation switched off first.
        site_column: the rows' site-id column.
        train: ``FitOptions`` keys (epochs, lr, lr_schedule, clip_norm, patience, ensemble).

    Example:
        >>> TamRLEntry.needs_site
        True
    """

    needs_site = True
    #: The decoder parameterisations this entry can build.
    balances: tuple[str, ...] = BALANCES

    def __init__(self, context: Any, *, embed_dim: int = 16, hidden: list[int] | None = None,
                 encoder_hidden: list[int] | None = None, balance: Literal["reco", "nee"] = "reco",
                 nee_site_weight: float | Literal["val"] = 1.0, k_support: int = 6,
                 zero_shot: float = 0.5, batch_sites: int = 16, pretrain_epochs: int = 0,
                 site_column: str = "site", train: dict[str, Any] | None = None):  # fmt: skip
        from hybridflux.benchmark.models import FitOptions

        if balance not in self.balances:
            raise ValueError(f"{type(self).__name__}: balance must be one of {self.balances}, "
                             f"got {balance!r}")  # fmt: skip
        if nee_site_weight != "val" and not 0.0 <= nee_site_weight <= 1.0:
            raise ValueError(f"nee_site_weight must be in [0, 1] or 'val', got {nee_site_weight}")
        self.context, self.site_column, self.balance = context, site_column, balance
        self.nee_site_weight = nee_site_weight
        self.options = context.options(FitOptions(**(train or {})))
        self.arch = dict(embed_dim=embed_dim, hidden=tuple(hidden or (64, 64)),
                         encoder_hidden=tuple(encoder_hidden or (64, 64)))  # fmt: skip
        self.episodes = dict(k_support=k_support, zero_shot=zero_shot, batch_sites=batch_sites,
                             pretrain_epochs=pretrain_epochs)  # fmt: skip
        self.targets = tuple(context.targets.get(k) for k in FLUXES)
        self.models: list[Any] = []

    def _alpha(self) -> float:
        """The models' own nee_site_weight (1 for ``"val"``: applied after fitting α)."""
        return 1.0 if self.nee_site_weight == "val" else float(self.nee_site_weight)

    def _make(self, seed: int) -> Any:
        return tamrl_film(self.context.inputs, balance=self.balance, nee_site_weight=self._alpha(),
                          rngs=seed, **self.arch)  # fmt: skip

    def _windows(self, data):
        if self.site_column not in data:
            raise KeyError(f"TamRL needs the rows' site ids in column {self.site_column!r}")
        targets = [t if t in data else None for t in self.targets]
        return site_windows(data, data[self.site_column], self.context.inputs, targets)

    def _optimizer(self, steps: int) -> optax.GradientTransformation:
        o = self.options
        lr = o["lr"]
        if o["lr_schedule"] == "cosine":
            lr = optax.cosine_decay_schedule(lr, decay_steps=max(steps, 1), alpha=0.01)
        adam = optax.adam(lr)
        clip = o["clip_norm"]
        return adam if clip is None else optax.chain(optax.clip_by_global_norm(clip), adam)

    def fit(self, train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray] | None) -> None:
        """Episodic training on the training sites; early stopping on the validation sites."""
        o, (windows, _, sites) = self.options, self._windows(train)
        val_w = None if val is None else self._windows(val)[0]
        steps = o["epochs"] * -(-len(sites) // self.episodes["batch_sites"])
        result = fit_episodes(
            self._make, windows, self._optimizer(steps), epochs=o["epochs"],
            members=o["ensemble"], seed=self.context.seed, val=val_w,
            patience=o["patience"] if val_w is not None else 0, **self.episodes,
        )  # fmt: skip
        self.models, self.history = result.models, result.history
        self.train_sites = np.asarray(sites)
        if self.nee_site_weight == "val":  # the models' own shrinkage, with α fitted here
            self.site_weight, mu = self._val_shrink(windows, val_w)
            for model in self.models:
                model.set_nee_shrinkage(self.site_weight, mu)

    def _val_shrink(self, windows, val_w) -> tuple[float, float]:
        """(α, μ) of the site-mean NEE shrinkage: α from the validation sites, μ the mean over
        training sites of their mean observed NEE."""
        obs = np.asarray(windows.obs[..., 2])
        if val_w is None or not obs.any():
            raise ValueError("nee_site_weight='val' needs validation sites and observed NEE")
        mu = float(np.nanmean(site_means(windows.y[..., 2], obs)))
        m_pred = site_means(predict_sites(self.models, val_w)["NEE"], val_w.valid)
        m_obs = site_means(val_w.y[..., 2], val_w.obs[..., 2])
        return site_weight_from(m_pred, m_obs), mu

    def predict(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Target name → zero-shot predictions at the rows (ensemble mean); the site-mean NEE
        shrinkage applies only to sites not seen in training."""
        if not self.models:
            raise RuntimeError("predict before fit")
        windows, index, sites = self._windows(
            {k: v for k, v in data.items() if k in self.context.inputs or k == self.site_column}
        )
        new = ~np.isin(np.asarray(sites), self.train_sites)
        grids = predict_sites(self.models, windows, shrink=new)
        n = len(data[self.site_column])
        return {k: to_rows(grids[k], index, n) for k in self.context.targets if k in grids}


class TamRLHybridEntry(TamRLEntry):
    """TAM-RL with task-aware LUE–Q10 parameters (:func:`~hybridflux.hybrid.tamrl.tamrl_hybrid`);
    the drivers SW_IN_F, TA_F and LAI must be benchmark inputs; ``balance`` must be ``"reco"``
    (the process model predicts GPP and RECO).

    Example:
        >>> TamRLHybridEntry.needs_site
        True
    """

    balances = ("reco",)

    def _make(self, seed: int) -> Any:
        arch = {**self.arch, "hidden": self.arch["hidden"]}
        return tamrl_hybrid(self.context.inputs, lai="LAI", nee_site_weight=self._alpha(),
                            rngs=seed, **arch)  # fmt: skip
