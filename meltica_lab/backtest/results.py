"""The result of a run: pandas frames indexed by simulation time (UTC), the summary, provenance."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from meltica_lab.backtest.metrics import drawdown
from meltica_lab.backtest.session import FILL_COLUMNS, ORDER_COLUMNS, ORDER_STATES, SessionSnapshot
from meltica_lab.buffers import text_column, text_dtype

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_NS_PER_MS = 1_000_000


_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")


def _utc(ns: np.ndarray, name: str = "time") -> pd.DatetimeIndex:
    """int64 nanoseconds since the epoch as a UTC DatetimeIndex over the same memory (integers with a
    zoned dtype are UTC instants: unlike ``tz_localize``, nothing is copied)."""
    return pd.DatetimeIndex(ns.astype(np.int64, copy=False), dtype=_UTC_NS, copy=False, name=name)


def _times(ms: np.ndarray, rem: np.ndarray, name: str = "time") -> pd.DatetimeIndex:
    return _utc(ms.astype(np.int64) * _NS_PER_MS + rem.astype(np.int64), name)


def _names(table: list[str], codes: np.ndarray) -> np.ndarray:
    """Codes (float columns from V8) looked up in a string table."""
    return np.asarray(table, dtype=object)[codes.astype(np.int64)] if len(codes) else np.array([], dtype=object)


def _columns(table: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {name: table[:, k] for k, name in enumerate(names)}


def client_order_ids(instance_id: str, ms: np.ndarray, rem: np.ndarray, index: np.ndarray) -> list[str]:
    """``<instance id>-<sim time ns>-<counter>``, as the host made them."""
    ns = ms.astype(np.int64) * _NS_PER_MS + rem.astype(np.int64)
    return [f"{instance_id}-{t}-{i}" for t, i in zip(ns.tolist(), index.astype(np.int64).tolist(), strict=True)]


def order_ids(snapshot: SessionSnapshot, instance_id: str) -> np.ndarray:
    """The client order id of every order in the snapshot's orders table, in its order (an object
    array: give it to :func:`fills_frame` and :func:`orders_frame` to make them once for both)."""
    c = _columns(snapshot.orders, ORDER_COLUMNS)
    ids = np.empty(len(snapshot.orders), dtype=object)
    ids[:] = client_order_ids(instance_id, c["ms"], c["rem"], c["index"])
    return ids


def fills_frame(snapshot: SessionSnapshot, instance_id: str, *, ids: np.ndarray | None = None) -> pd.DataFrame:
    """One row per fill: order id, symbol, side, quantity, price, fee (quote), liquidity, position
    after; ``ids`` are the snapshot's :func:`order_ids` when the caller has them."""
    c = _columns(snapshot.fills, FILL_COLUMNS)
    ids = order_ids(snapshot, instance_id) if ids is None else ids
    text = text_dtype()
    return pd.DataFrame(
        {
            "client_order_id": text_column(ids[c["order"].astype(np.int64)], text),
            "symbol": text_column(_names(snapshot.summary["symbols"], c["symbol"]), text),
            "side": text_column(np.where(c["side"] > 0, "Buy", "Sell"), text),
            "quantity": c["quantity"],
            "price": c["price"],
            "fee": c["fee"],
            "liquidity": text_column(np.where(c["maker"] > 0, "maker", "taker"), text),
            "position": c["position"],
        },
        index=_times(c["ms"], c["rem"]),
    )


def orders_frame(snapshot: SessionSnapshot, instance_id: str, *, ids: np.ndarray | None = None) -> pd.DataFrame:
    """One row per order, indexed by submission time, with its last state; ``ids`` are the
    snapshot's :func:`order_ids` when the caller has them."""
    c = _columns(snapshot.orders, ORDER_COLUMNS)
    summary = snapshot.summary
    reasons = summary["reasons"]
    text = text_dtype()
    return pd.DataFrame(
        {
            "client_order_id": text_column(order_ids(snapshot, instance_id) if ids is None else ids, text),
            "symbol": text_column(_names(summary["symbols"], c["symbol"]), text),
            "provider": text_column(_names(summary["orderProviders"], c["provider"]), text),
            "side": text_column(np.where(c["side"] > 0, "Buy", "Sell"), text),
            "type": text_column(np.where(c["type"] > 0, "Limit", "Market"), text),
            "quantity": c["quantity"],
            "limit_price": c["limit"],
            "state": text_column(_names(list(ORDER_STATES), c["state"]), text),
            "filled_quantity": c["filled"],
            "avg_fill_price": c["avg_price"],
            "fees": c["fees"],
            "updated": _times(c["last_ms"], c["last_rem"], "updated"),
            "reject_reason": text_column([reasons[int(r)] if r >= 0 else None for r in c["reason"]], text),
        },
        index=_times(c["ms"], c["rem"]),
    )


