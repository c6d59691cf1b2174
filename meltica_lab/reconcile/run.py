"""``reconcile``: backtest the hash a live instance runs over the same market data, and compare.

The live records' span is the window: the backtest replays the market data from when the instance
started (``start``), or from a warm-up before the first live record, or from the start of the data,
to the tolerance after the last record, as an ordinary pinned run with its provenance. Backtest fills
before the window (during a warm-up) are not compared; they are counted in the provenance, and
warned about, since the backtest's position at the window's start may then differ from the
instance's.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import pandas as pd

from meltica_lab.backtest import BacktestResult, BacktestSettings, MarketData
from meltica_lab.backtest.data import DataSource
from meltica_lab.backtest.engine import BacktestContext, StrategyResolver, backtest_revision, market_for, settings_for
from meltica_lab.backtest.events import KLINE, TICKER, MarketEvents
from meltica_lab.backtest.settings import SETTING_NAMES, SettingsChanges
from meltica_lab.errors import ConfigError, DataError, MelticaLabError, UsageError
from meltica_lab.gateway import GatewayClient
from meltica_lab.reconcile.errors import ReconcileWarning
from meltica_lab.reconcile.live import EARLIEST_S, NS_PER_S, SECONDS_LIMIT, LiveRecords
from meltica_lab.reconcile.result import Reconciliation
from meltica_lab.reconcile.tables import closed_orders, fill_table, order_table, pnl_curves, summarise
from meltica_lab.version import __version__

__all__ = [
    "LiveSource",
    "as_live_records",
    "duration_ns",
    "load_market",
    "market_prices",
    "reconcile",
    "reconcile_result",
]

LiveSource = LiveRecords | tuple[Any, Any]
"""What ``reconcile`` takes as the live side: :class:`LiveRecords`, or a pair: (gateway URL or
:class:`GatewayClient`, instance id), (orders file, executions file), (orders frame, executions
frame), or the two parsed JSON answers."""

MATCHING = (
    "fills and orders pair when symbol and side agree and their times (backtest times at the live "
    "records' resolution) are within the tolerance; nearest first, then closest quantity, then closest "
    "price, then earliest; fills pair quantity by quantity (partial fills), orders one to one"
)


def duration_ns(value: Any, name: str) -> int:
    """A duration (``"5s"``, ``"250ms"``, ``"2min"``, a number of seconds, a Timedelta) in ns;
    :class:`ConfigError` naming ``name`` when it is not a duration >= 0, or is text without a unit
    (``"5"`` could be seconds or milliseconds)."""
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        raise ConfigError(
            f"{name}: {value!r} has no unit; say which: {value.strip()}s, {value.strip()}ms, {value.strip()}min",
            field=name,
        )
    try:
        if isinstance(value, bool):
            raise ValueError
        delta = pd.Timedelta(seconds=float(value)) if isinstance(value, int | float) else pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ConfigError(
            f"{name}: expected a duration such as 5s, 500ms or 2min (or a number of seconds), got {value!r}", field=name
        ) from None
    if delta is pd.NaT or delta < pd.Timedelta(0):
        raise ConfigError(f"{name}: expected a duration >= 0, got {value!r}", field=name)
    return int(delta.value)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def as_live_records(live: LiveSource, *, instance: str | None = None) -> LiveRecords:
    """:class:`LiveRecords` from any form ``reconcile`` takes (see :data:`LiveSource`)."""
    if isinstance(live, LiveRecords):
        if instance is not None and instance != live.instance:
            raise UsageError(f"live: the records are of instance {live.instance}, not {instance}", field="instance")
        return live
    if isinstance(live, tuple | list) and len(live) == 2:
        first, second = live
        if isinstance(first, GatewayClient) or _is_url(first):
            if not isinstance(second, str) or (instance is not None and instance != second):
                raise UsageError(f"live: expected (gateway, instance id), got ({first!r}, {second!r})", field="live")
            return LiveRecords.from_gateway(first, second)
        if isinstance(first, str | Path) and isinstance(second, str | Path):
            return LiveRecords.from_files(first, second, instance=instance)
        if isinstance(first, pd.DataFrame) and isinstance(second, pd.DataFrame):
            return LiveRecords.from_frames(first, second, instance=instance)
        if isinstance(first, dict | list) and isinstance(second, dict | list):
            return LiveRecords.from_answers(first, second, instance=instance)
    raise UsageError(
        "live: expected LiveRecords, (gateway URL, instance id), (orders file, executions file), "
        f"(orders frame, executions frame) or the two JSON answers; got {type(live).__name__}",
        field="live",
    )


def market_prices(events: MarketEvents) -> pd.DataFrame:
    """One price per market event (trade price; a ticker's last price, else its mid; a bar's close)
    with its symbol, over a UTC time index."""
    value = events.value
    price = value(0).copy()
    ticker = events.kind == TICKER
    price[ticker] = np.where(np.isfinite(value(0)[ticker]), value(0)[ticker], (value(1)[ticker] + value(2)[ticker]) / 2)
    kline = events.kind == KLINE
    price[kline] = value(3)[kline]
    names = np.asarray(events.symbols, dtype=object)[events.symbol.astype(np.int64)] if len(events) else []
    index = pd.DatetimeIndex(events.ts.view("datetime64[ns]"), name="time").tz_localize("UTC")
    return pd.DataFrame({"symbol": names, "price": price}, index=index)


def load_market(
    data: DataSource | MarketData | Sequence[str | Path],
    settings: BacktestSettings,
    workspace: BacktestContext | None = None,
) -> MarketData:
    """The market data as a run with these settings reads it: one source, or a dataset of several
    files (a list or a glob; :func:`meltica_lab.data.load_market_data` puts them in time order).
    Files go through the workspace's conversion cache when it has one (a
    :class:`~meltica_lab.workspace.Workspace`)."""
    if isinstance(data, list | tuple):
        if not data:
            raise DataError("market data: expected a file, a DataFrame or a list of files, got an empty list")
        if len(data) == 1:
            data = data[0]
    read = getattr(workspace, "load_market_data", None)  # a Workspace's; a bare BacktestContext has none
    if read is not None and not isinstance(data, MarketData | pd.DataFrame):
        return read(data, settings=settings)
    return market_for(data, settings)  # type: ignore[arg-type]


def _columns(frame: pd.DataFrame, names: Mapping[str, str], dtypes: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Columns of a frame as numpy arrays under new names (text as object arrays), plus ``time_ns``
    from its UTC index: the tables work on arrays, so pandas selects nothing row by row."""
    columns = {new: frame[old].to_numpy(dtypes.get(new, object)) for new, old in names.items()}
    columns["time_ns"] = frame.index.as_unit("ns").asi8
    return columns


