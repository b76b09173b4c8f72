"""docs/config-reference.md and docs/cli-reference.md are generated from the code and current."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from hybridflux.cli import build_parser
from hybridflux.config.reference import (
    REGENERATE,
    _nested,
    _placement,
    config_reference,
    families,
    section_rows,
)
from hybridflux.config.reference_cli import CLI_REGENERATE, cli_reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def config_page() -> str:
    return config_reference()


@pytest.fixture(scope="module")
def cli_page() -> str:
    return cli_reference()


def _sections(root: type[BaseModel]) -> set[type[BaseModel]]:
    """Every section model reachable from a root model (walked here, not by the generator)."""
    found, todo = set(), [root]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.add(cls)
            todo += [
                sub for info in cls.model_fields.values() for _, sub in _nested(info.annotation)
            ]
    return found


def _separators(line: str) -> int:
    """Column separators of a Markdown table row: pipes outside code spans, not escaped."""
    outside = line.split("`")[::2]
    return sum(len(re.findall(r"(?<!\\)\|", part)) for part in outside)


def test_config_reference_page_is_up_to_date(config_page):
    committed = (DOCS / "config-reference.md").read_text(encoding="utf-8")
    assert committed == config_page, f"docs/config-reference.md is out of date; run: {REGENERATE}"


def test_cli_reference_page_is_up_to_date(cli_page):
    committed = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    assert committed == cli_page, f"docs/cli-reference.md is out of date; run: {CLI_REGENERATE}"


def test_every_key_of_every_config_is_in_the_page(config_page):
    listed = {m[1] for m in re.finditer(r"^\| `(?:[\w<>\[\].]*\.)?(\w+)` \|", config_page, re.M)}
    for family in families():
        assert f"## {family.title}" in config_page
        for cls in _sections(family.root):
            missing = set(cls.model_fields) - listed
            assert not missing, f"{family.title}, {cls.__name__}: keys {missing} not in the page"


def test_every_run_config_key_has_a_description():
    run = families()[0]
    where = _placement(run.root)
    empty = [
        key
        for cls in _sections(run.root)
        for key, *_, text in section_rows(cls, where.get(cls, ""), run)
        if not text.strip()
    ]
    assert not empty, f"run config keys without a description: {empty}"


@pytest.mark.parametrize("page", ["config_page", "cli_page"])
def test_table_rows_have_their_columns(page, request):
    rows = [line for line in request.getfixturevalue(page).splitlines() if line.startswith("|")]
    assert rows
    wrong = [line for line in rows if _separators(line) != 6]
    assert not wrong, f"rows with a wrong number of cells (unescaped pipe?): {wrong[:3]}"


def test_every_subcommand_and_option_is_in_the_cli_page(cli_page):
    def walk(parser: argparse.ArgumentParser, prog: str):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{prog} {name}")
            elif action.option_strings and not isinstance(action, argparse._HelpAction):
                yield prog, action.option_strings[-1]
        yield prog, None

    commands = {prog for prog, _ in walk(build_parser(), "hybridflux")}
    assert {"hybridflux train", "hybridflux data inspect"} <= commands
    for prog, option in walk(build_parser(), "hybridflux"):
        if prog != "hybridflux data":  # a command group: its subcommands have the sections
            assert f"## `{prog}`" in cli_page, prog
        if option:
            section = cli_page.split(f"## `{prog}`\n", 1)[1].split("\n## ", 1)[0]
            assert f"| `{option}` |" in section, f"{prog} {option}"


def test_defaults_and_constraints_come_from_the_models(config_page):
    assert "| `train.lr` | float | `0.001` | > 0 |" in config_page
    assert "| `split.val_fraction` | float | `0.0` | ≥ 0, < 1 |" in config_page
    assert "| `data.paths` | list of str | required | at least 1 item |" in config_page
    assert "| `model.q10_bounds` | [float, float] | `[0.5, 5.0]` |" in config_page
