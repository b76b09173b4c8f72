"""Reference pages of the command-line front end, generated from the code that defines it.

- :func:`config_reference`: every key of every YAML config (``train``, ``calibrate``,
  ``benchmark``, ``emulator``) as Markdown tables — key path, type, default, constraints,
  description — walked from the pydantic models. A key's description is its ``Field``
  description; else, for a section generated from a factory's signature (``model``, the
  benchmark's ``models``), the factory's docstring ``Args``; else the key's note in the section
  list of the config module's docstring.
- with ``--cli``: every subcommand's arguments, from :func:`hybridflux.cli.build_parser`
  (:mod:`hybridflux.config.reference_cli`).

Docstrings and defaults become Markdown in :mod:`hybridflux.config.reference_text`.

``docs/config-reference.md`` and ``docs/cli-reference.md`` are their output, kept up to date by
``tests/test_config_reference.py``; regenerate them with::

    .venv/bin/python -m hybridflux.config.reference > docs/config-reference.md
    .venv/bin/python -m hybridflux.config.reference --cli > docs/cli-reference.md

Example:
    >>> from hybridflux.config import Config
    >>> rows = section_rows(Config, "")
    >>> rows[0][:3]
    ('data', 'section', 'required')
    >>> "| `train.lr` | float | `0.001` | > 0 |" in config_reference()
    True
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import types
import typing
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hybridflux.config.reference_cli import _cell, cli_reference
from hybridflux.config.reference_text import _DOC_SECTIONS as _DOC_SECTIONS
from hybridflux.config.reference_text import (
    _arg_docs,
    _key_note,
    _markdown,
    _overview_notes,
    _prose,
    _summary,
    _value,
)

__all__ = [
    "REGENERATE",
    "Family",
    "families",
    "type_name",
    "section_rows",
    "config_reference",
    "main",
]

#: The command that rewrites ``docs/config-reference.md``.
REGENERATE = ".venv/bin/python -m hybridflux.config.reference > docs/config-reference.md"
_BOUNDS = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))


@dataclass(frozen=True)
class Family:
    """One kind of YAML config: the command that reads it, its model, loader and examples.

    Attributes:
        title: heading of its part of the page.
        command: the command line that reads it.
        root: the pydantic model of the whole file.
        load: the loader of the command (``load(path, overrides)``: validated, paths resolved).
        overview: module whose docstring lists the sections as ``- ``name``: notes``.
        examples: the shipped configs of this kind (file names in ``configs/``; every file
            there is listed under one kind, see ``tests/test_shipped_configs.py``).
        sources: generated section model → the callable whose ``Args`` document its keys.
    """

    title: str
    command: str
    root: type[BaseModel]
    load: Callable[..., BaseModel]
    overview: str
    examples: tuple[str, ...]
    sources: Mapping[type, Callable[..., Any]] = field(default_factory=dict)


def families() -> list[Family]:
    """The config kinds of the ``hybridflux`` command, in the order of the page."""
    from hybridflux.benchmark import config as bench
    from hybridflux.benchmark.models import model_class
    from hybridflux.calibrate import config as calib
    from hybridflux.calibrate.models import LUEQ10NEE, Q10Respiration
    from hybridflux.config import MODELS, Config, load_config
    from hybridflux.config.sections import _MODEL_SECTIONS
    from hybridflux.emulator import config as emul

    run_examples = ("demo.yaml", "q10_synthetic.yaml", "nee_partition_daily.yaml",
                    "monthly_multisite.yaml", "upscale_daily.yaml")  # fmt: skip
    return [
        Family("Run config", "hybridflux train CONFIG", Config, load_config, "hybridflux.config",
               run_examples, {_MODEL_SECTIONS[n]: f for n, f in MODELS.items()}),
        Family("Calibration config", "hybridflux calibrate CONFIG", calib.CalibrateConfig,
               calib.load_calibrate_config, calib.__name__, ("calibrate_q10.yaml",),
               {calib.Q10ModelConfig: Q10Respiration, calib.LUEModelConfig: LUEQ10NEE}),
        Family("Benchmark config", "hybridflux benchmark CONFIG", bench.BenchmarkConfig,
               bench.load_benchmark_config, bench.__name__, ("benchmark_monthly.yaml",),
               {cls: model_class(n) for n, cls in bench.ENTRY_SECTIONS.items()}),
        Family("Emulator config", "hybridflux emulator CONFIG", emul.EmulatorConfig,
               emul.load_emulator_config, emul.__name__, ("emulator.yaml", "emulator_tiny.yaml")),
    ]  # fmt: skip


# --- types, defaults, constraints ---------------------------------------------------------


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    return typing.get_args(tp) if origin in (typing.Union, types.UnionType) else None


def type_name(tp: Any) -> str:
    """A type annotation in words (``list of int``, ```a` / `b` or null``).

    Example:
        >>> type_name(Literal["a", "b"] | None), type_name(dict[str, tuple[float, float]])
        ('`a` / `b` / null', 'mapping str → [float, float]')
    """
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return "null"
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return " / ".join(f"`{_value(a)}`" for a in args)
    if _union_args(tp) is not None:
        if all(typing.get_origin(a) is Literal or a is type(None) for a in args):
            return " / ".join(type_name(a) for a in args)
        models = [a for a in args if _is_model(a)]
        if len(models) > 1:
            return "section, by `type`"
        return " or ".join(type_name(a) for a in args)
    if _is_model(tp):
        return "section"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_name(args[0])}"
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin in (list, Sequence):
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"mapping {type_name(args[0])} → {type_name(args[1])}"
    return {Any: "any", datetime.date: "date"}.get(tp, getattr(tp, "__name__", str(tp)))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel) and value == type(value)():
        return "its defaults"
    return f"`{_value(value)}`"


def _constraints(info: FieldInfo) -> str:
    parts = []
    for meta in info.metadata:
        parts += [f"{sym} {getattr(meta, k)}" for k, sym in _BOUNDS if hasattr(meta, k)]
        if getattr(meta, "min_length", None):
            parts.append(f"at least {meta.min_length} item{'s' * (meta.min_length > 1)}")
        if getattr(meta, "max_length", None):
            parts.append(f"at most {meta.max_length} items")
    return ", ".join(parts)


# --- walking the models ---------------------------------------------------------------------


def _nested(tp: Any, suffix: str = "") -> Iterator[tuple[str, type[BaseModel]]]:
    """(path suffix, model) of the sections inside an annotation (``[]``, ``.<name>``)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_model(tp):
        yield suffix, tp
    elif origin is typing.Annotated:
        yield from _nested(args[0], suffix)
    elif _union_args(tp) is not None:
        for arg in args:
            yield from _nested(arg, suffix)
    elif origin in (list, Sequence) or (origin is tuple and args[-1:] == (Ellipsis,)):
        yield from _nested(args[0], suffix + "[]")
    elif origin is dict:
        yield from _nested(args[1], suffix + ".<name>")


