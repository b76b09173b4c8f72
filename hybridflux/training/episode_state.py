"""The loop state of episodic training (:func:`hybridflux.training.episodes.fit_episodes`):
its layout, its early-stopping update and its checkpoints.

The state is a dict of arrays, built by :func:`initial_episode_state`: the ensemble's flat
parameter vectors, the optimizer state and the early-stopping state (best vectors, best mean
validation loss, best epoch per member, epochs without improvement, whether it stopped),
updated after each validated epoch by :func:`update_best` (the patience logic of
:func:`~hybridflux.training.loop.track_best`, on the ensemble-mean loss). A checkpoint holds
that state and the loss history. Because each
epoch draws its site orders and supports from ``(seed, epoch)``, a run resumed from a
checkpoint ends bit-identical to an uninterrupted one. Files are ``epoch_NNNNNN.npz`` (the
names of :class:`~hybridflux.training.checkpoint.Checkpointer`, so a run directory reports
its latest epoch the same way), written beside and renamed (atomic), no pickle.

Example:
    >>> import tempfile
    >>> import jax.numpy as jnp
    >>> d = tempfile.mkdtemp()
    >>> state = {"flats": jnp.ones((2, 3)), "best": np.float64(0.5)}
    >>> history = {"loss": [np.ones(2)], "val": []}
    >>> save_episode_state(d, 1, state, history).name
    'epoch_000001.npz'
    >>> s, h, epochs = load_episode_state(latest_episode_state(d), state)
    >>> epochs, float(s["best"]), len(h["loss"]), h["val"]
    (1, 0.5, 1, [])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hybridflux.training.checkpoint import Checkpointer
from hybridflux.training.loop import track_best

__all__ = [
    "initial_episode_state",
    "update_best",
    "save_episode_state",
    "load_episode_state",
    "latest_episode_state",
]


def initial_episode_state(flats: jax.Array, opt_state: Any, epochs: int) -> dict[str, Any]:
    """The state before the first epoch, from the ``(members, P)`` flat vectors.

    The best epoch starts at the last (``epochs − 1``: the kept state without validation).

    Example:
        >>> s = initial_episode_state(jnp.zeros((2, 3)), (), 5)
        >>> s["best_epoch"].tolist(), float(s["best"]), bool(s["stopped"])
        ([4, 4], inf, False)
    """
    return {"flats": flats, "opt": opt_state, "best_flat": flats, "best": np.float64(np.inf),
            "best_epoch": np.full(flats.shape[0], epochs - 1), "wait": np.int64(0),
            "stopped": np.bool_(False)}  # fmt: skip


def update_best(state: dict[str, Any], val_loss: np.ndarray, epoch: int, patience: int) -> None:
    """Keep the best vectors by mean validation loss (over members, one epoch for all); set
    ``stopped`` after ``patience`` epochs without a lower one (0: never). Updates ``state``.

    Example:
        >>> s = initial_episode_state(jnp.zeros((2, 3)), (), 5)
        >>> update_best(s, np.array([1.0, 2.0]), 0, patience=1)
        >>> update_best(s, np.array([2.0, 2.0]), 1, patience=1)
        >>> float(s["best"]), s["best_epoch"].tolist(), bool(s["stopped"])
        (1.5, [0, 0], True)
    """
    best, best_flat, best_epoch, wait = track_best(
        np.float64(val_loss.mean()), epoch, state["flats"], state["best"], state["best_flat"],
        state["best_epoch"], state["wait"],
    )  # fmt: skip
    stopped = np.bool_(bool(patience) and wait >= patience)
    state.update(best=best, best_flat=best_flat, best_epoch=best_epoch, wait=wait, stopped=stopped)


def save_episode_state(
    directory: str | os.PathLike,
    epochs_done: int,
    state: dict[str, Any],
    history: dict[str, list],
    keep: int = 2,
) -> Path:
    """Write the loop state after ``epochs_done`` epochs; keep the ``keep`` latest files.

    Args:
        directory: checkpoint folder (created).
        epochs_done: completed epochs.
        state: a pytree of arrays (its structure is given again to `load_episode_state`).
        history: ``{"loss": [...], "val": [...]}`` lists of per-member arrays.
        keep: most recent checkpoints kept.

    Returns:
        The written file.
    """
    ckpt = Checkpointer(directory, keep=keep)
    leaves = jax.tree.leaves(state)
    arrays = {f"leaf_{i:04d}": np.asarray(x) for i, x in enumerate(leaves)}
    for name, values in history.items():
        rows = np.asarray(values, np.float64)
        arrays[f"history_{name}"] = rows.reshape(len(values), -1) if len(values) else rows
    path = ckpt.directory / f"epoch_{epochs_done:06d}.npz"
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez(tmp, epochs_done=epochs_done, **arrays)
    os.replace(tmp, path)
    for old in ckpt.checkpoints()[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_episode_state(
    path: str | os.PathLike, template: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list], int]:
    """``(state, history, epochs_done)`` of a checkpoint, ``state`` shaped like ``template``.

    Raises:
        ValueError: the file does not match the template (another model or ensemble size).
    """
    leaves, treedef = jax.tree.flatten(template)
    with np.load(path, allow_pickle=False) as stored:
        names = sorted(k for k in stored.files if k.startswith("leaf_"))
        if len(names) != len(leaves):
            raise ValueError(f"{path}: {len(names)} arrays, the run has {len(leaves)}")
        loaded = []
        for name, ref in zip(names, leaves, strict=True):
            value = stored[name]
            if value.shape != np.shape(ref):
                raise ValueError(
                    f"{path}: {name} has shape {value.shape}, expected {np.shape(ref)}"
                )
            loaded.append(jnp.asarray(value) if isinstance(ref, jax.Array) else value)
        history = {
            k.removeprefix("history_"): list(stored[k])
            for k in stored.files
            if k.startswith("history_")
        }
        epochs_done = int(stored["epochs_done"])
    return jax.tree.unflatten(treedef, loaded), history, epochs_done


def latest_episode_state(directory: str | os.PathLike) -> Path | None:
    """The most recent checkpoint in ``directory`` (``None`` if none or no folder)."""
    if not Path(directory).is_dir():
        return None
    return Checkpointer(directory).latest()
