"""The command-line reference page, generated from the argument parser of :mod:`hybridflux.cli`.

Every subcommand (nested ones such as ``data inspect`` included) with its synopsis and a table
of its arguments: value, default, whether required, help text; argument groups (the multi-host
options of ``train``) get their own table. ``docs/cli-reference.md`` is its output, kept up to
date by ``tests/test_config_reference.py``; regenerate it with
``.venv/bin/python -m hybridflux.config.reference --cli > docs/cli-reference.md``.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="tool")
    >>> sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    >>> run = sub.add_parser("run", help="run it")
    >>> _ = run.add_argument("paths", nargs="+", help="input files")
    >>> _ = run.add_argument("--out", default="out", help="output folder")
    >>> page = cli_reference(parser)
    >>> "tool run PATHS [PATHS ...] [--out OUT]" in page
    True
    >>> "| `--out` | OUT | `out` |  | output folder |" in page
    True
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

__all__ = ["CLI_REGENERATE", "cli_reference"]

#: The command that rewrites ``docs/cli-reference.md``.
CLI_REGENERATE = ".venv/bin/python -m hybridflux.config.reference --cli > docs/cli-reference.md"


def _cell(text: str) -> str:
    """One table cell: one line, pipes outside code spans escaped (inside, Python-Markdown
    tables take them literally)."""
    parts = " ".join(text.split()).split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def _metavar(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    name = action.metavar or action.dest.upper()
    nargs = action.nargs
    return {None: name, "?": f"[{name}]", "*": f"[{name} ...]", "+": f"{name} [{name} ...]"}.get(
        nargs, " ".join([name] * nargs) if isinstance(nargs, int) else name
    )


def _usage(prog: str, parser: argparse.ArgumentParser) -> str:
    parts = [prog]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            parts.append(f"{action.metavar or action.dest.upper()} ...")
            continue
        flag = action.option_strings[-1] if action.option_strings else ""
        text = " ".join(filter(None, [flag, _metavar(action)]))
        repeat = " ..." if isinstance(action, argparse._AppendAction) else ""
        optional = action.option_strings and not action.required
        parts.append(f"[{text}{repeat}]" if optional else text)
    return " ".join(parts)


def _argument_row(action: argparse.Action) -> str:
    positional = not action.option_strings
    name = (
        (action.metavar or action.dest.upper()) if positional else ", ".join(action.option_strings)
    )
    value = _metavar(action) if not positional or action.nargs is not None else ""
    value = value if value or positional else "(flag)"
    value += f" ({action.type.__name__})" if action.type is not None else ""
    value += ", repeatable" if isinstance(action, argparse._AppendAction) else ""
    default = action.default
    shown = "" if default in (None, False, [], argparse.SUPPRESS) else f"`{default}`"
    required = "yes" if action.required or positional else ""
    cells = (f"`{name}`", value, shown, required, action.help or "")
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _sentence(text: str) -> str:
    text = text.strip()
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith(".") else ".")


def _commands(parser: argparse.ArgumentParser, prog: str) -> Iterator[tuple[str, str, Any]]:
    """(command line, help, parser) of every subcommand, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prog} {name}", helps.get(name, ""), sub
                yield from _commands(sub, f"{prog} {name}")


def _command_section(prog: str, text: str, parser: argparse.ArgumentParser) -> list[str]:
    """Heading, help, synopsis and argument tables of one command."""
    lines = [f"## `{prog}`", "", *([_sentence(text), ""] if text else [])]
    lines += ["```", _usage(prog, parser), "```", ""]
    head = ["| Argument | Value | Default | Required | Description |", "|---|---|---|---|---|"]
    main_rows: list[str] = []
    for group in parser._action_groups:
        skip = (argparse._HelpAction, argparse._SubParsersAction)
        rows = [_argument_row(a) for a in group._group_actions if not isinstance(a, skip)]
        if group.title in ("positional arguments", "options", "optional arguments"):
            main_rows += rows
        elif rows:
            main_rows += ["", f"*{_sentence(group.title)[:-1]}:*", "", *head, *rows]
    return lines + (head + main_rows + [""] if main_rows else [])


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """The Markdown page of every subcommand and its arguments (``docs/cli-reference.md``).

    Args:
        parser: the parser to document (default :func:`hybridflux.cli.build_parser`).
    """
    from hybridflux import cli

    parser = parser or cli.build_parser()
    lines = ["# Command-line reference", "", _CLI_INTRO.format(CLI_REGENERATE), ""]
    lines += _command_section(parser.prog, parser.description or "", parser)
    for prog, text, sub in _commands(parser, parser.prog):
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            continue  # a command group (``data``): its subcommands are documented
        lines += _command_section(prog, text, sub)
    lines += ["## Exit status", ""]
    lines += [f"`0`: success; `{cli.EXIT_USER_ERROR}`: an error in the input (data, config, "
              f"paths), printed as one message on stderr; `{cli.EXIT_DIVERGED}`: the training "
              "diverged (a non-finite loss)."]  # fmt: skip
    return "\n".join(lines) + "\n"


_CLI_INTRO = """\
*Generated from the argument parser of `hybridflux/cli.py` by `{}`;
`tests/test_config_reference.py` fails when this page is out of date.*

Every command takes `-h`/`--help`. The keys of the configs that `train`, `calibrate`,
`benchmark` and `emulator` read are in [the configuration reference](config-reference.md)."""
