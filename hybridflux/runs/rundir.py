"""The run directory: what a training run leaves behind, written atomically.

::

    RUN/
      config.yaml      the fully resolved config (hybridflux.config.dump_config)
      metrics.json     scores per split and site, learned parameters, timing
      checkpoints/     epoch_NNNNNN.npz (hybridflux.training.checkpoint) and model.npz,
                       the trained model's variables (every member of an ensemble)
      predictions.nc   GPP/RECO/NEE and learned parameters on (site, time)
      figures/         PNG figures

Every file is written to a temporary file in its folder and moved into place with
``os.replace``; ``.npz`` files are read with ``allow_pickle=False``, the config with
``yaml.safe_load`` — opening a run never executes code.

Example:
    >>> import tempfile
    >>> run = RunDir(tempfile.mkdtemp())
    >>> _ = atomic_write_text(run.metrics_path, "{}")
    >>> run.metrics_path.read_text(), run.latest_epoch()
    ('{}', None)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import yaml
from flax import nnx

from hybridflux.config import Config, dump_config, parse_config
from hybridflux.training.checkpoint import Checkpointer

__all__ = ["RunDirError", "RunDir", "atomic_write", "atomic_write_text", "config_changes"]

#: Config keys that may change when a run is resumed (more epochs, other output options).
RESUMABLE_CHANGES = ("train.epochs", "train.devices", "output.figures")


class RunDirError(ValueError):
    """A run directory that cannot be used as asked (exists, missing, another config)."""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Create ``path`` through ``write(tmp)`` on a temporary file, then ``os.replace``.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.txt"
        >>> atomic_write(p, lambda tmp: tmp.write_text("hi")).read_text()
        'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def config_changes(old: Config, new: Config) -> list[str]:
    """Dotted keys whose values differ between two configs.

    Example:
        >>> from hybridflux.demo import demo_config
        >>> config_changes(demo_config(), demo_config(["train.lr=0.5", "split.seed=3"]))
        ['split.seed', 'train.lr']
    """
    a, b = _flatten(old.model_dump(mode="json")), _flatten(new.model_dump(mode="json"))
    return sorted(k for k in a.keys() | b.keys() if a.get(k, object()) != b.get(k, object()))


def _state_key(path: Sequence[Any]) -> str:
    return "/".join(str(p) for p in path)


class RunDir:
    """Paths and atomic readers/writers of one run directory.

    Args:
        path: the run's folder (created on first write).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml", doc="``config.yaml``.")
    metrics_path = property(lambda self: self.path / "metrics.json", doc="``metrics.json``.")
    predictions_path = property(lambda self: self.path / "predictions.nc", doc="predictions.")
    checkpoints_dir = property(lambda self: self.path / "checkpoints", doc="``checkpoints/``.")
    figures_dir = property(lambda self: self.path / "figures", doc="``figures/``.")
    model_path = property(lambda self: self.checkpoints_dir / "model.npz", doc="trained model.")

    def checkpointer(self, every: int, keep: int = 2) -> Checkpointer:
        """A :class:`~hybridflux.training.checkpoint.Checkpointer` on ``checkpoints/``."""
        return Checkpointer(self.checkpoints_dir, every=every, keep=keep)

    def latest_epoch(self) -> int | None:
        """Epochs done by the latest checkpoint, or ``None`` when there is none."""
        if not self.checkpoints_dir.is_dir():
            return None
        latest = Checkpointer(self.checkpoints_dir).latest()
        return None if latest is None else int(latest.stem.split("_")[1])

    def prepare(self, cfg: Config, *, resume: bool) -> int | None:
        """Check the folder for a new or resumed run and write ``config.yaml``.

        Args:
            cfg: the run's config.
            resume: continue the run in this folder (same config up to
                :data:`RESUMABLE_CHANGES`).

        Returns:
            The epoch the run resumes from (``None``: starts from scratch).

        Raises:
            RunDirError: the folder holds a run but ``resume`` is false, or ``resume`` with
                a config that differs in other keys.
        """
        latest = self.latest_epoch()
        if latest is not None and not resume:
            raise RunDirError(
                f"{self.path} already holds a training run (checkpoints/ up to epoch {latest}); "
                "pass --resume to continue it or choose another --out"
            )
        if latest is not None and self.config_path.is_file():
            self._check_resumable(self.read_config(), cfg)
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_path, dump_config(cfg))
        return latest

    def _check_resumable(self, old: Config, new: Config) -> None:
        allowed = set(RESUMABLE_CHANGES)
        if new.train.lr_schedule != "constant":
            allowed.discard("train.epochs")  # the schedule spans all epochs
        changed = [k for k in config_changes(old, new) if k not in allowed]
        if changed:
            raise RunDirError(
                f"cannot resume {self.path}: the config differs in {', '.join(changed)} "
                f"(only {', '.join(sorted(allowed))} may change; train.epochs only with a "
                "constant learning rate); use another --out"
            )

    def read_config(self) -> Config:
        """The run's resolved config.

        Raises:
            FileNotFoundError: the folder is not a run directory.
        """
        if not self.config_path.is_file():
            raise FileNotFoundError(f"{self.path} is not a run directory (no config.yaml)")
        raw = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        return parse_config(raw, base=self.path, source=str(self.config_path))

    def write_metrics(self, text: str) -> Path:
        """Write ``metrics.json`` (text from :func:`hybridflux.runs.metrics.metrics_json`)."""
        return atomic_write_text(self.metrics_path, text)

    def read_metrics(self) -> dict[str, Any]:
        """The parsed ``metrics.json``."""
        return json.loads(self.metrics_path.read_text(encoding="utf-8"))

    def write_predictions(self, ds: xr.Dataset, path: str | os.PathLike | None = None) -> Path:
        """Write predictions as netCDF (default ``predictions.nc``)."""
        return atomic_write(path or self.predictions_path, lambda tmp: ds.to_netcdf(tmp))

    def save_models(self, models: Sequence[nnx.Module]) -> Path:
        """Save every variable of the trained model(s) to ``checkpoints/model.npz``."""
        arrays = {
            f"member{i}/{_state_key(path)}": np.asarray(var[...])
            for i, model in enumerate(models)
            for path, var in nnx.to_flat_state(nnx.state(model))
        }
        arrays["members"] = np.array(len(models))

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as file:
                np.savez(file, **arrays)

        return atomic_write(self.model_path, write)

    def load_models(self, cfg: Config | None = None) -> list[nnx.Module]:
        """The trained model(s): built from the config, variables from ``model.npz``.

        Raises:
            FileNotFoundError: the run has no trained model (training did not finish).
            RunDirError: the saved variables do not fit the config's model.
        """
        cfg = cfg or self.read_config()
        if not self.model_path.is_file():
            raise FileNotFoundError(f"{self.path} has no trained model ({self.model_path})")
        with np.load(self.model_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        models = []
        for i in range(int(arrays["members"])):
            model = cfg.model.build(cfg.train.seed + i)
            flat = nnx.to_flat_state(nnx.state(model))
            for path, var in flat:
                key = f"member{i}/{_state_key(path)}"
                if key not in arrays or arrays[key].shape != np.shape(var[...]):
                    raise RunDirError(f"{self.model_path}: {key} does not fit the config's model")
                var[...] = arrays[key]
            nnx.update(model, nnx.from_flat_state(flat))
            models.append(model)
        return models
