"""Docstring text as Markdown, for the generated reference pages (:mod:`.reference`).

Helpers that turn the docstrings and defaults of the config code into Markdown: RST inline
markup (:func:`_markdown`), a docstring's prose (:func:`_prose`, :func:`_summary`), its
``Args:`` entries (:func:`_arg_docs`), the section notes of a config module's docstring
(:func:`_overview_notes`, :func:`_key_note`) and default values as YAML (:func:`_value`).

Example:
    >>> _markdown(":func:`~hybridflux.config.load_config` reads ``x``")
    '`load_config` reads `x`'
    >>> _value(None), _value("a b"), _value([1, "x"])
    ('null', 'a b', '[1, "x"]')
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import yaml
from pydantic_core import to_jsonable_python

_DOC_SECTIONS = re.compile(r"^(Args|Arguments|Attributes|Example|Examples|Raises|Reference|"
                           r"References|Returns|Yields|Note|Notes):\s*$", re.M)  # fmt: skip


def _markdown(text: str) -> str:
    """RST inline markup of the docstrings as Markdown (``x`` → `x`, :func:`~a.b` → `b`)."""
    text = re.sub(r":[a-z]+:`~[\w.]*?\.?(\w+)`", r"`\1`", text)
    text = re.sub(r":[a-z]+:`([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _prose(doc: str | None) -> str:
    """A docstring without its Args/Example/... sections, as Markdown paragraphs."""
    text = inspect.cleandoc(doc or "")
    match = _DOC_SECTIONS.search(text)
    return _markdown(text[: match.start()] if match else text).strip()


def _value(value: Any) -> str:
    """A default value as YAML would write it (flow style)."""
    value = to_jsonable_python(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str) and value and yaml.safe_load(value) == value:
        return value  # a plain YAML scalar
    return json.dumps(value, ensure_ascii=False)


def _arg_docs(obj: Callable[..., Any] | None) -> dict[str, str]:
    """Parameter → text of a Google-style ``Args:`` (or ``Attributes:``) section, also of bases.

    Entries that document several parameters (``a: text. b: text.``) are split.
    """
    docs: dict[str, str] = {}
    for item in getattr(obj, "__mro__", [obj]) if obj is not None else []:
        text = inspect.cleandoc(getattr(item, "__doc__", None) or "")
        block = re.search(r"^(?:Args|Attributes):\n((?:[ \t]+.*\n?|\n)*)", text, re.M)
        entries = re.findall(r"^ {4}(\*{0,2}\w+): (.*(?:\n {6,}.*)*)", block[1] if block else "",
                             re.M)  # fmt: skip
        for name, body in entries:
            parts = re.split(r"(?<=\.) ([a-z_][a-z0-9_]*): ", " ".join(body.split()))
            docs.setdefault(name, parts[0])
            for key, more in zip(parts[1::2], parts[2::2], strict=True):
                docs.setdefault(key, more)
    return {k: _markdown(v) for k, v in docs.items()}


def _summary(doc: str | None) -> str:
    """The first paragraph of a docstring, as Markdown."""
    return _prose(doc).split("\n\n")[0]


def _overview_notes(module: str) -> dict[str, str]:
    """Key → its note in the module docstring's list ``- ``name``: text; ``other``: text``."""
    doc = inspect.cleandoc(sys.modules[module].__doc__ or "")
    notes = {}
    for match in re.finditer(r"^- ``(\w+)``: (.*(?:\n  .*)*)", doc, re.M):
        parts = re.split(r";\s*``(\w+)``:\s*", " ".join(match[2].split()))
        notes.update(zip([match[1], *parts[1::2]], parts[::2], strict=True))
    return notes


def _key_note(note: str, key: str) -> str:
    """The parenthesis after ``key`` in a section note (balanced), or ''."""
    match = re.search(rf"``{re.escape(key)}``\s*\(", note)
    if not match:
        return ""
    depth, start = 1, match.end()
    for i in range(start, len(note)):
        depth += {"(": 1, ")": -1}.get(note[i], 0)
        if depth == 0:
            return _markdown(note[start:i])
    return ""
