"""The ``meltica-lab`` command: a thin layer over the Python API.

Exit codes: 0 success, 1 the operation found problems, 2 bad usage. Errors go to stderr as one
readable line; ``--json`` output goes to stdout. Each command lives in its own module exposing
``register(subparsers)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from meltica_lab.errors import MelticaLabError
from meltica_lab.version import __version__

COMMAND_MODULES = (
    "registry",
    "migrate",
    "backtest",
    "usage",
    "sweep",
    "report",
    "demo",
    "gateway",
    "reconcile",
    "data",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="meltica-lab",
        description="Registry, V8 sandbox, backtests and usage analysis for Meltica gateway strategies.",
    )
    parser.add_argument("--version", action="version", version=f"meltica-lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"meltica_lab.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except MelticaLabError as exc:
        print(f"meltica-lab: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("meltica-lab: interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:
    """Console-script entry: exit with :func:`main`'s code."""
    sys.exit(main())
