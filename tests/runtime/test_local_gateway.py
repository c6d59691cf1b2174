"""The manager behind the gateway client's interface: same names, same result types, same frames.

The parity test runs one notebook-style script against a local Manager (``manager.gateway``) and
against a :class:`GatewayClient` pointed at the loopback fake gateway, seeded with the same modules.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from meltica_lab.errors import GatewayContractError, InstanceError, ModuleError, UsageError
from meltica_lab.gateway import (
    ExecutionHistory,
    GatewayClient,
    InstanceAction,
    InstanceSnapshot,
    ModuleOperation,
    OrderHistory,
    RefreshOutcome,
    RegistryExport,
)
from meltica_lab.registry import edit_registry
from meltica_lab.runtime import LocalGateway, Manager
from tests.conftest import snapshot_tree
from tests.gateway_server import FakeGateway, module_source
from tests.runtime.support import cache, register, strategy_source, trades

__all__ = ["cache"]  # fixtures used by name below

SCOPE = {"binance": ["BTC-USDT"]}


@pytest.fixture
def seeded(root: Path) -> Path:
    """The fake gateway's modules, registered the same way: demo v1.0.0 (also ``stable``), demo v1.1.0
    (``latest``) and alpha v0.1.0."""
    v1 = register(root, module_source("demo", "v1.0.0").decode(), "demo", "v1.0.0")
    register(root, module_source("demo", "v1.1.0", "env.log('x');").decode(), "demo", "v1.1.0", latest=True)
    register(root, module_source("alpha", "v0.1.0").decode(), "alpha", "v0.1.0", latest=True)
    with edit_registry(root, "stable") as draft:
        draft.assign_tag("demo", "stable", v1)
    return root


def notebook(ops: Any) -> dict[str, Any]:
    """What an operator's notebook does, in order; every answer kept by step name."""
    out: dict[str, Any] = {}
    out["strategies"] = ops.strategies()
    out["strategy"] = ops.strategy("demo")
    out["modules"] = ops.modules()
    out["modules_page"] = ops.modules(strategy="demo", limit=1, offset=0)
    out["module"] = ops.module("demo:stable")
    out["module_source"] = ops.module_source("demo:v1.0.0")
    out["usage"] = ops.usage("demo", include_stopped=True)
    stable = out["module"].selected_revision_hash
    out["assign_tag"] = ops.assign_tag("demo", "canary", stable, refresh=False)
    out["delete_tag"] = ops.delete_tag("demo", "canary")
    out["upload"] = ops.upload(module_source("demo", "v2.0.0", "env.log('v2');"))
    out["update_module"] = ops.update_module("demo", module_source("demo", "v2.1.0"))
    out["refresh"] = ops.refresh(strategies=["demo"])
    out["registry_export"] = ops.registry_export()
    out["create_instance"] = ops.create_instance("nb-1", "demo:stable", SCOPE, {})
    out["instance"] = ops.instance("nb-1")
    out["update_instance"] = ops.update_instance("nb-1", "demo:stable", SCOPE, {})
    out["start_instance"] = ops.start_instance("nb-1")
    out["instances"] = ops.instances()
    out["instances_frame"] = ops.instances_frame()
    out["orders"] = ops.orders("nb-1", limit=10)
    out["orders_frame"] = ops.orders_frame("nb-1", state=["FILLED", "ACK"])
    out["executions"] = ops.executions("nb-1")
    out["executions_frame"] = ops.executions_frame("nb-1", provider="binance")
    out["stop_instance"] = ops.stop_instance("nb-1")
    out["delete_instance"] = ops.delete_instance("nb-1")
    out["delete_module"] = ops.delete_module("demo:v2.1.0")
    return out


def _shape(value: Any) -> Any:
    """What must agree between the two: the type, element types of tuples, frame columns and dtypes."""
    if isinstance(value, pd.DataFrame):
        return ("frame", list(value.columns), [str(t) for t in value.dtypes])
    if isinstance(value, tuple):
        return ("tuple", sorted({type(item).__name__ for item in value}))
    return type(value).__name__


