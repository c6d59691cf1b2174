"""``meltica-lab sweep``: backtest strategy revisions over a grid of config values, in parallel.

Every ``--strategy`` × every combination of the ``--grid`` values (× every ``--data`` file) is one
run; the runs share a process pool (``--workers``, default one per core). The table is printed best
first: highest ``Return [%]`` (net of fees) first, ties broken by the smaller ``Max. Drawdown [%]``,
then by run number. ``--json`` prints every column of every run in that order; ``--out DIR`` writes
the full table as ``sweep.csv`` and ``sweep.parquet``. Grid values are text, coerced by each
revision's declared config types (``--grid lookback=10,20 --grid cooldown=1s,5s``). Every run has
the settings given by the same flags as ``backtest`` (fees, slippage, latency, fill model, capital,
seed, ...). Exit code 1 when any run's strategy handlers threw (the sweep completed), 2 for bad usage.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from meltica_lab.backtest.metrics import SHARPE_LABEL
from meltica_lab.backtest.sweep import RANK_BY, best_first, process_pool
from meltica_lab.cli.backtest import parse_assignments
from meltica_lab.cli.common import (
    add_json,
    add_root,
    add_settings,
    print_json,
    root_of,
    settings_of,
    short,
    table,
    write_files,
)
from meltica_lab.errors import UsageError
from meltica_lab.workspace import Workspace

SHOWN_METRICS = (
    "Return [%]",
    "Max. Drawdown [%]",
    SHARPE_LABEL,
    "Round Trips",
    "Win Rate [%]",
    "Orders",
    "Fills",
    "Fees",
    "Handler Errors",
)
"""Summary columns of the printed table (``--json`` and ``--out`` have them all)."""

RANKING = f"{RANK_BY[0]} (net of fees) highest first, then {RANK_BY[1]} lowest, then run number"


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """``["key=v1,v2", ...]`` as ``{key: [v1, v2]}``; a malformed or repeated key is a usage error."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values:
            raise UsageError(f"--grid {item!r}: expected KEY=V1,V2,...", field="--grid")
        if key in grid:
            raise UsageError(f"--grid {key}: given twice; list all its values in one --grid", field="--grid")
        grid[key] = values.split(",")
    return grid


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:,.6g}"
    return str(value)


def render(ranked: pd.DataFrame, grid_keys: Sequence[str]) -> str:
    """The ranked table as text: run, revision, data when several, grid values, main metrics."""
    several_datasets = ranked["data_sha256"].nunique() > 1
    headers = ["run", "strategy", "tag", "hash", *(["data"] if several_datasets else []), *grid_keys, *SHOWN_METRICS]
    rows = []
    for run, row in ranked.iterrows():
        data = [short(row["data_sha256"])] if several_datasets else []
        cells = [run, row["strategy"], row["tag"], short(row["hash"]), *data, *(row[k] for k in grid_keys)]
        rows.append([_cell(c) for c in cells] + [_cell(row[m]) for m in SHOWN_METRICS])
    return table(rows, headers)


def records(ranked: pd.DataFrame) -> list[dict[str, Any]]:
    """Every row as JSON-ready values: times as ISO 8601 text, durations as ISO 8601, NaN as null."""
    frame = ranked.reset_index()
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
            frame[name] = column.map(lambda v: None if pd.isna(v) else v.isoformat())
    frame = frame.astype(object).where(frame.notna(), None)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")
    ]


def write_tables(ranked: pd.DataFrame, directory: Path) -> list[Path]:
    """``sweep.csv`` and ``sweep.parquet``, both or neither (see :func:`write_files`)."""
    return write_files(directory, {"sweep.csv": ranked.to_csv, "sweep.parquet": ranked.to_parquet})


def run(args: argparse.Namespace) -> int:
    """Carry out ``sweep`` for parsed arguments."""
    grid = parse_grid(args.grid)
    with Workspace(root_of(args), settings=settings_of(args)) as workspace, process_pool(args.workers) as pool:
        result = workspace.sweep(args.strategy, args.data, grid, executor=pool, config=parse_assignments(args.config))
    ranked = best_first(result)
    if args.out is not None:
        written = write_tables(ranked, args.out)
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        print_json({"sorted_by": RANKING, "runs": records(ranked)})
    else:
        revisions, datasets = ranked["hash"].nunique(), ranked["data_sha256"].nunique()
        print(
            f"{len(ranked)} runs: {revisions} revision(s) x {len(ranked) // (revisions * datasets)} parameter "
            f"set(s) x {datasets} dataset(s); sorted by {RANKING}"
        )
        print(render(ranked, list(grid)))
    failing = ranked.index[ranked["Handler Errors"] > 0].tolist()
    if failing:
        print(
            f"meltica-lab: strategy handlers threw in run(s) {', '.join(map(str, sorted(failing)))}; "
            "run one with `meltica-lab backtest --json` to see the errors",
            file=sys.stderr,
        )
        return 1
    return 0


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` command."""
    parser = subparsers.add_parser(
        "sweep",
        help="backtest strategy revisions over a grid of config values, in parallel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--strategy", action="append", required=True, help="selector: name, name:tag, name@sha256:... (repeatable)"
    )
    parser.add_argument(
        "--data", action="append", required=True, type=Path, help="market data: CSV or Parquet file (repeatable)"
    )
    parser.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2,...", help="config values to try (repeatable)"
    )
    parser.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE", help="fixed config value (repeatable)"
    )
    parser.add_argument("--workers", type=_workers, help="worker processes (default: one per core)")
    add_root(parser)
    parser.add_argument("--out", type=Path, help="directory for sweep.csv and sweep.parquet")
    add_json(parser)
    add_settings(parser)
    parser.set_defaults(func=run)