def _description(cls: type[BaseModel], key: str, family: Family | None, path: str) -> str:
    """A key's text: Field description (own or a base's), factory ``Args``, docstring notes."""
    for base in cls.__mro__:
        info = getattr(base, "model_fields", {}).get(key)
        if info is not None and info.description:
            return _markdown(info.description)
    if key in (docs := _arg_docs(family.sources.get(cls) if family else None)):
        return docs[key]
    annotation = cls.model_fields[key].annotation
    if key == "type" and typing.get_origin(annotation) is Literal:
        return "Selects this kind of section."
    models = list(_nested(annotation))
    notes = _overview_notes(family.overview) if family else {}
    if not path and key in notes and len(models) != 1:
        return _markdown(notes[key])
    scope = [notes.get(path.split(".")[0], "")] if path else list(notes.values())
    found = [note for text in scope if (note := _key_note(text, key))]
    note = next((n for n in found if not re.fullmatch(r"\w+(\s*[,|]\s*\w+)*", n)), "")
    if note or len(models) != 1:
        return note
    ((suffix, model),) = models
    each = {"[]": " (one per item)", ".<name>": " (one per name)"}.get(suffix, "")
    summary = _summary(model.__doc__)
    return summary[:-1] + each + "." if each and summary.endswith(".") else summary


def section_rows(
    cls: type[BaseModel], path: str, family: Family | None = None
) -> list[tuple[str, str, str, str, str]]:
    """(key path, type, default, constraints, description) of every key of a section.

    Args:
        cls: the section's pydantic model.
        path: its key path (``""`` for the top level, ``train.episodes``, ``models.<name>``).
        family: the config kind, for descriptions from docstrings (None: ``Field`` only).
    """
    rows = []
    for key, info in cls.model_fields.items():
        full = f"{path}.{key}" if path else key
        text = _description(cls, key, family, path)
        text = text[:1].upper() + text[1:]
        rows.append((full, type_name(info.annotation), _default(info), _constraints(info), text))
    return rows


