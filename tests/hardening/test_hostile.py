"""Hostile strategy code against the three places it runs: the module host (metadata extraction),
backtests (``run_backtest``) and runtime-manager instances.

Each hostile module must be contained: refused before it runs, stopped with a clear
:class:`MelticaLabError` naming the strategy and the handler, or recorded in the run's errors. And it
must leave nothing behind: after each one, a clean strategy runs in the same process (on the same
module host, in the same manager) and its result must equal a reference result taken before any
hostile code ran. The clean strategy also reports what it can see of the global state (a leaked
global, a polluted prototype, the clock and ``Math.random``), so a leak would change its result.
Last, a sweep replaces each of 45 built-ins the host uses in three ways: every such backtest ends
well or with a :class:`MelticaLabError` naming the strategy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from meltica_lab.backtest import BacktestResult, run_backtest
from meltica_lab.errors import InstanceError, MelticaLabError, ModuleError, StrategyRuntimeError
from meltica_lab.jshost.limits import Limits
from meltica_lab.jshost.module import ModuleHost, ModuleReport
from meltica_lab.runtime import Manager
from tests.hardening.conftest import SECOND, T0, register, strategy_source

# heap: the journal's default caps alone hold up to 10,000 lines of 4,096 characters
LIMITS = Limits(eval_seconds=0.5, call_seconds=1.0, heap_bytes=128 * 1024 * 1024)
PRICES = [100.0, 101.0, 99.0, 102.0, 98.0, 103.0]
# what strategy code running alongside the host could see of the process: none of it may exist
HOST_OBJECTS = (
    "require",
    "process",
    "fetch",
    "setTimeout",
    "setInterval",
    "queueMicrotask",
    "WebAssembly",
    "Buffer",
    "global",
    "XMLHttpRequest",
    "importScripts",
    "print",
    "load",
    "read",
    "quit",
    "os",
    "Deno",
    "Bun",
    "__dirname",
    "__filename",
    "__timer_manager",
)
PROBE = "[" + ", ".join(f'"{name}:" + typeof globalThis.{name}' for name in HOST_OBJECTS) + "]"
SEEN = "'leaked=' + typeof globalThis.leaked + ' polluted=' + typeof ({}).polluted + ' json=' + JSON.stringify({a: 1})"

CLEAN_PROBE = (
    f"const seen = {SEEN};\n"
    "module.exports = {\n"
    "  metadata: { name: 'clean', tag: 'v1.0.0', displayName: 'clean', events: ['Trade'], config: [],\n"
    "              description: seen },\n"
    "  create(env) {\n"
    "    const log = env.helpers.log, rt = env.runtime; let n = 0;\n"
    f"    log(seen, {SEEN});\n"
    "    log('clock', Date.now(), new Date().toISOString(), Math.random(), Math.floor(2.5));\n"
    "    return { onTrade(ctx, evt, payload, price) {\n"
    "      n++; log('trade', n, price, Date.now(), Math.random());\n"
    "      if (n % 2 === 1) rt.submitMarketOrder('', n % 4 === 1 ? 'buy' : 'sell', 1);\n"
    "    } };\n"
    "  },\n"
    "};\n"
)


@dataclass(frozen=True)
class Outcome:
    """How hostile code must end: ``ok`` (harmless), ``refused`` (rejected before it runs:
    :class:`ModuleError`), ``stopped`` (a clear error stops it), ``recorded`` (the run goes on and
    the error is in its errors), ``unreadable`` (it runs, but its results are refused with a clear
    error when read). ``text`` must appear in the error, or in the recorded messages."""

    how: str
    text: str = ""


OK = Outcome("ok")
Endings = Outcome | tuple[Outcome, ...]
"""One way a case must end, or several: code that only a resource limit stops may meet the time
limit before the memory limit on a loaded machine, and either is the right kind of stop."""


def endings(expected: Endings) -> tuple[Outcome, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def assert_ends_as(expected: Endings, how: str, message: str) -> None:
    """``how`` and ``message`` are one of the allowed endings (its text appears in the message)."""
    allowed = endings(expected)
    assert any(o.how == how and o.text in message for o in allowed), (
        f"ended {how!r} ({message[:300]!r}); allowed: {[(o.how, o.text) for o in allowed]}"
    )


@dataclass(frozen=True)
class Hostile:
    """A hostile module, how the module host must end it, and how a run (backtest or instance) must."""

    id: str
    source: str
    module: Endings
    run: Endings


def hostile(id: str, module: Endings, run: Endings, **parts: Any) -> Hostile:
    return Hostile(id, strategy_source("hostile", **parts), module, run)


CASES = (
    hostile(
        "loop-at-top-level",
        Outcome("refused", "time limit of 0.5 s"),
        Outcome("refused", "time limit"),
        top="while (true) {}",
    ),
    hostile(
        "loop-at-top-level-only-inside-the-backtest-host",
        OK,
        Outcome("stopped", "create stopped: time limit of 0.5 s exceeded"),
        top="if (typeof __mlabHost !== 'undefined') for (;;) {}",
    ),
    hostile("loop-in-create", OK, Outcome("stopped", "create stopped: time limit"), create="for (;;) {}"),
    hostile(
        "loop-in-a-handler",
        OK,
        Outcome("stopped", "onTrade stopped: time limit of 1 s exceeded"),
        on_trade="if (price > 101) for (;;) {}",
    ),
    hostile(
        "memory-bomb-at-top-level",
        # filling memory takes time: under load a time limit may stop a bomb before the heap limit does
        (Outcome("refused", "heap limit of 128 MiB"), Outcome("refused", "time limit of 0.5 s")),
        (Outcome("refused", "heap limit"), Outcome("refused", "time limit")),
        top="const hoard = []; for (;;) hoard.push(new Array(100000).fill(1.5));",
    ),
    hostile(
        "memory-bomb-in-create",
        OK,
        (
            Outcome("stopped", "create stopped: heap limit of 128 MiB exceeded"),
            Outcome("stopped", "create stopped: time limit"),
        ),
        create="const hoard = []; for (;;) hoard.push(new Array(100000).fill(hoard.length));",
    ),
    hostile(
        "memory-bomb-in-a-handler",
        OK,
        (Outcome("stopped", "onTrade stopped: heap limit"), Outcome("stopped", "onTrade stopped: time limit")),
        on_trade="const hoard = []; for (;;) hoard.push('x'.repeat(100000) + hoard.length);",
    ),
    hostile(
        "typed-array-bomb-in-a-handler",
        OK,
        # typed-array storage is outside V8's heap: the memory budget stops it (or, under load, the time limit)
        (Outcome("stopped", "onTrade stopped: heap limit"), Outcome("stopped", "onTrade stopped: time limit")),
        on_trade="const hoard = []; for (;;) hoard.push(new Float64Array(4 * 1024 * 1024).fill(price));",
    ),
    hostile(
        "typed-arrays-made-and-dropped-per-event",
        OK,
        # 32 MiB per trade, dropped at once: harmless however many trades there are
        OK,
        on_trade="const scratch = new Float64Array(4 * 1024 * 1024).fill(price); if (scratch[9] !== price) throw 1;",
    ),
    hostile(
        "enormous-log-output",
        # harmless when the machine is fast enough; on a loaded one a time limit stops the logging
        (OK, Outcome("refused", "time limit of 0.5 s")),
        (OK, Outcome("refused", "time limit"), Outcome("stopped", "onTrade stopped: time limit of 1 s exceeded")),
        top="for (let i = 0; i < 100000; i++) console.log('x'.repeat(1000));",
        on_trade="for (let i = 0; i < 5000; i++) log('y'.repeat(100000)); log(null, undefined, {a: [1]});",
    ),
    hostile(
        "throws-huge-distinct-errors",
        OK,
        Outcome("recorded", "Error: xxxx"),
        on_trade="for (let i = 0; i < 300; i++) try { throw new Error('x'.repeat(1000000) + i); }"
        " catch (e) { if (i === 299) throw e; } throw new Error('x'.repeat(1000000) + Math.random());",
    ),
    hostile("create-returns-null", OK, Outcome("recorded", "create returned null"), create="return null;"),
    hostile("create-returns-a-number", OK, Outcome("recorded", "create returned number"), create="return 42;"),
    hostile("create-returns-a-string", OK, Outcome("recorded", "create returned string"), create="return 'handlers';"),
    hostile(
        "throws-a-number-at-top-level", Outcome("refused", "threw 42"), Outcome("refused", "threw 42"), top="throw 42;"
    ),
    hostile(
        "throws-undefined-in-create", OK, Outcome("stopped", "create failed: undefined"), create="throw undefined;"
    ),
    hostile("throws-a-symbol-in-a-handler", OK, Outcome("recorded", "Symbol(boom)"), on_trade="throw Symbol('boom');"),
    hostile(
        "throws-a-hostile-proxy-in-a-handler",
        OK,
        Outcome("recorded", "unprintable thrown value"),
        on_trade="throw new Proxy({}, { get() { throw 1; }, ownKeys() { throw 2; }, getPrototypeOf() { throw 3; } });",
    ),
    hostile(
        "throws-an-error-with-a-throwing-message-getter",
        OK,
        Outcome("recorded", "unprintable thrown value"),
        on_trade="const e = new Error('x'); Object.defineProperty(e, 'message', { get() { throw e; } }); throw e;",
    ),
    hostile(
        "redefines-date",
        OK,
        OK,
        top="Date = function () { return 'forged'; }; Date.now = () => 0;",
        on_trade="log(Date.now(), Date());",
    ),
    hostile(
        "redefines-math",
        OK,
        OK,  # the host captured the Math functions it uses before the strategy ran
        top="Math.floor = null; Math.random = () => 2; Math.max = () => NaN;",
    ),
    hostile("redefines-json", OK, OK, top="JSON.stringify = () => 'forged'; JSON.parse = () => ({});"),
    hostile(
        "pollutes-object-prototype-with-tojson",
        OK,
        Outcome("stopped", "Object.prototype or Array.prototype"),
        top="Object.prototype.toJSON = function () { return 1; };",
    ),
    hostile(
        "pollutes-object-prototype-with-handlers",
        OK,
        OK,
        top="Object.prototype.onTrade = function () { throw new Error('inherited'); };"
        "Object.prototype.polluted = 'yes'; globalThis.leaked = 'yes';",
    ),
    hostile(
        "replaces-object-assign",
        OK,
        Outcome("unreadable", "summary.ledger.equity is missing"),
        top="Object.assign = () => ({});",
    ),
    hostile(
        "puts-a-setter-on-object-prototype",
        OK,
        Outcome("unreadable", "summary.ledger.equity is missing"),
        top="Object.defineProperty(Object.prototype, 'equity', { set(v) {}, get() { return 'forged'; } });",
    ),
    hostile(
        "breaks-typed-array-views",
        OK,
        OK,  # the host's tables use no typed-array method a strategy can replace
        top="Float64Array.prototype.subarray = () => undefined;",
    ),
    hostile(
        "forges-map-lookups",
        OK,
        Outcome("unreadable", "is missing or malformed"),
        top="Map.prototype.get = () => ({});",
        on_trade="rt.submitMarketOrder('', 'buy', 1);",
    ),
    hostile(
        "freezes-the-built-in-prototypes",
        OK,
        OK,
        top="Object.freeze(Object.prototype); Object.freeze(Array.prototype); Object.freeze(Math);",
    ),
    hostile(
        "probes-for-host-objects",
        OK,
        OK,
        top=f"globalThis.probed = {PROBE};",
        create="log(...probed);",
        on_trade="log(typeof console.log('x'), Object.keys(globalThis).join(','));",
    ),
    hostile(
        "calls-the-host-api-from-a-handler",
        OK,
        Outcome("recorded", "called while the host is running a handler"),
        on_trade="__mlabHost.runChunk(1);",
    ),
)
IDS = [case.id for case in CASES]


# -- the module host -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def module_host() -> Iterator[ModuleHost]:
    """One host for every case: what one module does must not reach the next."""
    with ModuleHost(LIMITS) as host:
        yield host


@pytest.fixture(scope="module")
def clean_report() -> ModuleReport:
    with ModuleHost(LIMITS) as host:
        return host.inspect(CLEAN_PROBE, filename="clean.js")


def test_the_clean_probe_sees_no_leaked_state(clean_report: ModuleReport):
    assert clean_report.ok
    assert clean_report.metadata.description == 'leaked=undefined polluted=undefined json={"a":1}'


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_module_host_contains_hostile_code(case: Hostile, module_host: ModuleHost, clean_report: ModuleReport):
    report = module_host.inspect(case.source, filename="hostile.js")
    if report.ok:
        assert_ends_as(case.module, "ok", "")
    else:
        assert_ends_as(case.module, "refused", " ".join(d.message for d in report.diagnostics))
    if case.id == "probes-for-host-objects":
        _assert_no_host_objects(module_host)
    assert module_host.inspect(CLEAN_PROBE, filename="clean.js") == clean_report


def _assert_no_host_objects(host: ModuleHost) -> None:
    probe = f"module.exports = {{ metadata: {{ name: 'p', description: JSON.stringify({PROBE}) }} }};"
    seen = json.loads(host.inspect(probe, filename="probe.js").metadata.description)
    assert seen == [f"{name}:undefined" for name in HOST_OBJECTS]


# -- backtests -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with the clean probe and every hostile module, each under its own name."""
    root = tmp_path_factory.mktemp("arena") / "strategies"
    root.mkdir()
    register(root, CLEAN_PROBE, "clean", "v1.0.0")
    for case in CASES:
        register(root, case.source.replace('"name": "hostile"', f'"name": "{case.id}"'), case.id, "v1.0.0")
    return root


