"""The reconciliation's tables: fills and orders side by side, and the summary read from them.

Live times are Unix seconds, backtest times nanoseconds: backtest times are brought down to the live
records' resolution (whole seconds for a gateway's records) before they are compared, so a backtest
fill at 12:00:00.7 and a live fill stamped 12:00:00 are 0 s apart, not -0.7 s.

Prices are compared so that a positive ``price_diff_bps`` is worse for the instance: it paid more
on a buy, or got less on a sell, than the backtest did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.reconcile.matching import Pairs, pair_nearest

Table = Mapping[str, Any]
"""Columns by name: a DataFrame, or a dict of equal-length arrays."""

__all__ = ["FILL_COLUMNS", "ORDER_COLUMNS", "STATUSES", "fill_table", "order_table", "pnl_curves", "summarise"]

STATUSES = ("matched", "missing_live", "extra_live")
"""Row statuses: a pair; a backtest record the live instance did not make; a live one the backtest did not."""

FILL_COLUMNS = (
    "status",
    "symbol",
    "side",
    "quantity",
    "live_time",
    "backtest_time",
    "delay_s",
    "live_price",
    "backtest_price",
    "price_diff_bps",
    "live_quantity",
    "backtest_quantity",
    "live_fee",
    "backtest_fee",
    "live_order_id",
    "live_client_order_id",
    "live_execution_id",
    "backtest_order_id",
    "note",
)
ORDER_COLUMNS = (
    "status",
    "symbol",
    "side",
    "live_time",
    "backtest_time",
    "delay_s",
    "live_type",
    "backtest_type",
    "live_quantity",
    "backtest_quantity",
    "live_price",
    "backtest_price",
    "live_state",
    "backtest_state",
    "live_outcome",
    "backtest_outcome",
    "live_filled",
    "backtest_filled",
    "live_order_id",
    "live_client_order_id",
    "backtest_order_id",
    "note",
)
_NS_PER_S = 1_000_000_000
_CLOSED = ("REJECTED", "CANCELLED", "CANCELED", "EXPIRED")


def _utc(ns: np.ndarray, present: np.ndarray) -> pd.DatetimeIndex:
    values = np.where(present, ns, np.iinfo(np.int64).min).astype(np.int64).view("datetime64[ns]")
    return pd.DatetimeIndex(values).tz_localize("UTC")


def _take(values: np.ndarray, rows: np.ndarray, fill: object) -> np.ndarray:
    """``values[rows]``, with ``fill`` where a row is -1."""
    padded = np.concatenate([np.asarray(values), np.array([fill], dtype=np.asarray(values).dtype)])
    return padded[np.where(rows < 0, len(values), rows)]


def _keys(live: Table, bt: Table) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of (symbol, side), shared by both sides."""
    both = [np.concatenate([np.asarray(t[name], dtype=object) for t in (live, bt)]) for name in ("symbol", "side")]
    codes, _ = pd.factorize(pd.Series(both[0], dtype=object) + "\x00" + pd.Series(both[1], dtype=object))
    n = len(live["symbol"])
    return codes[:n], codes[n:]


def _tolerance_words(tolerance_ns: int) -> str:
    seconds = tolerance_ns / _NS_PER_S
    return f"{seconds:g} s"


