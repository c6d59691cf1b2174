"""What an instance traded live: its orders and executions, from a gateway, saved answers or frames.

The gateway stores orders and executions with Unix **seconds** (the Go server's ``time.Unix()``).
Every way in ends in the gateway client's own frames (:mod:`meltica_lab.gateway.frames`): a live
gateway through :class:`~meltica_lab.gateway.GatewayClient`, saved answers
(``{"orders": [...], "count": n}``, ``{"executions": [...], "count": n}``) after the same contract
check the client makes, and DataFrames either in the client's frame shape or with the contract's
JSON keys (``pd.DataFrame(answer["orders"])``).

What cannot be reconciled without a guess is refused (:class:`LiveRecordsError`), naming the record:
records of several instances when none was chosen, an execution whose order is missing (a
``limit`` that cut the orders short), times that are not Unix seconds (milliseconds, or before
2000), a side that is neither buy nor sell, a fill without a price or a positive quantity.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.files import read_json
from meltica_lab.gateway import Contract, GatewayClient, InstanceSnapshot
from meltica_lab.gateway.frames import executions_frame, orders_frame
from meltica_lab.reconcile.errors import LiveRecordsError, ReconcileWarning

__all__ = ["LiveRecords"]

NS_PER_S = 1_000_000_000
SECONDS_LIMIT = 10**11
"""Unix seconds from here on are after the year 5138: almost surely milliseconds (the gateway client's
checks use the same bound)."""
EARLIEST_S = 946_684_800
"""2000-01-01 in Unix seconds: no instance of this gateway traded before it, so an earlier time is a
unit slip (seconds divided by 1000)."""
_SIDES = {"buy": "Buy", "sell": "Sell"}
# the JSON keys that say a frame holds the contract's records rather than the client's frames
_ORDER_KEYS = ("placedAt", "clientOrderId", "strategyInstance")
_EXECUTION_KEYS = ("tradedAt", "executionId", "orderId")


def _read_answer(path: str | Path, key: str) -> Any:
    """A saved answer, read as the kit reads any file it did not write (regular, bounded)."""
    try:
        return read_json(path, what=f"saved {key} answer", error=LiveRecordsError)
    except FileNotFoundError:
        raise LiveRecordsError(f"{path}: file not found (expected the saved {key} answer)", path=str(path)) from None


def _checked_answer(body: Any, key: str, operation_id: str, source: str, contract: Contract) -> dict[str, Any]:
    """``body`` as the contract's history answer (a bare list of records is taken as its items)."""
    if isinstance(body, list):
        body = {key: body, "count": len(body)}
    if not isinstance(body, dict) or key not in body:
        found = ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
        raise LiveRecordsError(
            f'{source}: expected {{"{key}": [...], "count": n}} (the gateway\'s answer), got {found}', path=source
        )
    violation = contract.check_answer(contract.operation(operation_id), body)
    if violation is not None:
        raise LiveRecordsError(
            f"{source}: not a {operation_id} answer of the gateway contract: {violation.describe()}",
            path=source,
            field=violation.field or None,
        )
    return body


def _count_note(body: Mapping[str, Any], key: str, source: str) -> tuple[str, ...]:
    """The client's one finding about a history answer's shape: a ``count`` that disagrees with the
    list. (Its other findings, odd decimals and times, are errors here: see the record checks.)"""
    listed = len(body[key])
    return () if body["count"] == listed else (f"{source}: count is {body['count']} but {listed} {key} are listed",)