@pytest.fixture(scope="module")
def market(arena: Path) -> Path:
    path = arena.parent / "trades.csv"
    rows = [f"{T0 + i * SECOND},{p},1,BTC-USDT" for i, p in enumerate(PRICES)]
    path.write_text("timestamp,price,quantity,symbol\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def backtest(strategy: str, arena: Path, market: Path) -> BacktestResult:
    return run_backtest(strategy, market, root=arena, limits=LIMITS, progress=False, seed=7)


@pytest.fixture(scope="module")
def clean_result(arena: Path, market: Path) -> BacktestResult:
    return backtest("clean", arena, market)


def _same_result(result: BacktestResult, reference: BacktestResult) -> None:
    for name in ("fills", "orders", "equity", "logs", "errors"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(reference, name), obj=name)
    pd.testing.assert_series_equal(result.summary, reference.summary)


def test_the_clean_backtest_sees_no_leaked_state(clean_result: BacktestResult):
    first = clean_result.logs["message"].iloc[0]
    assert first.startswith('leaked=undefined polluted=undefined json={"a":1} leaked=undefined polluted=undefined')
    assert len(clean_result.fills) == 3 and len(clean_result.errors) == 0


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_backtest_contains_hostile_code(case: Hostile, arena: Path, market: Path, clean_result: BacktestResult):
    try:
        result = backtest(case.id, arena, market)
    except MelticaLabError as exc:
        assert isinstance(exc, ModuleError | StrategyRuntimeError), f"{type(exc).__name__}: {exc}"
        assert case.id in str(exc)
        # a stop and results refused when read both raise StrategyRuntimeError from a backtest
        hows = ("refused",) if isinstance(exc, ModuleError) else ("stopped", "unreadable")
        allowed = [(o.how, o.text) for o in endings(case.run)]
        assert any(how in hows and text in str(exc) for how, text in allowed), f"{exc}; allowed: {allowed}"
    else:
        messages = " ".join(result.errors["message"]) if len(result.errors) else ""
        assert_ends_as(case.run, "recorded" if messages else "ok", messages)
        _check_run_specifics(case, result.logs["message"].tolist(), int(result.summary["Dropped Log Lines"]))
    _same_result(backtest("clean", arena, market), clean_result)


def _check_run_specifics(case: Hostile, lines: list[str], dropped: int) -> None:
    if case.id == "enormous-log-output":
        assert dropped > 0 and len(lines) == 10_000
        assert max(len(line) for line in lines) <= 4096 + 1  # the cap, and the ellipsis marking the cut
    if case.id == "probes-for-host-objects":
        assert lines[0] == " ".join(f"{name}:undefined" for name in HOST_OBJECTS)
        assert lines[1].startswith("undefined ")
        assert not {"require", "process", "module", "exports"} & set(lines[1].split(" ", 1)[1].split(","))


# -- runtime-manager instances ---------------------------------------------------------------------------
def trades_frame(start: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [T0 + (start + i) * SECOND for i in range(len(PRICES))],
            "price": PRICES,
            "quantity": 1.0,
            "symbol": "BTC-USDT",
        }
    )


