"""Helpers every command shares: the default root, the backtest settings flags, JSON output, tables."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from meltica_lab.backtest.settings import FLAGS, BacktestSettings, Flag
from meltica_lab.config import load_app_config
from meltica_lab.errors import UsageError
from meltica_lab.files import create_new, temp_path
from meltica_lab.hashing import HASH_PREFIX


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


def _dest(name: str, flag: Flag) -> str:
    return f"settings:{name}" + (f".{flag.part}" if flag.part else "")


def add_settings(parser: argparse.ArgumentParser, defaults: BacktestSettings | None = None) -> None:
    """Every :class:`BacktestSettings` flag (:data:`~meltica_lab.backtest.settings.FLAGS`), in one
    group: each command that runs backtests gets the same flags, spelled and parsed the same way.
    Help shows the default from ``defaults``; :func:`settings_of` reads what was given."""
    shown = defaults if defaults is not None else BacktestSettings()
    group = parser.add_argument_group("backtest settings (every run)")
    for name, flag in FLAGS:
        text = flag.help or BacktestSettings.__dataclass_fields__[name].metadata["help"]
        if flag.parse is None:
            group.add_argument(flag.flag, dest=_dest(name, flag), action="store_const", const=flag.value, help=text)
            continue
        default = getattr(shown, name)
        if flag.part is not None:
            default = getattr(default, flag.part)
        shown_default = ", ".join(default) if isinstance(default, tuple) else default
        group.add_argument(
            flag.flag,
            dest=_dest(name, flag),
            type=flag.parse,
            action="append" if flag.repeat else "store",
            choices=flag.choices or None,
            metavar=None if flag.choices else flag.metavar or flag.flag.lstrip("-").upper().replace("-", "_"),
            help=text if default is None else f"{text} (default: {shown_default})",
        )


def settings_of(args: argparse.Namespace, base: BacktestSettings | None = None) -> BacktestSettings:
    """``base`` (default: the defaults) with every settings flag that was given applied."""
    settings = base if base is not None else BacktestSettings()
    changes: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {}
    for name, flag in FLAGS:
        value = getattr(args, _dest(name, flag), None)
        if value is None:
            continue
        value = tuple(value) if flag.repeat else value
        if flag.part is None:
            changes[name] = value
        else:
            parts.setdefault(name, {})[flag.part] = value
    for name, given in parts.items():
        changes[name] = replace(getattr(settings, name), **given)
    return settings.with_(**changes)


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
    return digest[: len(HASH_PREFIX) + digits] if digest else ""


def write_files(directory: Path, writers: Mapping[str, Callable[[str], object]]) -> list[Path]:
    """Write several output files all or nothing: each writer fills a temporary file in ``directory``,
    and only when every one succeeded are they renamed into place; a failure leaves it as it was.

    A ``directory`` that is a file, an output name that is a directory, or a directory that cannot be
    written to is a :class:`UsageError` naming it (``--out``) before anything is written. New files
    get the umask's mode, replaced ones keep theirs.
    """
    _check_out(directory, writers)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {directory}: cannot create the directory: {exc.strerror}", field="--out") from None
    staged: dict[Path, Path] = {}
    kept: dict[Path, Path] = {}
    replaced: list[Path] = []
    try:
        try:
            for name, write in writers.items():
                target = directory / name
                temp = temp_path(target)
                os.close(create_new(temp))
                staged[target] = temp
                if target.exists():
                    os.chmod(temp, stat.S_IMODE(target.stat().st_mode))  # a replaced output keeps its mode
                write(str(temp))
            for target in staged:
                if target.exists():  # kept under another name until every output is in place
                    kept[target] = temp_path(target)
                    os.link(target, kept[target])
            for target, temp in staged.items():
                os.replace(temp, target)
                replaced.append(target)
        except OSError as exc:
            for target in replaced:  # put back what was there: all or nothing
                if target in kept:
                    os.replace(kept.pop(target), target)
                else:
                    target.unlink(missing_ok=True)
            where = exc.filename or directory
            raise UsageError(
                f"--out {where}: cannot write the outputs: {exc.strerror}; nothing was changed", field="--out"
            ) from None
    finally:
        for temp in [*staged.values(), *kept.values()]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    return list(staged)


def _check_out(directory: Path, writers: Mapping[str, Callable[[str], object]]) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out {directory}: is a file: expected a directory for the outputs", field="--out")
    for name in writers:
        target = directory / name
        if target.is_dir() or (target.exists() and not target.is_file()):
            raise UsageError(
                f"--out {directory}: {name} exists and is not a regular file: nothing was written", field="--out"
            )
    if directory.is_dir() and not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"--out {directory}: the directory is not writable: nothing was written", field="--out")