def _pair(live: Table, bt: Table, tolerance_ns: int, resolution_ns: int, *, whole: bool) -> Pairs:
    live_key, bt_key = _keys(live, bt)
    return pair_nearest(
        live_key,
        np.asarray(live["time_ns"], dtype=np.int64),
        np.asarray(live["quantity"], dtype=np.float64),
        bt_key,
        (np.asarray(bt["time_ns"], dtype=np.int64) // resolution_ns) * resolution_ns,
        np.asarray(bt["quantity"], dtype=np.float64),
        tolerance_ns,
        live_price=np.asarray(live["price"], dtype=np.float64),
        bt_price=np.asarray(bt["price"], dtype=np.float64),
        whole=whole,
    )


def _common(pairs: Pairs, live: Table, bt: Table, resolution_ns: int) -> dict[str, np.ndarray]:
    """Status, symbol, side, both times and the delay of every row of a pairing."""
    li, bi = pairs.live, pairs.backtest
    has_live, has_bt = li >= 0, bi >= 0
    status = np.where(has_live & has_bt, "matched", np.where(has_live, "extra_live", "missing_live")).astype(object)
    live_ns = _take(np.asarray(live["time_ns"], dtype=np.int64), li, 0)
    bt_ns = _take(np.asarray(bt["time_ns"], dtype=np.int64), bi, 0)
    delay = np.where(has_live & has_bt, (live_ns - (bt_ns // resolution_ns) * resolution_ns) / _NS_PER_S, np.nan)
    symbol = np.where(
        has_live,
        _take(np.asarray(live["symbol"], dtype=object), li, ""),
        _take(np.asarray(bt["symbol"], dtype=object), bi, ""),
    )
    side = np.where(
        has_live,
        _take(np.asarray(live["side"], dtype=object), li, ""),
        _take(np.asarray(bt["side"], dtype=object), bi, ""),
    )
    return {
        "status": status,
        "symbol": symbol,
        "side": side,
        "live_ns": live_ns,
        "bt_ns": bt_ns,
        "has_live": has_live,
        "has_bt": has_bt,
        "delay_s": delay,
    }


def _ordered(columns: dict[str, Any], c: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The table, rows by time (the live time where there is one), then status, then order ids:
    sorted as arrays, so the frame is built once."""
    when = np.where(c["has_live"], c["live_ns"], c["bt_ns"])
    rank = pd.Categorical(columns["status"], categories=STATUSES).codes
    order = np.lexsort((columns["backtest_order_id"].astype(str), columns["live_order_id"].astype(str), rank, when))
    return pd.DataFrame({name: values[order] for name, values in columns.items()})


def _slippage_bps(side: np.ndarray, live_price: np.ndarray, bt_price: np.ndarray) -> np.ndarray:
    sign = np.where(side == "Buy", 1.0, -1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sign * (live_price - bt_price) / bt_price * 1e4


def fill_table(
    live: Table,
    bt: Table,
    *,
    tolerance_ns: int,
    resolution_ns: int,
    closed_live_orders: Mapping[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """One row per matched pair or unmatched rest of a fill (:data:`FILL_COLUMNS`).

    ``live`` is :attr:`LiveRecords.fills`; ``bt`` the backtest fills with ``time_ns``, ``symbol``,
    ``side``, ``quantity``, ``price``, ``fee``, ``client_order_id``. ``closed_live_orders`` maps a
    backtest order id to the live order (id, state) it was matched with when that one was rejected,
    cancelled or expired: the note of its missing fills says so. Fees are split pro rata over the
    rows of a fill, so each column sums to the total.
    """
    pairs = _pair(live, bt, tolerance_ns, resolution_ns, whole=False)
    c = _common(pairs, live, bt, resolution_ns)
    li, bi, q = pairs.live, pairs.backtest, pairs.quantity
    live_q = _take(np.asarray(live["quantity"], dtype=np.float64), li, np.nan)
    bt_q = _take(np.asarray(bt["quantity"], dtype=np.float64), bi, np.nan)
    live_price = _take(np.asarray(live["price"], dtype=np.float64), li, np.nan)
    bt_price = _take(np.asarray(bt["price"], dtype=np.float64), bi, np.nan)
    bt_orders = _take(np.asarray(bt["client_order_id"], dtype=object), bi, "")
    with np.errstate(invalid="ignore", divide="ignore"):
        live_fee = _take(np.asarray(live["fee_quote"], dtype=np.float64), li, np.nan) * q / live_q
        bt_fee = _take(np.asarray(bt["fee"], dtype=np.float64), bi, np.nan) * q / bt_q
    return _ordered(
        {
            "status": c["status"],
            "symbol": c["symbol"],
            "side": c["side"],
            "quantity": q,
            "live_time": _utc(c["live_ns"], c["has_live"]),
            "backtest_time": _utc(c["bt_ns"], c["has_bt"]),
            "delay_s": c["delay_s"],
            "live_price": live_price,
            "backtest_price": bt_price,
            "price_diff_bps": _slippage_bps(c["side"], live_price, bt_price),
            "live_quantity": live_q,
            "backtest_quantity": bt_q,
            "live_fee": live_fee,
            "backtest_fee": bt_fee,
            "live_order_id": _take(np.asarray(live["order_id"], dtype=object), li, ""),
            "live_client_order_id": _take(np.asarray(live["client_order_id"], dtype=object), li, ""),
            "live_execution_id": _take(np.asarray(live["execution_id"], dtype=object), li, ""),
            "backtest_order_id": bt_orders,
            "note": _fill_notes(c, q, live_q, bt_q, bt_orders, tolerance_ns, closed_live_orders or {}),
        },
        c,
    )


def _fill_notes(
    c: Mapping[str, np.ndarray],
    q: np.ndarray,
    live_q: np.ndarray,
    bt_q: np.ndarray,
    bt_orders: np.ndarray,
    tolerance_ns: int,
    closed: Mapping[str, tuple[str, str]],
) -> np.ndarray:
    """Why each row is what it is, in words."""
    within = _tolerance_words(tolerance_ns)
    rest_words = {"extra_live": "backtest", "missing_live": "live"}
    notes = []
    for status, symbol, side, quantity, lq, bq, order in zip(
        c["status"].tolist(),
        c["symbol"].tolist(),
        c["side"].tolist(),
        q.tolist(),
        live_q.tolist(),
        bt_q.tolist(),
        bt_orders.tolist(),
        strict=True,
    ):
        if status == "matched":
            split = quantity < lq * (1 - 1e-9) or quantity < bq * (1 - 1e-9)
            notes.append("nearest fill within " + within + ("; part of a split fill" if split else ""))
            continue
        whole = lq if status == "extra_live" else bq
        other = rest_words[status]
        if status == "missing_live" and order in closed:
            live_order, state = closed[order]
            notes.append(f"the live order {live_order} for it ended {state}")
        elif quantity < whole * (1 - 1e-9):
            notes.append(f"{quantity:g} of {whole:g} left after the {other} fills within {within}")
        else:
            notes.append(f"no {other} {side} {symbol} fill within {within}")
    return np.asarray(notes, dtype=object)


def outcome(state: np.ndarray, quantity: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """What became of each order, comparable between the gateway's and the backtest's states:
    ``rejected``, ``filled``, ``partial`` (some filled), ``unfilled`` (cancelled, expired or open)."""
    upper = np.char.upper(np.asarray(state, dtype=str))
    return np.where(
        upper == "REJECTED",
        "rejected",
        np.where(filled >= quantity * (1 - 1e-9), "filled", np.where(filled > 0, "partial", "unfilled")),
    ).astype(object)


def order_table(live: Table, bt: Table, *, tolerance_ns: int, resolution_ns: int) -> pd.DataFrame:
    """One row per matched pair of orders or unmatched order (:data:`ORDER_COLUMNS`), each order in at
    most one pair. ``live`` is :attr:`LiveRecords.order_rows`; ``bt`` the backtest orders with
    ``time_ns``, ``symbol``, ``side``, ``type``, ``quantity``, ``price``, ``state``, ``filled``,
    ``client_order_id``. ``live_outcome``/``backtest_outcome`` compare what became of them."""
    pairs = _pair(live, bt, tolerance_ns, resolution_ns, whole=True)
    c = _common(pairs, live, bt, resolution_ns)
    li, bi = pairs.live, pairs.backtest
    live_state = _take(np.asarray(live["state"], dtype=object), li, "")
    bt_state = _take(np.asarray(bt["state"], dtype=object), bi, "")
    live_q = _take(np.asarray(live["quantity"], dtype=np.float64), li, np.nan)
    bt_q = _take(np.asarray(bt["quantity"], dtype=np.float64), bi, np.nan)
    live_filled = _take(np.asarray(live["filled"], dtype=np.float64), li, np.nan)
    bt_filled = _take(np.asarray(bt["filled"], dtype=np.float64), bi, np.nan)
    live_outcome = np.where(c["has_live"], outcome(live_state, live_q, live_filled), "")
    bt_outcome = np.where(c["has_bt"], outcome(bt_state, bt_q, bt_filled), "")
    within = _tolerance_words(tolerance_ns)
    notes = []
    for status, side, symbol, lo, bo in zip(
        c["status"].tolist(),
        c["side"].tolist(),
        c["symbol"].tolist(),
        live_outcome.tolist(),
        bt_outcome.tolist(),
        strict=True,
    ):
        if status == "matched":
            notes.append("same outcome" if lo == bo else f"live {lo}, backtest {bo}")
        elif status == "extra_live":
            notes.append(f"no backtest {side} {symbol} order within {within} (live {lo})")
        else:
            notes.append(f"no live {side} {symbol} order within {within} (backtest {bo})")
    return _ordered(
        {
            "status": c["status"],
            "symbol": c["symbol"],
            "side": c["side"],
            "live_time": _utc(c["live_ns"], c["has_live"]),
            "backtest_time": _utc(c["bt_ns"], c["has_bt"]),
            "delay_s": c["delay_s"],
            "live_type": _take(np.asarray(live["type"], dtype=object), li, ""),
            "backtest_type": _take(np.asarray(bt["type"], dtype=object), bi, ""),
            "live_quantity": live_q,
            "backtest_quantity": bt_q,
            "live_price": _take(np.asarray(live["price"], dtype=np.float64), li, np.nan),
            "backtest_price": _take(np.asarray(bt["price"], dtype=np.float64), bi, np.nan),
            "live_state": live_state,
            "backtest_state": bt_state,
            "live_outcome": live_outcome,
            "backtest_outcome": bt_outcome,
            "live_filled": live_filled,
            "backtest_filled": bt_filled,
            "live_order_id": _take(np.asarray(live["order_id"], dtype=object), li, ""),
            "live_client_order_id": _take(np.asarray(live["client_order_id"], dtype=object), li, ""),
            "backtest_order_id": _take(np.asarray(bt["client_order_id"], dtype=object), bi, ""),
            "note": np.asarray(notes, dtype=object),
        },
        c,
    )


def closed_orders(orders: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Backtest order id -> (live order id, live state) for matched orders the live side closed
    without a fill (rejected, cancelled, expired)."""
    ended = orders[
        (orders["status"] == "matched")
        & orders["live_state"].str.upper().isin(_CLOSED)
        & (orders["live_filled"] < orders["live_quantity"])
    ]
    return {
        b: (lid, state)
        for b, lid, state in zip(ended["backtest_order_id"], ended["live_order_id"], ended["live_state"], strict=True)
    }


def _side_rows(fills: pd.DataFrame, side: str) -> dict[str, np.ndarray]:
    """The fills of one side (``live`` or ``backtest``), by time: time (naive UTC), symbol, signed
    quantity, price, fee (missing fees as 0)."""
    stamps = fills[f"{side}_time"]
    present = stamps.notna().to_numpy()
    sign = np.where(fills["side"].to_numpy(object)[present] == "Buy", 1.0, -1.0)
    rows = {
        "time": stamps.dt.tz_convert(None).to_numpy("datetime64[ns]")[present],
        "symbol": fills["symbol"].to_numpy(object)[present],
        "signed": sign * fills["quantity"].to_numpy(np.float64)[present],
        "price": fills[f"{side}_price"].to_numpy(np.float64)[present],
        "fee": np.nan_to_num(fills[f"{side}_fee"].to_numpy(np.float64)[present], nan=0.0),
    }
    order = np.argsort(rows["time"], kind="stable")
    return {name: values[order] for name, values in rows.items()}


def _marks(stamps: np.ndarray, price: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The last price at or before each time (the first price for times before any)."""
    if not len(stamps):
        return np.full(len(times), np.nan)
    return price[np.clip(np.searchsorted(stamps, times, "right") - 1, 0, len(stamps) - 1)]


def pnl_curves(fills: pd.DataFrame, prices: pd.DataFrame, end: pd.Timestamp) -> dict[str, pd.Series]:
    """Cumulative PnL of each side (``live``, ``backtest``) in the quote currency, marked to market
    after each of its fills and, last, at ``end``: cash flow, less fees, plus the positions at the
    market price (``prices``: ``symbol`` and ``price`` columns over a UTC time index)."""
    market_times = prices.index.tz_convert(None).to_numpy("datetime64[ns]")
    end_naive = np.datetime64(end.tz_convert("UTC").tz_localize(None).as_unit("ns").to_datetime64(), "ns")
    curves: dict[str, pd.Series] = {}
    for side in ("live", "backtest"):
        rows = _side_rows(fills, side)
        times = np.concatenate([rows["time"], [end_naive]])
        value = np.cumsum(np.concatenate([-rows["signed"] * rows["price"] - rows["fee"], [0.0]]))
        for symbol in pd.unique(rows["symbol"]):
            mine = rows["symbol"] == symbol
            position = np.cumsum(np.concatenate([np.where(mine, rows["signed"], 0.0), [0.0]]))
            own = prices["symbol"].to_numpy(object) == symbol
            value = value + position * _marks(market_times[own], prices["price"].to_numpy(np.float64)[own], times)
        curves[side] = pd.Series(value, index=pd.DatetimeIndex(times).tz_localize("UTC"), name=f"pnl_{side}")
    return curves


def summarise(
    fills: pd.DataFrame,
    orders: pd.DataFrame,
    curves: Mapping[str, pd.Series],
    *,
    live_fills: int,
    backtest_fills: int,
) -> pd.Series:
    """The summary (see :class:`~meltica_lab.reconcile.result.Reconciliation`); ``live_fills`` and
    ``backtest_fills`` count the fills compared."""
    status = fills["status"].to_numpy(object)
    matched = status == "matched"
    order_status = orders["status"].to_numpy(object)
    paired = order_status == "matched"
    outcomes = orders["live_outcome"].to_numpy(object), orders["backtest_outcome"].to_numpy(object)
    delays, slippage = fills["delay_s"].to_numpy(np.float64), fills["price_diff_bps"].to_numpy(np.float64)
    values = {
        "matched": int(matched.sum()),
        "missing_live": int((status == "missing_live").sum()),
        "extra_live": int((status == "extra_live").sum()),
        "median_delay_s": float(np.median(delays[matched])) if matched.any() else np.nan,
        "median_slippage_bps": float(np.nanmedian(slippage[matched])) if matched.any() else np.nan,
        "fees_live": float(np.nansum(fills["live_fee"].to_numpy(np.float64))),
        "fees_backtest": float(np.nansum(fills["backtest_fee"].to_numpy(np.float64))),
        "pnl_live": float(curves["live"].iloc[-1]),
        "pnl_backtest": float(curves["backtest"].iloc[-1]),
        "live_fills": live_fills,
        "backtest_fills": backtest_fills,
        "orders_matched": int(paired.sum()),
        "orders_missing_live": int((order_status == "missing_live").sum()),
        "orders_extra_live": int((order_status == "extra_live").sum()),
        "orders_outcome_differs": int((outcomes[0][paired] != outcomes[1][paired]).sum()),
        "rejected_live": int((outcomes[0] == "rejected").sum()),
    }
    return pd.Series(values, dtype=object, name="reconciliation")
