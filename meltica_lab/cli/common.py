"""Helpers every command shares: the default root, JSON output, plain-text tables."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from meltica_lab.config import load_app_config


def default_root() -> Path:
    """``strategies.directory`` from ``config/app.yaml``, else ``strategies``."""
    return load_app_config().strategies_directory


def add_root(parser: argparse.ArgumentParser) -> None:
    """The ``--root DIR`` option with the documented default."""
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="strategies root (default: strategies.directory from config/app.yaml, else ./strategies)",
    )


def root_of(args: argparse.Namespace) -> Path:
    """The root a command works on."""
    return args.root if args.root is not None else default_root()


def add_json(parser: argparse.ArgumentParser) -> None:
    """The ``--json`` flag: machine-readable output on stdout."""
    parser.add_argument("--json", action="store_true", help="print JSON on stdout instead of text")


def print_json(data: Any) -> None:
    """JSON on stdout, two-space indented."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def short(digest: str, digits: int = 12) -> str:
    """``sha256:`` + the first hex digits of a hash, for tables."""
    return digest[: len("sha256:") + digits] if digest else ""


def write_files(directory: Path, writers: Mapping[str, Callable[[str], object]]) -> list[Path]:
    """Write several output files all or nothing: each writer fills a temporary file in ``directory``,
    and only when every one succeeded are they renamed into place; a failure leaves it as it was."""
    directory.mkdir(parents=True, exist_ok=True)
    staged: dict[Path, str] = {}
    try:
        for name, write in writers.items():
            handle, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
            os.close(handle)
            staged[directory / name] = temp
            write(temp)
        for target, temp in staged.items():
            os.replace(temp, target)
    finally:
        for temp in staged.values():
            if os.path.exists(temp):
                os.unlink(temp)
    return list(staged)
