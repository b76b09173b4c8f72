"""The demo: partition the daily NEE of the bundled FR-Pue sample with a hybrid model.

``hybridflux demo`` (``make demo``) trains ``lue_q10_nee`` — LUE GPP and Q10 RECO whose
parameters ε and R_b are small networks of the met drivers, ``NEE = RECO − GPP`` — on daily
``NEE_VUT_REF`` of FR-Pue (good-quality days), holds out the last two years of the period,
and prints NEE, GPP and RECO skill on them (GPP and RECO against the FLUXNET night-time
partition, which the model never sees) and the learned Q10. The run directory holds the
resolved config, metrics, checkpoints, predictions and figures.

The config is :func:`demo_config`; ``configs/demo.yaml`` is the same config as a file (a test
keeps them equal). ``HYBRIDFLUX_TINY=1`` (or ``tiny=True``) trains three epochs, for tests.

Example:
    >>> cfg = demo_config()
    >>> cfg.model.type, cfg.targets, cfg.split.test_years
    ('lue_q10_nee', {'NEE': 'NEE_VUT_REF'}, [2011, 2012])
"""

from __future__ import annotations

import os
import time
from typing import Any

from hybridflux.config import Config, apply_overrides, parse_config
from hybridflux.runs.metrics import format_metrics
from hybridflux.runs.rundir import RunDir, RunDirError, config_changes
from hybridflux.runs.train import RunResult, train_from_config
from hybridflux.training.progress import Progress

__all__ = ["DEMO_CONFIG", "TINY_OVERRIDES", "demo_config", "run_demo", "format_demo"]

#: The demo's config (``configs/demo.yaml`` explains each choice).
DEMO_CONFIG: dict[str, Any] = {
    "data": {
        "paths": ["sample:fr-pue-daily"],
        "period": ["2000-01-01", "2012-12-31"],
        "qc_threshold": 0.5,
        "features": ["SW_POT_sm", "SW_POT_sm_diff", "P_ANT_30"],
    },
    "model": {
        "type": "lue_q10_nee",
        "gpp_covariates": ["TA_F", "VPD_F", "P_ANT_30", "SW_IN_F"],
        "rb_covariates": ["SW_POT_sm", "SW_POT_sm_diff", "P_ANT_30", "VPD_F"],
        "fapar": "FPAR",
        "hidden": [16, 16],
    },
    "targets": {"NEE": "NEE_VUT_REF"},
    "evaluate": {"references": {"GPP": "GPP_NT_VUT_REF", "RECO": "RECO_NT_VUT_REF"}},
    "split": {
        "kind": "temporal",
        "test_years": [2011, 2012],
        "test_sites": None,
        "val_fraction": 0.1,
        "seed": 0,
    },
    "train": {
        "epochs": 300,
        "batch_size": 128,
        "lr": 0.005,
        "seed": 0,
        "patience": 20,
        "checkpoint_every": 50,
    },
}

#: Overrides of a tiny demo (tests): a few epochs.
TINY_OVERRIDES: tuple[str, ...] = ("train.epochs=3", "train.checkpoint_every=1")


def demo_config(overrides: tuple[str, ...] | list[str] = ()) -> Config:
    """The demo's validated config, with optional ``a.b=value`` overrides.

    Example:
        >>> demo_config(["train.epochs=3"]).train.epochs
        3
    """
    return parse_config(apply_overrides(DEMO_CONFIG, overrides), source="demo config")


def format_demo(result: RunResult, seconds: float) -> str:
    """The demo's summary: skill on the held-out years, learned Q10, where the run is.

    Args:
        result: the finished run.
        seconds: wall time of the demo.
    """
    cfg, metrics = result.config, result.metrics
    years = ", ".join(str(y) for y in cfg.split.test_years or [])
    site = ", ".join(metrics.get("sites", {})) or "?"
    lines = [
        f"hybridflux demo: {cfg.model.type} trained on daily {cfg.targets['NEE']} of {site}",
        f"held-out years {years}; GPP and RECO against the FLUXNET night-time partition",
        "",
        format_metrics(metrics, ("test",)),
        "",
        f"training: {metrics['training']['epochs_run']} epochs "
        f"(best {metrics['training']['best_epoch']}), {seconds:.1f} s in total",
        f"run directory: {result.run_dir} (config.yaml, metrics.json, checkpoints/, "
        "predictions.nc, figures/)",
    ]
    return "\n".join(lines)


def _clear_previous_demo(run: RunDir, cfg: Config) -> None:
    """Remove the checkpoints of an earlier demo run in ``run``; refuse any other run."""
    if run.latest_epoch() is None:
        return
    old = run.read_config() if run.config_path.is_file() else None
    same = ("data.paths", "model.type", "targets.NEE")
    if old is None or set(config_changes(old, cfg)) & set(same):
        raise RunDirError(f"{run.path} holds a training run that is not a demo; use another --out")
    for stale in run.checkpoints_dir.glob("*.npz"):
        stale.unlink()


def run_demo(
    out: str | os.PathLike = "runs/demo",
    *,
    tiny: bool | None = None,
    progress: Progress | None = None,
) -> str:
    """Train the demo model into ``out`` and return the summary text.

    An earlier demo run in ``out`` is replaced; a folder holding another run is refused.

    Args:
        out: run directory.
        tiny: train a few epochs only; default from the environment ``HYBRIDFLUX_TINY=1``.
        progress: progress reporter of the epochs.

    Returns:
        The text printed by ``hybridflux demo`` (see :func:`format_demo`).

    Raises:
        RunDirError: ``out`` holds a training run that is not a demo run.
    """
    t0 = time.perf_counter()
    tiny = os.environ.get("HYBRIDFLUX_TINY", "") == "1" if tiny is None else tiny
    cfg = demo_config(TINY_OVERRIDES if tiny else ())
    _clear_previous_demo(RunDir(out), cfg)
    result = train_from_config(cfg, out, progress=progress)
    return format_demo(result, time.perf_counter() - t0)
