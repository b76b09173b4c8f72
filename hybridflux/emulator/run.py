"""``hybridflux emulator CONFIG --out DIR``: the whole knowledge-guided pretraining workflow.

::

    DIR/
      config.yaml              the fully resolved config
      synthetic.zarr           training runs of the process model (daily fluxes and pools)
      synthetic_test.zarr      held-out cells (variant 0), timed for the speed-up
      models/*.npz             the trained networks' weights (flat arrays, no pickle)
      checkpoints/             training checkpoints of both emulators (for ``--resume``)
      sample_efficiency_runs.csv  every fine-tuning repeat (for ``--resume``)
      emulator.json            speed-up, seconds, cells, years, spin-up years, r² per output
      sample_efficiency.csv    n_train, model, rmse
      summary.txt              the text returned by `run_emulator`

Steps: real drivers → sampled cells and parameters → process model over the training cells,
then over the held-out cells (timed, already compiled) → pretrain the windowed emulator and
train the equilibrium emulator → speed-up and r² on the held-out cells → fine-tuning and the
sample-efficiency table on real observations. With ``--resume`` an interrupted run keeps what
it finished: the stored synthetic data (with their timings), the training checkpoints and the
finished fine-tuning repeats; the config must be the one the folder was started with. The
process model is an object
(:class:`~hybridflux.emulator.process_model.ProcessModel`): `run_workflow` takes any.

Example:
    >>> from hybridflux.emulator.config import parse_emulator_config
    >>> cfg = parse_emulator_config({"data": {"sites": ["sample:fr-pue-daily"],
    ...                                       "observations": ["sample:fr-pue-daily"]}})
    >>> type(process_model_from_config(cfg)).__name__
    'DetailedProcessModel'
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jax
import numpy as np
import yaml

from hybridflux.config import ConfigError
from hybridflux.data import read
from hybridflux.emulator.config import EmulatorConfig, load_emulator_config
from hybridflux.emulator.drivers import (
    CellDrivers,
    concat_years,
    sample_cells,
    select_years,
    site_driver_years,
)
from hybridflux.emulator.efficiency import real_site_years, sample_efficiency
from hybridflux.emulator.era5_drivers import era5_driver_years
from hybridflux.emulator.generate import Variant, generate, read_zarr, write_zarr
from hybridflux.emulator.models import POOL_OFFSET
from hybridflux.emulator.process_model import FLUX_NAMES
from hybridflux.emulator.rundir import process_model_from_config, save_weights
from hybridflux.emulator.speedup import benchmark
from hybridflux.emulator.train import (
    equilibrium_inputs,
    pretrain,
    sequence_columns,
    train_equilibrium,
)
from hybridflux.runs.pipeline import data_files
from hybridflux.runs.rundir import atomic_write_text
from hybridflux.training.checkpoint import Checkpointer

__all__ = ["run_emulator", "run_workflow"]


def _cells(cfg: EmulatorConfig, rng: np.random.Generator) -> CellDrivers:
    sites = concat_years(*(site_driver_years(read(f)) for f in data_files(cfg.data.sites)))
    bank = sites
    if cfg.data.gridded is not None:
        bank = concat_years(sites, era5_driver_years(cfg.data.gridded, sites, rng))
    if cfg.cells.min_mean_ta is not None:
        bank = select_years(bank, bank.values[..., 0].mean(1) >= cfg.cells.min_mean_ta)
    p = cfg.cells.perturb
    return sample_cells(
        bank,
        cfg.cells.train + cfg.cells.test,
        cfg.cells.years,
        rng,
        delta_t=p.delta_t,
        sw_scale=p.sw_scale,
        vpd_scale=p.vpd_scale,
        water_exponent=p.water_exponent,
        min_mean_ta=cfg.cells.min_mean_ta,
    )


def _subset(cells: CellDrivers, part: slice) -> CellDrivers:
    return CellDrivers(cells.values[part], cells.doy, cells.lat[part], cells.label[part])


def _checkpointer(out: Path, name: str, epochs: int) -> Checkpointer:
    return Checkpointer(out / "checkpoints" / name, every=max(1, epochs // 20), keep=1)


def _pretrain(cfg, train_data, out: Path, resume: bool):
    """Windowed emulator on the training runs; validation = the last val_fraction cells."""
    c = cfg.emulator
    cells = np.unique(train_data.cell)
    n_val = int(round(c.val_fraction * cells.size))
    val_mask = np.isin(train_data.cell, cells[cells.size - n_val :]) if n_val else None
    columns = sequence_columns(train_data if val_mask is None else train_data.select(~val_mask))
    val = None if val_mask is None else sequence_columns(train_data.select(val_mask))
    return pretrain(
        columns,
        val,
        hidden=tuple(c.hidden),
        epochs=c.epochs,
        batch_size=c.batch_size,
        lr=c.lr,
        seed=cfg.cells.seed,
        lambda_flux=c.lambda_flux,
        lambda_pool=c.lambda_pool,
        pool_tol=c.pool_tol,
        patience=c.patience,
        checkpointer=_checkpointer(out, "emulator", c.epochs),
        resume=resume,
        flux_names=tuple(train_data.names["flux"]),
    )


def _equilibrium(cfg, train_data, model, out: Path, resume: bool):
    """Equilibrium emulator on (climate, θ, model features) → log spun-up pools."""
    eq = train_data.select(train_data.variant == 0)
    order = np.random.default_rng(cfg.cells.seed).permutation(eq.theta.shape[0])  # cells are
    x = np.asarray(equilibrium_inputs(eq.theta, eq.drivers, eq.lat, model))[order]  # sorted by T
    y = np.log(np.maximum(eq.pools0, 0.0) + POOL_OFFSET)[order]
    n_val = max(1, int(round(0.15 * x.shape[0]))) if x.shape[0] >= 8 else 0
    c = cfg.equilibrium
    val = (x[-n_val:], y[-n_val:]) if n_val else None
    return train_equilibrium(
        x[: x.shape[0] - n_val],
        y[: x.shape[0] - n_val],
        val=val,
        hidden=tuple(c.hidden),
        epochs=c.epochs,
        lr=c.lr,
        seed=cfg.cells.seed,
        patience=c.patience,
        weight_decay=c.weight_decay,
        members=c.members,
        checkpointer=_checkpointer(out, "equilibrium", c.epochs),
        resume=resume,
    )


def _stores(out: Path) -> tuple[Path, Path]:
    return out / "synthetic.zarr", out / "synthetic_test.zarr"


def _draw(cfg: EmulatorConfig, out: Path, resume: bool):
    """``(rng, cells)``: the driver data read (and checked) and the cells drawn, before the run
    folder is written; None when resuming with both synthetic stores already there."""
    if resume and all(s.is_dir() for s in _stores(out)):
        return None
    rng = np.random.default_rng(cfg.cells.seed)
    return rng, _cells(cfg, rng)


def _generate(cfg: EmulatorConfig, model, out: Path, drawn):
    """Training runs, then the held-out runs (timed, already compiled); both stored as zarr.

    With ``drawn`` None (resuming, both stores there) the stores are read back (the held-out
    timing is in the store's attributes) instead of running the process model again.
    """
    stores = _stores(out)
    if drawn is None:
        return read_zarr(stores[0]), read_zarr(stores[1])
    rng, cells = drawn
    theta = model.sample_parameters(rng, cells.values.shape[0])
    n_train, chunk = cfg.cells.train, cfg.cells.chunk_size
    variants = [Variant(v.lo, v.hi, v.delta_t) for v in cfg.cells.variants]
    common = dict(chunk_size=chunk, seed=cfg.cells.seed)
    train = generate(
        model,
        _subset(cells, slice(0, n_train)),
        theta[:n_train],
        variants=variants,
        what="process model (training cells)",
        **common,
    )
    test = generate(
        model,
        _subset(cells, slice(n_train, None)),
        theta[n_train:],
        variants=variants[:1],
        what="process model (held-out cells, timed)",
        warm=True,
        **common,
    )
    write_zarr(train, stores[0])
    write_zarr(test, stores[1])
    return train, test


def _efficiency(cfg: EmulatorConfig, model, emulator, eq_model, out: Path):
    """The sample-efficiency table on the config's observations."""
    real = real_site_years(read(data_files(cfg.data.observations)))
    f = cfg.finetune
    return sample_efficiency(
        emulator,
        eq_model,
        real,
        model.prior_mean(),
        sizes=f.sizes,
        repeats=f.repeats,
        epochs=f.epochs,
        lr=f.lr,
        lambda_drift=f.lambda_drift,
        last_layer_only=f.last_layer_only,
        test_years=f.test_years,
        seed=cfg.cells.seed,
        hidden=tuple(cfg.emulator.hidden),
        model=model,
        runs_csv=out / "sample_efficiency_runs.csv",
    )


def _start(cfg: EmulatorConfig, out: Path, resume: bool) -> None:
    """Write the resolved config; check it on resume, clear resumable state otherwise."""
    dumped = yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
    stored = out / "config.yaml"
    if resume and stored.exists() and stored.read_text() != dumped:
        raise ConfigError(
            str(stored),
            [
                "this folder holds an emulator run of another config; resume it with the same "
                "config and --set values, or start a new run in another --out folder"
            ],
        )
    if not resume:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
        (out / "sample_efficiency_runs.csv").unlink(missing_ok=True)
    (out / "models").mkdir(parents=True, exist_ok=True)
    atomic_write_text(stored, dumped)


def run_workflow(cfg: EmulatorConfig, out: str | Path, model=None, resume: bool = False) -> dict:
    """Run every step for ``model`` (default: the config's detailed model); write ``out``.

    ``resume=True`` continues an interrupted run in ``out`` (module docstring).

    Returns:
        dict with the benchmark (``emulator.json`` content), the sample-efficiency frame,
        step timings and the number of synthetic training cell-days.

    Example: ``run_workflow(load_emulator_config("configs/emulator_tiny.yaml"), "out",
    model=MyAdapter(...))`` runs the harness on another process model (tested at tiny size in
    ``tests/emulator/test_run.py``).
    """
    model = process_model_from_config(cfg) if model is None else model
    if tuple(model.flux_names) != FLUX_NAMES:
        raise ValueError(
            f"the harness needs a process model with flux_names {FLUX_NAMES} (daily sums, "
            f"gC m-2 d-1, NEE = RA + RH - GPP), got {tuple(model.flux_names)}"
        )
    out = Path(out)
    drawn = _draw(cfg, out, resume)  # data errors before anything is written
    _start(cfg, out, resume)
    clock = [time.perf_counter()]
    steps = {}

    def lap(name: str) -> None:
        clock.append(time.perf_counter())
        steps[name] = clock[-1] - clock[-2]

    train_data, test_data = _generate(cfg, model, out, drawn)
    lap("generate_s")
    emulator = _pretrain(cfg, train_data, out, resume).model
    eq_model = _equilibrium(cfg, train_data, model, out, resume).model
    save_weights(emulator, out / "models" / "emulator.npz")
    save_weights(eq_model, out / "models" / "equilibrium.npz")
    lap("train_s")
    bench = benchmark(eq_model, emulator, test_data, model=model, repeats=cfg.speedup.repeats)
    bench["config"] = {
        "spinup_tol_per_century": getattr(model, "spinup_tol", None),
        "chunk_size": cfg.cells.chunk_size,
    }
    atomic_write_text(out / "emulator.json", json.dumps(bench, indent=2))
    frame = _efficiency(cfg, model, emulator, eq_model, out)
    atomic_write_text(out / "sample_efficiency.csv", frame.to_csv(index=False))
    lap("finetune_s")
    steps["total_s"] = clock[-1] - clock[0]
    samples = int(train_data.fluxes.shape[0] * train_data.fluxes.shape[1])
    return {"benchmark": bench, "efficiency": frame, "steps": steps, "samples": samples}


def _summary(result: dict, out: Path) -> str:
    b, frame, steps = result["benchmark"], result["efficiency"], result["steps"]
    lines = [
        f"emulator speed-up {b['speedup']:.0f}x: process model {b['process_model_seconds']:.1f} s "
        f"(spin-up {b['spinup_years']:.0f} yr mean, {b['spinup_years_max']} max) vs emulator "
        f"{b['emulator_seconds'] * 1e3:.1f} ms for {b['cells']} held-out cells x "
        f"{b['years']:.0f} years",
        "r2 vs process model: " + ", ".join(f"{k} {v:.3f}" for k, v in b["r2"].items()),
        f"synthetic training samples (cell-days): {result['samples']}",
        "sample efficiency (NEE RMSE, gC m-2 d-1):",
        frame.to_string(index=False),
        "steps (s): " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items()),
        f"outputs in {out}",
    ]
    return "\n".join(lines)


def run_emulator(
    config_path: str | Path, out: str | Path, overrides=(), resume: bool = False
) -> str:
    """Run the emulator workflow of a config file; write the results to ``out``.

    Args:
        config_path: the YAML config.
        out: output folder (created; files in it are replaced).
        overrides: ``"a.b=value"`` strings (``--set``).
        resume: continue an interrupted run in ``out`` (``--resume``).

    Returns:
        A text summary (speed-up, r² per output, sample-efficiency table, timings).

    Example: ``hybridflux emulator configs/emulator.yaml --out runs/emulator`` calls
    ``run_emulator("configs/emulator.yaml", "runs/emulator")`` (tested with
    ``configs/emulator_tiny.yaml``).
    """
    cfg = load_emulator_config(config_path, overrides)
    result = run_workflow(cfg, out, resume=resume)
    text = _summary(result, Path(out))
    atomic_write_text(Path(out) / "summary.txt", text + "\n")
    jax.clear_caches()
    return text
