"""Load, override, validate and dump the run configuration.

``load_config(path, overrides)`` reads YAML with a safe loader, applies ``a.b=value``
overrides (values parsed as YAML), resolves data paths relative to the config file, and
validates; every problem is reported naming its key.

Example:
    >>> apply_overrides({"train": {"epochs": 5}}, ["train.epochs=2", "data.paths=[a.csv]"])
    {'train': {'epochs': 2}, 'data': {'paths': ['a.csv']}}
"""

from __future__ import annotations

import difflib
import glob
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hybridflux.config.registry import MODELS, SAMPLE_PREFIX
from hybridflux.config.sections import _MODEL_SECTIONS, Config, ConfigError

__all__ = [
    "parse_config",
    "load_config",
    "read_yaml",
    "validate_mapping",
    "pydantic_problem",
    "apply_overrides",
    "dump_config",
    "resolve_paths",
]


def _section_keys(loc: Sequence[Any]) -> list[str] | None:
    """Allowed keys of the section at key path ``loc``, or None if it is not a section."""
    cls: Any = Config
    for key in loc:
        field = cls.model_fields.get(key) if cls is not None else None
        if field is None:
            return None
        candidates = typing.get_args(field.annotation) or (field.annotation,)
        cls = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return sorted(cls.model_fields) if cls is not None else None


def _unknown(key: str, allowed: list[str] | None) -> str:
    if not allowed:
        return f"{key}: unknown key"
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed, n=1)
    hint = f" did you mean {close[0]!r}?" if close else ""
    return f"{key}: unknown key;{hint} allowed: {', '.join(allowed)}"


def pydantic_problem(error: Mapping[str, Any], key: str | None = None) -> str:
    """One line for a pydantic error of a config: unknown, missing or wrong value of ``key``.

    ``key`` defaults to the error's location joined with dots. The loaders of the other
    commands' configs handle their special cases and fall back on this.

    Example:
        >>> pydantic_problem({"loc": ("train", "epochs"), "type": "missing"})
        'train.epochs: missing required key'
    """
    key = key if key is not None else ".".join(str(p) for p in error["loc"]) or "<top level>"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing required key"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message} (got {error.get('input')!r})"


