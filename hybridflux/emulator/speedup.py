"""The speed-up benchmark: process model (spin-up included) vs emulator (equilibrium included).

What is timed, on the same machine and cells × years, float32, wall-clock:

- **process model**: the held-out cells' `ProcessModel.spin_up` (for the worked case
  ``spin_up_cells``: ``jit(vmap(while_loop(scan over days(scan over hours))))`` from the
  cold-start state, cycling each cell's driver years until every pool kind changes by less
  than the tolerance per century) plus `ProcessModel.simulate` over the same years
  (``simulate_cells``), in chunks, already compiled for those shapes (the training chunks had
  the same shapes; :func:`hybridflux.emulator.generate.generate` with ``warm=True`` times every
  chunk). This is the code a user of the model runs.
- **emulator**: one jitted call of the equilibrium emulator (long-term climate and parameters
  → spun-up pools) followed by the windowed emulator over all days, for all held-out cells at
  once; compiled by a first call, then the median of ``repeats`` calls.

Both start from arrays in memory and end when the outputs are ready (``block_until_ready``);
reading files and writing results are excluded on both sides. No processor-time scaling: the
ratio is of wall-clock seconds on one machine (unlike KGML-ag's 10^6, processor time against
1000 CPUs). r² is per output over all held-out cell-days, emulator vs process model.

Example:
    >>> import numpy as np
    >>> round(r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 2.0])), 3)
    0.5
"""

from __future__ import annotations

import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from hybridflux.emulator.train import equilibrium_inputs

__all__ = ["r2_score", "make_emulate", "emulator_args", "time_emulator", "benchmark", "retime"]