def test_the_same_notebook_runs_against_a_manager_and_a_gateway_with_the_same_result_types(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager, FakeGateway() as fake, GatewayClient(fake.url) as client:
        local = notebook(manager.gateway)
        remote = notebook(client)
    assert list(local) == list(remote)
    assert {step: _shape(value) for step, value in local.items()} == {
        step: _shape(value) for step, value in remote.items()
    }
    for answers in (local, remote):
        assert answers["module"].selected_revision_tag == "v1.0.0"
        assert answers["module_source"] == module_source("demo", "v1.0.0")
        assert [s.name for s in answers["strategies"]] == ["alpha", "demo"]
        assert answers["refresh"].status == "partial_refresh"
        assert answers["start_instance"].status == "running" and answers["stop_instance"].status == "stopped"
        assert answers["delete_instance"].status == "removed"
        assert "nb-1" in set(answers["instances_frame"]["id"])


def test_the_local_gateway_has_every_method_of_the_client_with_the_same_parameters():
    public = {name for name in dir(GatewayClient) if not name.startswith("_")}
    public -= {"timeout", "retries", "backoff"}  # HTTP settings, nothing local to set
    assert public <= set(dir(LocalGateway))
    for name in public:
        client_method = getattr(GatewayClient, name)
        if callable(client_method):
            assert inspect.signature(getattr(LocalGateway, name)).parameters.keys() == (
                inspect.signature(client_method).parameters.keys()
            ), name


def _trading_manager(root: Path, cache: Path) -> Manager:
    """One instance ``t`` on binance that buys 1 at market on every trade and rests a sell limit far
    above the market on the first."""
    source = strategy_source(
        "trader",
        "v1.0.0",
        create="let n = 0;",
        on_trade="n += 1; env.runtime.submitMarketOrder('', 'buy', '1'); "
        "if (n === 1) env.runtime.submitOrder('', 'sell', '2', '500.25');",
    )
    register(root, source, "trader", "v1.0.0", latest=True)
    manager = Manager(root, cache_dir=cache)
    manager.gateway.create_instance("t", "trader", {"binance": ["BTC-USDT"]})
    manager.gateway.start_instance("t")
    manager.feed(trades(3, provider="binance"))
    return manager


def test_orders_and_executions_are_what_the_simulated_exchange_did_in_the_gateway_shapes(root, cache):
    with _trading_manager(root, cache) as manager:
        ops = manager.gateway
        history = ops.orders("t")
        assert isinstance(history, OrderHistory) and history.count == 4
        # newest first; a market order fills at the next event, so the last one is still open
        assert [(o.type, o.side, o.state) for o in history.orders] == [
            ("Market", "Buy", "ACK"),
            ("Market", "Buy", "FILLED"),
            ("Limit", "Sell", "ACK"),
            ("Market", "Buy", "FILLED"),
        ]
        assert [o.placed_at for o in history.orders] == [1_700_000_002, 1_700_000_001, 1_700_000_000, 1_700_000_000]
        resting = history.orders[2]
        assert (resting.quantity, resting.price, resting.completed_at) == ("2", "500.25", None)
        assert resting.provider == "binance"
        filled = history.orders[1]
        assert (filled.quantity, filled.price, filled.completed_at) == ("1", None, 1_700_000_002)
        assert filled.metadata["averagePrice"] == "102" and filled.id == filled.client_order_id

        fills = ops.executions("t")
        assert isinstance(fills, ExecutionHistory) and fills.count == 2
        assert [(f.order_id, f.price, f.liquidity) for f in fills.executions] == [
            (history.orders[1].id, "102", "taker"),
            (history.orders[3].id, "101", "taker"),
        ]
        first = history.orders[3].id
        assert [f.order_id for f in ops.executions("t", order_id=first).executions] == [first]

        frame = ops.orders_frame("t", state="ACK")
        assert frame["price"].tolist()[1:] == [500.25] and frame["price_text"].tolist()[1:] == ["500.25"]
        assert str(frame["placed_at"].dtype) == "datetime64[s, UTC]"
        assert len(ops.orders_frame("t", limit=2)) == 2 and ops.orders("t", provider="okx").count == 0
        assert ops.executions_frame("t")["price"].tolist() == [102.0, 101.0]


def test_a_stopped_instance_keeps_what_its_last_session_traded_until_it_starts_again(root, cache):
    with _trading_manager(root, cache) as manager:
        ops = manager.gateway
        before = ops.orders("t")
        ops.stop_instance("t")
        assert ops.orders("t") == before and ops.executions("t").count == 2
        ops.start_instance("t")
        assert ops.orders("t").count == 0


def test_an_instance_that_never_ran_has_no_orders(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager:
        manager.gateway.create_instance("idle", "demo", SCOPE)
        assert manager.gateway.orders("idle").count == 0
        assert manager.gateway.executions_frame("idle").empty


def test_every_local_answer_is_checked_against_the_contract(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager:
        ops = manager.gateway
        with pytest.raises(GatewayContractError) as caught:
            ops._answer("listInstances", {"instances": [{"id": 5}]})
        assert caught.value.operation == "listInstances" and "instances[0]" in caught.value.field


def test_query_values_are_checked_by_the_contracts_parameter_schemas(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager:
        manager.gateway.create_instance("a", "demo", SCOPE)
        with pytest.raises(UsageError, match=r"^limit: expected"):
            manager.gateway.orders("a", limit=0)
        with pytest.raises(UsageError, match=r"^hashes: expected a list of strings"):
            manager.gateway.refresh(hashes="sha256:abc")


def test_update_instance_changes_only_the_config_and_names_what_cannot_change(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager:
        ops = manager.gateway
        ops.create_instance("a", "demo", SCOPE, {"dry_run": True})
        with pytest.raises(InstanceError, match="providers cannot change") as caught:
            ops.update_instance("a", "demo", {"okx": ["BTC-USDT"]}, {})
        assert caught.value.field == "providers"
        with pytest.raises(InstanceError, match="strategy cannot change"):
            ops.update_instance("a", "alpha", SCOPE, {})
        snapshot = ops.update_instance("a", "demo", {"binance": ["btc-usdt"]}, {"dry_run": False})
        assert isinstance(snapshot, InstanceSnapshot) and snapshot.strategy.config == {"dry_run": False}


def test_update_module_refuses_a_module_of_another_strategy_and_writes_nothing(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager:
        before = snapshot_tree(seeded)
        with pytest.raises(ModuleError, match="declares strategy 'alpha', not 'demo'"):
            manager.gateway.update_module("demo", module_source("alpha", "v9.0.0"))
        assert snapshot_tree(seeded) == before
        stored = manager.gateway.update_module("demo:canary", module_source("demo", "v3.0.0"))
        assert isinstance(stored, ModuleOperation) and stored.module is not None and stored.module.tag == "canary"


def test_a_full_refresh_is_refreshed_and_lists_every_instance(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager:
        manager.gateway.create_instance("a", "demo", SCOPE)
        outcome = manager.gateway.refresh()
        assert isinstance(outcome, RefreshOutcome) and outcome.status == "refreshed"
        assert [(r.selector, r.instances, r.reason) for r in outcome.results] == [("demo", ("a",), "alreadyPinned")]


def test_the_registry_export_feeds_analysis_like_a_live_gateways(seeded, cache):
    with Manager(seeded, cache_dir=cache) as manager:
        manager.gateway.create_instance("a", "demo", SCOPE)
        manager.gateway.start_instance("a")
        export = manager.gateway.registry_export()
        assert isinstance(export, RegistryExport) and set(export.registry or {}) == {"alpha", "demo"}
        frame = export.to_frame()
        assert frame.loc[frame["running"], "strategy"].tolist() == ["demo"]
        action = manager.gateway.stop_instance("a")
        assert isinstance(action, InstanceAction) and action.action == "stop"
