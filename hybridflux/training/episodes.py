"""Episodic training of TAM-RL across sites: support/query episodes, ensembles, inference.

Data are sites as padded, masked windows (:class:`~hybridflux.hybrid.tamrl.SiteWindows`,
built from flat rows by :func:`site_windows`). An **episode** is a batch of sites, each with a
support set (k observed months whose fluxes the encoder sees; none for a zero-shot episode)
and a query set (its other observed months, where the loss is taken):

    L = mean_sites Σ_k [ Σ_t q_st,k (ŷ_st,k − y_st,k)² / Σ_t q_st,k ] / s_k²

over GPP, RECO, NEE in gC m-2 d-1 (``s_k`` the flux's RMS scale; NEE = RECO − GPP holds in the
decoder by construction, so no separate balance term is needed).

Same principles as :mod:`hybridflux.training.epoch` (design 0003): the site order and the
support masks are drawn **on the host** with numpy from ``(seed, epoch)`` and passed in as
arrays of fixed shape; one epoch is one compiled ``lax.scan`` over site batches; it traces once.
Seed ensembles are ``vmap`` over members' flat vectors (and their orders and supports). The
decoder can first be **pretrained without modulation** (embedding gated to 0, FiLM identity).

Example:
    >>> import numpy as np
    >>> rows = {"x": np.arange(5.0), "G": np.ones(5), "R": np.ones(5), "N": np.zeros(5)}
    >>> w, index, sites = site_windows(rows, np.array([0, 0, 1, 1, 1]), ["x"], ("G", "R", "N"))
    >>> w.x.shape, index.tolist()
    ((2, 3, 1), [[0, 1, -1], [2, 3, 4]])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hybridflux.hybrid.tamrl import FLUXES, SiteWindows, tamrl_film, tamrl_hybrid
from hybridflux.training.flat import merge_flat, split_flat

__all__ = [
    "site_windows",
    "support_masks",
    "site_orders",
    "episode_loss",
    "make_episode_epoch",
    "EpisodeResult",
    "fit_episodes",
    "predict_sites",
    "to_rows",
    "TamRLEntry",
    "TamRLHybridEntry",
]


def site_windows(
    columns: Mapping[str, np.ndarray],
    site: np.ndarray,
    covariates: Sequence[str],
    targets: Sequence[str | None] = (None, None, None),
) -> tuple[SiteWindows, np.ndarray, np.ndarray]:
    """Group flat rows by site into padded windows.

    Args:
        columns: ``(N,)`` columns: the covariates and the target columns.
        site: ``(N,)`` site id of each row (any hashable values; order of first appearance).
        covariates: covariate column names (finite in every row).
        targets: the columns of GPP, RECO, NEE (gC m-2 d-1); ``None`` for an absent target.

    Returns:
        ``(windows, index, sites)``: :class:`SiteWindows` ``(S, T, ·)``, ``index`` ``(S, T)``
        the row of each window (−1 for padding), and the ``S`` site ids.

    Raises:
        KeyError: a named column is missing.
    """
    missing = [c for c in [*covariates, *targets] if c is not None and c not in columns]
    if missing:
        raise KeyError(f"site_windows: columns {missing} are missing (have {sorted(columns)})")
    site = np.asarray(site)
    sites, first, code = np.unique(site, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))  # site codes in order of first appearance
    code, sites = rank[code], sites[np.argsort(first)]
    order = np.argsort(code, kind="stable")
    counts = np.bincount(code, minlength=len(sites))
    pos = np.arange(len(code)) - np.repeat(np.cumsum(counts) - counts, counts)
    index = np.full((len(sites), max(int(counts.max(initial=1)), 1)), -1, np.int64)
    index[code[order], pos] = order
    n = len(site)
    take = lambda col: np.where(index >= 0, np.asarray(col, np.float64)[index], np.nan)  # noqa: E731
    x = np.stack([take(columns[c]) for c in covariates], -1)
    nan = np.full(n, np.nan)
    y = np.stack([take(nan if t is None else columns[t]) for t in targets], -1)
    return SiteWindows.from_arrays(x, y, index >= 0), index, sites


def support_masks(
    obs: np.ndarray, rng: np.random.Generator, k: int, zero_shot: float = 0.5
) -> np.ndarray:
    """Few-shot support months per site, drawn on the host.

    Each site gets, with probability ``zero_shot``, no support; otherwise ``k`` months drawn
    uniformly among its months with an observed GPP (all of them if fewer).

    Args:
        obs: ``(S, T, 3)`` (or ``(S, T)``) observed flags.
        rng: numpy generator.
        k: support months per few-shot site.
        zero_shot: probability of a zero-shot site.

    Returns:
        ``(S, T)`` boolean support mask.

    Example:
        >>> obs = np.ones((2, 6), bool)
        >>> support_masks(obs, np.random.default_rng(0), 2, zero_shot=0.0).sum(1).tolist()
        [2, 2]
    """
    ok = np.asarray(obs)
    ok = ok[..., 0] if ok.ndim == 3 else ok
    key = np.where(ok, rng.random(ok.shape), np.inf)
    rank = np.argsort(np.argsort(key, axis=1), axis=1)
    few = rng.random(ok.shape[0]) >= zero_shot
    return (rank < k) & ok & few[:, None]


def site_orders(n_sites: int, batch_sites: int, rng: np.random.Generator) -> np.ndarray:
    """A shuffled site order as ``(n_batches, batch_sites)`` int32, the last batch topped up
    with randomly drawn sites.

    Example:
        >>> site_orders(5, 2, np.random.default_rng(0)).shape
        (3, 2)
    """
    n_batches = -(-n_sites // batch_sites)
    extra = rng.integers(0, n_sites, n_batches * batch_sites - n_sites)
    return np.concatenate([rng.permutation(n_sites), extra]).reshape(n_batches, -1).astype(np.int32)


def episode_loss(model: Any, windows: SiteWindows, support: jax.Array, gate=1.0) -> jax.Array:
    """Query loss of one episode: per-site masked MSE per flux over ``s_k²``, mean over sites.

    Query months are the observed months outside the support. Sites without query months do
    not count; an episode without any gives 0 with finite gradients.

    Example:
        >>> from hybridflux.hybrid.tamrl import tamrl_film
        >>> m = tamrl_film(["x"], hidden=(4,), rngs=0)
        >>> w = SiteWindows.from_arrays(np.ones((1, 2, 1)), np.full((1, 2, 3), np.nan))
        >>> float(episode_loss(m, w, jnp.zeros((1, 2), bool)))
        0.0
    """
    pred = model(windows, support, gate)
    p = jnp.stack([pred[k] for k in FLUXES], -1)
    q = (windows.obs & ~support[..., None]).astype(p.dtype)
    n = q.sum(1)
    sq = ((p - windows.y) / model.y_scale[...]) ** 2
    per_site = ((sq * q).sum(1) / jnp.maximum(n, 1.0)).sum(-1)
    has = (n.sum(-1) > 0).astype(p.dtype)
    return (per_site * has).sum() / jnp.maximum(has.sum(), 1.0)


def make_episode_epoch(flat_model: Any, optimizer: optax.GradientTransformation) -> Callable:
    """One epoch over site batches as a single ``lax.scan`` (jit it; it then traces once).

    Returns:
        ``epoch(flat, opt_state, windows, order, support, gate) -> (flat, opt_state, loss)``
        with ``order`` ``(n_batches, B)`` int32 site indices and ``support`` ``(S, T)``.
    """

    def loss_fn(flat, windows, support, gate):
        return episode_loss(merge_flat(flat_model, flat), windows, support, gate)

    grad_fn = jax.value_and_grad(loss_fn)

    def epoch(flat, opt_state, windows, order, support, gate):
        def step(carry, idx):
            flat, opt_state = carry
            loss, grads = grad_fn(flat, windows.take(idx), support[idx], gate)
            updates, opt_state = optimizer.update(grads, opt_state, flat)
            return (optax.apply_updates(flat, updates), opt_state), loss

        (flat, opt_state), losses = jax.lax.scan(step, (flat, opt_state), order)
        return flat, opt_state, losses.mean()

    return epoch


@dataclass(frozen=True)
class EpisodeResult:
    """Trained members and the history of an episodic fit.

    Attributes:
        models: one trained model per ensemble member.
        history: ``{"loss": (epochs, members), "val": (epochs, members) or absent}``.
        best_epoch: epoch of the kept state per member (the last without validation).
    """

    models: list[Any]
    history: dict[str, np.ndarray]
    best_epoch: np.ndarray


def _prepare(make, members, windows, trainable):
    models = [make(s) for s in range(members)]
    for m in models:
        m.set_normalization(windows)
    pairs = [split_flat(m, trainable) if trainable is not None else split_flat(m) for m in models]
    return pairs[0][0], jnp.stack([f for _, f in pairs]), [fm.rest for fm, _ in pairs]


def fit_episodes(
    make: Callable[[int], Any],
    windows: SiteWindows,
    optimizer: optax.GradientTransformation,
    *,
    epochs: int,
    batch_sites: int = 16,
    k_support: int = 6,
    zero_shot: float = 0.5,
    pretrain_epochs: int = 0,
    members: int = 1,
    seed: int = 0,
    val: SiteWindows | None = None,
    patience: int = 0,
    trainable: Any = None,
) -> EpisodeResult:
    """Train ``members`` models (seeds ``seed + i``) by episodes; a ``vmap`` ensemble.

    Args:
        make: builds an untrained TAM-RL model from an integer (``seed + member``).
        windows: training sites.
        optimizer: optax transformation on the flat vector.
        epochs: total epochs (pretraining included).
        batch_sites: sites per step.
        k_support: support months of a few-shot site.
        zero_shot: fraction of zero-shot sites per episode.
        pretrain_epochs: first epochs with the embedding gated to 0 (unmodulated decoder).
        members: ensemble size.
        seed: base seed (initialisation, site orders, supports).
        val: validation sites (zero-shot loss each epoch; best state kept), or None.
        patience: stop after this many epochs without a lower mean validation loss (0: never).
        trainable: nnx filter of the trained variables (default: networks and physics).

    Returns:
        :class:`EpisodeResult`.
    """
    if epochs < 1 or batch_sites < 1:
        raise ValueError(f"epochs and batch_sites must be >= 1, got {epochs}, {batch_sites}")
    flat_model, flats, rests = _prepare(lambda i: make(seed + i), members, windows, trainable)
    opt = jax.vmap(optimizer.init)(flats)
    epoch = jax.jit(jax.vmap(make_episode_epoch(flat_model, optimizer), (0, 0, None, 0, 0, None)))
    evaluate = jax.jit(jax.vmap(_val_loss(flat_model), (0, None)))
    rng = np.random.default_rng(seed)
    obs, n = np.asarray(windows.obs), int(windows.x.shape[0])
    best, best_flat, best_epoch, wait = np.inf, flats, np.full(members, epochs - 1), 0
    history: dict[str, list] = {"loss": [], "val": []}
    for e in range(epochs):
        order = np.stack([site_orders(n, min(batch_sites, n), rng) for _ in range(members)])
        support = np.stack([support_masks(obs, rng, k_support, zero_shot) for _ in range(members)])
        gate = jnp.float32(0.0 if e < pretrain_epochs else 1.0)
        flats, opt, loss = epoch(flats, opt, windows, order, support, gate)
        history["loss"].append(np.asarray(loss))
        if not np.all(np.isfinite(history["loss"][-1])):
            raise FloatingPointError(f"non-finite episode loss at epoch {e}: {loss}")
        if val is not None and e >= pretrain_epochs:
            v = np.asarray(evaluate(flats, val))
            history["val"].append(v)
            if v.mean() < best:
                best, best_flat, wait = float(v.mean()), flats, 0
                best_epoch[:] = e
            elif patience and (wait := wait + 1) >= patience:
                break
    flats = best_flat if val is not None and np.isfinite(best) else flats
    models = [merge_flat(flat_model, flats[i], rests[i]) for i in range(members)]
    hist = {k: np.asarray(v) for k, v in history.items() if v}
    return EpisodeResult(models, hist, best_epoch)


def _val_loss(flat_model: Any) -> Callable:
    def loss(flat, windows):
        support = jnp.zeros(windows.valid.shape, bool)
        return episode_loss(merge_flat(flat_model, flat), windows, support)

    return loss


def predict_sites(
    models: Sequence[Any],
    windows: SiteWindows,
    support: np.ndarray | None = None,
    parameters: bool = False,
) -> dict[str, np.ndarray]:
    """Ensemble-mean fluxes ``(S, T)`` (gC m-2 d-1): zero-shot, or few-shot with ``support``.

    Args:
        models: trained TAM-RL models (same structure).
        windows: the sites (observed fluxes are used only in the ``support`` months).
        support: ``(S, T)`` few-shot months, or None for zero-shot.
        parameters: also the ensemble-mean task-aware process parameters of hybrid decoders
            (``"param/eps"``, ``"param/Rb"``, ``"param/Q10"``; `TamRL.parameters`).

    Returns:
        ``{"GPP", "RECO", "NEE"}`` (and parameters) → ``(S, T)`` arrays.
    """
    s = jnp.zeros(windows.valid.shape, bool) if support is None else jnp.asarray(support)
    outs = [m(windows, s) for m in models]
    if parameters:
        outs = [o | {f"param/{k}": v for k, v in m.parameters(windows, s).items()}
                for o, m in zip(outs, models, strict=True)]  # fmt: skip
    return {k: np.mean([np.asarray(o[k]) for o in outs], axis=0) for k in outs[0]}


def to_rows(grid: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """Values of a ``(S, T)`` grid back at their ``n`` rows (``index`` from :func:`site_windows`).

    Example:
        >>> to_rows(np.array([[1.0, 2.0]]), np.array([[1, 0]]), 2).tolist()
        [2.0, 1.0]
    """
    out = np.full(n, np.nan)
    ok = index >= 0
    out[index[ok]] = np.asarray(grid)[ok]
    return out


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
