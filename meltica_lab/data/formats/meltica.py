"""The kit's own formats: the reference gateway's positional CSV, and the header-driven columns of
CSV, Parquet and DataFrames (the names pandas users use).

Header-driven columns are matched case-insensitively, by any of their usual names:

* time (required): ``timestamp``, ``ts``, ``time``, ``datetime``, ``date``, or a DataFrame's
  datetime index; integer epochs in s, ms, us or ns (the unit whose times are plausible), ISO 8601
  text (an offset is honoured, none means UTC), or datetimes (naive = UTC). For bars it is the
  close time; ``open_time`` is optional.
* trades: ``price`` and ``quantity`` (``qty``, ``amount``, ``size``, ``volume``); the aggressor from
  ``side`` (buy/sell) or ``is_buyer_maker`` (true: the aggressor sold), else buy; ``symbol``
  (``instrument``, ``instrument_name``); ``provider``.
* quotes (``bid``/``bid_price`` and ``ask``/``ask_price``) become Ticker events; optional ``price``
  (last), ``bid_size``/``bid_qty``/``bid_amount``, ``ask_size``/``ask_qty``/``ask_amount``.
* bars (``open``, ``high``, ``low``, ``close``) become KlineSummary events; optional ``volume``.

Two columns that can mean the same thing (``ts`` and ``time``), or a table that is both quotes and
bars, are an error that says how to choose: ``columns={"yours": "timestamp"}`` renames a column to
the kit's name, and every column not named is then left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from meltica_lab.data.events import KLINE, TICKER, TRADE
from meltica_lab.data.formats.base import CANONICAL, Format, Layout
from meltica_lab.data.source import printable
from meltica_lab.errors import DataError

POSITIONAL = Format(
    name="meltica-positional",
    kind=TRADE,
    title="Meltica gateway positional CSV (no header: ns timestamp, price, quantity[, symbol])",
    layouts=(
        Layout(("timestamp", "price", "quantity"), "tnn"),
        Layout(("timestamp", "price", "quantity", "symbol"), "tnns"),
    ),
    columns={"timestamp": ("timestamp",), "price": ("price",), "quantity": ("quantity",), "symbol": ("symbol",)},
    time_units=("ns",),
    headerless=True,
    named=False,
    example="trades.csv",
)

NAME = "meltica"
TITLE = "meltica-lab columns (CSV with a header, Parquet, DataFrame): timestamp, price, quantity, ..."
UNITS = ("s", "ms", "us", "ns")

ALIASES: Mapping[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "ts", "time", "datetime", "date"),
    "open_time": ("open_time",),
    "price": ("price",),
    "quantity": ("quantity", "qty", "amount", "size", "volume"),
    "side": ("side", "is_buyer_maker"),
    "symbol": ("symbol", "instrument", "instrument_name"),
    "provider": ("provider",),
    "bid": ("bid", "bid_price"),
    "ask": ("ask", "ask_price"),
    "bid_size": ("bid_size", "bid_qty", "bid_amount"),
    "ask_size": ("ask_size", "ask_qty", "ask_amount"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume",),
}
_BARS = ("open", "high", "low", "close")
_HINT = "say which with columns={'<column>': '<kit name>'} (--column COLUMN=NAME)"


def _found(names: Sequence[str]) -> str:
    return printable(", ".join(names), 200) or "none"


def _kind(present: set[str], names: Sequence[str], source: str) -> int:
    bars = all(any(a in present for a in ALIASES[c]) for c in _BARS)
    quotes = all(any(a in present for a in ALIASES[c]) for c in ("bid", "ask"))
    if bars and quotes:
        raise DataError(
            f"{source}: the columns fit both quotes (bid, ask) and bars (open, high, low, close) "
            f"(found: {_found(names)}); keep only the columns of one kind",
            path=source,
        )
    return KLINE if bars else TICKER if quotes else TRADE


def columns_format(
    names: Sequence[str], source: str, *, explicit: Mapping[str, str] | None = None, index_time: bool = False
) -> Format:
    """The header-driven format of a table with these (lower-case) column ``names``.

    ``explicit`` maps column names to kit names and wins over the usual names; ``index_time`` says
    the table's time may come from its datetime index (passed as a column named ``timestamp``).
    """
    present = set(names)
    chosen: dict[str, str] = {}
    for column, canonical in (explicit or {}).items():
        if canonical not in CANONICAL:
            raise DataError(
                f"{source}: columns={{{column!r}: {canonical!r}}}: {canonical!r} is not a kit column name; "
                f"expected one of {', '.join(CANONICAL)}",
                path=source,
                field=column,
            )
        if column not in present:
            raise DataError(
                f"{source}: columns= names {column!r}, which the data does not have (found: {_found(names)})",
                path=source,
                field=column,
            )
        chosen[canonical] = column
    kind = _kind({n for n in present if n not in chosen.values()} | set(chosen), names, source)
    taken = set(chosen.values())
    for canonical, aliases in ALIASES.items():
        if canonical in chosen:
            continue
        if canonical == "quantity" and kind == KLINE:
            aliases = tuple(a for a in aliases if a != "volume")
        hits = [a for a in aliases if a in present and a not in taken]
        if len(hits) > 1:
            raise DataError(
                f"{source}: columns {' and '.join(hits)} could both be the {canonical} column; {_HINT}",
                path=source,
                field=hits[0],
            )
        if hits:
            chosen[canonical] = hits[0]
            taken.add(hits[0])
    if "timestamp" not in chosen:
        where = " or a datetime index" if index_time else ""
        raise DataError(
            f"{source}: missing column timestamp (found: {_found(names)}); expected a time column "
            f"({', '.join(ALIASES['timestamp'])}){where}; {_HINT}",
            path=source,
            field="timestamp",
        )
    if kind == TRADE:
        missing = [c for c in ("price", "quantity") if c not in chosen]
        if missing:
            raise DataError(
                f"{source}: missing column(s) {', '.join(missing)}; expected trades (price, quantity), quotes "
                f"(bid, ask) or bars (open, high, low, close) (found: {_found(names)})",
                path=source,
                field=missing[0],
            )
    side = chosen.get("side")
    return Format(
        name=NAME,
        kind=kind,
        title=TITLE,
        layouts=(Layout(tuple(names), "x" * len(names)),),
        columns={canonical: (column,) for canonical, column in chosen.items()},
        time_units=UNITS,
        side="none" if side is None else "buyer_maker" if side == "is_buyer_maker" else "text",
    )
