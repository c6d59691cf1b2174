"""``run_backtest`` and ``compare``: thin drivers over a :class:`StrategySession`.

Both take their state from the caller's owner (``workspace=``, see :class:`BacktestContext`) or,
without one, make one Loader for the whole call; settings arrive as one :class:`BacktestSettings`
value, from which the session options and the provenance are written.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import wait
from pathlib import Path
from typing import Any, Protocol, Unpack

import numpy as np
import pandas as pd

from meltica_lab.backtest.config import DRY_RUN, resolve_config
from meltica_lab.backtest.data import DataSource, MarketData, load_market_data
from meltica_lab.backtest.events import MarketEvents
from meltica_lab.backtest.metrics import summarise
from meltica_lab.backtest.results import (
    BacktestResult,
    equity_frame,
    errors_frame,
    fills_frame,
    logs_frame,
    order_ids,
    orders_frame,
)
from meltica_lab.backtest.session import LONG_FEED, StrategySession
from meltica_lab.backtest.settings import BacktestSettings, SettingsChanges
from meltica_lab.errors import DataError, UsageError
from meltica_lab.loader import Loader, Revision
from meltica_lab.progress import progress_bar

ENGINE_VERSION = "1.0.0"
"""Version of the backtest semantics (host, exchange, analytics); recorded in every provenance."""

INSTANCE_ID = "backtest"
_MINI_RACER_VERSION = importlib.metadata.version("mini-racer")  # read once: it scans the installed packages


class BacktestContext(Protocol):
    """What the backtest functions need from their caller's owner of state (a
    :class:`~meltica_lab.workspace.Workspace`): a loader to resolve selectors, and default settings."""

    @property
    def loader(self) -> Loader:
        """The loader selectors resolve with."""
        ...

    @property
    def settings(self) -> BacktestSettings:
        """The default settings of every run."""
        ...


class StrategyResolver:
    """How one call resolves its strategies: through the workspace's loader, else through one Loader of
    ``root`` made for the whole call (once a selector needs it) and closed when the call ends. Use it
    as a context manager."""

    def __init__(self, root: str | Path | None, workspace: BacktestContext | None) -> None:
        if workspace is not None and root is not None:
            raise UsageError("give root or workspace, not both (a workspace has its root)", field="root")
        self._root = root
        self._loader = workspace.loader if workspace is not None else None
        self._owned: Loader | None = None

    def resolve(self, strategy: str | Revision) -> Revision:
        """A Revision as given, or the one a selector resolves to."""
        if isinstance(strategy, Revision):
            return strategy
        if not isinstance(strategy, str):
            kind = type(strategy).__name__
            raise UsageError(f"strategy: expected a selector or a Revision, got {kind}", field="strategy")
        if self._loader is None:
            self._loader = self._owned = Loader(self._root)
        return self._loader.resolve(strategy)

    def __enter__(self) -> StrategyResolver:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            self._owned.close()


def settings_for(
    workspace: BacktestContext | None, settings: BacktestSettings | None, changes: Mapping[str, Any]
) -> BacktestSettings:
    """The settings of a call: ``settings`` (else the workspace's, else the defaults) with ``changes``."""
    if settings is not None and not isinstance(settings, BacktestSettings):
        raise UsageError(
            f"settings: expected a BacktestSettings value, got {type(settings).__name__}", field="settings"
        )
    base = settings if settings is not None else workspace.settings if workspace is not None else BacktestSettings()
    return base.with_(**changes)


def market_for(data: DataSource | MarketData, settings: BacktestSettings, *, copy: bool = True) -> MarketData:
    """``data`` loaded as a run with these settings reads it (already loaded data as it is); with
    ``copy=False`` a DataFrame's float columns are shared, not copied (for data used only within
    the call, see :func:`~meltica_lab.data.load_market_data`)."""
    if isinstance(data, MarketData):
        return data
    return load_market_data(
        data,
        drop_bad_rows=settings.drop_bad_rows,
        default_symbol=settings.symbol or "",
        default_provider=settings.providers[0],
        progress=settings.progress,
        copy=copy,
    )


def _select(events: MarketEvents, symbol: str | None, providers: Sequence[str], source: str) -> MarketEvents:
    """The events of ``symbol`` (all symbols when None) from the configured providers."""
    if symbol is not None and symbol not in events.symbols:
        raise DataError(
            f"{source}: no events for symbol {symbol} (symbols in the data: {', '.join(events.symbols)})",
            path=source,
            field="symbol",
        )
    wanted = [k for k, p in enumerate(events.providers) if p in providers]
    # a pass over every event only where some may be left out
    keep = None if len(wanted) == len(events.providers) else np.isin(events.provider, wanted)
    if symbol is not None and events.symbols != (symbol,):
        same = events.symbol == events.symbols.index(symbol)
        keep = same if keep is None else keep & same
    return events if keep is None or keep.all() else events.take(keep)


def run_backtest(
    strategy: str | Revision,
    data: DataSource | MarketData,
    *,
    root: str | Path | None = None,
    workspace: BacktestContext | None = None,
    config: Mapping[str, Any] | None = None,
    settings: BacktestSettings | None = None,
    **changes: Unpack[SettingsChanges],
) -> BacktestResult:
    """Backtest one pinned strategy revision over market data; the run is deterministic.

    ``strategy`` is a selector (``name``, ``name:tag``, ``name@sha256:…``, a bare hash) or a
    ``Revision``; the resolved hash is recorded and only bytes that match it run. A selector is
    resolved by ``workspace`` (a :class:`~meltica_lab.workspace.Workspace`), else by one Loader of
    ``root`` made for this call. ``data`` is a DataFrame, a CSV or Parquet path (see
    :mod:`meltica_lab.backtest.data`) or already loaded :class:`MarketData`. ``config`` is checked
    and coerced against the metadata (:func:`meltica_lab.backtest.config.resolve_config`);
    ``dry_run`` defaults to false.

    How the run trades is one :class:`BacktestSettings` value: ``settings``, else the workspace's,
    else the defaults, with ``changes`` applied, any of its fields by name: ``seed`` seeds
    ``Math.random``; events from providers not in ``providers`` are skipped; with ``symbol`` only
    that symbol's events are replayed (rows without a symbol column take it); ``fees``,
    ``slippage_bps``, ``latency_ms`` and ``fill_model`` drive the simulated exchange (fill rules in
    ``meltica_lab/jshost/js/host_exchange.js``); ``capital`` (default 100,000 quote units) is the
    starting cash; ``drop_bad_rows`` leaves bad data rows out instead of failing. ``limits`` bounds
    V8 time per chunk of ``chunk_size`` events and heap; a strategy that passes them raises
    :class:`StrategyRuntimeError` naming it and the handler. A progress bar appears for runs longer
    than a second unless ``progress`` is false. An unknown name is a :class:`UsageError`, a value
    that does not fit a :class:`ConfigError`.
    """
    chosen = settings_for(workspace, settings, changes)
    with StrategyResolver(root, workspace) as resolver:
        revision = resolver.resolve(strategy)
    return backtest_revision(
        revision, data, chosen, config=config, selector=strategy if isinstance(strategy, str) else None
    )


def backtest_revision(
    revision: Revision,
    data: DataSource | MarketData,
    settings: BacktestSettings,
    *,
    config: Mapping[str, Any] | None = None,
    selector: str | None = None,
) -> BacktestResult:
    """Backtest a resolved revision with these settings (what :func:`run_backtest` does once it has
    resolved the strategy and settled the settings); ``selector`` is the text it was named by."""
    started = time.perf_counter()
    source = revision.read_source()
    applied = resolve_config(revision.metadata.config, config, strategy=revision.name)
    options = settings.session_options(dry_run=bool(applied[DRY_RUN]), instance_id=INSTANCE_ID)
    # the data read here is done with before this returns: it may share the caller's DataFrame
    market = market_for(data, settings, copy=False)
    symbol = settings.symbol
    events = _select(market.events, symbol, settings.providers, market.source)
    active = symbol if symbol is not None else (events.symbols[int(events.symbol[0])] if len(events) else "")
    replayed, dropped = len(events), len(market.dropped)
    long_feed = replayed >= LONG_FEED
    # read once the run is over: a DataFrame's digest is computed meanwhile, on a thread of its own
    digest = market.digest
    about_data = {
        "data_source": market.source,
        "data_sha256": "",
        "timestamp_unit": market.timestamp_unit,
        **market.provenance(),
        "rows": market.rows,
        "rows_dropped": dropped,
        "events": replayed,
        "events_skipped": len(market.events) - replayed,
    }
    # Data read here is not needed once replayed: let it go before the results are built (peak memory)
    del market
    with StrategySession(
        source,
        name=revision.name,
        tag=revision.tag,
        config=applied,
        options=options,
        limits=settings.limits,
        symbols=events.symbols,
        active_symbol=active,
        start_ns=events.start_ns,
        providers=events.providers,
        capacity=len(events),
    ) as session:
        with progress_bar(
            total=len(events), disable=not settings.progress, delay=1.0, unit="ev", desc=revision.name
        ) as bar:
            session.feed(events, on_chunk=bar.update)
        del events
        if long_feed:
            # V8 keeps a long feed's garbage past the run: collected now, the results built next reuse
            # that memory (shorter runs leave too little to be worth a V8 call)
            session.release_memory()
        snapshot = session.finish()
        v8_version = session.v8_version
        crossings = session.crossings
        freed = session.close(release=long_feed)
        if long_feed:
            # the frames are built once V8 has given back what it held. Built while it did, the two
            # added up and slowed each other (1M trades: peak RSS up to 260 MiB, 269 with the other
            # core busy, against 257 and 256 when waited for; the run took no longer)
            wait([freed])

    about_data["data_sha256"] = digest.value
    capital = settings.capital
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
        dropped_rows=dropped,
        errors=int(journal["counts"]["errors"]),
        dropped_log_lines=int(journal["counts"]["droppedLines"]),
    )
    provenance = {
        "strategy": revision.name,
        "selector": selector if selector is not None else revision.selector,
        "pinned": revision.selector,
        "hash": revision.hash,
        "tag": revision.tag,
        **about_data,
        "config": applied,
        "seed": settings.seed,
        "options": settings.recorded(),
        "engine_version": ENGINE_VERSION,
        "mini_racer_version": _MINI_RACER_VERSION,
        "v8_version": v8_version,
        "python_to_v8_calls": crossings,
        "wall_seconds": round(time.perf_counter() - started, 6),
    }
    ids = order_ids(snapshot, INSTANCE_ID)
    return BacktestResult(
        summary=summary,
        fills=fills_frame(snapshot, INSTANCE_ID, ids=ids),
        orders=orders_frame(snapshot, INSTANCE_ID, ids=ids),
        equity=equity,
        logs=logs_frame(snapshot),
        errors=errors,
        provenance=provenance,
    )


