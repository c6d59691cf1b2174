"""How results read in notebooks, widgets and reports: units, precision, short names, reasons for n/a.

The numbers themselves stay as computed (``BacktestResult.summary`` keeps floats for code to use);
this module only turns them into text a person reads: money with two decimals and its currency,
percentages with a ``%``, counts with thousands separators, a metric that cannot be computed as
``n/a:`` and the reason, and every ``Legacy …`` figure beside what it means. Hashes, selectors and
checksums are never shortened where they identify what ran (:func:`provenance_rows`); where they only
label a column, :func:`short_selector` gives ``name:tag`` or ``name@<12 hex>`` and the full selector
stays in a row of its own (:func:`comparison_table`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.backtest.metrics import SHARPE_LABEL

QUOTE = "quote"
"""The unit of money when the traded symbol does not name its quote currency unambiguously."""

_MONEY = {
    "Capital",
    "Equity Final",
    "Equity Peak",
    "Realised PnL",
    "Unrealised PnL",
    "Fees",
    "Net PnL",
    "Turnover",
    "Max. Drawdown",
    "Legacy Gross PnL",
    "Legacy Fees",
    "Legacy Net PnL",
    "Legacy Max Drawdown",
}
_BASE = {"Legacy Volume"}
_COUNTS = {
    "Events",
    "Round Trips",
    "Orders",
    "Fills",
    "Rejected",
    "Expired",
    "Handler Errors",
    "Dropped Rows",
    "Dropped Log Lines",
    "Legacy Orders",
    "Legacy Filled",
}

NOTES: Mapping[str, str] = {
    "Net PnL": "Equity Final minus Capital: realised and unrealised PnL after fees",
    "Turnover": "traded notional, both sides",
    "Max. Drawdown": "largest fall of equity from its running peak",
    SHARPE_LABEL: "mean over standard deviation of daily returns, times √365",
    "Exposure Time [%]": "share of the run's time with a position",
    "Legacy Orders": "the reference backtester's count (compat §4.7): orders submitted",
    "Legacy Filled": "the reference backtester's count: fills",
    "Legacy Volume": "the reference backtester's volume: traded quantity in the base asset",
    "Legacy Gross PnL": (
        "the reference backtester's gross PnL: raw cash flow, so an open position counts at what it cost, "
        "not at its value (differs from Realised + Unrealised PnL while a position is open)"
    ),
    "Legacy Fees": "the reference backtester's fees (the same fees as Fees)",
    "Legacy Net PnL": (
        "the reference backtester's net PnL: Legacy Gross PnL minus fees, the open position not marked "
        "to market; Net PnL is the figure to use"
    ),
    "Legacy Max Drawdown": "the reference backtester's drawdown: of cash flow plus marked positions, fees ignored",
}
"""What a summary row means, where its label does not say it all."""

_SYMBOL = re.compile(r"^([A-Za-z0-9]+)[-/_]([A-Za-z0-9]+)$")


def short_hash(digest: str, digits: int = 12) -> str:
    """``sha256:`` and 64 hex shortened to the first ``digits`` hex (for labels only)."""
    return str(digest).removeprefix("sha256:")[:digits]


def short_selector(name: str, tag: str | None, digest: str, *, tags_taken: Iterable[str] = ()) -> str:
    """A short readable name for a revision: ``name:tag``, or ``name@<12 hex>`` when it has no tag or
    the ``name:tag`` label is already taken by another revision (``tags_taken``)."""
    label = f"{name}:{tag}" if tag else ""
    if not label or label in set(tags_taken):
        return f"{name}@{short_hash(digest)}"
    return label


def currencies(symbols: Iterable[str]) -> tuple[str, str]:
    """``(base, quote)`` of the one symbol traded (``BTC-USDT`` -> ``("BTC", "USDT")``); ``("base",
    "quote")`` when several symbols were traded or the symbol has no single ``-``, ``/`` or ``_``."""
    found = {str(s) for s in symbols if isinstance(s, str) and s}
    if len(found) == 1:
        match = _SYMBOL.match(found.pop())
        if match:
            return match.group(1), match.group(2)
    return "base", QUOTE


def _days(equity: pd.DataFrame | pd.Series | None) -> int | None:
    if equity is None or len(equity) == 0:
        return 0 if equity is not None else None
    index = pd.DatetimeIndex(equity.index)
    return int(index.normalize().nunique())


def format_number(value: Any, *, digits: int = 2) -> str:
    """A float with ``digits`` decimals and thousands separators; ints with separators; text as is."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return "n/a" if math.isnan(value) else f"{float(value):,.{digits}f}"
    return str(value)