def r2_score(truth: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` over all finite entries.

    Example:
        >>> r2_score(np.array([0.0, 2.0]), np.array([0.0, 2.0]))
        1.0
    """
    truth, pred = np.asarray(truth, float).ravel(), np.asarray(pred, float).ravel()
    ok = np.isfinite(truth) & np.isfinite(pred)
    if not ok.any():
        return float("nan")
    sst = np.sum((truth[ok] - truth[ok].mean()) ** 2)
    return float(1.0 - np.sum((truth[ok] - pred[ok]) ** 2) / sst) if sst > 0 else float("nan")


def make_emulate(eq_model, emulator, model=None):
    """A jitted ``emulate(theta, drivers, doy, lat) -> outputs`` with both networks inside.

    The equilibrium emulator gives the initial pools from ``equilibrium_inputs`` (with the
    process model's optional ``equilibrium_features``, computed inside the timed call); the windowed
    emulator runs all days. Arrays: theta (n, P), drivers (n, T, 5), doy (n, T), lat (n,).

    Example:
        >>> from hybridflux.emulator.models import EquilibriumEmulator, WindowedEmulator
        >>> eq = EquilibriumEmulator(34, 9, hidden=(4,), rngs=nnx.Rngs(0))  # 1 + 3 · 11 inputs
        >>> em = WindowedEmulator(2, 9, 4, hidden=(4,), rngs=nnx.Rngs(0))
        >>> out = make_emulate(eq, em)(jnp.zeros((1, 1)), jnp.ones((1, 20, 5)),
        ...                            jnp.ones((1, 20)), jnp.zeros(1))
        >>> out["NEE"].shape, out["POOLS0"].shape
        ((1, 20), (1, 9))
    """
    graph, state = nnx.split((eq_model, emulator))

    @jax.jit
    def run(state, theta, drivers, doy, lat):
        eq, em = nnx.merge(graph, state)
        pools0 = eq({"x_eq": equilibrium_inputs(theta, drivers, lat, model)})["POOLS0"]
        static = jnp.concatenate([theta, lat[:, None] / 90.0], -1)
        out = em({"drivers": drivers, "doy": doy, "static": static, "pools0": pools0})
        return {k: v for k, v in out.items() if k != "Z"} | {"POOLS0": pools0}

    return lambda *args: run(state, *args)


def time_emulator(emulate, args, repeats: int = 5) -> tuple[float, list[float], dict]:
    """Median wall-clock seconds of ``emulate(*args)`` after one compiling call.

    Returns:
        (median seconds, all timed seconds, the last output).

    Example:
        >>> seconds, times, out = time_emulator(jax.jit(lambda x: x + 1), (jnp.ones(3),), 2)
        >>> len(times), float(out[0])
        (2, 2.0)
    """
    out = jax.block_until_ready(emulate(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(emulate(*args))
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), times, out


def _machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or "unknown",
        "cpu_count": os.cpu_count(),
        "jax_backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "load_average_1_5_15": list(load),
    }


def benchmark(eq_model, emulator, test, *, model=None, repeats: int = 5) -> dict:
    """Time the emulator on the held-out runs and compare with their process-model timing.

    Args:
        eq_model: trained `EquilibriumEmulator`.
        emulator: trained `WindowedEmulator`.
        test: `SyntheticData` of the held-out cells, variant 0 only, generated with
            ``warm=True`` (its ``timing`` holds the process model's seconds).
        model: the process model (for its optional ``equilibrium_features``).
        repeats: timed emulator calls (median reported).

    Returns:
        The content of ``emulator.json`` (see the module docstring for what is timed).

    Example: ``benchmark(eq, em, test_data, model=model)`` after
    ``test_data = generate(model, cells, theta, warm=True)`` (run at tiny size in
    ``tests/emulator/test_run.py``).
    """
    n, t = test.drivers.shape[:2]
    args = emulator_args(test)
    seconds, times, out = time_emulator(make_emulate(eq_model, emulator, model), args, repeats)
    process = test.timing["spinup"] + test.timing["simulate_variant0"]
    r2 = {
        name: r2_score(test.fluxes[..., k], out[name]) for k, name in enumerate(test.names["flux"])
    }
    r2 |= {
        name: r2_score(test.pools[..., k], np.asarray(out["POOLS"])[..., k])
        for k, name in enumerate(test.names["pool"])
    }
    log = lambda x: np.log(np.maximum(np.asarray(x, float), 1e-3))  # noqa: E731
    r2_eq = {
        name: r2_score(log(test.pools0[:, k]), log(out["POOLS0"][:, k]))
        for k, name in enumerate(test.names["pool"])
    }
    return {
        "speedup": process / seconds,
        "process_model_seconds": process,
        "process_model_spinup_seconds": test.timing["spinup"],
        "process_model_simulate_seconds": test.timing["simulate_variant0"],
        "emulator_seconds": seconds,
        "emulator_seconds_all_repeats": times,
        "cells": int(n),
        "timed_cells_with_padding": int(test.timing.get("timed_cells", n)),
        "years": t / 365.0,
        "spinup_years": float(np.mean(test.spinup_years)),
        "spinup_years_max": int(np.max(test.spinup_years)),
        "spinup_converged_fraction": float(np.mean(test.converged)),
        "r2": r2,
        "r2_equilibrium_log_pools": r2_eq,
        "r2_min": float(min(r2.values())),
        "timed": __doc__.split("What is timed, ")[1].split("\n\nExample:")[0],
        "machine": _machine(),
    }


def retime(out, repeats: int = 5) -> dict:
    """Time a finished run's process model and emulator again, back to back, same cells.

    For a quieter moment than the workflow's own measurement (on a shared machine the two
    timings of a workflow run happen minutes apart, under different loads): the held-out cells
    of ``out`` (`hybridflux.emulator.load_run`) are spun up and simulated once to compile,
    then timed (all chunks, as in `generate` with ``warm=True``); then the emulator (median
    of ``repeats`` calls). The load average is recorded before and after each part.

    Returns:
        ``speedup``, ``process_model_seconds``, ``process_model_spinup_seconds``,
        ``emulator_seconds``, ``cells``, ``years``, ``loads`` and ``machine``.

    Example: ``.venv/bin/python benchmarks/bench_emulator.py --retime runs/emulator``.
    """
    from hybridflux.emulator.drivers import CellDrivers
    from hybridflux.emulator.generate import generate
    from hybridflux.emulator.rundir import load_run

    run = load_run(out)
    test, model, chunk = run["test"], run["model"], run["config"].cells.chunk_size
    cells = CellDrivers(test.drivers, test.doy, test.lat, np.asarray(test.cell).astype(str))
    loads = {"start": _load()}
    first = slice(0, min(chunk, test.theta.shape[0]))
    warm_cells = CellDrivers(cells.values[first], cells.doy, cells.lat[first], cells.label[first])
    generate(model, warm_cells, test.theta[first], chunk_size=chunk, what="compile")
    loads["process_model_before"] = _load()
    timed = generate(model, cells, test.theta, chunk_size=chunk, warm=True, what="timed")
    loads["process_model_after"] = _load()
    n, t = test.drivers.shape[:2]
    args = emulator_args(test)
    emulate = make_emulate(run["equilibrium"], run["emulator"], model)
    seconds, times, _ = time_emulator(emulate, args, repeats)
    loads["emulator_after"] = _load()
    process = timed.timing["spinup"] + timed.timing["simulate_variant0"]
    return {
        "speedup": process / seconds,
        "process_model_seconds": process,
        "process_model_spinup_seconds": timed.timing["spinup"],
        "emulator_seconds": seconds,
        "emulator_seconds_all_repeats": times,
        "cells": int(n),
        "years": t / 365.0,
        "spinup_years": float(np.mean(timed.spinup_years)),
        "loads": loads,
        "machine": _machine(),
    }


def emulator_args(data) -> tuple[jax.Array, ...]:
    """``(theta, drivers, doy, lat)`` float32 arrays of a `SyntheticData` for `make_emulate`."""
    n, t = data.drivers.shape[:2]
    return (
        jnp.asarray(data.theta, jnp.float32),
        jnp.asarray(data.drivers, jnp.float32),
        jnp.asarray(np.broadcast_to(data.doy, (n, t)), jnp.float32),
        jnp.asarray(data.lat, jnp.float32),
    )


def _load() -> float:
    return float(os.getloadavg()[0]) if hasattr(os, "getloadavg") else float("nan")