def compare(
    strategies: Iterable[str | Revision],
    data: DataSource | MarketData,
    *,
    root: str | Path | None = None,
    workspace: BacktestContext | None = None,
    config: Mapping[str, Any] | None = None,
    settings: BacktestSettings | None = None,
    **changes: Unpack[SettingsChanges],
) -> pd.DataFrame:
    """Backtest several revisions over the same data (read once) and settings: one row per revision.

    Selectors resolve through ``workspace``, else through one Loader of ``root`` for every run;
    ``config``, ``settings`` and ``changes`` mean what they mean to :func:`run_backtest` and apply to
    every run. The index is the pinned selector (``name@sha256:…``); columns are the strategy, tag
    and hash followed by every summary label.
    """
    chosen = settings_for(workspace, settings, changes)
    market = market_for(data, chosen, copy=False)  # used only by the runs below
    rows = []
    with StrategyResolver(root, workspace) as resolver:
        for strategy in strategies:
            revision = resolver.resolve(strategy)
            selector = strategy if isinstance(strategy, str) else None
            result = backtest_revision(revision, market, chosen, config=config, selector=selector)
            p = result.provenance
            head = pd.Series({"strategy": p["strategy"], "tag": p["tag"], "hash": p["hash"]}, dtype=object)
            rows.append(pd.concat([head, result.summary]).rename(p["pinned"]))
    table = pd.DataFrame(rows)
    table.index.name = "revision"
    return table
