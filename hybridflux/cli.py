"""The ``hybridflux`` command (contract in DESIGN.md).

Only the thin I/O layer lives here: parse arguments, call library functions, print, exit.
Errors in user input (:class:`~hybridflux.data.errors.DataError`, ``FileNotFoundError``) are
printed as one clear message, without a traceback, and the exit status is non-zero.

Implemented subcommands:

- ``hybridflux demo [--out DIR]`` — the main job on the bundled real sample.
- ``hybridflux data inspect PATH...`` — what was read: format, sites, period, variables, QC.

Example:
    >>> from hybridflux.cli import build_parser
    >>> build_parser().parse_args(["data", "inspect", "a.csv"]).paths
    ['a.csv']
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``hybridflux`` command."""
    parser = argparse.ArgumentParser(
        prog="hybridflux",
        description="Differentiable hybrid modelling of terrestrial carbon fluxes.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the main job on the bundled real data")
    demo.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    demo.set_defaults(handler=_cmd_demo)

    data = sub.add_parser("data", help="inspect flux data files")
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    inspect = data_sub.add_parser("inspect", help="what was read: sites, period, variables, QC")
    inspect.add_argument("paths", nargs="+", help="files, folders or glob patterns")
    inspect.set_defaults(handler=_cmd_data_inspect)
    return parser


def _cmd_demo(args: argparse.Namespace) -> int:
    from hybridflux.demo import run_demo

    print(run_demo(args.out))
    return 0


def _cmd_data_inspect(args: argparse.Namespace) -> int:
    from hybridflux.data.inspect import format_report, inspect

    reports = inspect(args.paths)
    print(format_report(reports))
    return 1 if any(getattr(r, "error", None) for r in reports) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hybridflux`` command; returns the exit status.

    Args:
        argv: arguments without the program name (``None``: ``sys.argv[1:]``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from hybridflux import __version__

        print(__version__)
        return 0
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USER_ERROR
    from hybridflux.data.errors import DataError

    try:
        return handler(args)
    except (DataError, FileNotFoundError) as err:
        print(f"hybridflux: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
