"""``run_backtest`` and ``compare``: thin drivers over a :class:`StrategySession`."""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from meltica_lab.backtest.config import DRY_RUN, resolve_config
from meltica_lab.backtest.data import DataSource, MarketData, load_market_data
from meltica_lab.backtest.events import MarketEvents
from meltica_lab.backtest.metrics import summarise
from meltica_lab.backtest.options import DEFAULT_CAPITAL, Fees, FillModel, SessionOptions
from meltica_lab.backtest.results import (
    BacktestResult,
    equity_frame,
    errors_frame,
    fills_frame,
    logs_frame,
    orders_frame,
)
from meltica_lab.backtest.session import StrategySession
from meltica_lab.errors import DataError, UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.loader import Loader, Revision

ENGINE_VERSION = "1.0.0"
"""Version of the backtest semantics (host, exchange, analytics); recorded in every provenance."""

INSTANCE_ID = "backtest"


def resolve_strategy(strategy: str | Revision, root: str | Path | None) -> Revision:
    """A Revision as given, or the one a selector resolves to under ``root``."""
    if isinstance(strategy, str):
        return Loader(root).resolve(strategy)
    if isinstance(strategy, Revision):
        return strategy
    raise UsageError(f"strategy: expected a selector or a Revision, got {type(strategy).__name__}", field="strategy")


def _market(data: DataSource | MarketData, *, drop_bad_rows: bool, symbol: str | None, provider: str) -> MarketData:
    if isinstance(data, MarketData):
        return data
    return load_market_data(data, drop_bad_rows=drop_bad_rows, default_symbol=symbol or "", default_provider=provider)


def _select(events: MarketEvents, symbol: str | None, providers: Sequence[str], source: str) -> MarketEvents:
    """The events of ``symbol`` (all symbols when None) from the configured providers."""
    keep = np.isin(events.provider, [k for k, p in enumerate(events.providers) if p in providers])
    if symbol is not None:
        if symbol not in events.symbols:
            raise DataError(
                f"{source}: no events for symbol {symbol} (symbols in the data: {', '.join(events.symbols)})",
                path=source,
                field="symbol",
            )
        keep &= events.symbol == events.symbols.index(symbol)
    return events if keep.all() else events.take(keep)