def summary_value(label: str, value: Any, *, base: str = "base", quote: str = QUOTE, days: int | None = None) -> str:
    """One summary value as text with its unit; a value that could not be computed says why."""
    if label == SHARPE_LABEL and isinstance(value, float) and math.isnan(value):
        spans = f"; this run covers {days} UTC day(s)" if days is not None else ""
        return f"n/a: needs 3+ UTC days (2+ daily returns){spans}"
    if label == "Win Rate [%]" and isinstance(value, float) and math.isnan(value):
        return "n/a: no round trips"
    if isinstance(value, pd.Timestamp):
        return "n/a: no events" if pd.isna(value) else value.isoformat()
    if isinstance(value, pd.Timedelta) or value is pd.NaT:
        return "n/a: no events" if pd.isna(value) else str(value)
    if label in _MONEY:
        return f"{format_number(float(value))} {quote}"
    if label in _BASE:
        return f"{format_number(float(value), digits=6).rstrip('0').rstrip('.')} {base}"
    if label in _COUNTS:
        return format_number(int(value))
    if label.endswith("[%]"):
        return f"{format_number(float(value))} %"
    if label == SHARPE_LABEL:
        return format_number(float(value))
    return format_number(value)


def summary_table(
    summary: pd.Series, *, symbols: Iterable[str] = (), equity: pd.DataFrame | pd.Series | None = None
) -> pd.DataFrame:
    """The summary as text: ``value`` (with units; ``n/a: <why>`` where it cannot be computed) and
    ``meaning`` (what a row means where its label does not say, every ``Legacy …`` row included)."""
    base, quote = currencies(symbols)
    days = _days(equity)
    values = [summary_value(str(k), v, base=base, quote=quote, days=days) for k, v in summary.items()]
    notes = [NOTES.get(str(k), "") for k in summary.index]
    return pd.DataFrame({"value": values, "meaning": notes}, index=summary.index)


def result_summary(result: Any) -> pd.DataFrame:
    """:func:`summary_table` of a :class:`~meltica_lab.backtest.BacktestResult` (currency from its fills)."""
    symbols = result.fills["symbol"].unique() if "symbol" in result.fills else ()
    return summary_table(result.summary, symbols=symbols, equity=result.equity)


def _text(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=False, ensure_ascii=False, default=str)
    if value is None:
        return "none"
    return str(value)


