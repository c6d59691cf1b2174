"""A strategy session: one V8 isolate, one strategy instance, its simulated exchange and accumulators.

The event loop, the exchange, the analytics and the strategy all run inside V8 (ARCHITECTURE
decision 1). Python allocates nothing per event: the chunk columns are typed arrays created in V8
once and filled from numpy through shared memoryviews, then one ``runChunk(n)`` call runs the chunk
(decision 2). Results accumulate in V8 and come back in two calls: the tables as a memoryview, then
one JSON document (counters, logs, errors). Sessions take input incrementally with
:meth:`StrategySession.feed`, so a backtest and a live runtime can drive the same host;
:meth:`snapshot` can be taken at any time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import numpy as np

from meltica_lab.backtest.events import VALUE_COLUMNS, MarketEvents
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.errors import StrategyRuntimeError, UsageError
from meltica_lab.jshost.isolate import Isolate, JSError, JSLimitError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.jshost.schema import CHUNK_COLUMNS, FILL_COLUMNS, HANDLERS, ORDER_COLUMNS, ORDER_STATES
from meltica_lab.jshost.scripts import host_script

__all__ = [
    "FILL_COLUMNS",
    "HOST_ENTRY",
    "ORDER_COLUMNS",
    "ORDER_STATES",
    "RUNTIME_FILES",
    "SessionSnapshot",
    "StrategySession",
    "host_source",
]

RUNTIME_FILES = (
    "host_clock.js",
    "host_time.js",
    "host_format.js",
    "host_table.js",
    "host_journal.js",
    "host_market.js",
    "host_ledger.js",
    "host_exchange.js",
    "commonjs.js",
    "host_env.js",
    "host_events.js",
    "host_loop.js",
)
"""The JS runtime, in load order; each file adds one part to the host's private namespace ``M``."""
HOST_ENTRY = "__mlabHost"
"""The script-level constant the host's API is bound to (see :func:`meltica_lab.jshost.scripts.host_script`)."""
LONG_FEED = 1 << 18
"""Events from which a run counts as long: its memory is worth returning when it ends, and the next
run's isolate is not made ahead (making it, 5-7 ms with the chunk buffer's page faults, is lost in a
run this long, and the isolate would hold 3 MiB through it)."""
_T = TypeVar("_T")
_NS_PER_MS = 1_000_000
_TABLES = "__mlabHost.tables()"
_RELEASE_ABOVE = 16 << 20
_NUMBER = (int, float)
# What the results are built from. The host builds the summary with built-ins the strategy shares
# (Object.assign, the prototypes), so a strategy that replaced them can leave holes in it: those must
# fail here, as a StrategyRuntimeError naming the strategy, not later as a KeyError.
_SUMMARY_SHAPE: dict[str, Any] = {
    "events": _NUMBER,
    "ledger": dict.fromkeys(
        ("equity", "trips", "fees", "cashFlow", "realised", "unrealised", "turnover", "wins", "fills", "volume"),
        _NUMBER,
    ),
    "orders": dict.fromkeys(("submitted", "expired", "rejected"), _NUMBER),
    "journal": {
        "logs": dict.fromkeys(("ms", "rem", "text"), list),
        "errors": [{"handler": str, "message": str, "count": _NUMBER}],
        "counts": dict.fromkeys(("errors", "droppedLines"), _NUMBER),
    },
    "symbols": [str],
    "orderProviders": [str],
    "reasons": list,
}


def _misfit(value: Any, shape: Any, path: str) -> str | None:
    """The first place where ``value`` does not have ``shape`` (a type, a dict of shapes by key, or a
    one-element list: every item has that shape), or ``None``."""
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return path
        for key, inner in shape.items():
            if key not in value:
                return f"{path}.{key}"
            if (found := _misfit(value[key], inner, f"{path}.{key}")) is not None:
                return found
        return None
    if isinstance(shape, list):
        if not isinstance(value, list):
            return path
        return next((f for i, item in enumerate(value) if (f := _misfit(item, shape[0], f"{path}[{i}]"))), None)
    return None if isinstance(value, shape) else path


