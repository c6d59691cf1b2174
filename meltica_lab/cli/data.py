"""``meltica-lab data``: market data as users have it.

* ``data inspect FILE...``: what each file holds (format, kinds, rows, times, symbols, sides, gaps,
  dropped rows, sha256); ``--dataset`` reads the files (or globs) as one dataset.
* ``data formats``: the formats the kit reads and detects.
* ``data cache [--clear]``: where the conversion cache is, how much it holds; ``--clear`` empties it.
* ``data fetch binance MARKET KIND SYMBOL START [END]``: download Binance's daily dumps (verified
  against their ``.CHECKSUM``, resumed when interrupted) into ``--dir``; prints the paths.

``--format``, ``--column COLUMN=NAME``, ``--time-unit`` and ``--interval`` say what detection
cannot (the same as ``format=``, ``columns=``, ``time_unit=``, ``interval=`` in Python).
Exit 1 when a file cannot be read.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from meltica_lab.cli.common import add_json, print_json, table
from meltica_lab.data import FORMAT_NAMES, FORMATS, DataCache, describe_data
from meltica_lab.data.fetch import BINANCE_URL, BinanceFetcher, dumps
from meltica_lab.data.formats import TIME_UNITS, meltica
from meltica_lab.errors import UsageError


def add_read_options(parser: argparse.ArgumentParser, *, drop_bad_rows: bool = True) -> None:
    """``--format``, ``--column``, ``--time-unit``, ``--interval`` and (unless the command's
    settings flags have it already) ``--drop-bad-rows``."""
    parser.add_argument("--format", choices=FORMAT_NAMES, help="the data's format (default: detected)")
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="COLUMN=NAME",
        help="read header column COLUMN as the kit's NAME (timestamp, price, quantity, side, ...); repeatable",
    )
    parser.add_argument("--time-unit", choices=tuple(TIME_UNITS), help="unit of epoch times (default: detected)")
    parser.add_argument("--interval", help="bar length of bars that carry only their open time (1m, 1h, ...)")
    if drop_bad_rows:
        parser.add_argument("--drop-bad-rows", action="store_true", help="leave bad rows out and list them")


def read_options_of(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`meltica_lab.data.load_market_data` the options give."""
    columns: dict[str, str] = {}
    for item in args.column:
        column, sep, name = item.partition("=")
        if not sep or not column or not name:
            raise UsageError(f"--column {item!r}: expected COLUMN=NAME, e.g. --column Zeit=timestamp", field="column")
        columns[column.strip().lower()] = name.strip()
    options: dict[str, Any] = {
        "format": args.format,
        "columns": columns or None,
        "time_unit": args.time_unit,
        "interval": args.interval,
    }
    if "drop_bad_rows" in vars(args):
        options["drop_bad_rows"] = args.drop_bad_rows
    return options


def inspect(args: argparse.Namespace) -> int:
    """Describe each file (or, with ``--dataset``, all of them as one dataset)."""
    options = read_options_of(args)
    sources = [args.files] if args.dataset else args.files
    descriptions = [describe_data(source, **options) for source in sources]
    if args.json:
        print_json([d.to_dict() for d in descriptions] if len(descriptions) > 1 else descriptions[0].to_dict())
    else:
        print("\n\n".join(str(d) for d in descriptions))
    return 0


def formats(args: argparse.Namespace) -> int:
    """List the formats: name, event kind, whether a header line is needed, title."""
    rows = [
        {
            "format": f.name,
            "events": f.kind_name,
            "header": "with or without" if f.headerless and f.named else "without" if f.headerless else "with",
            "times": "/".join(f.time_units),
            "title": f.title,
        }
        for f in FORMATS
    ]
    rows.append(
        {
            "format": meltica.NAME,
            "events": "Trade, Ticker or KlineSummary",
            "header": "with (or Parquet/DataFrame columns)",
            "times": "/".join(meltica.UNITS) + "/ISO 8601/datetime",
            "title": meltica.TITLE,
        }
    )
    if args.json:
        print_json(rows)
    else:
        print(table([tuple(r.values()) for r in rows], list(rows[0])))
    return 0


def fetch(args: argparse.Namespace) -> int:
    """Download the dumps and print where they are, one path a line."""

    items = dumps(args.market, args.kind, args.symbol, args.start, args.end, args.interval, monthly=args.monthly)
    with BinanceFetcher(args.dir, base_url=args.base_url, progress=not args.quiet) as fetcher:
        paths = [str(fetcher.fetch(item)) for item in items]
    if args.json:
        print_json(paths)
    else:
        print("\n".join(paths))
    return 0


def cache(args: argparse.Namespace) -> int:
    """Show (or with ``--clear`` empty) the conversion cache."""
    store = DataCache(args.dir) if args.dir is not None else DataCache.default()
    entries, size = store.usage()
    removed = store.clear() if args.clear else 0
    answer = {"directory": str(store.directory), "entries": entries, "bytes": size, "removed": removed}
    if args.json:
        print_json(answer)
    else:
        print(
            f"{store.directory}: {entries:,} parsed file(s), {size / 2**20:,.1f} MiB"
            + (f"; removed {removed:,}" if args.clear else "")
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` command and its subcommands."""
    parser = sub.add_parser("data", help="market data: inspect files, list formats, fetch exchange dumps")
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p = commands.add_parser("inspect", help="what market data files hold (format, rows, times, sides, gaps)")
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV (plain, .gz, .zip) or Parquet files, or globs")
    p.add_argument("--dataset", action="store_true", help="read all the files as one dataset, in time order")
    add_read_options(p)
    add_json(p)
    p.set_defaults(func=inspect)
    p = commands.add_parser("fetch", help="download exchange dumps (Binance public data), checksum-verified")
    p.add_argument("source", choices=("binance",), help="where from")
    p.add_argument("market", choices=("spot", "um", "cm"), help="spot, USD-M (um) or COIN-M (cm) futures")
    p.add_argument("kind", help="trades, aggTrades, klines or bookTicker (futures)")
    p.add_argument("symbol", help="e.g. BTCUSDT")
    p.add_argument("start", help="first day, YYYY-MM-DD (--monthly: first month, YYYY-MM)")
    p.add_argument("end", nargs="?", help="last day or month (default: the first)")
    p.add_argument("--interval", help="klines: 1s, 1m, 5m, 15m, 1h, 1d, ...")
    p.add_argument("--monthly", action="store_true", help="the monthly dumps (START and END as YYYY-MM)")
    p.add_argument("--dir", type=Path, help="data directory (default ~/.cache/meltica-lab/data)")
    p.add_argument("--base-url", default=BINANCE_URL, help=f"where the dumps are (default {BINANCE_URL})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json(p)
    p.set_defaults(func=fetch)
    p = commands.add_parser("cache", help="the market data conversion cache: where, how large; --clear empties it")
    p.add_argument("--dir", type=Path, help="the cache directory (default $MELTICA_LAB_CACHE_DIR/columns)")
    p.add_argument("--clear", action="store_true", help="remove every parsed file (they are parsed again when read)")
    add_json(p)
    p.set_defaults(func=cache)
    p = commands.add_parser("formats", help="the market data formats the kit reads")
    add_json(p)
    p.set_defaults(func=formats)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