@pytest.fixture(scope="module")
def manager(arena: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    """One manager for every case: instances come and go, the process and the manager stay."""
    with Manager(arena, cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS) as shared:
        yield shared


@dataclass
class Clock:
    """Where the next batch of events starts (the manager refuses batches that go back in time)."""

    start: int = 0

    def next(self) -> int:
        self.start += 100
        return self.start


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


def clean_run(manager: Manager, clock: Clock, ident: str) -> dict[str, Any]:
    """Start a clean instance, feed it the trades, and summarise what it did, relative to its start."""
    start = clock.next()
    manager.create(ident, "clean", symbols=["BTC-USDT"])
    manager.start(ident)
    manager.feed(trades_frame(start))
    snapshot = manager.snapshot(ident)
    manager.remove(ident)
    journal = snapshot.summary["journal"]
    offset = (T0 + start * SECOND) // 1_000_000
    return {
        # the clock moves with each batch: compare times relative to the batch (create sees the last
        # event the manager delivered before it, so its clock line is compared without them)
        "logs": [
            re.sub(r"\b1[67]\d{11}\b", lambda m: f"t{int(m[0]) - offset}", re.sub(r"^clock \S+ \S+", "clock", line))
            for line in journal["logs"]["text"]
        ],
        "errors": journal["errors"],
        "fills": snapshot.fills[:, 5:].tolist(),
        "equity": snapshot.equity.tolist(),
    }


@pytest.fixture(scope="module")
def clean_instance(manager: Manager, clock: Clock) -> dict[str, Any]:
    return clean_run(manager, clock, "reference")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_manager_instance_contains_hostile_code(
    case: Hostile, manager: Manager, clock: Clock, clean_instance: dict[str, Any]
):
    ident = f"hostile-{case.id}"
    try:
        manager.create(ident, case.id, symbols=["BTC-USDT"])
    except ModuleError as exc:
        assert_ends_as(case.run, "refused", str(exc))
    else:
        manager.create(f"bystander-{case.id}", "clean", symbols=["BTC-USDT"])
        manager.start(f"bystander-{case.id}")
        failure = _start_and_feed(manager, ident, trades_frame(clock.next()))
        if failure:
            assert_ends_as(case.run, "stopped", failure)
            assert case.id in failure
            assert not manager.instance(ident).running
            assert manager.instance(ident).error == failure
        else:
            try:
                snapshot = manager.snapshot(ident)
            except StrategyRuntimeError as exc:
                assert_ends_as(case.run, "unreadable", str(exc))
            else:
                messages = " ".join(e["message"] for e in snapshot.summary["journal"]["errors"])
                assert_ends_as(case.run, "recorded" if messages else "ok", messages)
        assert manager.snapshot(f"bystander-{case.id}").summary["journal"]["errors"] == []
        manager.remove(f"bystander-{case.id}")
        manager.remove(ident)
    assert clean_run(manager, clock, "after") == clean_instance


def _start_and_feed(manager: Manager, ident: str, events: pd.DataFrame) -> str:
    """Start the instance and feed it; the reason it was stopped, or ``""``."""
    try:
        manager.start(ident)
    except InstanceError as exc:
        return exc.message
    return manager.feed(events).failed.get(ident, "")


def test_a_typed_array_memory_bomb_is_stopped_by_the_heap_limit(clean_report: ModuleReport):
    # 1.5 GiB of filled arrays against a 128 MiB heap limit (a memory budget of 1,152 MiB), with time
    # enough that only memory can stop it; a real bomb would go on to the machine's memory
    with ModuleHost(LIMITS.with_(eval_seconds=60.0)) as host:
        report = host.inspect(
            strategy_source(
                "hostile",
                top="const hoard = []; for (let i = 0; i < 48; i++) hoard.push(new Float64Array(1 << 22).fill(i));",
            ),
            filename="hostile.js",
        )
        assert not report.ok and "heap limit" in report.diagnostics[0].message
        assert host.inspect(CLEAN_PROBE, filename="clean.js") == clean_report


def test_a_typed_array_memory_bomb_in_a_backtest_stops_it_naming_the_strategy(
    arena: Path, market: Path, clean_result: BacktestResult
):
    # the handler case above with time enough that only memory can stop it
    with pytest.raises(StrategyRuntimeError) as caught:
        run_backtest(
            "typed-array-bomb-in-a-handler",
            market,
            root=arena,
            limits=LIMITS.with_(call_seconds=60.0),
            progress=False,
            seed=7,
        )
    assert getattr(caught.value, "kind", "") == "heap"
    assert caught.value.strategy == "typed-array-bomb-in-a-handler"
    assert "typed-array-bomb-in-a-handler: onTrade stopped: heap limit" in caught.value.message
    _same_result(backtest("clean", arena, market), clean_result)


# -- every built-in the host leans on, replaced ----------------------------------------------------------
BUILT_INS = (
    "Object.assign",
    "Object.keys",
    "Object.freeze",
    "Object.defineProperty",
    "Object.getPrototypeOf",
    "Array.from",
    "Array.isArray",
    "Array.prototype.push",
    "Array.prototype.slice",
    "Array.prototype.map",
    "Array.prototype.join",
    "Array.prototype.sort",
    "Array.prototype.indexOf",
    "Array.prototype.splice",
    "Array.prototype.concat",
    "Array.prototype[Symbol.iterator]",
    "String.prototype.slice",
    "String.prototype.padStart",
    "String.prototype.replace",
    "String.prototype.split",
    "String.prototype.trim",
    "String.prototype.toLowerCase",
    "Number.isInteger",
    "Number.isFinite",
    "Number.prototype.toExponential",
    "Math.floor",
    "Math.abs",
    "Math.min",
    "Math.max",
    "Math.round",
    "Math.trunc",
    "JSON.parse",
    "Map.prototype.get",
    "Map.prototype.set",
    "Map.prototype.values",
    "Set.prototype.has",
    "BigInt",
    "String",
    "Number",
    "Reflect.construct",
    "Float64Array.prototype.set",
    "Float64Array.prototype.subarray",
    "Int32Array.prototype.fill",
    "Date.prototype.toISOString",
    "Error.prototype.toString",
)
REPLACEMENTS = ("() => { throw new Error('replaced'); }", "() => undefined", "() => ({})")
SWEEP = [(target, replacement) for target in BUILT_INS for replacement in REPLACEMENTS]


@pytest.fixture(scope="module")
def sweep_arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep") / "strategies"
    root.mkdir()
    trade = (
        "log('p', price, [1, 2], {a: 1}); rt.submitOrder('', 'buy', 1, price - 1); rt.submitMarketOrder('', 'sell', 1);"
    )
    for number, (target, replacement) in enumerate(SWEEP):
        top = f"try {{ {target} = {replacement}; }} catch (e) {{}}"
        register(root, strategy_source(f"sweep{number}", top=top, on_trade=trade), f"sweep{number}", "v1.0.0")
    return root


@pytest.mark.parametrize("number", range(len(SWEEP)), ids=[f"{t}={r}" for t, r in SWEEP])
def test_a_replaced_built_in_ends_the_backtest_well_or_with_a_clear_error(number: int, sweep_arena: Path, market: Path):
    try:
        run_backtest(f"sweep{number}", market, root=sweep_arena, limits=LIMITS, progress=False)
    except MelticaLabError as exc:
        assert f"sweep{number}" in str(exc)
