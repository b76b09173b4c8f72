"""TAM-RL models as benchmark estimators (``type: tamrl`` / ``tamrl_hybrid`` in a benchmark).

Adapters of :func:`hybridflux.training.episodes.fit_episodes` and
:func:`~hybridflux.training.episodes.predict_sites` to the benchmark's estimator interface
(``fit(train, val)``, ``predict(data)`` on flat rows with a site-id column).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import optax

from hybridflux.hybrid.tamrl import FLUXES, tamrl_film, tamrl_hybrid
from hybridflux.training.episodes import fit_episodes, predict_sites, site_windows, to_rows

__all__ = ["TamRLEntry", "TamRLHybridEntry"]


class TamRLEntry:
    """TAM-RL (FiLM decoder) as a benchmark estimator: ``fit(train, val)``, ``predict(data)``.

    Rows must carry their site id in the column ``site_column`` (episodes are sites); the
    benchmark passes it when the estimator's ``needs_site`` is true. Prediction is zero-shot
    (the sites' covariates and traits only).

    Args:
        context: the benchmark's ``BuildContext`` (inputs, targets GPP/RECO/NEE, seed, train).
        embed_dim: D. hidden: decoder widths. encoder_hidden: set-encoder widths.
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

    def __init__(self, context: Any, *, embed_dim: int = 16, hidden: list[int] | None = None,
                 encoder_hidden: list[int] | None = None, k_support: int = 6,
                 zero_shot: float = 0.5, batch_sites: int = 16, pretrain_epochs: int = 0,
                 site_column: str = "site", train: dict[str, Any] | None = None):  # fmt: skip
        from hybridflux.benchmark.models import FitOptions

        self.context, self.site_column = context, site_column
        self.options = context.options(FitOptions(**(train or {})))
        self.arch = dict(embed_dim=embed_dim, hidden=tuple(hidden or (64, 64)),
                         encoder_hidden=tuple(encoder_hidden or (64, 64)))  # fmt: skip
        self.episodes = dict(k_support=k_support, zero_shot=zero_shot, batch_sites=batch_sites,
                             pretrain_epochs=pretrain_epochs)  # fmt: skip
        self.targets = tuple(context.targets.get(k) for k in FLUXES)
        self.models: list[Any] = []

    def _make(self, seed: int) -> Any:
        return tamrl_film(self.context.inputs, rngs=seed, **self.arch)

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

    def predict(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Target name → zero-shot predictions at the rows (ensemble mean)."""
        if not self.models:
            raise RuntimeError("predict before fit")
        windows, index, _ = self._windows(
            {k: v for k, v in data.items() if k in self.context.inputs or k == self.site_column}
        )
        grids = predict_sites(self.models, windows)
        n = len(data[self.site_column])
        return {k: to_rows(grids[k], index, n) for k in self.context.targets if k in grids}


class TamRLHybridEntry(TamRLEntry):
    """TAM-RL with task-aware LUE–Q10 parameters (:func:`~hybridflux.hybrid.tamrl.tamrl_hybrid`);
    the drivers SW_IN_F, TA_F and LAI must be benchmark inputs.

    Example:
        >>> TamRLHybridEntry.needs_site
        True
    """

    def _make(self, seed: int) -> Any:
        arch = {**self.arch, "hidden": self.arch["hidden"]}
        return tamrl_hybrid(self.context.inputs, lai="LAI", rngs=seed, **arch)