def validate_mapping(
    model: type[BaseModel],
    raw: Any,
    source: str,
    problem: Callable[[Mapping[str, Any]], str] = pydantic_problem,
) -> Any:
    """``model.model_validate(raw)``, every problem reported as one `ConfigError`.

    Raises:
        ConfigError: ``raw`` is not a mapping, or fails validation (one line per problem,
            from ``problem``).
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(source, [f"the config must be a mapping of sections, got {raw!r}"])
    try:
        return model.model_validate(dict(raw))
    except ValidationError as err:
        raise ConfigError(source, [problem(e) for e in err.errors()]) from None


def _problem(error: Mapping[str, Any]) -> str:
    """One line per pydantic error, naming the key path."""
    loc = list(error["loc"])
    if len(loc) >= 2 and loc[0] == "model" and loc[1] in _MODEL_SECTIONS:
        allowed = sorted(_MODEL_SECTIONS[loc.pop(1)].model_fields)
    else:
        allowed = _section_keys(loc[:-1]) if loc else None
    key = ".".join(str(part) for part in loc) or "<top level>"
    if error["type"] == "extra_forbidden":
        return _unknown(key, allowed)
    if error["type"] == "union_tag_invalid":
        got = error["input"].get("type")
        return f"{key}.type: unknown model type {got!r}; known types: {', '.join(MODELS)}"
    if error["type"] == "union_tag_not_found":
        return f"{key}.type: missing required key (one of {', '.join(MODELS)})"
    return pydantic_problem(error, key)


def resolve_paths(paths: Sequence[str], base: str | Path) -> list[str]:
    """Data paths made absolute against ``base`` with globs expanded; samples kept as named.

    Args:
        paths: file paths or glob patterns, or ``sample:NAME`` for a bundled sample.
        base: folder that relative paths are relative to (the config file's folder).

    Returns:
        Absolute file paths (sorted per glob) and ``sample:`` entries, in the given order.

    Raises:
        FileNotFoundError: a path that does not exist or a glob that matches nothing.
        ConfigError: an unknown sample name.

    Example:
        >>> resolve_paths(["sample:fr-pue-daily"], ".")
        ['sample:fr-pue-daily']
    """
    from hybridflux.data.sample import SAMPLES

    out: list[str] = []
    for entry in paths:
        if entry.startswith(SAMPLE_PREFIX):
            if entry[len(SAMPLE_PREFIX) :] not in SAMPLES:
                raise ConfigError("data.paths", [f"{entry}: known samples: {sorted(SAMPLES)}"])
            out.append(entry)
            continue
        path = Path(entry).expanduser()
        path = path if path.is_absolute() else Path(base) / path
        if glob.has_magic(str(path)):
            matches = sorted(glob.glob(str(path)))
            if not matches:
                raise FileNotFoundError(f"data.paths: no file matches {str(path)!r}")
            out.extend(str(Path(m).resolve()) for m in matches)
        elif not path.exists():
            raise FileNotFoundError(f"data.paths: no such file {str(path)!r}")
        else:
            out.append(str(path.resolve()))
    return out


def parse_config(raw: Mapping[str, Any], base: str | Path = ".", source: str = "config") -> Config:
    """Validate a config mapping and resolve its data paths against ``base``.

    Args:
        raw: the mapping (e.g. from ``yaml.safe_load``).
        base: folder that relative ``data.paths`` are relative to.
        source: name of the config in error messages (its file).

    Returns:
        The validated :class:`Config`, ``data.paths`` resolved (:func:`resolve_paths`).

    Raises:
        ConfigError: unknown or missing keys, wrong values (every problem, each naming its key).
        FileNotFoundError: a data path that does not exist.
    """
    cfg = validate_mapping(Config, raw, source, _problem)
    data = cfg.data.model_copy(update={"paths": resolve_paths(cfg.data.paths, base)})
    return cfg.model_copy(update={"data": data})


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of ``raw`` with ``a.b.c=value`` overrides applied (values parsed as YAML).

    Example:
        >>> apply_overrides({"train": {"epochs": 5}}, ["train.epochs=2", "data.paths=[a, b]"])
        {'train': {'epochs': 2}, 'data': {'paths': ['a', 'b']}}
    """
    out = yaml.safe_load(yaml.safe_dump(dict(raw)))  # deep copy of plain YAML data
    for item in overrides:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError("--set", [f"{item!r}: expected KEY=VALUE, e.g. train.epochs=10"])
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError("--set", [f"{key}: the value {text!r} is not YAML ({err})"]) from None
        node = out
        for depth, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError("--set", [f"{key}: {where} is a value, not a section"])
        node[parts[-1]] = value
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file, read with the safe loader (an empty file is ``{}``).

    Raises:
        FileNotFoundError: no such file.
        ConfigError: not valid YAML.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "c.yaml"
        >>> _ = path.write_text("train: {epochs: 3}")
        >>> read_yaml(path)
        {'train': {'epochs': 3}}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {str(path)!r}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(str(path), [f"not valid YAML: {err}"]) from None
    return raw if raw is not None else {}


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> Config:
    """Read a YAML config (safe loader), apply ``--set`` overrides and validate it.

    Args:
        path: the YAML file; relative data paths are relative to its folder.
        overrides: ``"a.b=value"`` strings.

    Returns:
        The validated :class:`Config`.

    Raises:
        FileNotFoundError: no such config file, or a data path that does not exist.
        ConfigError: unparseable YAML, unknown or missing keys, wrong values.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "q10.yaml"
        >>> _ = path.write_text('''
        ... data: {paths: ["sample:fr-pue-daily"], synthetic: {q10: 1.5}}
        ... model: {type: hybrid_q10, hidden: [16, 16]}
        ... targets: {RECO: RECO_syn}
        ... split: {kind: temporal, test_years: [2014], test_sites: null}
        ... train: {epochs: 300, batch_size: 128, seed: 0, patience: 0, checkpoint_every: 50}
        ... ''')
        >>> cfg = load_config(path, ["train.epochs=3"])
        >>> cfg.model.type, cfg.train.epochs
        ('hybrid_q10', 3)
    """
    path = Path(path)
    raw = apply_overrides(read_yaml(path), overrides)
    return parse_config(raw, base=path.resolve().parent, source=str(path))


def dump_config(cfg: Config) -> str:
    """The fully resolved config as YAML (every default written out).

    Example:
        >>> from hybridflux.demo import demo_config
        >>> text = dump_config(demo_config())
        >>> parse_config(yaml.safe_load(text)) == demo_config()
        True
    """
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
