"""The YAML configuration of ``hybridflux emulator``: strict pydantic sections.

Sections (``configs/emulator.yaml`` is the full worked case, ``configs/emulator_tiny.yaml``
the test size):

- ``data``: ``sites`` (daily site files or globs, or ``sample:NAME``: driver years),
  ``gridded`` (ERA5 hourly files glob, or null), ``observations`` (daily files with
  NEE_VUT_REF and optionally GPP/RECO for fine-tuning); relative to the config file.
- ``cells``: ``train``, ``test`` (held-out cells, a multiple of ``chunk_size``), ``years``,
  ``chunk_size``, ``seed``, ``min_mean_ta`` (°C: driver years colder on average are left
  out and cells whose perturbed mean is colder are drawn again, the model has no frozen-soil
  physics; null keeps all), ``perturb`` (delta_t, sw_scale,
  vpd_scale, water_exponent) and ``variants`` (lo, hi, delta_t; the first must be the plain
  run 1, 1, 0).
- ``process``: ``priors`` (parameter → [low, high]), ``spinup_tol`` (per century),
  ``max_years``, ``window_years``.
- ``emulator``: ``hidden``, ``epochs``, ``batch_size``, ``lr``, ``lambda_flux``,
  ``lambda_pool``, ``pool_tol``, ``val_fraction``, ``patience``.
- ``equilibrium``: ``hidden``, ``epochs``, ``lr``, ``patience``, ``weight_decay``,
  ``members`` (ensemble size).
- ``finetune``: ``sizes``, ``repeats``, ``epochs``, ``lr``, ``lambda_drift`` (L2-SP penalty),
  ``last_layer_only`` (freeze the pretrained hidden layers), ``test_years``.
- ``speedup``: ``repeats``.

Example:
    >>> cfg = parse_emulator_config({"data": {"sites": ["sample:fr-pue-daily"],
    ...                                       "observations": ["sample:fr-pue-daily"]}})
    >>> cfg.cells.train, cfg.process.spinup_tol
    (96, 0.01)
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from hybridflux.config import (
    _Strict,
    apply_overrides,
    read_yaml,
    resolve_paths,
    validate_mapping,
)
from hybridflux.constants import DETAILED

__all__ = [
    "EmulatorDataConfig",
    "CellsConfig",
    "ProcessConfig",
    "EmulatorNetConfig",
    "EquilibriumConfig",
    "FinetuneConfig",
    "SpeedupConfig",
    "EmulatorConfig",
    "parse_emulator_config",
    "load_emulator_config",
]

DEFAULT_PRIORS = {
    "eps_max": (0.8, 1.2),
    "r_maint": (0.0015, 0.0025),
    "lignin_n": (15.0, 35.0),
    "root_beta": (0.94, 0.98),
    "v_pom": (0.07, 0.14),
    "k_des": (7e-5, 1.4e-4),
    "silt_clay": (0.2, 0.6),
    "k_mic": (0.01, 0.02),
}


class EmulatorDataConfig(_Strict):
    """Where the drivers and observations come from.

    Example:
        >>> EmulatorDataConfig(sites=["a.csv"], observations=["b.csv"]).gridded is None
        True
    """

    sites: list[str] = Field(
        min_length=1,
        description="Daily site files or globs (or `sample:NAME`) whose driver years "
        "(TA, SW_IN, VPD, precipitation) are recombined into synthetic cells.",
    )
    gridded: str | None = Field(
        None,
        description="Glob of hourly ERA5 netCDF files whose grid-cell years are added to the "
        "driver bank (aggregated to days), or null.",
    )
    observations: list[str] = Field(
        min_length=1,
        description="Daily files with NEE_VUT_REF (and GPP/RECO where present) for "
        "fine-tuning and the sample-efficiency table.",
    )


class PerturbConfig(_Strict):
    """Per-cell driver perturbations of `sample_cells`.

    Example:
        >>> PerturbConfig().delta_t
        3.0
    """

    delta_t: float = Field(3.0, ge=0, description="°C. Cell shift U(-delta_t, delta_t).")
    sw_scale: float = Field(
        0.15, ge=0, lt=1, description="Relative radiation scaling, U(1 - s, 1 + s) per cell."
    )
    vpd_scale: float = Field(
        0.2, ge=0, lt=1, description="Relative VPD scaling, U(1 - s, 1 + s) per cell."
    )
    water_exponent: float = Field(
        0.25, ge=0, description="Soil water W raised to exp(U(-e, e)) per cell."
    )


class VariantConfig(_Strict):
    """A run of a spun-up cell: pool factors U(lo, hi), warming delta_t (°C).

    Example:
        >>> VariantConfig().lo
        1.0
    """

    lo: float = Field(1.0, gt=0, description="Lowest factor on the spun-up pools.")
    hi: float = Field(1.0, gt=0, description="Highest factor on the spun-up pools.")
    delta_t: float = Field(0.0, description="°C added to the cell's temperature for this run.")


class CellsConfig(_Strict):
    """Synthetic cells: how many, how long, how perturbed.

    Example:
        >>> CellsConfig().chunk_size
        32
    """

    train: int = Field(96, ge=2, description="Spun-up training cells.")
    test: int = Field(32, ge=1, description="Held-out cells (r², and the timed process-model run).")
    years: int = Field(10, ge=1, description="Driver years per cell (simulated after spin-up).")
    chunk_size: int = Field(32, ge=1, description="Cells per compiled jit(vmap) process call.")
    min_mean_ta: float | None = Field(
        3.0,
        description="°C. Driver years with a colder mean are left out, and cells whose "
        "perturbed mean is colder are drawn again (no frozen-soil physics); null keeps all.",
    )
    seed: int = Field(0, description="Seed of cells, parameters, variants and training.")
    perturb: PerturbConfig = Field(PerturbConfig(), description="Driver perturbations per cell.")
    variants: list[VariantConfig] = Field(
        default_factory=lambda: [
            VariantConfig(),
            VariantConfig(lo=0.7, hi=1.3),
            VariantConfig(lo=0.85, hi=1.15, delta_t=2.0),
        ],
        min_length=1,
        description="Runs per training cell: pool factors U(lo, hi) and warming; the first "
        "is the plain run {lo: 1, hi: 1, delta_t: 0}.",
    )

    @model_validator(mode="after")
    def _check(self) -> CellsConfig:
        if self.test % self.chunk_size:
            raise ValueError(
                f"test ({self.test}) must be a multiple of chunk_size "
                f"({self.chunk_size}): the timed chunks hold no padding"
            )
        v = self.variants[0]
        if (v.lo, v.hi, v.delta_t) != (1.0, 1.0, 0.0):
            raise ValueError("the first variant must be the plain run {lo: 1, hi: 1, delta_t: 0}")
        return self


class ProcessConfig(_Strict):
    """Priors of the sampled parameters and the spin-up criterion.

    Example:
        >>> ProcessConfig().max_years
        2000
    """

    priors: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORS),
        description="Parameter -> [low, high] of a uniform prior (names: DetailedProcessModel).",
    )
    spinup_tol: float = Field(
        DETAILED.spinup_tol,
        gt=0,
        description="Spin-up converged when every pool kind changes less than this "
        "(relative) per century.",
    )
    max_years: int = Field(2000, ge=1, description="Most spin-up years per cell.")
    window_years: float = Field(
        10.0, gt=0, description="Least simulated years between spin-up convergence checks."
    )


class EmulatorNetConfig(_Strict):
    """Windowed emulator and its pretraining.

    Example:
        >>> EmulatorNetConfig().batch_size
        8
    """

    hidden: list[int] = Field(
        default_factory=lambda: [64, 64], description="Hidden widths of the windowed MLP."
    )
    epochs: int = Field(30, ge=1, description="Pretraining epochs.")
    batch_size: int = Field(8, ge=1, description="Synthetic runs (cell-variants) per step.")
    lr: float = Field(3e-3, gt=0, description="Peak learning rate (AdamW, cosine decay).")
    lambda_flux: float = Field(
        0.1, ge=0, description="Weight of the flux-balance hinge (1 % tolerance of Ra + Rh)."
    )
    lambda_pool: float = Field(1e-3, ge=0, description="Weight of the daily pool-balance hinge.")
    pool_tol: float = Field(1.0, ge=0, description="gC m-2. Tolerance of the pool balance.")
    val_fraction: float = Field(
        0.1, ge=0, lt=1, description="Fraction of training cells held out for validation."
    )
    patience: int = Field(0, ge=0, description="Early-stopping patience in epochs (0: off).")


class EquilibriumConfig(_Strict):
    """Equilibrium emulator training (full batch).

    Example:
        >>> EquilibriumConfig().members
        5
    """

    hidden: list[int] = Field(
        default_factory=lambda: [64, 64], description="Hidden widths of each member's MLP."
    )
    epochs: int = Field(3000, ge=1, description="Full-batch epochs.")
    lr: float = Field(3e-3, gt=0, description="Peak learning rate (AdamW, cosine decay).")
    patience: int = Field(
        300, ge=0, description="Early-stopping patience on 15 % held-out cells (0: off)."
    )
    weight_decay: float = Field(1e-3, ge=0, description="AdamW weight decay.")
    members: int = Field(5, ge=1, description="Ensemble members (their mean is used).")


class FinetuneConfig(_Strict):
    """Fine-tuning on observations and the sample-efficiency experiment.

    Example:
        >>> FinetuneConfig().repeats
        2
    """

    sizes: list[int] = Field(
        default_factory=lambda: [1, 2, 4, 8, 16, 32],
        min_length=1,
        description="Numbers of real training site-years of the sample-efficiency table.",
    )
    repeats: int = Field(2, ge=1, description="Random draws of site-years per size.")
    epochs: int = Field(300, ge=1, description="Fine-tuning (and from-scratch) epochs.")
    lr: float = Field(1e-3, gt=0, description="Fine-tuning learning rate.")
    lambda_drift: float = Field(
        0.0, ge=0, description="L2-SP penalty on the distance to the pretrained weights."
    )
    last_layer_only: bool = Field(
        True, description="Freeze the pretrained hidden layers (the learned response curves)."
    )
    test_years: int = Field(
        3, ge=1, description="Last site-years of every observed site kept as the test set."
    )


class SpeedupConfig(_Strict):
    """Emulator timing repeats.

    Example:
        >>> SpeedupConfig().repeats
        5
    """

    repeats: int = Field(5, ge=1, description="Timed emulator calls (the median is reported).")


class EmulatorConfig(_Strict):
    """A complete ``hybridflux emulator`` configuration.

    Example:
        >>> EmulatorConfig(data={"sites": ["a"], "observations": ["b"]}).cells.years
        10
    """

    data: EmulatorDataConfig
    cells: CellsConfig = CellsConfig()
    process: ProcessConfig = ProcessConfig()
    emulator: EmulatorNetConfig = EmulatorNetConfig()
    equilibrium: EquilibriumConfig = EquilibriumConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    speedup: SpeedupConfig = SpeedupConfig()


def parse_emulator_config(
    raw: Mapping[str, Any], base: str | Path = ".", source: str = "config"
) -> EmulatorConfig:
    """Validate an emulator config; data paths resolved against ``base`` (globs expanded).

    Raises:
        ConfigError: unknown or missing keys, wrong values (every problem, by key).
        FileNotFoundError: a data path or glob that matches nothing.

    Example: see the module docstring.
    """
    cfg = validate_mapping(EmulatorConfig, raw, source)
    data = cfg.data
    update: dict[str, Any] = {
        "sites": resolve_paths(data.sites, base),
        "observations": resolve_paths(data.observations, base),
    }
    if data.gridded is not None:
        pattern = Path(data.gridded).expanduser()
        pattern = pattern if pattern.is_absolute() else Path(base) / pattern
        if not glob.glob(str(pattern)):
            raise FileNotFoundError(f"data.gridded: no file matches {str(pattern)!r}")
        update["gridded"] = str(pattern)
    return cfg.model_copy(update={"data": data.model_copy(update=update)})


def load_emulator_config(path: str | Path, overrides: Sequence[str] = ()) -> EmulatorConfig:
    """Read a YAML emulator config (safe loader), apply ``a.b=value`` overrides, validate.

    Raises:
        FileNotFoundError: no such config file or data path.
        ConfigError: unparseable YAML, unknown or missing keys, wrong values.

    Example: ``load_emulator_config("configs/emulator.yaml", ["cells.train=32"])``.
    """
    path = Path(path)
    raw = apply_overrides(read_yaml(path), overrides)
    return parse_emulator_config(raw, base=path.resolve().parent, source=str(path))
