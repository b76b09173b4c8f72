"""The files of an emulator run: the config's process model, network weights, reopening a run.

Weights are stored as named arrays in ``.npz`` files (atomic, no pickle); `load_run` rebuilds
the trained networks of a finished ``hybridflux emulator`` run from its folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from flax import nnx

from hybridflux.emulator.config import EmulatorConfig, load_emulator_config
from hybridflux.emulator.generate import read_zarr
from hybridflux.emulator.models import EquilibriumEmulator, WindowedEmulator
from hybridflux.emulator.process_model import DetailedProcessModel
from hybridflux.emulator.train import equilibrium_inputs

__all__ = ["process_model_from_config", "save_weights", "load_weights", "load_run"]


def process_model_from_config(cfg: EmulatorConfig) -> DetailedProcessModel:
    """The worked-case process model with the config's priors and spin-up settings.

    Example:
        >>> from hybridflux.emulator.config import parse_emulator_config
        >>> cfg = parse_emulator_config({"data": {"sites": ["sample:fr-pue-daily"],
        ...                                       "observations": ["sample:fr-pue-daily"]}})
        >>> process_model_from_config(cfg).max_years
        2000
    """
    p = cfg.process
    return DetailedProcessModel(
        p.priors, spinup_tol=p.spinup_tol, max_years=p.max_years, window_years=p.window_years
    )


def save_weights(model: nnx.Module, path: Path) -> None:
    """All variables of ``model`` as named arrays in an ``.npz`` (atomic, no pickle).

    Example:
        >>> import tempfile
        >>> from hybridflux.emulator.models import EquilibriumEmulator
        >>> path = Path(tempfile.mkdtemp()) / "eq.npz"
        >>> save_weights(EquilibriumEmulator(2, 3, rngs=nnx.Rngs(0)), path)
        >>> m = load_weights(EquilibriumEmulator(2, 3, rngs=nnx.Rngs(1)), path)
        >>> bool((m.nets[0].layers[0].kernel[...] ==
        ...       EquilibriumEmulator(2, 3, rngs=nnx.Rngs(0)).nets[0].layers[0].kernel[...]).all())
        True
    """
    flat = nnx.to_flat_state(nnx.state(model))
    arrays = {"/".join(str(k) for k in key): np.asarray(v[...]) for key, v in flat}
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_weights(model: nnx.Module, path: str | Path) -> nnx.Module:
    """Set the variables of ``model`` (same structure) from a `save_weights` file, in place.

    Raises:
        ValueError: the file's names or shapes do not match the model.

    Example: see `save_weights`.
    """
    with np.load(path, allow_pickle=False) as stored:
        arrays = dict(stored)
    flat = nnx.to_flat_state(nnx.state(model))
    names = {"/".join(str(k) for k in key) for key, _ in flat}
    if names != set(arrays):
        raise ValueError(f"{path}: variables {sorted(set(arrays) ^ names)} do not match the model")
    for key, var in flat:
        value = arrays["/".join(str(k) for k in key)]
        if value.shape != var[...].shape:
            raise ValueError(f"{path}: {key} has shape {value.shape}, the model {var[...].shape}")
        var[...] = value
    return model


def load_run(out: str | Path) -> dict:
    """Reopen a finished run of the worked case: config, models, held-out data, results.

    Returns:
        dict with ``config`` (`EmulatorConfig`), ``model`` (the process model), ``emulator``
        and ``equilibrium`` (trained networks), ``test`` (`SyntheticData` of the held-out
        cells), ``benchmark`` (``emulator.json``) and ``efficiency`` (the CSV as a frame).

    Example: ``run = load_run("runs/emulator"); make_emulate(run["equilibrium"],
    run["emulator"], run["model"])`` (used by ``notebooks/06_emulator_speedup.py``).
    """
    import pandas as pd

    out = Path(out)
    cfg = load_emulator_config(out / "config.yaml")
    model = process_model_from_config(cfg)
    test = read_zarr(out / "synthetic_test.zarr")
    n_pools, n_fluxes = test.pools.shape[-1], test.fluxes.shape[-1]
    n_in = equilibrium_inputs(test.theta[:1], test.drivers[:1], test.lat[:1], model).shape[-1]
    emulator = WindowedEmulator(
        test.theta.shape[1] + 1, n_pools, n_fluxes, hidden=tuple(cfg.emulator.hidden),
        flux_names=tuple(test.names["flux"]), rngs=nnx.Rngs(0),
    )  # fmt: skip
    eq = EquilibriumEmulator(
        n_in, n_pools, hidden=tuple(cfg.equilibrium.hidden), members=cfg.equilibrium.members,
        rngs=nnx.Rngs(0),
    )  # fmt: skip
    return {
        "config": cfg,
        "model": model,
        "emulator": load_weights(emulator, out / "models" / "emulator.npz"),
        "equilibrium": load_weights(eq, out / "models" / "equilibrium.npz"),
        "test": test,
        "benchmark": json.loads((out / "emulator.json").read_text()),
        "efficiency": pd.read_csv(out / "sample_efficiency.csv"),
    }