def _children(cls: type[BaseModel], path: str) -> Iterator[tuple[str, type[BaseModel]]]:
    """(key path, model) of the sections directly inside a section."""
    for key, info in cls.model_fields.items():
        for suffix, sub in _nested(info.annotation):
            yield (f"{path}.{key}" if path else key) + suffix, sub


def _placement(root: type[BaseModel]) -> dict[type, str]:
    """Section model → the shallowest key path where it occurs (breadth first)."""
    where: dict[type, str] = {}
    queue = deque([(root, "")])
    while queue:
        for path, sub in _children(*queue.popleft()):
            if sub not in where:
                where[sub] = path
                queue.append((sub, path))
    return where


@dataclass
class _Page:
    """The config page being written; ``seen``: section model → (family, path) of its table."""

    lines: list[str] = field(default_factory=list)
    seen: dict[type, tuple[str, str]] = field(default_factory=dict)

    def section(self, cls: type[BaseModel], path: str, family: Family, place: dict[type, str]):
        """Heading, intro and table of a section, then its sub-sections (depth first)."""
        self.seen[cls] = (family.title, path)
        variant = cls.model_fields.get("type")
        name = f"`{path}`" if path else "Top level"
        if variant is not None and typing.get_origin(variant.annotation) is Literal:
            name += f" — `type: {typing.get_args(variant.annotation)[0]}`"
        intro = _prose(cls.__doc__) if path else ""
        source = _prose(getattr(family.sources.get(cls), "__doc__", None))
        self.lines += [f"### {name}", "", *([intro, ""] if intro else [])]
        self.lines += [source, ""] if source and source != intro else []
        self._table(cls, path, family, place)
        for child, sub in _children(cls, path):
            if sub not in self.seen and place.get(sub) == child:
                self.section(sub, child, family, place)

    def _table(self, cls: type[BaseModel], path: str, family: Family, place: dict) -> None:
        self.lines += [
            "| Key | Type | Default | Constraints | Description |",
            "|---|---|---|---|---|",
        ]
        children = list(_children(cls, path))
        for key, tp, default, bounds, text in section_rows(cls, path, family):
            mine = [(c, sub) for c, sub in children if c.split("[")[0] in (key, f"{key}.<name>")]
            where = {self.seen.get(sub, (family.title, place.get(sub))) for _, sub in mine}
            where -= {(family.title, c) for c, _ in mine}
            text += "".join(
                f" Keys as `{p}`" + (f" of the {f[0].lower()}{f[1:]}" if f != family.title else "")
                + "." for f, p in sorted(where)
            )  # fmt: skip
            cells = (f"`{key}`", tp, default, bounds, text)
            self.lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        self.lines.append("")


def config_reference() -> str:
    """The Markdown page of every config key (``docs/config-reference.md``)."""
    page = _Page(["# Configuration reference", "", *_CONFIG_INTRO.format(REGENERATE)
                  .splitlines(), ""])  # fmt: skip
    for family in families():
        examples = ", ".join(f"`configs/{name}`" for name in family.examples)
        page.lines += [f"## {family.title}", "", f"Read by `{family.command}`.", ""]
        page.lines += [f"Shipped examples: {examples}.", ""] if examples else []
        place = {cls: p for cls, p in _placement(family.root).items() if cls not in page.seen}
        page.section(family.root, "", family, place)
    return "\n".join(page.lines).rstrip() + "\n"


_CONFIG_INTRO = """\
*Generated from the pydantic models by `{}`;
`tests/test_config_reference.py` fails when this page is out of date.*

Every config is YAML and strict: an unknown key is an error naming it. **Key** is the path of
the key, as given to `--set KEY=VALUE` (the value is parsed as YAML); `<name>` stands for a
name you choose (a scenario, a model entry, a parameter) and `[]` for an item of a list.
**Default** `required` means the key must be given (even where `null` is allowed); a section
whose default is *its defaults* may be left out. Relative data paths are relative to the
config file. See also [the command-line reference](cli-reference.md)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Print the config reference, or the CLI reference with ``--cli``; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m hybridflux.config.reference")
    parser.add_argument("--cli", action="store_true", help="the command-line reference")
    args = parser.parse_args(argv)
    sys.stdout.write(cli_reference() if args.cli else config_reference())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