def provenance_rows(provenance: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every provenance entry as full text, the resolved hash first (config and options as JSON)."""
    p = dict(provenance)
    first = [
        ("hash", p.pop("hash", "")),
        ("pinned selector", p.pop("pinned", "")),
        ("asked for", p.pop("selector", "")),
    ]
    if "data_source" in p:
        first.append(("data", p.pop("data_source")))
    if "data_sha256" in p:
        first.append(("data sha256", p.pop("data_sha256")))
    if "config" in p:
        first.append(("config", p.pop("config")))
    return [(k, _text(v)) for k, v in [*first, *p.items()]]


WRAP_STYLE = "font-family: monospace; white-space: pre-wrap; overflow-wrap: anywhere; text-align: left"
"""Cell style of values that must be read whole: monospace, wrapped anywhere, never cut."""


def provenance_table(provenance: Mapping[str, Any], *, name: str = "provenance") -> Any:
    """The provenance as a pandas Styler: one row per entry, values whole in monospace, wrapped;
    ``name`` is the table's id (give two tables of one notebook different names)."""
    rows = provenance_rows(provenance)
    frame = pd.DataFrame({"value": [v for _, v in rows]}, index=[k for k, _ in rows])
    return (
        frame.style.set_uuid(name)
        .set_properties(**{"font-family": "monospace", "white-space": "pre-wrap"})
        .set_properties(**{"overflow-wrap": "anywhere", "text-align": "left", "max-width": "60em"})
    )


def comparison_table(comparison: pd.DataFrame, *, symbols: Iterable[str] = ()) -> pd.DataFrame:
    """``compare()``'s table turned for reading: one column per revision, named by
    :func:`short_selector`; the first rows are the full pinned selector, tag and hash, then every
    summary value as text with its unit (money in the quote currency of ``symbols``, see
    :func:`currencies`)."""
    traded = tuple(symbols)
    labels: list[str] = []
    for row in comparison.itertuples():
        labels.append(short_selector(row.strategy, row.tag, row.hash, tags_taken=labels))
    columns = {}
    for label, (selector, row) in zip(labels, comparison.iterrows(), strict=True):
        summary = row.drop(labels=["strategy", "tag", "hash"])
        values = summary_table(summary, symbols=traded)["value"]
        columns[label] = pd.concat(
            [pd.Series({"pinned selector": selector, "tag": row["tag"], "hash": row["hash"]}, dtype=object), values]
        )
    return pd.DataFrame(columns)


def best_by(comparison: pd.DataFrame, label: str = "Return [%]") -> str:
    """The short name (:func:`comparison_table`'s column) of the revision with the highest ``label``."""
    table = comparison_table(comparison)
    position = int(np.nanargmax(comparison[label].to_numpy(dtype=float)))
    return str(table.columns[position])


def readable(frame: pd.DataFrame, *, first: Sequence[str] = ()) -> pd.DataFrame:
    """A frame for display: ``first`` columns moved to the front; tuples and lists joined with ``, ``,
    missing values (None, NaN, NaT) as empty text, timestamps in ISO 8601, so no Python repr shows."""
    order = [c for c in first if c in frame.columns] + [c for c in frame.columns if c not in first]
    out = frame[order].copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            out[column] = [("" if pd.isna(v) else v.isoformat()) for v in series]
        elif pd.api.types.is_bool_dtype(series.dtype) or str(series.dtype) == "boolean":
            out[column] = ["" if pd.isna(v) else ("yes" if v else "no") for v in series]
        elif not pd.api.types.is_numeric_dtype(series.dtype):
            out[column] = [_cell(v) for v in series]
    return out


def styled(
    frame: pd.DataFrame, *, name: str, first: Sequence[str] = (), index: bool = False, colours: Any = None
) -> Any:
    """:func:`readable` ``frame`` as a pandas Styler for notebooks: every cell whole (no ``...``),
    wrapping where long (a hash breaks across lines instead of pushing key columns off-screen).
    ``name`` is the table's id (stable, so a re-run notebook gives the same HTML); ``colours``
    (optional) maps a row to a background colour."""
    shown = readable(frame, first=first)
    style = shown.style.set_uuid(name).set_table_styles(
        [
            {"selector": "td, th", "props": f"{_WRAP_PROPS}; max-width: 40em"},
            {"selector": "", "props": "table-layout: auto"},
        ]
    )
    if colours is not None:
        style = style.apply(lambda row: [f"background-color: {colours(row) or 'transparent'}"] * len(row), axis=1)
    return style if index else style.hide(axis="index")


_WRAP_PROPS = "white-space: normal; overflow-wrap: anywhere; text-align: left; vertical-align: top"


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, pd.Timestamp):
        return "" if pd.isna(value) else value.isoformat()
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


__all__ = [
    "NOTES",
    "QUOTE",
    "WRAP_STYLE",
    "best_by",
    "comparison_table",
    "currencies",
    "format_number",
    "provenance_rows",
    "provenance_table",
    "readable",
    "result_summary",
    "short_hash",
    "short_selector",
    "styled",
    "summary_table",
    "summary_value",
]
