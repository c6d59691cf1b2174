"""The example strategies (strategies/) and the legacy flat directory (examples/legacy/), run under Node.

Node is the independent oracle here: ``strategy_harness.js`` loads each module with ``vm`` in strict
mode (only ``module``, ``exports`` and ``console`` defined), checks its metadata, builds the documented
``env`` with a small simulated exchange, feeds a synthetic market and reports orders, logs, handler
exceptions and the position the fills added up to.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("strategy_harness.js")
STRATEGIES = REPO / "strategies"
LEGACY = REPO / "examples" / "legacy"

STRATEGY_FILES = sorted(STRATEGIES.glob("*/*/*.js"))
LEGACY_FILES = sorted(LEGACY.glob("*.js"))
ALL_FILES = STRATEGY_FILES + LEGACY_FILES

EXPECTED_REVISIONS = {
    "momentum": {"v1.0.0", "v1.1.0", "v1.2.0"},
    "meanreversion": {"v1.9.0", "v1.10.0"},
    "grid": {"v1.0.0", "v1.1.0"},
    "marketmaking": {"v1.0.0", "v1.1.0"},
    "noop": {"v1.0.0", "v1.0.1"},
    "logging": {"v1.0.0"},
}
# The metadata version key each legacy file carries, as a user's pre-registry directory would.
LEGACY_VERSIONS: dict[str, tuple[str | None, str | None]] = {
    "momentum": ("version", "1.2.0"),
    "breakout": ("tag", "v2.0.0"),
    "noop": (None, None),
    "pairs": ("version", "1.10.0"),
}
# The synthetic market each trading strategy is meant for; None: the strategy never trades.
MARKETS: dict[str, str | None] = {
    "momentum": "trend",
    "breakout": "trend",
    "meanreversion": "oscillate",
    "grid": "oscillate",
    "marketmaking": "oscillate",
    "pairs": "pairs",
    "noop": None,
    "logging": None,
}
NEEDS_TICKERS = {"marketmaking"}
ORDER_KINDS = {"momentum": "market", "meanreversion": "limit", "grid": "limit", "marketmaking": "limit"}
CONFIG_TYPES = {"int", "float", "string", "bool", "duration"}

LIVE_LABELS = ("live", "live-snake-case", "live-camel-case", "config-as-form-strings", "config-unparsable")
QUIET_LABELS = ("dry-run-unset", "dry-run-true", "dry-run-string-false", "trading-inactive", "host-dry-run")
EVENT_LABELS = ("all-events-both", "all-events-snake", "all-events-camel")


def _name(path: Path) -> str:
    return path.stem


def _is_trading(path: Path) -> bool:
    return MARKETS[_name(path)] is not None


def _scenarios(name: str) -> list[dict[str, Any]]:
    base = {
        "series": MARKETS[name] or "trend",
        "ticker": name in NEEDS_TICKERS,
        "tradingActive": True,
        "hostDryRun": False,
        "spelling": "both",
    }
    live = {"dry_run": False}
    # Wide levels make arithmetic and geometric spacing tell apart beyond price rounding.
    wide_grid = [{**base, "label": "wide-grid", "config": {**live, "grid_spacing": 5, "max_position": 10}}]
    return [
        *(wide_grid if name == "grid" else []),
        {**base, "label": "live", "config": live},
        {**base, "label": "live-snake-case", "config": live, "spelling": "snake"},
        {**base, "label": "live-camel-case", "config": live, "spelling": "camel"},
        {**base, "label": "config-as-form-strings", "config": live, "configFrom": "strings"},
        {**base, "label": "config-unparsable", "config": live, "configFrom": "garbage"},
        {**base, "label": "live-choppy-market", "series": "oscillate", "config": live},
        {**base, "label": "first-order-rejected", "config": live, "rejectFirstOrder": True},
        {**base, "label": "dry-run-unset", "config": {}},
        {**base, "label": "dry-run-true", "config": {"dry_run": True}},
        {**base, "label": "dry-run-string-false", "config": {"dry_run": "false"}},
        {**base, "label": "trading-inactive", "config": live, "tradingActive": False},
        {**base, "label": "host-dry-run", "config": live, "hostDryRun": True},
        *(
            {**base, "series": "all-events", "label": f"all-events-{spelling}", "config": live, "spelling": spelling}
            for spelling in ("both", "snake", "camel")
        ),
    ]


def _expectations(path: Path) -> dict[str, str]:
    if path.is_relative_to(STRATEGIES):
        return {"name": path.parent.parent.name, "tag": path.parent.name}
    return {"name": path.stem}


@functools.cache
def run(path: Path) -> dict[str, Any]:
    """Run the Node harness over every scenario for ``path`` (once per test session)."""
    node = shutil.which("node")
    assert node, "node (Node.js 20) must be on PATH: it is the independent oracle of these tests"
    request = {"file": str(path), "expect": _expectations(path), "scenarios": _scenarios(_name(path))}
    done = subprocess.run(
        [node, str(HARNESS)], input=json.dumps(request), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"harness failed on {path}:\n{done.stderr}"
    return json.loads(done.stdout)


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def _defaults(metadata: dict[str, Any]) -> dict[str, Any]:
    return {field["name"]: field.get("default") for field in metadata.get("config") or []}


def _position_limit(defaults: dict[str, Any]) -> float:
    """Largest position a strategy may reach with its default config."""
    for cap in ("max_position", "max_inventory"):
        if cap in defaults:
            return float(defaults[cap])
    if "grid_levels" in defaults:
        return float(defaults["grid_levels"]) * float(defaults["order_size"])
    return float(defaults["order_size"])


TRADING_FILES = [p for p in ALL_FILES if _is_trading(p)]
QUIET_FILES = [p for p in ALL_FILES if not _is_trading(p)]
TRADING_STRATEGY_FILES = [p for p in STRATEGY_FILES if _is_trading(p)]
TYPED_ORDER_FILES = [p for p in STRATEGY_FILES if p.stem in ORDER_KINDS]
GRID_FILES = sorted(STRATEGIES.glob("grid/*/grid.js"))
MARKETMAKING_FILES = sorted(STRATEGIES.glob("marketmaking/*/marketmaking.js"))
MEANREVERSION_FILES = sorted(STRATEGIES.glob("meanreversion/*/meanreversion.js"))


def test_strategies_directory_holds_only_tag_layout_modules() -> None:
    stray = [p for p in STRATEGIES.rglob("*.js") if p not in STRATEGY_FILES or p.stem != p.parent.parent.name]
    assert stray == []


def test_strategies_directory_has_every_expected_revision() -> None:
    found: dict[str, set[str]] = {}
    for path in STRATEGY_FILES:
        found.setdefault(path.stem, set()).add(path.parent.name)
    assert found == EXPECTED_REVISIONS


def test_legacy_directory_is_flat_with_the_expected_modules() -> None:
    assert sorted(p.name for p in LEGACY.iterdir()) == sorted(f"{name}.js" for name in LEGACY_VERSIONS)


def test_every_module_has_a_known_market() -> None:
    assert {_name(p) for p in ALL_FILES} == set(MARKETS)


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_module_source_uses_only_the_gateway_dialect(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    forbidden = r"\brequire\s*\(|\bset(Timeout|Interval)\b|^\s*class\s|\basync\b|\bawait\b|^\s*(import|export)\s"
    assert re.findall(forbidden, source, flags=re.MULTILINE) == []


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_module_loads_in_strict_vm_with_valid_metadata(path: Path) -> None:
    assert run(path)["problems"] == []


@pytest.mark.parametrize("path", STRATEGY_FILES, ids=_ids(STRATEGY_FILES))
def test_strategy_metadata_documents_every_config_field(path: Path) -> None:
    metadata = run(path)["metadata"]
    assert metadata["description"].strip()
    for field in metadata["config"]:
        assert field["type"] in CONFIG_TYPES
        assert field["description"].strip(), field["name"]
        assert "default" in field, field["name"]
        assert field["required"] is False, field["name"]


@pytest.mark.parametrize("path", TRADING_STRATEGY_FILES, ids=_ids(TRADING_STRATEGY_FILES))
def test_trading_strategy_declares_dry_run_defaulting_to_true(path: Path) -> None:
    metadata = run(path)["metadata"]
    dry_run = [field for field in metadata["config"] if field["name"] == "dry_run"]
    assert dry_run == [
        {
            "name": "dry_run",
            "type": "bool",
            "description": "When true, strategy logs intended orders without submitting them",
            "default": True,
            "required": False,
        }
    ]
    assert "ExecReport" in metadata["events"]


def test_each_revision_describes_its_own_change() -> None:
    by_name: dict[str, list[str]] = {}
    for path in STRATEGY_FILES:
        by_name.setdefault(path.stem, []).append(run(path)["metadata"]["description"])
    repeated = {name: texts for name, texts in by_name.items() if len(set(texts)) != len(texts)}
    assert repeated == {}


@pytest.mark.parametrize("path", LEGACY_FILES, ids=_ids(LEGACY_FILES))
def test_legacy_module_carries_its_old_style_version(path: Path) -> None:
    metadata = run(path)["metadata"]
    key, value = LEGACY_VERSIONS[path.stem]
    present = {k: metadata[k] for k in ("version", "tag") if k in metadata}
    assert present == ({} if key is None else {key: value})


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_handlers_never_throw_and_orders_are_well_formed(path: Path) -> None:
    scenarios = run(path)["scenarios"]
    assert {label: s["errors"] for label, s in scenarios.items() if s["errors"]} == {}
    assert {label: s["problems"] for label, s in scenarios.items() if s["problems"]} == {}


@pytest.mark.parametrize("path", TRADING_FILES, ids=_ids(TRADING_FILES))
@pytest.mark.parametrize("label", LIVE_LABELS)
def test_trading_strategy_submits_orders_when_live(path: Path, label: str) -> None:
    scenario = run(path)["scenarios"][label]
    assert len(scenario["orders"]) > 0
    assert scenario["fills"] > 0


@pytest.mark.parametrize("path", TRADING_FILES, ids=_ids(TRADING_FILES))
def test_trading_strategy_trades_again_after_its_first_order_is_rejected(path: Path) -> None:
    orders = run(path)["scenarios"]["first-order-rejected"]["orders"]
    rejected_side = orders[0]["side"]
    assert any(order["side"] == rejected_side for order in orders[1:])


@pytest.mark.parametrize("path", TRADING_FILES, ids=_ids(TRADING_FILES))
@pytest.mark.parametrize("label", QUIET_LABELS)
def test_trading_strategy_submits_nothing_when_not_live(path: Path, label: str) -> None:
    assert run(path)["scenarios"][label]["orders"] == []


@pytest.mark.parametrize("path", TRADING_FILES, ids=_ids(TRADING_FILES))
@pytest.mark.parametrize("label", [label for label in QUIET_LABELS if label != "host-dry-run"])
def test_trading_strategy_logs_intended_orders_as_dry_run(path: Path, label: str) -> None:
    assert any("[DRY-RUN]" in line for line in run(path)["scenarios"][label]["logs"])


@pytest.mark.parametrize("path", TRADING_STRATEGY_FILES, ids=_ids(TRADING_STRATEGY_FILES))
def test_example_strategy_checks_the_host_dry_run_flag_itself(path: Path) -> None:
    # Left to the host, a skipped order never reports back and the strategy's working order would
    # wait for a fill forever.
    logs = run(path)["scenarios"]["host-dry-run"]["logs"]
    assert any("[DRY-RUN]" in line for line in logs)
    assert [line for line in logs if line.startswith("[host]")] == []


@pytest.mark.parametrize("path", QUIET_FILES, ids=_ids(QUIET_FILES))
def test_non_trading_module_never_submits_orders(path: Path) -> None:
    scenarios = run(path)["scenarios"]
    assert {label: s["orders"] for label, s in scenarios.items() if s["orders"]} == {}


@pytest.mark.parametrize("path", TRADING_FILES, ids=_ids(TRADING_FILES))
def test_position_built_from_fills_stays_within_the_configured_limit(path: Path) -> None:
    result = run(path)
    limit = _position_limit(_defaults(result["metadata"]))
    for label in LIVE_LABELS[:3]:
        assert result["scenarios"][label]["maxAbsPosition"] <= limit + 1e-9, label


@pytest.mark.parametrize("path", TYPED_ORDER_FILES, ids=_ids(TYPED_ORDER_FILES))
def test_strategy_uses_its_documented_order_type(path: Path) -> None:
    orders = run(path)["scenarios"]["live"]["orders"]
    assert {order["kind"] for order in orders} == {ORDER_KINDS[path.stem]}


@pytest.mark.parametrize("path", GRID_FILES, ids=_ids(GRID_FILES))
def test_grid_places_the_opposite_order_when_a_level_fills(path: Path) -> None:
    orders = run(path)["scenarios"]["live"]["orders"]
    setup_step = orders[0]["step"]
    later = [order for order in orders if order["step"] > setup_step]
    assert {order["side"] for order in later} == {"Buy", "Sell"}


def _momentum(tag: str) -> dict[str, Any]:
    return run(STRATEGIES / "momentum" / tag / "momentum.js")["scenarios"]


def test_momentum_exits_arrive_with_v1_1_0() -> None:
    def exits(tag: str) -> list[str]:
        return [line for line in _momentum(tag)["live"]["logs"] if "take-profit" in line or "stop-loss" in line]

    assert exits("v1.0.0") == []
    assert exits("v1.1.0") != []
    assert exits("v1.2.0") != []


def test_momentum_volatility_filter_cuts_entries_in_a_choppy_market() -> None:
    unfiltered = len(_momentum("v1.1.0")["live-choppy-market"]["orders"])
    filtered = len(_momentum("v1.2.0")["live-choppy-market"]["orders"])
    assert filtered < unfiltered / 2


@pytest.mark.parametrize("path", MEANREVERSION_FILES, ids=_ids(MEANREVERSION_FILES))
def test_meanreversion_limit_never_pays_more_than_the_trade_price(path: Path) -> None:
    orders = run(path)["scenarios"]["live"]["orders"]
    assert orders != []
    for order in orders:
        price, last = float(order["price"]), order["lastTrade"]
        assert (price <= last) if order["side"] == "Buy" else (price >= last), order
        assert abs(price / last - 1) < 1e-3, order


@pytest.mark.parametrize(("tag", "geometric"), [("v1.0.0", False), ("v1.1.0", True)])
def test_grid_level_spacing_is_arithmetic_then_geometric(tag: str, geometric: bool) -> None:
    orders = run(STRATEGIES / "grid" / tag / "grid.js")["scenarios"]["wide-grid"]["orders"]
    buys = sorted(float(o["price"]) for o in orders if o["step"] == orders[0]["step"] and o["side"] == "Buy")
    differences = [b - a for a, b in itertools.pairwise(buys)]
    ratios = [b / a for a, b in itertools.pairwise(buys)]
    assert len(buys) == 5
    assert (max(ratios) - min(ratios) < 2e-4) is geometric
    assert (max(differences) - min(differences) < 0.02) is not geometric


@pytest.mark.parametrize("path", MARKETMAKING_FILES, ids=_ids(MARKETMAKING_FILES))
def test_marketmaking_quotes_both_sides_with_a_positive_spread(path: Path) -> None:
    orders = run(path)["scenarios"]["live"]["orders"]
    first_bid = next(float(o["price"]) for o in orders if o["side"] == "Buy")
    first_ask = next(float(o["price"]) for o in orders if o["side"] == "Sell")
    assert first_bid < first_ask


def test_logging_writes_every_event_type_identically_in_both_spellings() -> None:
    scenarios = run(STRATEGIES / "logging" / "v1.0.0" / "logging.js")["scenarios"]
    logs = {label: scenarios[label]["logs"] for label in EVENT_LABELS}
    assert logs["all-events-snake"] == logs["all-events-both"]
    assert logs["all-events-camel"] == logs["all-events-both"]
    text = "\n".join(logs["all-events-both"])
    for expected in (
        "trade BTC-USDT Buy 0.5 @ 101.25 id=t-1",
        "ticker BTC-USDT last=101.5 bid=101.4 ask=101.6 volume24h=9876.5",
        "book BTC-USDT best bid=101.3x2 ask=101.7x3 depth=2/1 updates=1001..1009",
        "kline BTC-USDT o=100.1 h=102.4 l=99.8 c=101.9 v=321",
        "instrument BTC-USDT spot BTC/USDT tick=0.01 step=0.0001 min_qty=0.0002",
        "balance USDT total=1500.5 available=1200.25",
        "exec FILLED Sell Limit id=foreign-FILLED filled=2/2 remaining=0 price=101.6 avg=101.6 fee=0.2032 USDT",
        "exec REJECTED Sell Limit id=foreign-REJECTED",
        "reason=price band",
        "risk TRIGGERED POSITION_LIMIT strategy=test sim BTC-USDT kill_switch=false circuit_breaker=true",
        'extension BTC-USDT {"kind":"funding","rate":0.0001}',
    ):
        assert expected in text
    for state in ("ACK", "PARTIAL", "CANCELLED", "EXPIRED"):
        assert f"exec {state} Sell Limit" in text