def host_source() -> str:
    """The whole JS host as one script, its parts sharing a private namespace (files read once)."""
    return host_script(RUNTIME_FILES, HOST_ENTRY)


@dataclass(frozen=True, eq=False)
class SessionSnapshot:
    """Raw results of a session: fills and orders tables (rows × ``FILL_COLUMNS``/``ORDER_COLUMNS``),
    the equity after every market event with the event times (int64 ns), and the JSON summary."""

    fills: np.ndarray
    orders: np.ndarray
    equity: np.ndarray
    equity_ts: np.ndarray
    summary: dict[str, Any]


_DTYPES = {"Float64": np.float64, "Int32": np.int32}


def _chunk_columns(shared: memoryview, n: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The chunk columns and the control word as numpy views of the host's one buffer (the layout
    of :data:`~meltica_lab.jshost.schema.CHUNK_COLUMNS`)."""
    buffer = np.frombuffer(shared, dtype=np.uint8)
    columns: dict[str, np.ndarray] = {}
    offset = 0
    for name, kind in CHUNK_COLUMNS:
        dtype = np.dtype(_DTYPES[kind])
        columns[name] = buffer[offset : offset + n * dtype.itemsize].view(dtype)
        offset += -(-n * dtype.itemsize // 8) * 8
    return columns, buffer[offset : offset + 8].view(np.int32)


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    """The parts end to end; the one part itself when there is one (nothing writes to it any more
    below its length)."""
    parts = [p for p in parts if len(p)]
    if len(parts) == 1:
        return parts[0].astype(dtype, copy=False)
    return np.concatenate([np.zeros(0, dtype=dtype), *parts])


class StrategySession:
    """One running strategy instance inside its own V8 isolate.

    ``source`` is the verified module text (read it with ``Revision.read_source()``), ``config`` the
    already coerced config handed to ``create(env)``. ``symbols`` pre-declares symbols; the first one
    (or ``active_symbol``) is the active symbol before any event, for orders placed in ``create``.
    ``start_ns`` is the simulation time ``create`` sees. ``providers`` pre-declares data providers
    (their codes are then set up with the host, not by the first :meth:`feed`). ``capacity``, when
    known, is the most events one feed brings: the chunk buffer then holds no more than that many
    (V8 zeroes it: 5.5 MB at the default ``chunk_size``). ``crossings`` counts Python -> V8 calls.

    A strategy that passes the time limit (``limits.call_seconds`` per chunk, ``eval_seconds`` for
    ``create``) or the heap limit raises :class:`JSLimitError` (a :class:`StrategyRuntimeError`)
    naming the strategy and the handler; the session is then unusable and should be closed.
    """

    def __init__(
        self,
        source: bytes,
        *,
        name: str,
        tag: str,
        config: Mapping[str, Any],
        options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen value
        limits: Limits = DEFAULT_LIMITS,
        symbols: tuple[str, ...] = (),
        active_symbol: str | None = None,
        start_ns: int = 0,
        providers: tuple[str, ...] = (),
        capacity: int | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.crossings = 0
        self.failed = False
        self.handlers: tuple[str, ...] = ()
        self._symbols: dict[str, int] = {}
        self._providers: dict[str, int] = {}
        self._control = np.zeros(1, dtype=np.int32)
        self._equity: list[np.ndarray] = []
        self._equity_ts: list[np.ndarray] = []
        self._isolate: Isolate | None = None
        try:
            self._start(source, tag, config, limits, symbols, active_symbol, start_ns, providers, capacity)
        except BaseException:
            if self._isolate is not None:
                self._isolate.close()
            raise

    def _start(
        self,
        source: bytes,
        tag: str,
        config: Mapping[str, Any],
        limits: Limits,
        symbols: tuple[str, ...],
        active_symbol: str | None,
        start_ns: int,
        providers: tuple[str, ...],
        capacity: int | None,
    ) -> None:
        options = self.options
        declared = tuple(dict.fromkeys((*symbols, *((active_symbol,) if active_symbol else ())))) or ("",)
        self._symbols = {s: i for i, s in enumerate(declared)}
        self._providers = {p: i for i, p in enumerate(dict.fromkeys(providers))}
        # a chunk buffer as large as the events need: V8 zeroes it (5.5 MB for 65,536 events)
        self._chunk = options.chunk_size if capacity is None else max(1, min(options.chunk_size, capacity))
        start_ms, start_rem = divmod(start_ns, _NS_PER_MS)
        settings = {
            "instanceId": options.instance_id,
            "providers": list(options.providers),
            "dataProviders": list(self._providers),
            "symbols": list(declared),
            "activeSymbol": self._symbols[active_symbol or declared[0]],
            "makerFee": options.fees.maker,
            "takerFee": options.fees.taker,
            "slippageBps": options.slippage_bps,
            "latencyNs": round(options.latency_ms * _NS_PER_MS),
            "touch": options.fill_model.trigger == "touch",
            "priceImprovement": options.fill_model.price_improvement,
            "partialFills": options.fill_model.partial,
            "capital": float(options.capital),
            "seedLow": options.seed & 0xFFFFFFFF,
            "seedHigh": (options.seed >> 32) & 0xFFFFFFFF,
            "startMs": start_ms,
            "startRem": start_rem,
            "dryRun": options.dry_run,
            "bare": options.bare,
            "maxLogLines": options.max_log_lines,
            "maxLogLineLength": options.max_log_line_length,
            "maxErrorKinds": options.max_error_kinds,
            "chunkSize": self._chunk,
        }
        # The isolate comes with the host script run (made ahead when this process ran a session
        # before): getting it is no call into V8. Init and the module's evaluation are then one call,
        # whose value is the buffer of the chunk columns init returns.
        text = json.dumps(source.decode("utf-8"))
        # the next run most likely brings this module again, and as many events a chunk: the isolate
        # made for it compiles the module and makes the chunk buffer ahead. A long run has none made:
        # it would hold 3 MiB (with the buffer 8.5) through the whole run, at its peak too, for the
        # 5-7 ms of making one, which a run this long cannot show
        ahead = f"__mlabHost.prepare({text}), __mlabHost.reserve({self._chunk})"
        short = capacity is None or capacity < LONG_FEED
        self._isolate = self._guarded(lambda: Isolate.ready(limits, host_source(), ahead=ahead, make_next=short), "")
        load = f"__mlabHost.load({text}, {json.dumps(dict(config))}, {json.dumps(tag)})"
        try:
            shared = self._eval(
                f"[__mlabHost.init({json.dumps(settings)}), {load}][0]",
                "create",
                seconds=self._isolate.limits.eval_seconds,
            )
        except JSError as exc:
            raise StrategyRuntimeError(
                f"strategy {self.name}: {exc.js_message.removeprefix('Error: ')}",
                strategy=self.name,
                handler="create",
            ) from None
        if not isinstance(shared, memoryview):
            self._unreadable("chunk buffer")
        self.handlers = HANDLERS
        self._inputs, self._control = _chunk_columns(shared, self._chunk)
        # how many leading values of each value row are NaN already
        self._nan_rows = [0] * VALUE_COLUMNS

    def _handler_now(self, fallback: str) -> str:
        code = int(self._control[0])
        return self.handlers[code] if 0 < code < len(self.handlers) else fallback

    def _open(self) -> Isolate:
        # a closed session's chunk columns are memory V8 freed: writing them could crash the process
        if self._isolate.closed:
            raise UsageError(f"strategy {self.name}: this session is closed: start a new one")
        return self._isolate

    def _eval(self, code: str, during: str, *, seconds: float | None = None) -> Any:
        self._open()
        self.crossings += 1
        return self._guarded(lambda: self._isolate.eval(code, seconds=seconds), during)

    def _guarded(self, call: Callable[[], _T], during: str) -> _T:
        """A call to V8 or the isolate, its failures raised as errors naming the strategy and the handler."""
        try:
            return call()
        except JSLimitError as exc:
            self.failed = True
            handler = self._handler_now(during or "host")
            raise JSLimitError(
                f"strategy {self.name}: {handler} stopped: {exc.message}",
                kind=exc.kind,
                strategy=self.name,
                handler=handler,
            ) from None
        except JSError as exc:
            if during == "create":
                raise
            self.failed = True
            handler = self._handler_now(during or "host")
            raise StrategyRuntimeError(
                f"strategy {self.name}: host failed during {handler}: {exc.message}",
                strategy=self.name,
                handler=handler,
            ) from None

    def _codes(self, table: dict[str, int], names: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
        new = [n for n in dict.fromkeys(names) if n not in table]
        for n in new:
            table[n] = len(table)
        return np.array([table[n] for n in names], dtype=np.int32), new

    def feed(self, events: MarketEvents, *, on_chunk: Callable[[int], None] | None = None) -> None:
        """Run ``events`` through the strategy, one V8 call per chunk; ``on_chunk(n)`` after each."""
        self._open()
        if self.failed:
            raise StrategyRuntimeError(
                f"strategy {self.name}: session stopped after an earlier failure", strategy=self.name
            )
        symbol_map, new_symbols = self._codes(self._symbols, events.symbols)
        provider_map, new_providers = self._codes(self._providers, events.providers)
        # codes that are the host's own (one symbol, the providers declared up front) are copied as
        # they are: a lookup per event is a pass over the chunk (1.7 ms per 1M events each)
        symbol_map = None if np.array_equal(symbol_map, np.arange(len(symbol_map))) else symbol_map
        provider_map = None if np.array_equal(provider_map, np.arange(len(provider_map))) else provider_map
        if new_symbols or new_providers:
            self._eval(f"__mlabHost.addTables({json.dumps(new_symbols)}, {json.dumps(new_providers)})", "")
        chunk = self._chunk
        inputs = self._inputs
        # one array per feed, written chunk by chunk; what the chunks run so far is in the results
        equity = np.empty(0 if self.options.bare else len(events))
        self._equity.append(equity[:0])
        self._equity_ts.append(events.ts[:0])
        for start in range(0, len(events), chunk):
            part = events.take(slice(start, start + chunk))
            n = len(part)
            # int64 ns does not fit a float64; whole ms (exact below 2^53) plus the ns remainder does
            ms = part.ts // _NS_PER_MS
            inputs["ms"][:n] = ms
            inputs["rem"][:n] = np.subtract(part.ts, ms * _NS_PER_MS, out=ms)
            inputs["kind"][:n] = part.kind
            inputs["symbol"][:n] = part.symbol if symbol_map is None else symbol_map[part.symbol]
            inputs["provider"][:n] = part.provider if provider_map is None else provider_map[part.provider]
            inputs["side"][:n] = part.side
            for k, row in enumerate(part.value_rows):
                if row is not None:
                    inputs[f"v{k}"][:n] = row
                    self._nan_rows[k] = 0
                elif self._nan_rows[k] < n:  # a row no event has: NaN once, not every chunk
                    inputs[f"v{k}"][:n] = np.nan
                    self._nan_rows[k] = n
            self._eval(f"__mlabHost.runChunk({n})", "")
            if not self.options.bare:
                equity[start : start + n] = inputs["equity"][:n]
                self._equity[-1] = equity[: start + n]
                self._equity_ts[-1] = events.ts[: start + n]
            if on_chunk is not None:
                on_chunk(n)

    def finish(self) -> SessionSnapshot:
        """End of data: deliver queued reports, expire resting orders, deliver their reports; returns
        the :meth:`snapshot` after it (two V8 calls in all: finish with the tables, the summary)."""
        return self._results(f"__mlabHost.finish(), {_TABLES}")

    def release_memory(self, *, above: int = _RELEASE_ABOVE) -> None:
        """Have V8 collect the garbage the events run so far left, if its heap holds more than
        ``above`` bytes: what is built next (the results) then reuses that memory instead of adding
        to it. Two Python -> V8 calls when it collects, one otherwise."""
        isolate = self._open()
        self.crossings += 1
        if isolate.heap_total() > above:
            self.crossings += 1
            isolate.collect_garbage()

    def snapshot(self) -> SessionSnapshot:
        """Copies of the result tables and the summary as they are now."""
        return self._results(_TABLES)

    def _results(self, tables: str) -> SessionSnapshot:
        """The tables the code ``tables`` gives, then the summary (a call into V8 each: a call returns
        one value, and reading a field of a returned object costs as much as a call), as a snapshot;
        anything out of shape is refused, naming the part."""
        view = self._eval(tables, "")
        text = self._eval("__mlabHost.summary()", "")
        if not isinstance(view, memoryview) or view.nbytes % 8 or view.nbytes < 8:
            self._unreadable("result tables")
        values = np.frombuffer(view, dtype=np.float64)
        rows = float(values[0])
        split = 1 + int(rows) * len(FILL_COLUMNS) if math.isfinite(rows) and rows == int(rows) else -1
        if not 1 <= split <= len(values) or (len(values) - split) % len(ORDER_COLUMNS):
            self._unreadable("result tables")
        fills = values[1:split].reshape(-1, len(FILL_COLUMNS)).copy()
        orders = values[split:].reshape(-1, len(ORDER_COLUMNS)).copy()
        summary = self._summary(text)
        # Codes index Python-side tables: one out of range (or NaN) would fail deep in the results.
        for where, codes, size in (
            ("fills.order", fills[:, FILL_COLUMNS.index("order")], len(orders)),
            ("fills.symbol", fills[:, FILL_COLUMNS.index("symbol")], len(summary["symbols"])),
            ("fills.event", fills[:, FILL_COLUMNS.index("event")], 2**53),
            ("orders.symbol", orders[:, ORDER_COLUMNS.index("symbol")], len(summary["symbols"])),
            ("orders.provider", orders[:, ORDER_COLUMNS.index("provider")], len(summary["orderProviders"])),
            ("orders.state", orders[:, ORDER_COLUMNS.index("state")], len(ORDER_STATES)),
            ("orders.reason", orders[:, ORDER_COLUMNS.index("reason")] + 1, len(summary["reasons"]) + 1),
        ):
            if not np.all((codes >= 0) & (codes < size) & (codes == np.trunc(codes))):
                self._unreadable(where)
        return SessionSnapshot(
            fills=fills,
            orders=orders,
            equity=_joined(self._equity, np.float64),
            equity_ts=_joined(self._equity_ts, np.int64),
            summary=summary,
        )

    def _unreadable(self, what: str) -> NoReturn:
        raise StrategyRuntimeError(
            f"strategy {self.name}: the host's {what} is missing or malformed: the strategy changed "
            "built-ins the host reports with (Object.assign, Object.prototype, Math, Map, typed arrays, ...)",
            strategy=self.name,
        )

    def _summary(self, text: Any) -> dict[str, Any]:
        if not isinstance(text, str):
            self._unreadable("summary")
        summary = json.loads(text)
        hole = _misfit(summary, _SUMMARY_SHAPE, "summary")
        if hole is not None:
            self._unreadable(hole)
        return summary

    @property
    def v8_version(self) -> str:
        """The V8 version the strategy runs on."""
        return self._isolate.v8_version

    def close(self, *, release: bool = False) -> Future[None]:
        """Release the isolate; ``release`` after a long run returns the memory it held to the system.
        Returns the future of the freeing (see :meth:`meltica_lab.jshost.isolate.Isolate.close`)."""
        return self._isolate.close(release=release)

    def __enter__(self) -> StrategySession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
