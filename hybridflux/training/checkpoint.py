"""Atomic ``.npz`` checkpoints of a training run — no pickle anywhere.

A checkpoint (:class:`TrainState`) holds everything a run needs to continue exactly where it
stopped: the flat parameter vector, the optimizer state's leaves (its tree structure comes from
``optimizer.init`` of the resuming run), the number of epochs done, the data of the base PRNG key
(per-epoch keys are ``fold_in(key(seed), epoch)``, so nothing else about randomness needs
saving), the history and the best-so-far state of early stopping. Files are written to a
temporary file in the same directory, flushed, ``fsync``-ed and moved into place with
``os.replace``, so a crash mid-write leaves the previous checkpoint valid. They are read with
``np.load(..., allow_pickle=False)``. With several processes (``jax.distributed``) every process
calls :meth:`Checkpointer.save` (arrays split over hosts are gathered, a collective) and only
process 0 writes.

Example:
    >>> import tempfile, numpy as np, jax.numpy as jnp
    >>> state = TrainState(epoch=3, flat=jnp.ones(2), opt_state=(jnp.zeros(2),),
    ...     key_data=np.zeros(2, np.uint32), history={"train_loss": np.ones(3)},
    ...     best_flat=jnp.ones(2), best_epoch=np.array(2), best_val=np.array(0.5),
    ...     bad_epochs=np.array(0))
    >>> ckpt = Checkpointer(tempfile.mkdtemp(), every=1)
    >>> path = ckpt.save(state)
    >>> ckpt.latest().name, ckpt.load(path, state).epoch
    ('epoch_000003.npz', 3)
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hybridflux.training.sharding import host_array, is_primary

__all__ = ["TrainState", "Checkpointer"]

_NAME = re.compile(r"^epoch_(\d{6,})\.npz$")
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainState:
    """The state of a training run between epochs (what a checkpoint holds).

    For an ensemble every array has a leading member axis.

    Attributes:
        epoch: number of epochs completed.
        flat: the trainable flat vector after ``epoch`` epochs.
        opt_state: the optax state on ``flat``.
        key_data: ``jax.random.key_data`` of the base key (``key(seed)``).
        history: per-epoch series (``"train_loss"``, ``"val_loss"``, aux), length ``epoch``.
        best_flat: the flat vector of the best validation epoch (the last one without
            validation data).
        best_epoch: 0-based index of that epoch in the history (-1 before any).
        best_val: its validation loss (``inf`` before any).
        bad_epochs: epochs since the validation loss last improved.

    Example:
        >>> import numpy as np, jax.numpy as jnp
        >>> s = TrainState(0, jnp.zeros(1), (), np.zeros(2, np.uint32), {}, jnp.zeros(1),
        ...                np.array(-1), np.array(np.inf), np.array(0))
        >>> s.epoch, int(s.best_epoch)
        (0, -1)
    """

    epoch: int
    flat: Any
    opt_state: Any
    key_data: np.ndarray
    history: dict[str, np.ndarray]
    best_flat: Any
    best_epoch: np.ndarray
    best_val: np.ndarray
    bad_epochs: np.ndarray


def _to_arrays(state: TrainState) -> dict[str, np.ndarray]:
    arrays = {
        "format_version": np.array(_FORMAT_VERSION),
        "epoch": np.array(state.epoch, np.int64),
        "flat": host_array(state.flat),
        "key_data": np.asarray(state.key_data),
        "best_flat": host_array(state.best_flat),
        "best_epoch": np.asarray(state.best_epoch, np.int64),
        "best_val": np.asarray(state.best_val, np.float64),
        "bad_epochs": np.asarray(state.bad_epochs, np.int64),
    }
    for i, leaf in enumerate(jax.tree.leaves(state.opt_state)):
        arrays[f"opt__{i:04d}"] = host_array(leaf)
    for name, series in state.history.items():
        arrays[f"history__{name}"] = np.asarray(series)
    return arrays


def _check_like(path: Path, name: str, got: np.ndarray, like: Any) -> None:
    like = jnp.asarray(like)
    if got.shape != like.shape or got.dtype != like.dtype:
        raise ValueError(
            f"checkpoint {path}: {name!r} has shape {got.shape} and dtype {got.dtype}, the run "
            f"needs {like.shape} {like.dtype} — was it written by a different model, trainable "
            "filter, optimizer or ensemble size? Use another checkpoint directory or resume=False"
        )


class Checkpointer:
    """Saves :class:`TrainState` every ``every`` epochs as ``epoch_NNNNNN.npz``, atomically.

    Args:
        directory: where checkpoints go; created if missing.
        every: save after every ``every``-th completed epoch (the run's last epoch is always
            saved by ``fit``).
        keep: how many most recent checkpoints to keep (older ones are deleted after a
            successful save); at least 1.

    Example:
        >>> import tempfile
        >>> ckpt = Checkpointer(tempfile.mkdtemp(), every=5)
        >>> ckpt.due(5), ckpt.due(6), ckpt.latest()
        (True, False, None)
    """

    def __init__(self, directory: str | os.PathLike, every: int = 1, keep: int = 2) -> None:
        if every < 1 or keep < 1:
            raise ValueError(f"every and keep must be at least 1, got every={every}, keep={keep}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.every = every
        self.keep = keep

    def due(self, epoch: int) -> bool:
        """Whether a checkpoint is due after ``epoch`` completed epochs.

        Example:
            >>> import tempfile
            >>> Checkpointer(tempfile.mkdtemp(), every=2).due(4)
            True
        """
        return epoch > 0 and epoch % self.every == 0

    def checkpoints(self) -> list[Path]:
        """Completed checkpoint files, oldest first (temporary files are ignored).

        Example:
            >>> import tempfile
            >>> Checkpointer(tempfile.mkdtemp()).checkpoints()
            []
        """
        found = [p for p in self.directory.iterdir() if _NAME.match(p.name)]
        return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))

    def latest(self) -> Path | None:
        """The most recent checkpoint file, or ``None`` when there is none.

        Example:
            >>> import tempfile
            >>> Checkpointer(tempfile.mkdtemp()).latest() is None
            True
        """
        found = self.checkpoints()
        return found[-1] if found else None

    def save(self, state: TrainState) -> Path:
        """Write ``state`` atomically; returns the checkpoint's path.

        Every process must call it; only the primary process (0) writes.

        Example:
            >>> import tempfile, numpy as np
            >>> s = TrainState(1, np.zeros(1), (), np.zeros(2, np.uint32), {}, np.zeros(1),
            ...                np.array(0), np.array(1.0), np.array(0))
            >>> Checkpointer(tempfile.mkdtemp()).save(s).name
            'epoch_000001.npz'
        """
        final = self.directory / f"epoch_{state.epoch:06d}.npz"
        arrays = _to_arrays(state)  # on every process: gathering split arrays is a collective
        if not is_primary():
            return final
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".epoch_", suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                np.savez(file, **arrays)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._fsync_directory()
        for old in self.checkpoints()[: -self.keep]:
            old.unlink()
        return final

    def _fsync_directory(self) -> None:
        """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
        with contextlib.suppress(OSError):
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def load(self, path: str | os.PathLike, like: TrainState) -> TrainState:
        """Read a checkpoint, checking shapes and dtypes against ``like`` (a fresh state).

        Args:
            path: a checkpoint file.
            like: a state of the resuming run; supplies the optimizer-state tree structure.

        Returns:
            The loaded :class:`TrainState` (arrays as ``jax.Array``).

        Raises:
            ValueError: the file does not match the run (model, filter, optimizer, members).

        Example:
            >>> import tempfile, numpy as np
            >>> s = TrainState(2, np.ones(1, np.float32), (), np.zeros(2, np.uint32), {},
            ...                np.ones(1, np.float32), np.array(1), np.array(0.1), np.array(0))
            >>> ckpt = Checkpointer(tempfile.mkdtemp())
            >>> ckpt.load(ckpt.save(s), s).best_epoch
            array(1)
        """
        path = Path(path)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        if int(arrays.get("format_version", -1)) != _FORMAT_VERSION:
            raise ValueError(f"checkpoint {path} is not a hybridflux checkpoint of this version")
        _check_like(path, "flat", arrays["flat"], like.flat)
        _check_like(path, "key_data", arrays["key_data"], like.key_data)
        template, treedef = jax.tree.flatten(like.opt_state)
        leaves = [arrays.get(f"opt__{i:04d}") for i in range(len(template))]
        if any(leaf is None for leaf in leaves) or f"opt__{len(template):04d}" in arrays:
            raise ValueError(f"checkpoint {path}: optimizer state does not match the optimizer")
        for i, (leaf, ref) in enumerate(zip(leaves, template, strict=True)):
            _check_like(path, f"opt__{i:04d}", leaf, ref)
        history = {
            name.removeprefix("history__"): value
            for name, value in arrays.items()
            if name.startswith("history__")
        }
        return TrainState(
            epoch=int(arrays["epoch"]),
            flat=jnp.asarray(arrays["flat"]),
            opt_state=jax.tree.unflatten(treedef, [jnp.asarray(leaf) for leaf in leaves]),
            key_data=arrays["key_data"],
            history=history,
            best_flat=jnp.asarray(arrays["best_flat"]),
            best_epoch=arrays["best_epoch"],
            best_val=arrays["best_val"],
            bad_epochs=arrays["bad_epochs"],
        )
