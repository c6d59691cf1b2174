"""``meltica-lab backtest``: run one pinned strategy revision over market data.

Prints the summary (``--json``: ``{"provenance", "summary", "logs", "errors"}``); ``--out DIR`` also
writes ``fills.parquet``, ``orders.parquet``, ``equity.parquet`` and ``result.json``. Exit code 1
when the strategy's handlers threw (the run completed; the errors are listed), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from meltica_lab.backtest import BacktestResult
from meltica_lab.cli.common import add_json, add_root, add_settings, print_json, root_of, settings_of, write_files
from meltica_lab.cli.data import add_read_options, read_options_of
from meltica_lab.errors import ConfigError, UsageError
from meltica_lab.files import read_yaml
from meltica_lab.workspace import Workspace


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``["key=value", ...]`` as a dict; an item without ``=`` or with an empty key is a usage error."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--config {item!r}: expected KEY=VALUE", field="--config")
        values[key.strip()] = value
    return values


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON mapping of config values (read through :mod:`meltica_lab.files`: a regular
    file of bounded size, aliases bounded)."""
    try:
        data = read_yaml(path, what="config file", error=ConfigError)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found", path=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of config keys to values", path=str(path))
    return {str(k): v for k, v in data.items()}


def write_outputs(result: BacktestResult, directory: Path) -> list[Path]:
    """Parquet tables and the JSON document, all or nothing (see :func:`write_files`)."""
    document = result.to_json() + "\n"
    return write_files(
        directory,
        {
            "fills.parquet": result.fills.to_parquet,
            "orders.parquet": result.orders.to_parquet,
            "equity.parquet": result.equity.to_parquet,
            "result.json": lambda temp: Path(temp).write_text(document, encoding="utf-8"),
        },
    )


def run(args: argparse.Namespace) -> int:
    """Carry out ``backtest`` for parsed arguments."""
    config: dict[str, Any] = {}
    if args.config_file is not None:
        config.update(read_config_file(args.config_file))
    config.update(parse_assignments(args.config))
    with Workspace(root_of(args), settings=settings_of(args)) as workspace:
        data = workspace.load_market_data(args.data, **read_options_of(args))
        result = workspace.run_backtest(args.strategy, data, config=config)
    if args.out is not None:
        written = write_outputs(result, args.out)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        print_json(result.to_dict())
    else:
        print(repr(result))
    if len(result.errors):
        total = int(result.errors["count"].sum())
        print(f"meltica-lab: {total} handler error(s) recorded; see the errors in --json output", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` command."""
    parser = subparsers.add_parser(
        "backtest",
        help="backtest a pinned strategy revision over market data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--strategy", required=True, help="selector: name, name:tag, name@sha256:..., or a hash")
    parser.add_argument(
        "--data",
        required=True,
        type=Path,
        help="market data: a CSV (plain, .gz, .zip) or Parquet file in any format 'data formats' lists, "
        "or a quoted glob of daily dumps (one dataset)",
    )
    add_root(parser)
    parser.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE", help="strategy config value (repeatable)"
    )
    parser.add_argument("--config-file", type=Path, help="YAML or JSON mapping of strategy config values")
    parser.add_argument("--out", type=Path, help="directory for fills/orders/equity Parquet and result.json")
    add_json(parser)
    add_settings(parser)
    add_read_options(parser, drop_bad_rows=False)
    parser.set_defaults(func=run)
