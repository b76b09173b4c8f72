"""The YAML configuration of a run: pydantic models, strict (an unknown key is an error).

Sections (``configs/*.yaml`` are complete examples):

- ``data``: ``paths`` (files or glob patterns, relative to the config file's folder, or a
  bundled sample as ``sample:NAME``, e.g. ``sample:fr-pue-daily``), ``time_step``,
  ``period`` (``[first day, last day]`` of the records used),
  ``qc_threshold``, ``qc_drivers`` (also QC-filter the model inputs, default only targets and
  references), ``features`` (derived features, :func:`hybridflux.data.add_features`),
  ``synthetic`` (a generator of synthetic targets on the real drivers).
- ``model``: ``type`` — a key of :data:`MODELS` — plus that factory's keyword arguments
  (e.g. ``covariates``, ``hidden``, ``q10_bounds``, ``q10_init``); the keys a type accepts
  are the parameters of its factory in :mod:`hybridflux.hybrid.models`.
- ``targets``: model output → dataset column it is trained on, e.g. ``{NEE: NEE_VUT_REF}``.
- ``constraints``: ``flux_balance: {weight, tol, power}``.
- ``split``: ``kind`` (none|temporal|spatial|temperature), ``test_years``, ``test_sites``,
  ``val_fraction``, ``seed``, ``test_fraction``, ``by``, ``test_count``, ``variable``.
- ``train``: ``epochs``, ``batch_size``, ``seed``, ``patience``, ``checkpoint_every``,
  ``lr``, ``lr_schedule``, ``clip_norm``, ``loss``, ``trainable`` (joint|networks|physics),
  ``ensemble``, ``devices`` (data-parallel over that many devices; default all).
- ``evaluate``: ``references`` — model output → column it is compared with, not trained on
  (e.g. ``{GPP: GPP_NT_VUT_REF}``).
- ``output``: ``figures``, ``keep_checkpoints``.

Any key can be overridden with ``a.b=value`` (the value is parsed as YAML, so lists work).

Example:
    >>> cfg = parse_config({
    ...     "data": {"paths": ["sample:fr-pue-daily"]},
    ...     "model": {"type": "hybrid_q10", "hidden": [8]},
    ...     "targets": {"RECO": "RECO_syn"},
    ...     "split": {"kind": "temporal", "test_years": [2014], "test_sites": None},
    ...     "train": {"epochs": 2, "batch_size": 64, "seed": 0, "patience": 0,
    ...               "checkpoint_every": 1}})
    >>> cfg.model.type, cfg.model.hidden, cfg.train.lr
    ('hybrid_q10', [8], 0.001)
    >>> try:
    ...     parse_config({**cfg.model_dump(), "train": {**cfg.train.model_dump(), "epochz": 1}})
    ... except ConfigError as err:
    ...     print(str(err).splitlines()[1][:51])
      train.epochz: unknown key; did you mean 'epochs'?
"""

from hybridflux.config.loading import apply_overrides as apply_overrides
from hybridflux.config.loading import dump_config as dump_config
from hybridflux.config.loading import load_config as load_config
from hybridflux.config.loading import parse_config as parse_config
from hybridflux.config.loading import pydantic_problem as pydantic_problem
from hybridflux.config.loading import read_yaml as read_yaml
from hybridflux.config.loading import resolve_paths as resolve_paths
from hybridflux.config.loading import validate_mapping as validate_mapping
from hybridflux.config.registry import ACTIVATIONS as ACTIVATIONS
from hybridflux.config.registry import LOSSES as LOSSES
from hybridflux.config.registry import MODELS as MODELS
from hybridflux.config.registry import SAMPLE_PREFIX as SAMPLE_PREFIX
from hybridflux.config.registry import SYNTHETIC as SYNTHETIC
from hybridflux.config.registry import TRAINABLE as TRAINABLE
from hybridflux.config.sections import Config as Config
from hybridflux.config.sections import ConfigError as ConfigError
from hybridflux.config.sections import ConstraintsConfig as ConstraintsConfig
from hybridflux.config.sections import DataConfig as DataConfig
from hybridflux.config.sections import EvaluateConfig as EvaluateConfig
from hybridflux.config.sections import FluxBalanceConfig as FluxBalanceConfig
from hybridflux.config.sections import OutputConfig as OutputConfig
from hybridflux.config.sections import SplitConfig as SplitConfig
from hybridflux.config.sections import SyntheticConfig as SyntheticConfig
from hybridflux.config.sections import TrainConfig as TrainConfig
from hybridflux.config.sections import _Strict as _Strict  # base for other config layers

__all__ = [
    "MODELS",
    "ACTIVATIONS",
    "LOSSES",
    "TRAINABLE",
    "SYNTHETIC",
    "SAMPLE_PREFIX",
    "ConfigError",
    "Config",
    "DataConfig",
    "SyntheticConfig",
    "SplitConfig",
    "TrainConfig",
    "FluxBalanceConfig",
    "ConstraintsConfig",
    "EvaluateConfig",
    "OutputConfig",
    "parse_config",
    "load_config",
    "apply_overrides",
    "read_yaml",
    "validate_mapping",
    "pydantic_problem",
    "dump_config",
    "resolve_paths",
]
