"""The YAML configuration of ``hybridflux benchmark``: pydantic models, strict (unknown keys fail).

Sections (``configs/benchmark_monthly.yaml`` is a complete example):

- ``data``: as for training (:class:`hybridflux.config.DataConfig`): ``paths`` (files or globs
  relative to the config file, or ``sample:NAME``), ``time_step``, ``period``,
  ``qc_threshold``, ``qc_drivers``, ``features``.
- ``targets``: target name → dataset column, e.g. ``{GPP: GPP_NT_VUT_REF}``; hybrid models
  predict the targets named like their outputs.
- ``inputs``: the input names every model gets; ``categorical``: input name → per-site
  coordinate, one-hot encoded (e.g. ``{PFT: igbp}``).
- ``joint_targets``: score and train a target only where every target is finite.
- ``scenarios``: name → a split (:class:`ScenarioConfig`: ``kind`` and its options, as the
  ``split`` section of a run config, plus ``val_by``; ``seed`` defaults to the top-level one).
- ``models``: name → ``{type, <options>}``; ``type`` is a key of
  :data:`hybridflux.config.registry.BENCHMARK_MODELS`, the options are the keyword arguments of
  its class (:mod:`hybridflux.benchmark.baselines`, :mod:`hybridflux.benchmark.models`).
- ``reference``: the model the skill scores are relative to (default ``linear``).
- ``train``: training defaults of every model trained by gradient descent (an entry's own
  ``train`` wins); ``scales`` (default all that apply), ``min_years``, ``seed``, ``output``.

Example:
    >>> cfg = parse_benchmark_config({
    ...     "data": {"paths": ["sample:monthly"]}, "targets": {"GPP": "GPP_NT_VUT_REF"},
    ...     "inputs": ["TA_F", "SW_IN_F"], "scenarios": {"spatial": {"kind": "spatial"}},
    ...     "models": {"linear": {"type": "linear"}, "mlp": {"type": "mlp", "hidden": [8]}}})
    >>> cfg.models["mlp"].hidden, cfg.scenarios["spatial"].val_fraction
    ((8,), 0.1)
    >>> from hybridflux.config import ConfigError
    >>> try:
    ...     parse_benchmark_config({**cfg.model_dump(), "modelz": {}})
    ... except ConfigError as err:
    ...     print(err.problems[0])
    modelz: unknown key
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, create_model, model_validator

from hybridflux.benchmark.models import FitOptions, model_class
from hybridflux.benchmark.scales import SCALES
from hybridflux.benchmark.scenarios import VAL_BY
from hybridflux.config import (
    MODELS,
    DataConfig,
    SplitConfig,
    _Strict,
    apply_overrides,
    pydantic_problem,
    read_yaml,
    resolve_paths,
    validate_mapping,
)
from hybridflux.config.registry import BENCHMARK_MODELS

__all__ = [
    "ScenarioConfig",
    "BenchmarkOutputConfig",
    "BenchmarkConfig",
    "ENTRY_SECTIONS",
    "parse_benchmark_config",
    "load_benchmark_config",
    "dump_benchmark_config",
]


class ScenarioConfig(SplitConfig):
    """One extrapolation scenario (:func:`hybridflux.benchmark.scenarios.make_scenario`).

    The keys of a run config's ``split`` section (``kind``, ``test_fraction``, ``by``, ...;
    ``test_years`` and ``test_sites`` may be left out), ``val_fraction`` (default 0.1),
    ``seed`` (default the benchmark's) and ``val_by`` (``split`` | ``random``).

    Example:
        >>> ScenarioConfig(kind="spatial", by="igbp", val_by="random").options()["by"]
        'igbp'
    """

    test_years: list[int] | None = None
    test_sites: list[str] | None = None
    val_fraction: float = Field(0.1, ge=0, lt=1)
    seed: int | None = None
    val_by: Literal[VAL_BY] = Field(
        "split",
        description="Spatial only: validation sites chosen as the split chooses test sites "
        "(whole groups with `by: igbp` or `climate`) with `split`, at random among the training "
        "sites with `random`.",
    )

    @model_validator(mode="after")
    def _val_by_spatial(self) -> ScenarioConfig:
        if self.val_by != "split" and self.kind != "spatial":
            raise ValueError(f"val_by={self.val_by!r} applies to spatial scenarios only")
        return self


class BenchmarkOutputConfig(_Strict):
    """What a benchmark writes besides ``results.csv`` and ``summary.md`` (``output``).

    Example:
        >>> BenchmarkOutputConfig().figures
        True
    """

    figures: bool = Field(
        True,
        description="Write `figures/`: `skill_heatmap.png`, `site_rmse_<target>.png` and "
        "`site_map_<target>.png`.",
    )


class _EntryBase(_Strict):
    """Shared behaviour of the generated model entries."""

    type: str


def _entry_section(name: str, cls: type) -> type[_EntryBase]:
    """A pydantic model of ``cls``'s keyword arguments (``context`` is the benchmark's)."""
    hints = typing.get_type_hints(cls.__init__, include_extras=True)
    fields = {
        key: (hints[key], ... if p.default is inspect.Parameter.empty else p.default)
        for key, p in inspect.signature(cls.__init__).parameters.items()
        if key not in ("self", "context")
    }
    doc = f"A model entry of type ``{name}``: keyword arguments of ``{cls.__name__}``."
    return create_model(name, __base__=_EntryBase, __doc__=doc, type=(Literal[name], ...), **fields)


#: Model type → the pydantic model of its entry (generated from the class signatures).
ENTRY_SECTIONS: dict[str, type[_EntryBase]] = {
    name: _entry_section(name, model_class(name)) for name in BENCHMARK_MODELS
}
_Entry = Annotated[
    typing.Union[tuple(ENTRY_SECTIONS.values())],  # noqa: UP007 - built from the registry
    Field(discriminator="type"),
]


class BenchmarkConfig(_Strict):
    """A complete benchmark configuration (see the module docstring for the sections).

    Example:
        >>> cfg = load_benchmark_config("configs/benchmark_monthly.yaml",
        ...                             ["data.paths=[sample:monthly]"])
        >>> list(cfg.scenarios)[:2], cfg.models["gbt"].type
        (['temporal', 'spatial_random'], 'gradient_boosting')
    """

    data: DataConfig
    targets: dict[str, str] = Field(min_length=1)
    inputs: list[str] = Field(min_length=1)
    categorical: dict[str, str] = {}
    joint_targets: bool = True
    scenarios: dict[str, ScenarioConfig] = Field(min_length=1)
    models: dict[str, _Entry] = Field(min_length=1)
    reference: str = "linear"
    train: FitOptions = FitOptions()
    scales: list[Literal[SCALES]] | None = None
    min_years: int = Field(
        2,
        ge=1,
        description="Calendar years with data a site needs to be scored at the `anomalies` and "
        "`interannual` scales (other sites: NaN there).",
    )
    seed: int = Field(
        0,
        description="Seed of every model's initialisation and training, and of the scenarios "
        "without their own `seed`.",
    )
    output: BenchmarkOutputConfig = BenchmarkOutputConfig()

    @model_validator(mode="after")
    def _names(self) -> BenchmarkConfig:
        problems = []
        if self.reference not in self.models:
            problems.append(f"reference: {self.reference!r} is not a model ({list(self.models)})")
        problems += [
            f"categorical.{k}: not in inputs" for k in self.categorical if k not in self.inputs
        ]
        for what, names in (("scenarios", self.scenarios), ("models", self.models)):
            problems += [f"{what}.{n}: the name 'all' is reserved" for n in names if n == "all"]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def scenario_options(self, name: str) -> dict[str, Any]:
        """Keyword arguments of :func:`~hybridflux.benchmark.scenarios.make_scenario`.

        Example:
            >>> cfg = ScenarioConfig(kind="temporal", test_fraction=0.3)
            >>> bench = BenchmarkConfig.model_construct(scenarios={"t": cfg}, seed=4)
            >>> bench.scenario_options("t")["seed"], bench.scenario_options("t")["test_fraction"]
            (4, 0.3)
        """
        scen = self.scenarios[name]
        options = scen.options()
        options["seed"] = self.seed if scen.seed is None else scen.seed
        return {"kind": scen.kind, **options, "val_by": scen.val_by}


def _key(loc: Sequence[Any]) -> str:
    """Dotted key path of a pydantic error, without the union tags."""
    parts, prev = [], None
    for i, part in enumerate(loc):
        is_tag = (i == 2 and loc[0] == "models" and part in ENTRY_SECTIONS) or (
            prev == "model" and part in MODELS
        )
        if not is_tag:
            parts.append(str(part))
        prev = part
    return ".".join(parts) or "<top level>"


def _problem(error: Mapping[str, Any]) -> str:
    key = _key(error["loc"])
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        known = ENTRY_SECTIONS if error["loc"][0] == "models" else MODELS
        got = error["input"].get("type") if isinstance(error["input"], Mapping) else None
        return f"{key}.type: unknown or missing model type {got!r}; known: {', '.join(known)}"
    return pydantic_problem(error, key)


def parse_benchmark_config(
    raw: Mapping[str, Any], base: str | Path = ".", source: str = "config"
) -> BenchmarkConfig:
    """Validate a benchmark config mapping and resolve its data paths against ``base``.

    Raises:
        ConfigError: unknown or missing keys, wrong values (every problem, naming its key).
        FileNotFoundError: a data path that does not exist.

    Example:
        >>> from hybridflux.config import ConfigError
        >>> try:
        ...     parse_benchmark_config({"data": {"paths": ["sample:monthly"]}})
        ... except ConfigError as err:
        ...     print(err.problems[0])
        targets: missing required key
    """
    cfg = validate_mapping(BenchmarkConfig, raw, source, _problem)
    data = cfg.data.model_copy(update={"paths": resolve_paths(cfg.data.paths, base)})
    return cfg.model_copy(update={"data": data})


def load_benchmark_config(path: str | Path, overrides: Sequence[str] = ()) -> BenchmarkConfig:
    """Read a benchmark YAML config (safe loader), apply ``a.b=value`` overrides, validate.

    Args:
        path: the YAML file; relative data paths are relative to its folder.
        overrides: ``"a.b=value"`` strings (values parsed as YAML).

    Raises:
        FileNotFoundError: no such config file, or a data path that does not exist.
        ConfigError: unparseable YAML, unknown or missing keys, wrong values.

    Example:
        >>> cfg = load_benchmark_config("configs/benchmark_monthly.yaml",
        ...                             ["data.paths=[sample:monthly]"])
        >>> cfg.reference, list(cfg.targets)
        ('linear', ['GPP', 'RECO', 'NEE'])
    """
    path = Path(path)
    raw = read_yaml(path)
    raw = _in_order(apply_overrides(raw, overrides), raw)
    return parse_benchmark_config(raw, base=path.resolve().parent, source=str(path))


def _in_order(new: Any, old: Any) -> Any:
    """``new`` with the keys of its mappings in the order of ``old`` (added keys last).

    ``apply_overrides`` returns the keys sorted; the order of scenarios, models and targets is
    the order of the tables, so it is restored.

    Example:
        >>> _in_order({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"d": 0, "c": 0}, "a": 0})
        {'b': {'d': 3, 'c': 2}, 'a': 1}
    """
    if not isinstance(new, Mapping):
        return new
    old = old if isinstance(old, Mapping) else {}
    keys = [k for k in old if k in new] + [k for k in new if k not in old]
    return {k: _in_order(new[k], old.get(k)) for k in keys}


def dump_benchmark_config(cfg: BenchmarkConfig) -> str:
    """The resolved config as YAML (every default written out).

    Example:
        >>> cfg = load_benchmark_config("configs/benchmark_monthly.yaml",
        ...                             ["data.paths=[sample:monthly]"])
        >>> parse_benchmark_config(yaml.safe_load(dump_benchmark_config(cfg))) == cfg
        True
    """
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