def _steps(event: np.ndarray, weights: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Running total, over ``n`` events, of ``weights`` booked at ``event`` indices: as its levels and
    how many events each lasts (``np.repeat`` of the two is the total after every event).

    Fills are few and events many: the totals change only at the events that booked something, so
    they are summed per such event in booking order, accumulated, and repeated over the events up to
    the next change. The additions are those of a cumulative sum over every event (adding 0.0
    changes no value), so the floats are the same to the bit. A test on the totals is a test on the
    levels, repeated: no float array of n for a boolean one.
    """
    if len(event) == 0:
        # numpy's bincount of nothing is integer: zeros of that type, as the results always had
        return np.zeros(1, dtype=np.bincount(event, weights=weights).dtype), np.array([n])
    keep = event < n
    event, weights = event[keep], weights[keep]
    if len(event) == 0:
        return np.zeros(1), np.array([n])
    booked, slot = np.unique(event, return_inverse=True)
    totals = np.cumsum(np.bincount(slot, weights=weights, minlength=len(booked)))
    lengths = np.diff(np.concatenate(([0], booked, [n])))
    return np.concatenate(([0.0], totals)), lengths


def _before_in_symbol(symbol: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """For each fill, ``flags`` of the fill before it of the same symbol (False for a symbol's first)."""
    order = np.argsort(symbol, kind="stable")
    ranked, flagged = symbol[order], flags[order]
    before = np.zeros(len(flags), dtype=bool)
    before[order[1:]] = flagged[:-1] & (ranked[1:] == ranked[:-1])
    return before


def equity_frame(snapshot: SessionSnapshot, capital: float) -> pd.DataFrame:
    """After every market event: mark-to-market equity, cumulative fees, whether any position is
    open (``in_market``), drawdown from the running peak (absolute and %)."""
    n = len(snapshot.equity)
    c = _columns(snapshot.fills, FILL_COLUMNS)
    event = c["event"].astype(np.int64)
    # symbols with an open position: +1 when a fill opens one, -1 when a fill closes it
    is_open = c["position"] != 0
    opened = is_open.astype(np.float64) - _before_in_symbol(c["symbol"], is_open).astype(np.float64)
    absolute, percent = drawdown(snapshot.equity, capital)
    held, lengths = _steps(event, opened, n)
    return pd.DataFrame(
        {
            "equity": snapshot.equity,
            "fees": np.repeat(*_steps(event, c["fee"], n)),
            "in_market": np.repeat(held > 0.5, lengths),
            "drawdown": absolute,
            "drawdown_pct": percent,
        },
        index=_utc(snapshot.equity_ts),
        copy=False,  # the arrays are fresh: spare pandas a 1M-row consolidation copy
    )


def _rows(n: int) -> tuple[pd.RangeIndex, Callable[[Any, Any], pd.Series]]:
    """The index of a frame of ``n`` numbered rows, and a maker of its columns on that index: pandas
    then has nothing to align (a frame of three Series took 277 us, on one index 99 us)."""
    index = pd.RangeIndex(n)
    return index, lambda values, dtype: pd.Series(values, dtype=dtype, index=index, copy=False)


def logs_frame(snapshot: SessionSnapshot) -> pd.DataFrame:
    """helpers.log lines with the simulation time they were written at."""
    logs = snapshot.summary["journal"]["logs"]
    times = _times(np.asarray(logs["ms"], dtype=np.float64), np.asarray(logs["rem"], dtype=np.float64))
    index, column = _rows(len(times))
    return pd.DataFrame({"time": times, "message": column(logs["text"], object)}, index=index, copy=False)


def errors_frame(snapshot: SessionSnapshot) -> pd.DataFrame:
    """Handler exceptions grouped by handler and message, with how often each happened."""
    rows = snapshot.summary["journal"]["errors"]
    index, column = _rows(len(rows))
    return pd.DataFrame(
        {
            "handler": column([r["handler"] for r in rows], object),
            "message": column([r["message"] for r in rows], object),
            "count": column([r["count"] for r in rows], np.int64),
        },
        index=index,
        copy=False,
    )


def _plain(value: Any) -> Any:
    """A JSON-ready value: timestamps as ISO text, NaN as null, numpy scalars as Python numbers."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.isoformat()
    if value is pd.NaT or value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Everything a run produced.

    ``summary`` (Series; labels carry units), ``fills``, ``orders``, ``equity`` (DataFrames indexed by
    simulation time, UTC), ``logs`` (time, message), ``errors`` (handler, message, count), and
    ``provenance``: what ran on what (strategy, selector, pinned hash, tag, data sha256, rows,
    events, config as applied, seed, options, engine, mini-racer and V8 versions, wall seconds).
    """

    summary: pd.Series
    fills: pd.DataFrame
    orders: pd.DataFrame
    equity: pd.DataFrame
    logs: pd.DataFrame
    errors: pd.DataFrame
    provenance: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``{"provenance", "summary", "logs", "errors"}`` as JSON-ready values."""
        return {
            "provenance": _plain(dict(self.provenance)),
            "summary": {str(k): _plain(v) for k, v in self.summary.items()},
            "logs": [
                {"time": _plain(t), "message": m} for t, m in zip(self.logs["time"], self.logs["message"], strict=True)
            ],
            "errors": [
                {"handler": h, "message": m, "count": int(n)}
                for h, m, n in zip(self.errors["handler"], self.errors["message"], self.errors["count"], strict=True)
            ],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (keys in a fixed order, so equal runs give equal text)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def _headline(self) -> str:
        p = self.provenance
        return f"Backtest of {p['strategy']}:{p['tag']} ({p['hash']}) on {p['rows']} rows, {p['events']} events"

    def __repr__(self) -> str:
        return f"{self._headline()}\n{self.summary.to_string()}"

    def _repr_html_(self) -> str:
        import html  # only a notebook draws this, and a notebook has html imported already

        p = self.provenance
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(_display(v))}</td></tr>"
            for k, v in self.summary.items()
        )
        errors = f"{len(self.errors)} kinds of handler error" if len(self.errors) else "no handler errors"
        return (
            f"<div><p><b>Backtest</b> {html.escape(p['strategy'])}:{html.escape(str(p['tag']))} "
            f"<code>{html.escape(p['hash'])}</code><br>data <code>{html.escape(p['data_sha256'])}</code>, "
            f"{p['rows']} rows, {p['events']} events, seed {p['seed']}, {errors}, "
            f"{len(self.logs)} log lines</p><table>{rows}</table></div>"
        )

    def plot(self, *, figsize: tuple[float, float] = (10.0, 6.0)) -> Figure:
        """Equity (top) and drawdown in % (bottom) over simulation time; returns the Figure."""
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize)
        top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        curve = self.equity["equity"]
        # Naive UTC datetime64 values: matplotlib converts a tz-aware index point by point (~10 s at 1M).
        times = curve.index.tz_convert(None).to_numpy()
        top.plot(times, curve.to_numpy(), linewidth=1.0)
        top.axhline(float(self.summary["Capital"]), color="grey", linewidth=0.6, linestyle="--")
        top.set_ylabel("equity (quote)")
        top.set_title(self._headline(), fontsize=9)
        bottom.fill_between(times, -self.equity["drawdown_pct"].to_numpy(), 0.0, color="tab:red", alpha=0.4)
        bottom.set_ylabel("drawdown %")
        bottom.set_xlabel("time (UTC)")
        figure.autofmt_xdate()
        return figure


def _display(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:,.6g}"
    return str(value)