_FLOATS = dict.fromkeys(("quantity", "price", "fee", "filled"), np.float64)


def _backtest_fills(result: BacktestResult) -> dict[str, np.ndarray]:
    names = {n: n for n in ("symbol", "side", "quantity", "price", "fee", "client_order_id")}
    return _columns(result.fills, names, _FLOATS)


def _backtest_orders(result: BacktestResult) -> dict[str, np.ndarray]:
    names = {n: n for n in ("symbol", "side", "type", "quantity", "state", "client_order_id")}
    return _columns(result.orders, {**names, "price": "limit_price", "filled": "filled_quantity"}, _FLOATS)


def _arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A frame's columns as numpy arrays (text as object arrays)."""
    return {name: frame[name].to_numpy() for name in frame.columns}


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, unit="ns", tz="UTC").isoformat()


def _resolution_ns(records: LiveRecords) -> int:
    """Whole seconds when every live time is (a gateway's records), else nanoseconds."""
    times = np.concatenate([records.fills["time_ns"].to_numpy(), records.order_rows["time_ns"].to_numpy()])
    return NS_PER_S if np.all(times % NS_PER_S == 0) else 1


def reconcile_result(
    live: LiveSource,
    backtest: BacktestResult,
    *,
    tolerance: Any = "5s",
    prices: pd.DataFrame | None = None,
    instance: str | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Reconciliation:
    """Reconcile live records with a backtest already run (:func:`reconcile` runs it for you).

    Backtest fills and orders are compared from the tolerance before the first live record to the
    tolerance after the last. ``prices`` (``symbol``, ``price`` over a UTC index, see
    :func:`market_prices`) marks positions to market for the PnL; without it both sides are marked
    at the last fill price of either side. ``provenance`` adds to the reconciliation's provenance.
    """
    records = as_live_records(live, instance=instance)
    tolerance_ns = duration_ns(tolerance, "tolerance")
    resolution = _resolution_ns(records)
    first, last = records.span_ns
    bt_fills = _backtest_fills(backtest)
    bt_orders = _backtest_orders(backtest)
    lower, upper = first - tolerance_ns, last + tolerance_ns

    def inside(table: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int, int]:
        at = (table["time_ns"] // resolution) * resolution
        before, after = at < lower, at > upper
        keep = ~before & ~after
        return {name: values[keep] for name, values in table.items()}, int(before.sum()), int(after.sum())

    fills_in, fills_before, fills_after = inside(bt_fills)
    orders_in, _, _ = inside(bt_orders)
    orders = order_table(_arrays(records.order_rows), orders_in, tolerance_ns=tolerance_ns, resolution_ns=resolution)
    fills = fill_table(
        _arrays(records.fills),
        fills_in,
        tolerance_ns=tolerance_ns,
        resolution_ns=resolution,
        closed_live_orders=closed_orders(orders),
    )
    if prices is None:
        stamps = pd.concat([fills["live_time"].dropna(), fills["backtest_time"].dropna()])
        values = np.concatenate([fills["live_price"].dropna(), fills["backtest_price"].dropna()])
        symbols = np.concatenate(
            [fills.loc[fills["live_time"].notna(), "symbol"], fills.loc[fills["backtest_time"].notna(), "symbol"]]
        )
        prices = pd.DataFrame({"symbol": symbols, "price": values}, index=pd.DatetimeIndex(stamps)).sort_index(
            kind="stable"
        )
    end = pd.Timestamp(max(upper, last), unit="ns", tz="UTC")
    curves = pnl_curves(fills, prices, end)
    summary = summarise(fills, orders, curves, live_fills=len(records.fills), backtest_fills=len(fills_in["time_ns"]))
    p = backtest.provenance
    made = {
        "instance": records.instance,
        "live_source": records.source,
        "live_orders": len(records.order_rows),
        "live_executions": len(records.fills),
        "live_warnings": list(records.warnings),
        "strategy": p["strategy"],
        "tag": p["tag"],
        "hash": p["hash"],
        "instance_hash": records.strategy_hash,
        "config": p["config"],
        "tolerance_s": tolerance_ns / NS_PER_S,
        "resolution_s": resolution / NS_PER_S,
        "window": {"live_first": _iso(first), "live_last": _iso(last), "start": _iso(lower), "end": _iso(upper)},
        "backtest_fills_before_window": fills_before,
        "backtest_fills_after_window": fills_after,
        "matching": MATCHING,
        "meltica_lab_version": __version__,
        **(provenance or {}),
        "backtest": dict(p),
    }
    return Reconciliation(
        summary=summary,
        fills=fills,
        orders=orders,
        provenance=made,
        prices=prices,
        pnl_live=curves["live"],
        pnl_backtest=curves["backtest"],
        backtest=backtest,
        live=records,
    )


def _live_settings(chosen: BacktestSettings, records: LiveRecords, given: set[str]) -> BacktestSettings:
    """The run's settings with what the instance says it traded, where the caller said nothing: the
    providers its orders went to, and the one symbol its snapshot subscribes to (so other symbols in
    the data do not reach the strategy)."""
    changes: dict[str, Any] = {}
    if "providers" not in given and chosen.providers == BacktestSettings().providers and records.providers:
        changes["providers"] = records.providers
    symbols = records.snapshot.aggregated_symbols if records.snapshot is not None else ()
    if "symbol" not in given and chosen.symbol is None and len(symbols) == 1:
        changes["symbol"] = symbols[0]
    return chosen.with_(**changes)


def _named_market(market: MarketData, records: LiveRecords) -> tuple[MarketData, str | None]:
    """Data without a symbol column names its rows by the one symbol the instance traded."""
    traded = sorted(set(records.order_rows["symbol"]))
    if market.events.symbols != ("",):
        return market, None
    if len(traded) != 1:
        raise DataError(
            f"{market.source}: the data has no symbol column, and instance {records.instance} traded "
            f"{len(traded)} symbols ({', '.join(traded)}); give data with a symbol column, or symbol=",
            path=market.source,
            field="symbol",
        )
    warnings.warn(
        ReconcileWarning(
            f"{market.source}: the data names no symbol; its rows are taken as {traded[0]}, the one symbol "
            f"instance {records.instance} traded (give symbol= to say so)"
        ),
        stacklevel=3,
    )
    events = dataclasses.replace(market.events, symbols=(traded[0],))
    return dataclasses.replace(market, events=events), traded[0]


def start_ns(value: Any) -> int:
    """When the instance started: a datetime, ISO text, or Unix seconds (as the gateway writes times);
    :class:`ConfigError` naming ``start`` for anything else, milliseconds included."""
    if isinstance(value, bool):
        raise ConfigError(
            f"start: expected a time (ISO 8601, a datetime or Unix seconds), got {value!r}", field="start"
        )
    if isinstance(value, int | float):
        if not EARLIEST_S <= value < SECONDS_LIMIT:
            raise ConfigError(
                f"start: {value!r} is not Unix seconds between 2000 and 5138 (milliseconds?)", field="start"
            )
        return round(value * NS_PER_S)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(
            f"start: expected a time (ISO 8601, a datetime or Unix seconds), got {value!r}", field="start"
        ) from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def _window(market: MarketData, records: LiveRecords, start: int | None, tolerance_ns: int) -> MarketData:
    """The market data from the backtest's start (``None``: the data's) to the tolerance after the
    last live record; data that does not cover the live records is refused."""
    events = market.events
    first, last = records.span_ns
    for symbol in sorted(set(records.order_rows["symbol"])):
        if symbol not in events.symbols:
            raise DataError(
                f"{market.source}: no market data for {symbol}, which instance {records.instance} traded "
                f"(symbols in the data: {', '.join(events.symbols)})",
                path=market.source,
                field="symbol",
            )
        ts = events.ts[events.symbol == events.symbols.index(symbol)]
        begins, ends = int(ts[0]), int(ts[-1])
        needed = start if start is not None else first
        if begins > needed or ends < last:
            what = "the backtest's start" if start is not None else "the first live record"
            raise DataError(
                f"{market.source}: the {symbol} data runs {_iso(begins)} to {_iso(ends)}, which does not cover "
                f"{what} ({_iso(needed)}) to the last live record ({_iso(last)}); give data for the live window"
                + (
                    " or a later start or shorter warmup"
                    if start is not None and begins > needed and ends >= last
                    else ""
                ),
                path=market.source,
                field="timestamp",
            )
    lower = start if start is not None else int(events.ts[0]) if len(events) else 0
    keep = (events.ts >= lower) & (events.ts <= last + tolerance_ns + NS_PER_S - 1)
    return dataclasses.replace(market, events=events.take(keep))


def reconcile(
    live: LiveSource,
    data: DataSource | MarketData | Sequence[str | Path],
    *,
    root: str | Path | None = None,
    workspace: BacktestContext | None = None,
    strategy: str | None = None,
    config: Mapping[str, Any] | None = None,
    tolerance: Any = "5s",
    warmup: Any = None,
    start: Any = None,
    instance: str | None = None,
    settings: BacktestSettings | None = None,
    **changes: Unpack[SettingsChanges],
) -> Reconciliation:
    """Reconcile what a live instance traded with a backtest of the same hash over the same data.

    ``live`` is :class:`LiveRecords` or a pair: ``(gateway URL, instance id)``, ``(orders file,
    executions file)`` (saved answers ``{"orders": [...], "count": n}`` and ``{"executions": [...],
    "count": n}``), two DataFrames, or the two parsed answers; ``instance`` picks one instance from
    records that hold several. ``data`` is the market data, as :func:`~meltica_lab.run_backtest`
    takes it, or a dataset of several files (a list or a glob, see :func:`load_market`). The strategy
    hash and config come from the instance (the gateway's snapshot) unless ``strategy`` (a selector)
    and ``config`` are given; saved answers carry no snapshot (unless one is given to
    :meth:`LiveRecords.from_files`), so they need ``strategy``. Selectors resolve through
    ``workspace``, else a Loader of ``root``.

    ``tolerance`` (``"5s"``, a Timedelta or seconds) is how far apart a live and a backtest fill may
    be to match. The backtest starts at ``start`` (when the instance started: a time, or Unix
    seconds), else ``warmup`` (a duration) before the first live record, else at the start of the data;
    when it traded before the first live record, its position there may differ from the instance's,
    and a :class:`ReconcileWarning` says so.

    ``settings`` and ``changes`` are the run's :class:`BacktestSettings`, as for ``run_backtest``
    (``fees=``, ``slippage_bps=``, ...); where they say nothing, the providers are the ones the
    instance's orders went to and the symbol the one its snapshot subscribes to. Live records that
    cannot be read without a guess raise :class:`LiveRecordsError`; data that does not cover the live
    window a :class:`DataError`.
    """
    records = as_live_records(live, instance=instance)
    tolerance_ns = duration_ns(tolerance, "tolerance")
    if start is not None and warmup is not None:
        raise UsageError("give start or warmup, not both (start is when the instance began)", field="start")
    first = records.span_ns[0]
    begin = None if start is None else start_ns(start)
    if begin is not None and begin > first:
        raise ConfigError(f"start: {_iso(begin)} is after the first live record ({_iso(first)})", field="start")
    if warmup is not None:
        begin = first - duration_ns(warmup, "warmup")
    selector = strategy if strategy is not None else records.strategy_hash
    if selector is None:
        raise UsageError(
            f"{records.source}: the live records do not say which strategy revision instance {records.instance} "
            "runs (saved answers carry no instance snapshot); give strategy=SELECTOR (--strategy), or the saved "
            "instance snapshot",
            field="strategy",
        )
    chosen = settings_for(workspace, settings, changes)
    given = set(SETTING_NAMES) if settings is not None else set(changes)
    chosen = _live_settings(chosen, records, given)
    with StrategyResolver(root, workspace) as resolver:
        try:
            revision = resolver.resolve(selector)
        except MelticaLabError as exc:
            if strategy is None:
                raise exc.with_context(
                    f"instance {records.instance} runs {selector}, which this registry cannot give (give strategy=)"
                ) from None
            raise
    if records.strategy_hash is not None and revision.hash != records.strategy_hash:
        warnings.warn(
            ReconcileWarning(
                f"reconciling instance {records.instance} against {revision.selector}, but the instance runs "
                f"{records.strategy_hash}"
            ),
            stacklevel=2,
        )
    applied = dict(config) if config is not None else (records.config or {})
    market, named = _named_market(load_market(data, chosen, workspace), records)
    if not len(market.events):
        raise DataError(f"{market.source}: no market events", path=market.source)
    windowed = _window(market, records, begin, tolerance_ns)
    known = set(windowed.events.providers)
    if not known & set(chosen.providers):
        raise DataError(
            f"{market.source}: the data's providers ({', '.join(sorted(known))}) are none of the run's "
            f"({', '.join(chosen.providers)}); give providers=",
            path=market.source,
            field="provider",
        )
    result = backtest_revision(revision, windowed, chosen, config=applied, selector=selector)
    extra = {
        "selector": selector,
        "start": "start" if start is not None else "warmup" if warmup is not None else "the start of the data",
        "backtest_start": _iso(int(windowed.events.ts[0])) if len(windowed.events) else None,
        "data_symbol": named,
    }
    reconciled = reconcile_result(
        records, result, tolerance=tolerance, prices=market_prices(windowed.events), provenance=extra
    )
    before = reconciled.provenance["backtest_fills_before_window"]
    if before:
        warnings.warn(
            ReconcileWarning(
                f"the backtest filled {before} order(s) before the first live record ({_iso(first)}), so its "
                f"position there may differ from instance {records.instance}'s; give start= (when the instance "
                "started) or a shorter warmup="
            ),
            stacklevel=2,
        )
    return reconciled