def run_backtest(
    strategy: str | Revision,
    data: DataSource | MarketData,
    *,
    root: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    seed: int = 0,
    providers: Sequence[str] = ("backtest",),
    symbol: str | None = None,
    fees: Fees = Fees(),  # noqa: B008 - frozen value
    slippage_bps: float = 0.0,
    latency_ms: float = 0.0,
    fill_model: FillModel = FillModel(),  # noqa: B008 - frozen value
    capital: float = DEFAULT_CAPITAL,
    drop_bad_rows: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    chunk_size: int = 65_536,
    progress: bool = True,
) -> BacktestResult:
    """Backtest one pinned strategy revision over market data; the run is deterministic.

    ``strategy`` is a selector (``name``, ``name:tag``, ``name@sha256:…``, a bare hash; resolved
    with ``Loader(root)``) or a ``Revision``; the resolved hash is recorded and only bytes that match
    it run. ``data`` is a DataFrame, a CSV or Parquet path (see :mod:`meltica_lab.backtest.data`) or
    already loaded :class:`MarketData`. ``config`` is checked and coerced against the metadata
    (:func:`meltica_lab.backtest.config.resolve_config`); ``dry_run`` defaults to false. ``seed``
    seeds ``Math.random``. Events from providers not in ``providers`` are skipped; with ``symbol``
    only that symbol's events are replayed (rows without a symbol column take it). ``fees``,
    ``slippage_bps``, ``latency_ms`` and ``fill_model`` drive the simulated exchange (fill rules in
    ``meltica_lab/jshost/js/host_exchange.js``); ``capital`` (default 100,000 quote units) is the
    starting cash. ``limits`` bounds V8 time per chunk of ``chunk_size`` events and heap; a
    strategy that passes them raises :class:`StrategyRuntimeError` naming it and the handler.
    A progress bar appears for runs longer than a second unless ``progress`` is false.
    """
    started = time.perf_counter()
    revision = resolve_strategy(strategy, root)
    source = revision.read_source()
    applied = resolve_config(revision.metadata.config, config, strategy=revision.name)
    provider_names = tuple(providers)
    options = SessionOptions(
        instance_id=INSTANCE_ID,
        providers=provider_names,
        fees=fees,
        slippage_bps=slippage_bps,
        latency_ms=latency_ms,
        fill_model=fill_model,
        capital=capital,
        seed=seed,
        dry_run=bool(applied[DRY_RUN]),
        chunk_size=chunk_size,
    )
    market = _market(data, drop_bad_rows=drop_bad_rows, symbol=symbol, provider=provider_names[0])
    events = _select(market.events, symbol, provider_names, market.source)
    active = symbol if symbol is not None else (events.symbols[int(events.symbol[0])] if len(events) else "")
    with StrategySession(
        source,
        name=revision.name,
        tag=revision.tag,
        config=applied,
        options=options,
        limits=limits,
        symbols=events.symbols,
        active_symbol=active,
        start_ns=events.start_ns,
    ) as session:
        with tqdm(total=len(events), disable=not progress, delay=1.0, unit="ev", desc=revision.name) as bar:
            session.feed(events, on_chunk=bar.update)
        session.finish()
        snapshot = session.snapshot()
        v8_version = session.v8_version
        crossings = session.crossings

    journal = snapshot.summary["journal"]
    equity = equity_frame(snapshot, capital)
    errors = errors_frame(snapshot)
    summary = summarise(
        equity,
        snapshot.summary["ledger"],
        snapshot.summary["orders"],
        capital=capital,
        events=int(snapshot.summary["events"]),
        rejected=int(snapshot.summary["orders"]["rejected"]),
        dropped_rows=len(market.dropped),
        errors=int(journal["counts"]["errors"]),
        dropped_log_lines=int(journal["counts"]["droppedLines"]),
    )
    provenance = {
        "strategy": revision.name,
        "selector": strategy if isinstance(strategy, str) else revision.selector,
        "pinned": revision.selector,
        "hash": revision.hash,
        "tag": revision.tag,
        "data_source": market.source,
        "data_sha256": market.sha256,
        "timestamp_unit": market.timestamp_unit,
        "rows": market.rows,
        "rows_dropped": len(market.dropped),
        "events": len(events),
        "events_skipped": len(market.events) - len(events),
        "config": applied,
        "seed": seed,
        "options": {
            "providers": list(provider_names),
            "symbol": symbol,
            "capital": capital,
            "fees": asdict(fees),
            "slippage_bps": slippage_bps,
            "latency_ms": latency_ms,
            "fill_model": asdict(fill_model),
        },
        "engine_version": ENGINE_VERSION,
        "mini_racer_version": importlib.metadata.version("mini-racer"),
        "v8_version": v8_version,
        "python_to_v8_calls": crossings,
        "wall_seconds": round(time.perf_counter() - started, 6),
    }
    return BacktestResult(
        summary=summary,
        fills=fills_frame(snapshot, INSTANCE_ID),
        orders=orders_frame(snapshot, INSTANCE_ID),
        equity=equity,
        logs=logs_frame(snapshot),
        errors=errors,
        provenance=provenance,
    )


def compare(
    strategies: Iterable[str | Revision],
    data: DataSource | MarketData,
    *,
    drop_bad_rows: bool = False,
    symbol: str | None = None,
    providers: Sequence[str] = ("backtest",),
    **options: Any,
) -> pd.DataFrame:
    """Backtest several revisions over the same data (read once): one row per revision.

    The index is the pinned selector (``name@sha256:…``); columns are the strategy, tag and hash
    followed by every summary label. ``options`` are passed to :func:`run_backtest` for every run.
    """
    market = _market(data, drop_bad_rows=drop_bad_rows, symbol=symbol, provider=next(iter(providers)))
    rows = []
    for strategy in strategies:
        result = run_backtest(strategy, market, symbol=symbol, providers=providers, **options)
        p = result.provenance
        head = pd.Series({"strategy": p["strategy"], "tag": p["tag"], "hash": p["hash"]}, dtype=object)
        rows.append(pd.concat([head, result.summary]).rename(p["pinned"]))
    table = pd.DataFrame(rows)
    table.index.name = "revision"
    return table