def _seconds_ns(column: pd.Series, where: str, source: str, *, required: bool) -> np.ndarray:
    """int64 ns of Unix-second times (datetime columns in any unit, or integer seconds); times that
    are not plausible Unix seconds are refused, naming the first."""
    if isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
        # a zoned column to naive UTC first: its to_numpy() would make one Timestamp object per value
        naive = column.dt.tz_convert("UTC").dt.tz_localize(None) if column.dt.tz is not None else column
        raw = naive.to_numpy()
        unit, _ = np.datetime_data(raw.dtype)
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
        ints = raw.view(np.int64)
        missing = np.isnat(raw)
        seconds = np.where(missing, 0, ints // per_second)
        ns = np.where(missing, 0, ints * (NS_PER_S // per_second))
    elif (values := column.to_numpy()).dtype.kind in "iuf":
        floats = values.astype(np.float64)
        missing = ~np.isfinite(floats)
        seconds = np.where(missing, 0, np.floor(np.where(missing, 0, floats))).astype(np.int64)
        with np.errstate(invalid="ignore", over="ignore"):  # values that large are refused below
            ns = np.where(missing, 0, np.round(np.where(missing, 0, floats) * NS_PER_S)).astype(np.int64)
    elif len(values) and all(v is None for v in values):
        missing = np.ones(len(values), dtype=bool)
        seconds = ns = np.zeros(len(values), dtype=np.int64)
    else:
        first = next((v for v in values if v is not None), None)
        raise LiveRecordsError(
            f"{source}: {where}: expected Unix seconds (integers) or datetimes, got {type(first).__name__} {first!r}",
            path=source,
            field=where,
        )
    if required and missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise LiveRecordsError(f"{source}: {where}[{row}]: the time is missing", path=source, field=f"{where}[{row}]")
    late = ~missing & (seconds >= SECONDS_LIMIT)
    early = ~missing & (seconds < EARLIEST_S)
    for bad, why in (
        (late, "is after the year 5138 as Unix seconds: milliseconds? The gateway stores Unix seconds"),
        (early, "is before 2000 as Unix seconds: not a time this gateway traded at (a unit slip?)"),
    ):
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise LiveRecordsError(
                f"{source}: {where}[{row}] = {int(seconds[row])} {why}; give times in Unix seconds "
                f"({int(bad.sum())} such value(s))",
                path=source,
                field=f"{where}[{row}]",
            )
    return np.where(missing, np.iinfo(np.int64).min, ns).astype(np.int64)


def _texts(column: pd.Series) -> np.ndarray:
    """Text values as an object array, "" for missing ones."""
    return pd.Series(column, copy=False).astype("str").to_numpy(dtype=object, na_value="")


def _sides(column: pd.Series, ids: np.ndarray, source: str) -> np.ndarray:
    words = pd.Series(_texts(column)).str.strip().str.lower()
    sides = words.map(_SIDES)
    if sides.isna().any():
        row = int(np.flatnonzero(sides.isna().to_numpy())[0])
        raise LiveRecordsError(
            f"{source}: orders[{row}] (order {ids[row]}): side {column.iloc[row]!r} is neither BUY nor SELL",
            path=source,
            field=f"orders[{row}].side",
        )
    return sides.to_numpy(dtype=object)


def _positive(frame: pd.DataFrame, what: str, ids: np.ndarray, key: str, source: str) -> np.ndarray:
    """The column as floats; a missing, non-numeric or non-positive value is refused, shown as sent."""
    values = frame[what].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        sent = frame[f"{what}_text"].iloc[row] if f"{what}_text" in frame.columns else values[row].item()
        raise LiveRecordsError(
            f"{source}: {key}[{row}] ({key[:-1]} {ids[row]}): {what} is {sent!r}; expected a number > 0",
            path=source,
            field=f"{key}[{row}].{what}",
        )
    return values


def _unique(ids: np.ndarray, key: str, source: str) -> None:
    seen = pd.Series(ids).duplicated()
    if seen.any():
        row = int(np.flatnonzero(seen.to_numpy())[0])
        raise LiveRecordsError(
            f"{source}: {key}[{row}]: id {ids[row]} appears more than once; each record must be listed once",
            path=source,
            field=f"{key}[{row}]",
        )


def fee_in_quote(fee: np.ndarray, asset: np.ndarray, symbol: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Fees in the symbol's quote currency: as they are when paid in it (``BTC-USDT`` ends with
    ``USDT``), times the price when paid in the base (it starts with ``BTC``), 0 for a zero fee, NaN
    otherwise (another asset, or none named)."""
    keys = (
        pd.Series(symbol, dtype=object).astype(str).str.upper()
        + "\x00"
        + pd.Series(asset, dtype=object).astype(str).str.upper()
    )
    codes, unique = pd.factorize(keys)
    # a handful of (symbol, asset) pairs: decide each once
    split = [key.split("\x00") for key in unique]
    quote_of = np.array([bool(a) and s.endswith(a) for s, a in split], dtype=bool)
    base_of = np.array([bool(a) and s.startswith(a) for s, a in split], dtype=bool) & ~quote_of
    quote, base = quote_of[codes], base_of[codes]
    out = np.full(len(fee), np.nan)
    out[quote] = fee[quote]
    out[base] = fee[base] * price[base]
    out[np.isfinite(fee) & (fee == 0)] = 0.0
    return out


def _renamed_records(frame: pd.DataFrame, keys: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """A frame of the contract's JSON records (camelCase keys) as records, else None."""
    if not all(k in frame.columns for k in keys):
        return None
    records = frame.to_dict("records")
    for record in records:
        for name, value in list(record.items()):
            if isinstance(value, float) and np.isnan(value):
                record[name] = None
            elif isinstance(value, np.integer):
                record[name] = int(value)
    return records


@dataclass(frozen=True, eq=False)
class LiveRecords:
    """The orders and executions of one live instance, checked and read.

    ``orders``/``executions`` are the gateway client's frames (:func:`~meltica_lab.gateway.frames.orders_frame`,
    :func:`~meltica_lab.gateway.frames.executions_frame`) of ``instance`` only; ``snapshot`` the
    instance (its strategy hash and config) when known; ``source`` says where the records came from;
    ``warnings`` what was found odd but kept. ``fills`` has one row per execution with the order's
    symbol and side: ``time_ns`` (int64), ``symbol``, ``side`` (``Buy``/``Sell``), ``quantity``,
    ``price``, ``fee``, ``fee_asset``, ``fee_quote`` (the fee in the quote currency, NaN when it
    cannot be counted in it), ``liquidity``, ``execution_id``, ``order_id``, ``client_order_id``.
    ``order_rows`` one row per order: ``time_ns`` (placed), ``symbol``, ``side``, ``type``,
    ``quantity``, ``price``, ``state``, ``filled`` (summed from the executions), ``order_id``,
    ``client_order_id``.

    Make one with :meth:`from_gateway`, :meth:`from_files`, :meth:`from_answers` or :meth:`from_frames`.
    """

    instance: str
    orders: pd.DataFrame
    executions: pd.DataFrame
    fills: pd.DataFrame
    order_rows: pd.DataFrame
    source: str
    snapshot: InstanceSnapshot | None = None
    warnings: tuple[str, ...] = field(default=())

    # -- ways in ------------------------------------------------------------------------------------

    @classmethod
    def from_gateway(
        cls, gateway: str | GatewayClient, instance: str, *, limit: int | None = None, **client: Any
    ) -> LiveRecords:
        """The instance's snapshot, orders and executions read from a live gateway (a URL, or a
        :class:`GatewayClient`; ``client`` keywords such as ``token=`` make the client for a URL).
        ``limit`` caps both lists as the endpoints do; an execution of an order beyond the limit is
        then an error, since its symbol and side are unknown."""
        own = isinstance(gateway, str)
        made = GatewayClient(gateway, **client) if own else gateway
        try:
            snapshot = made.instance(instance)
            orders = made.orders_frame(instance, limit=limit)
            executions = made.executions_frame(instance, limit=limit)
        finally:
            if own:
                made.close()
        source = f"{made.base_url} instance {instance}"
        return cls.from_frames(orders, executions, instance=instance, snapshot=snapshot, source=source)

    @classmethod
    def from_files(
        cls,
        orders: str | Path,
        executions: str | Path,
        *,
        instance: str | None = None,
        snapshot: str | Path | InstanceSnapshot | None = None,
        contract: Contract | None = None,
    ) -> LiveRecords:
        """Saved answers of ``GET /strategy/instances/{id}/orders`` and ``/executions`` (JSON files),
        checked against the gateway contract as the client checks a live answer. ``snapshot`` is the
        saved ``GET /strategy/instances/{id}`` answer (or the value), which gives the strategy hash and
        config; ``instance`` picks one instance when the files hold records of several."""
        made = snapshot
        if isinstance(snapshot, str | Path):
            made = _snapshot_file(snapshot, contract or Contract())
        return cls.from_answers(
            _read_answer(orders, "orders"),
            _read_answer(executions, "executions"),
            instance=instance,
            snapshot=made,
            source=(str(orders), str(executions)),
            contract=contract,
        )

    @classmethod
    def from_answers(
        cls,
        orders: Any,
        executions: Any,
        *,
        instance: str | None = None,
        snapshot: InstanceSnapshot | None = None,
        source: str | tuple[str, str] = "<answers>",
        contract: Contract | None = None,
    ) -> LiveRecords:
        """The two answers as parsed JSON (``{"orders": [...], "count": n}`` and
        ``{"executions": [...], "count": n}``; a bare list of records is taken as the list).
        ``source`` names where they came from (one name, or one per answer)."""
        checker = contract or Contract()
        if isinstance(source, tuple):
            order_source, execution_source = source
            source = f"{order_source} + {execution_source}"
        else:
            order_source, execution_source = f"{source} (orders)", f"{source} (executions)"
        order_body = _checked_answer(orders, "orders", "listInstanceOrders", order_source, checker)
        execution_body = _checked_answer(executions, "executions", "listInstanceExecutions", execution_source, checker)
        found = _count_note(order_body, "orders", order_source)
        found += _count_note(execution_body, "executions", execution_source)
        return cls.from_frames(
            orders_frame(order_body["orders"], found),
            executions_frame(execution_body["executions"]),
            instance=instance,
            snapshot=snapshot,
            source=source,
        )

    @classmethod
    def from_frames(
        cls,
        orders: pd.DataFrame,
        executions: pd.DataFrame,
        *,
        instance: str | None = None,
        snapshot: InstanceSnapshot | None = None,
        source: str = "<DataFrames>",
    ) -> LiveRecords:
        """Orders and executions as DataFrames: the gateway client's frames (``orders_frame``,
        ``executions_frame``), or frames of the contract's JSON records (``placedAt``, ``orderId``, ...),
        which are checked against the contract first. Integer times are Unix seconds."""
        if not isinstance(orders, pd.DataFrame) or not isinstance(executions, pd.DataFrame):
            raise LiveRecordsError(
                f"{source}: expected two DataFrames (orders, executions), got "
                f"{type(orders).__name__} and {type(executions).__name__}"
            )
        order_records = _renamed_records(orders, _ORDER_KEYS)
        execution_records = _renamed_records(executions, _EXECUTION_KEYS)
        if order_records is not None or execution_records is not None:
            return cls.from_answers(
                order_records if order_records is not None else orders.to_dict("records"),
                execution_records if execution_records is not None else executions.to_dict("records"),
                instance=instance,
                snapshot=snapshot,
                source=source,
            )
        for frame, needed, key in (
            (orders, ("id", "strategy_instance", "symbol", "side", "quantity", "state", "placed_at"), "orders"),
            (executions, ("order_id", "strategy_instance", "quantity", "price", "traded_at"), "executions"),
        ):
            missing = [c for c in needed if c not in frame.columns]
            if missing:
                raise LiveRecordsError(
                    f"{source}: the {key} frame has no column(s) {', '.join(missing)}; expected the gateway "
                    f"client's {key}_frame columns or the contract's JSON keys "
                    f"(found: {', '.join(map(str, frame.columns))})",
                    path=source,
                    field=missing[0],
                )
        found = tuple(orders.attrs.get("warnings", ())) + tuple(executions.attrs.get("warnings", ()))
        return _build(orders, executions, instance, snapshot, source, found)

    # -- what they say ------------------------------------------------------------------------------

    @property
    def strategy_hash(self) -> str | None:
        """The hash the instance runs, when the snapshot is known."""
        return None if self.snapshot is None else self.snapshot.strategy.hash

    @property
    def config(self) -> dict[str, Any] | None:
        """The instance's config, when the snapshot is known."""
        return None if self.snapshot is None else dict(self.snapshot.strategy.config)

    @property
    def span_ns(self) -> tuple[int, int]:
        """First and last time of any order placement or execution (int64 ns)."""
        times = np.concatenate([self.order_rows["time_ns"].to_numpy(), self.fills["time_ns"].to_numpy()])
        return int(times.min()), int(times.max())

    @property
    def providers(self) -> tuple[str, ...]:
        """The providers the instance's orders went to, in order of first use."""
        ordered = self.order_rows.sort_values("time_ns", kind="stable")
        return tuple(dict.fromkeys(p for p in ordered["provider"] if p))

    def __repr__(self) -> str:
        return (
            f"<LiveRecords of instance {self.instance}: {len(self.order_rows)} orders, {len(self.fills)} executions "
            f"from {self.source}>"
        )


def _snapshot_file(path: str | Path, contract: Contract) -> InstanceSnapshot:
    body = _read_answer(path, "instance snapshot")
    violation = contract.check_answer(contract.operation("getInstance"), body)
    if violation is not None:
        raise LiveRecordsError(
            f"{path}: not a getInstance answer of the gateway contract: {violation.describe()}", path=str(path)
        )
    return InstanceSnapshot.from_json(body)


def _choose_instance(
    orders: pd.DataFrame, executions: pd.DataFrame, instance: str | None, source: str
) -> tuple[str, np.ndarray, np.ndarray, str | None]:
    """The instance reconciled, which rows are its own, and a warning about rows left out."""
    owners = pd.concat([orders["strategy_instance"], executions["strategy_instance"]], ignore_index=True).astype(str)
    counts = owners.value_counts(sort=False)
    if instance is None:
        if len(counts) == 0:
            raise LiveRecordsError(f"{source}: no live orders or executions: nothing to reconcile", path=source)
        if len(counts) > 1:
            listed = ", ".join(f"{name} ({n} record(s))" for name, n in counts.items())
            raise LiveRecordsError(
                f"{source}: records of {len(counts)} instances are mixed: {listed}; say which one to reconcile "
                "(instance=..., --instance ID)",
                path=source,
                field="strategyInstance",
            )
        instance = str(counts.index[0])
    own_orders = orders["strategy_instance"].astype(str).to_numpy() == instance
    own_executions = executions["strategy_instance"].astype(str).to_numpy() == instance
    if not own_orders.any() and not own_executions.any():
        known = ", ".join(map(str, counts.index)) or "none"
        raise LiveRecordsError(
            f"{source}: no records of instance {instance} (instances in the records: {known})",
            path=source,
            field="strategyInstance",
        )
    others = counts.drop(instance, errors="ignore")
    note = None
    if len(others):
        listed = ", ".join(f"{name} ({n})" for name, n in others.items())
        note = f"{source}: left out {int(others.sum())} record(s) of other instances: {listed}"
    return instance, own_orders, own_executions, note


def _canonical(frame: pd.DataFrame, time: str, key: str) -> pd.DataFrame:
    """The frame by ``time`` then ``key`` (as text), renumbered."""
    ids = _texts(frame[key]) if key in frame.columns else np.zeros(len(frame), dtype=object)
    stamps = frame[time]
    when = stamps.dt.tz_convert("UTC").dt.tz_localize(None) if isinstance(stamps.dtype, pd.DatetimeTZDtype) else stamps
    order = np.lexsort((ids.astype(str), pd.Series(when).rank(method="dense", na_option="top").to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


def _build(
    orders: pd.DataFrame,
    executions: pd.DataFrame,
    instance: str | None,
    snapshot: InstanceSnapshot | None,
    source: str,
    found: tuple[str, ...],
) -> LiveRecords:
    if snapshot is not None and instance is not None and snapshot.id != instance:
        raise LiveRecordsError(f"{source}: the snapshot is of instance {snapshot.id}, not {instance}", path=source)
    chosen, own_orders, own_executions, note = _choose_instance(
        orders, executions, instance if instance is not None else (snapshot.id if snapshot else None), source
    )
    notes = list(found)
    if note is not None:
        warnings.warn(ReconcileWarning(note), stacklevel=4)
        notes.append(note)
    # one canonical order (time, then id), so the same records in any order pair the same way
    orders = _canonical(orders.loc[own_orders], "placed_at", "id")
    executions = _canonical(executions.loc[own_executions], "traded_at", "execution_id")

    order_ids = _texts(orders["id"])
    _unique(order_ids, "orders", source)
    placed = _seconds_ns(orders["placed_at"], "orders.placedAt", source, required=True)
    sides = _sides(orders["side"], order_ids, source)
    quantity = _positive(orders, "quantity", order_ids, "orders", source)
    price = orders["price"].to_numpy(dtype=np.float64) if "price" in orders.columns else np.full(len(orders), np.nan)

    execution_ids = _texts(executions["execution_id"]) if "execution_id" in executions.columns else None
    if execution_ids is None:
        execution_ids = np.array([f"#{k}" for k in range(len(executions))], dtype=object)
    _unique(execution_ids, "executions", source)
    traded = _seconds_ns(executions["traded_at"], "executions.tradedAt", source, required=True)
    fill_quantity = _positive(executions, "quantity", execution_ids, "executions", source)
    fill_price = _positive(executions, "price", execution_ids, "executions", source)

    position = pd.Index(order_ids).get_indexer(_texts(executions["order_id"]))
    if (position < 0).any():
        orphans = np.flatnonzero(position < 0)
        row = int(orphans[0])
        raise LiveRecordsError(
            f"{source}: executions[{row}] (execution {execution_ids[row]}) belongs to order "
            f"{executions['order_id'].iloc[row]}, which is not among the {len(orders)} order(s) of instance {chosen} "
            f"({len(orphans)} such execution(s)); fetch the orders without a limit, or give the complete orders answer",
            path=source,
            field=f"executions[{row}].orderId",
        )
    symbols = _texts(orders["symbol"])
    client_ids = _texts(orders["client_order_id"]) if "client_order_id" in orders.columns else order_ids
    fee = executions["fee"].to_numpy(dtype=np.float64) if "fee" in executions.columns else np.zeros(len(executions))
    fee_asset = _texts(executions["fee_asset"]) if "fee_asset" in executions.columns else np.full(len(fee), "")
    fill_symbols = symbols[position]
    fee_quote = fee_in_quote(fee, fee_asset, fill_symbols, fill_price)
    uncounted = ~np.isfinite(fee_quote)
    if uncounted.any():
        assets = ", ".join(sorted({a or "none named" for a in fee_asset[uncounted]}))
        note = (
            f"{source}: {int(uncounted.sum())} execution(s) pay fees in an asset that is neither the base nor the "
            f"quote of their symbol ({assets}): left out of fees_live and pnl_live"
        )
        warnings.warn(ReconcileWarning(note), stacklevel=4)
        notes.append(note)
    fills = pd.DataFrame(
        {
            "time_ns": traded,
            "symbol": fill_symbols,
            "side": sides[position],
            "quantity": fill_quantity,
            "price": fill_price,
            "fee": fee,
            "fee_asset": fee_asset,
            "fee_quote": fee_quote,
            "liquidity": _texts(executions["liquidity"]) if "liquidity" in executions.columns else "",
            "execution_id": execution_ids,
            "order_id": order_ids[position],
            "client_order_id": client_ids[position],
        }
    )
    filled = np.bincount(position, weights=fill_quantity, minlength=len(orders))[: len(orders)]
    states = _texts(orders["state"])
    short = (np.char.upper(states.astype(str)) == "FILLED") & (filled < quantity * (1 - 1e-9))
    if short.any():
        listed = ", ".join(order_ids[short][:5]) + (", ..." if short.sum() > 5 else "")
        note = (
            f"{source}: {int(short.sum())} order(s) say FILLED but their listed executions add up to less ({listed}): "
            "the executions answer may be cut short by a limit; their missing fills show as missing_live"
        )
        warnings.warn(ReconcileWarning(note), stacklevel=4)
        notes.append(note)
    order_rows = pd.DataFrame(
        {
            "time_ns": placed,
            "symbol": symbols,
            "side": sides,
            "type": _texts(orders["type"]) if "type" in orders.columns else "",
            "quantity": quantity,
            "price": price,
            "state": states,
            "filled": filled,
            "provider": _texts(orders["provider"]) if "provider" in orders.columns else "",
            "order_id": order_ids,
            "client_order_id": client_ids,
        }
    )
    return LiveRecords(
        instance=chosen,
        orders=orders,
        executions=executions,
        fills=fills,
        order_rows=order_rows,
        source=source,
        snapshot=snapshot,
        warnings=tuple(notes),
    )
