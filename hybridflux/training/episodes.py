"""Episodic training of TAM-RL across sites: support/query episodes, ensembles, inference.

Data are sites as padded, masked windows (:class:`~hybridflux.hybrid.tamrl.SiteWindows`,
built from flat rows by :func:`site_windows`). An **episode** is a batch of sites, each with a
support set (k observed months whose fluxes the encoder sees; none for a zero-shot episode)
and a query set (its other observed months, where the loss is taken):

    L = mean_sites Σ_k w_k [ Σ_t q_st,k (ŷ_st,k − y_st,k)² / Σ_t q_st,k ] / s_k²

over GPP, RECO, NEE in gC m-2 d-1 (``s_k`` the flux's RMS scale, ``w_k`` optional flux weights,
1 by default; NEE = RECO − GPP holds in the decoder by construction, so no separate balance
term is needed).

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
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hybridflux.hybrid.tamrl import FLUXES, SiteWindows, shrink_site_nee
from hybridflux.training.episode_state import (
    initial_episode_state,
    latest_episode_state,
    load_episode_state,
    save_episode_state,
    update_best,
)
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


def episode_loss(
    model: Any,
    windows: SiteWindows,
    support: jax.Array,
    gate=1.0,
    flux_weights: Sequence[float] | None = None,
) -> jax.Array:
    """Query loss of one episode: per-site masked MSE per flux over ``s_k²``, weighted sum over
    the fluxes, mean over sites:

        L = (1/|S'|) Σ_{s∈S'} Σ_k w_k · [Σ_t q_st,k (ŷ_st,k − y_st,k)² / Σ_t q_st,k] / s_k²

    with ``k`` ∈ (GPP, RECO, NEE) in gC m-2 d-1, ``q_st,k`` = 1 on the query months (observed,
    outside the support), ``s_k`` the model's flux scale (``model.y_scale``), ``w_k`` the flux
    weights (all 1 by default) and ``S'`` the sites with at least one query month. An episode
    without any gives 0 with finite gradients.

    Args:
        model: a TAM-RL model.
        windows: the episode's sites.
        support: ``(S, T)`` support months.
        gate: embedding gate (0: unmodulated decoder).
        flux_weights: ``(w_GPP, w_RECO, w_NEE)``, or None for ``(1, 1, 1)``.

    Example:
        >>> from hybridflux.hybrid.tamrl import tamrl_film
        >>> m = tamrl_film(["x"], hidden=(4,), rngs=0)
        >>> w = SiteWindows.from_arrays(np.ones((1, 2, 1)), np.full((1, 2, 3), np.nan))
        >>> float(episode_loss(m, w, jnp.zeros((1, 2), bool)))
        0.0
    """
    weights = _flux_weights(flux_weights)
    pred = model(windows, support, gate)
    p = jnp.stack([pred[k] for k in FLUXES], -1)
    q = (windows.obs & ~support[..., None]).astype(p.dtype)
    n = q.sum(1)
    sq = ((p - windows.y) / model.y_scale[...]) ** 2
    w = jnp.asarray(weights, p.dtype)
    per_site = ((sq * q).sum(1) / jnp.maximum(n, 1.0) * w).sum(-1)
    has = (n.sum(-1) > 0).astype(p.dtype)
    return (per_site * has).sum() / jnp.maximum(has.sum(), 1.0)


def _flux_weights(flux_weights: Sequence[float] | None) -> tuple[float, ...]:
    """Checked flux weights ``(w_GPP, w_RECO, w_NEE)`` (all 1 for None)."""
    if flux_weights is None:
        return (1.0,) * len(FLUXES)
    w = tuple(float(v) for v in flux_weights)
    if len(w) != len(FLUXES) or not all(np.isfinite(w)) or min(w) < 0 or max(w) == 0:
        raise ValueError(f"flux_weights must be {len(FLUXES)} finite weights >= 0 of "
                         f"{FLUXES}, not all 0; got {flux_weights}")  # fmt: skip
    return w


def make_episode_epoch(
    flat_model: Any,
    optimizer: optax.GradientTransformation,
    flux_weights: Sequence[float] | None = None,
) -> Callable:
    """One epoch over site batches as a single ``lax.scan`` (jit it; it then traces once).

    ``flux_weights`` weight the fluxes in :func:`episode_loss` (None: all 1).

    Returns:
        ``epoch(flat, opt_state, windows, order, support, gate) -> (flat, opt_state, loss)``
        with ``order`` ``(n_batches, B)`` int32 site indices and ``support`` ``(S, T)``.
    """
    weights = _flux_weights(flux_weights)

    def loss_fn(flat, windows, support, gate):
        return episode_loss(merge_flat(flat_model, flat), windows, support, gate, weights)

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
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 10,
    resume: bool = False,
    flux_weights: Sequence[float] | None = None,
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
        seed: base seed (initialisation; epoch ``e`` draws its site orders and supports from
            ``np.random.default_rng([seed, e])``).
        val: validation sites (zero-shot loss each epoch; best state kept), or None.
        patience: stop after this many epochs without a lower mean validation loss (0: never).
        trainable: nnx filter of the trained variables (default: networks and physics).
        checkpoint_dir: folder for :mod:`~hybridflux.training.episode_state` checkpoints
            (every ``checkpoint_every`` epochs and at the end), or None.
        resume: continue from the latest checkpoint in ``checkpoint_dir`` (same arguments);
            the result is identical to an uninterrupted run.
        flux_weights: ``(w_GPP, w_RECO, w_NEE)`` of :func:`episode_loss`, in training and in
            the validation loss; None: all 1.

    Returns:
        :class:`EpisodeResult`.
    """
    if epochs < 1 or batch_sites < 1:
        raise ValueError(f"epochs and batch_sites must be >= 1, got {epochs}, {batch_sites}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir")
    weights = _flux_weights(flux_weights)
    flat_model, flats, rests = _prepare(lambda i: make(seed + i), members, windows, trainable)
    one_epoch = make_episode_epoch(flat_model, optimizer, weights)
    epoch = jax.jit(jax.vmap(one_epoch, (0, 0, None, 0, 0, None)))
    evaluate = jax.jit(jax.vmap(_val_loss(flat_model, weights), (0, None)))
    state = initial_episode_state(flats, jax.vmap(optimizer.init)(flats), epochs)
    history: dict[str, list] = {"loss": [], "val": []}
    start = 0
    if resume and (path := latest_episode_state(checkpoint_dir)) is not None:
        state, history, start = load_episode_state(path, state)
    obs, n = np.asarray(windows.obs), int(windows.x.shape[0])
    for e in range(start, epochs):
        if state["stopped"]:
            break
        rng = np.random.default_rng([seed, e])
        order = np.stack([site_orders(n, min(batch_sites, n), rng) for _ in range(members)])
        support = np.stack([support_masks(obs, rng, k_support, zero_shot) for _ in range(members)])
        gate = jnp.float32(0.0 if e < pretrain_epochs else 1.0)
        state["flats"], state["opt"], loss = epoch(
            state["flats"], state["opt"], windows, order, support, gate
        )
        history["loss"].append(np.asarray(loss))
        if not np.all(np.isfinite(history["loss"][-1])):
            raise FloatingPointError(f"non-finite episode loss at epoch {e}: {loss}")
        if val is not None and e >= pretrain_epochs:
            history["val"].append(np.asarray(evaluate(state["flats"], val)))
            update_best(state, history["val"][-1], e, patience)
        if checkpoint_dir is not None and (
            (e + 1) % checkpoint_every == 0 or e + 1 == epochs or state["stopped"]
        ):
            save_episode_state(checkpoint_dir, e + 1, state, history)
    flats = state["best_flat"] if val is not None and np.isfinite(state["best"]) else state["flats"]
    models = [merge_flat(flat_model, flats[i], rests[i]) for i in range(members)]
    hist = {k: np.asarray(v) for k, v in history.items() if len(v)}
    return EpisodeResult(models, hist, state["best_epoch"])


def _val_loss(flat_model: Any, flux_weights: tuple[float, ...]) -> Callable:
    def loss(flat, windows):
        support = jnp.zeros(windows.valid.shape, bool)
        return episode_loss(merge_flat(flat_model, flat), windows, support, 1.0, flux_weights)

    return loss


def predict_sites(
    models: Sequence[Any],
    windows: SiteWindows,
    support: np.ndarray | None = None,
    parameters: bool = False,
    shrink: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Ensemble-mean fluxes ``(S, T)`` (gC m-2 d-1): zero-shot, or few-shot with ``support``.

    Zero-shot, a model with ``nee_site_weight`` α < 1 shrinks each site's mean NEE toward its
    ``nee_mu`` (:func:`~hybridflux.hybrid.tamrl.shrink_site_nee`, GPP and the balance kept);
    ``shrink`` ``(S,)`` limits that to some sites (e.g. those not seen in training).

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
    mean = {k: np.mean([np.asarray(o[k]) for o in outs], axis=0) for k in outs[0]}
    alpha = getattr(models[0], "nee_site_weight", 1.0)
    if support is None and alpha != 1.0:
        mean = shrink_site_nee(mean, windows.valid, alpha, float(models[0].nee_mu[...]), shrink)
    return mean


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
