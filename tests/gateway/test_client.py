"""GatewayClient against a real loopback HTTP server that plays the gateway (tests/gateway_server.py):
every endpoint, its parameters as sent, and the typed values that come back."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest

from meltica_lab import analysis
from meltica_lab.errors import GatewayError, SelectorError, UsageError
from meltica_lab.gateway import (
    GatewayClient,
    InstanceAction,
    InstanceSnapshot,
    InstanceSummary,
    ModuleList,
    ModuleSummary,
    RefreshOutcome,
    RegistryExport,
    RevisionUsage,
    Strategy,
    TagMutation,
    UsageSummary,
)
from meltica_lab.usage import UsageExport
from tests.gateway_server import ROOT, FakeGateway, digest, module_source

# -- strategies -------------------------------------------------------------------------------------


def test_strategies_lists_each_strategys_metadata(gateway: FakeGateway, client: GatewayClient) -> None:
    strategies = client.strategies()
    assert [s.name for s in strategies] == ["alpha", "demo"]
    assert strategies[1] == Strategy("demo", "Demo", "test strategy", (), ("Trade",), "v1.1.0")
    assert gateway.last().path == "/strategies"


def test_one_strategy_by_name(client: GatewayClient) -> None:
    assert client.strategy("alpha").tag == "v0.1.0"
    with pytest.raises(GatewayError, match="HTTP 404: strategy not found") as caught:
        client.strategy("ghost")
    assert caught.value.status == 404


@pytest.mark.parametrize("name", ["modules", "Registry", "refresh"])
def test_strategy_names_that_are_fixed_routes_are_refused(
    gateway: FakeGateway, client: GatewayClient, name: str
) -> None:
    with pytest.raises(UsageError, match=f"{name!r} is also a fixed route"):
        client.strategy(name)
    assert gateway.requests == []


# -- modules ----------------------------------------------------------------------------------------


def test_modules_returns_the_listing_with_paging(gateway: FakeGateway, client: GatewayClient) -> None:
    listing = client.modules(limit=1, offset=1)
    assert isinstance(listing, ModuleList)
    assert (listing.total, listing.offset, listing.limit) == (2, 1, 1)
    assert [m.name for m in listing.modules] == ["demo"]
    assert listing.strategy_directory == ROOT
    assert gateway.last().query == {"limit": "1", "offset": "1"}
    assert listing.to_dict()["modules"][0]["selectedRevisionHash"] == gateway.demo_v2


def test_an_unlimited_listing_has_no_limit(client: GatewayClient) -> None:
    listing = client.modules()
    assert (listing.total, listing.offset, listing.limit) == (2, 0, None)


def test_modules_filters_are_sent_as_query_parameters(gateway: FakeGateway, client: GatewayClient) -> None:
    listing = client.modules(strategy="Demo", hash=gateway.demo_v1)
    assert [r.hash for r in listing.modules[0].revisions] == [gateway.demo_v1]
    assert gateway.last().query == {"strategy": "Demo", "hash": gateway.demo_v1}


@pytest.mark.parametrize("bad", [-1, True, 1.5, "2"])
def test_bad_paging_is_refused_before_any_request(gateway: FakeGateway, client: GatewayClient, bad: object) -> None:
    with pytest.raises(UsageError, match="limit: expected a non-negative integer"):
        client.modules(limit=bad)  # type: ignore[arg-type]
    assert gateway.requests == []


def test_module_summary_is_typed(gateway: FakeGateway, client: GatewayClient) -> None:
    summary = client.module("demo")
    assert isinstance(summary, ModuleSummary)
    assert (summary.selected_revision_hash, summary.selected_revision_tag) == (gateway.demo_v2, "v1.1.0")
    assert summary.tags == ("latest", "v1.1.0")
    assert summary.tag_aliases["stable"] == gateway.demo_v1
    assert [(r.tag, r.retired) for r in summary.revisions] == [("v1.0.0", False), ("v1.1.0", False)]
    assert summary.metadata.display_name == "Demo"
    assert summary.size == len(module_source("demo", "v1.1.0", "env.log('x');"))


def test_module_by_each_selector_form_selects_that_revision(gateway: FakeGateway, client: GatewayClient) -> None:
    assert client.module("demo").selected_revision_hash == gateway.demo_v2
    assert client.module("demo:stable").selected_revision_hash == gateway.demo_v1
    assert client.module(f"demo@{gateway.demo_v1}").selected_revision_tag == "v1.0.0"
    assert client.module(gateway.alpha).name == "alpha"


def test_selectors_keep_at_and_colon_readable_and_escape_the_rest(gateway: FakeGateway, client: GatewayClient) -> None:
    client.module(f"demo@{gateway.demo_v1}")
    assert gateway.last().path == f"/strategies/modules/demo@{gateway.demo_v1}"
    with pytest.raises(GatewayError):
        client.module("de mo:v1?#%+")
    assert gateway.last().path == "/strategies/modules/de%20mo:v1%3F%23%25%2B"


@pytest.mark.parametrize("selector", ["", "  ", "demo/v1"])
def test_unroutable_selectors_are_refused_before_any_request(
    gateway: FakeGateway, client: GatewayClient, selector: str
) -> None:
    with pytest.raises(SelectorError, match="selector: expected a non-empty value without '/'"):
        client.module(selector)
    assert gateway.requests == []


def test_module_source_is_the_exact_file_bytes_asked_for_as_javascript(
    gateway: FakeGateway, client: GatewayClient
) -> None:
    source = client.module_source("demo:v1.0.0")
    assert source == module_source("demo", "v1.0.0")
    assert digest(source) == gateway.demo_v1
    assert gateway.last().headers["accept"] == "application/javascript"


def test_json_endpoints_ask_for_json(gateway: FakeGateway, client: GatewayClient) -> None:
    client.module("demo")
    assert gateway.last().headers["accept"] == "application/json"


# -- usage and the registry export ------------------------------------------------------------------


def test_usage_parses_the_summary_and_instances(gateway: FakeGateway, client: GatewayClient) -> None:
    answer = client.usage("demo")
    assert isinstance(answer, RevisionUsage)
    assert (answer.selector, answer.strategy, answer.hash) == ("demo", "demo", gateway.demo_v2)
    assert isinstance(answer.usage, UsageSummary)
    assert answer.usage.to_record() == gateway.usage.get("demo", gateway.demo_v2)
    assert answer.usage.instances == ("demo+2", "demo-1")
    assert answer.usage.running is True
    assert answer.usage.first_seen == datetime(2025, 11, 4, 11, 32, 54, 123456, tzinfo=UTC)
    assert [i.id for i in answer.instances] == ["demo+2", "demo-1"]
    assert all(isinstance(i, InstanceSummary) for i in answer.instances)
    assert (answer.total, answer.offset, answer.limit) == (2, 0, None)
    assert answer.warnings == ()


def test_usage_with_stopped_instances_and_paging(gateway: FakeGateway, client: GatewayClient) -> None:
    answer = client.usage(f"demo@{gateway.demo_v1}", include_stopped=True, limit=5, offset=0)
    assert [i.id for i in answer.instances] == ["demo-pinned"]
    assert (answer.usage.count, answer.usage.instances, answer.limit) == (0, None, 5)
    assert answer.usage.first_seen is not None and answer.usage.last_seen is not None
    assert gateway.last().query == {"includeStopped": "true", "limit": "5", "offset": "0"}


def test_usage_frame_has_one_row_per_instance(client: GatewayClient) -> None:
    frame = client.usage("demo").to_frame()
    assert list(frame["id"]) == ["demo+2", "demo-1"]
    assert list(frame["usage_count"]) == [2, 2]


def test_registry_export_reads_registry_and_usage(gateway: FakeGateway, client: GatewayClient) -> None:
    export = client.registry_export()
    assert isinstance(export, RegistryExport)
    assert export.to_dict()["registry"] == gateway.registry
    assert export.registry is not None and export.registry["demo"].tags["stable"] == gateway.demo_v1
    location = export.registry["demo"].hashes[gateway.demo_v1]
    assert (location.tag, location.path) == ("v1.0.0", f"demo/{gateway.demo_v1[7:]}/demo.js")
    assert [u.to_record() for u in export.usage] == gateway.usage.snapshot()
    assert export.source == f"{gateway.url}/strategies/registry"


def test_registry_export_hands_over_to_the_usage_analysis(gateway: FakeGateway, client: GatewayClient) -> None:
    usage = client.registry_export().to_usage_export()
    assert isinstance(usage, UsageExport)
    assert list(usage.usage) == gateway.usage.snapshot()
    assert usage.source == f"{gateway.url}/strategies/registry"
    assert len(client.registry_export().to_frame()) == len(gateway.usage.snapshot())


# -- instances --------------------------------------------------------------------------------------


def test_instances_and_one_instance(gateway: FakeGateway, client: GatewayClient) -> None:
    ids = [item.id for item in client.instances()]
    assert ids == sorted(gateway.instances)
    snapshot = client.instance("alpha 1")
    assert isinstance(snapshot, InstanceSnapshot)
    assert snapshot.strategy.selector == "alpha:v0.1.0"
    assert snapshot.scope == {"binance": ("BTC-USDT",)}
    assert snapshot.links["self"] == "/strategy/instances/alpha%201"
    assert gateway.last().path == "/strategy/instances/alpha%201"


def test_instances_frame_has_one_row_per_instance(gateway: FakeGateway, client: GatewayClient) -> None:
    frame = client.instances_frame()
    assert list(frame["id"]) == sorted(gateway.instances)
    row = frame.set_index("id").loc["demo-1"]
    assert (row["strategy_selector"], row["strategy_hash"], bool(row["running"])) == ("demo", gateway.demo_v2, True)
    assert row["providers"] == ("binance",) and row["aggregated_symbols"] == ("BTC-USDT",)
    assert row["usage_count"] == 2 and str(frame["usage_first_seen"].dtype) == "datetime64[ns, UTC]"
    assert frame.attrs["warnings"] == []


def test_create_start_stop_update_and_delete_an_instance(gateway: FakeGateway, client: GatewayClient) -> None:
    created = client.create_instance("demo-3", "demo:stable", {"okx": ["eth-usdt"]}, {"threshold": 2})
    assert gateway.last().json() == {
        "id": "demo-3",
        "strategy": {"identifier": "demo:stable", "config": {"threshold": 2}},
        "scope": {"okx": {"symbols": ["eth-usdt"]}},
    }
    assert (created.running, created.strategy.hash, created.aggregated_symbols) == (
        False,
        gateway.demo_v1,
        ("ETH-USDT",),
    )
    started = client.start_instance("demo-3")
    assert started == InstanceAction("demo-3", "running", "start")
    assert client.instance("demo-3").running is True
    assert client.stop_instance("demo-3") == InstanceAction("demo-3", "stopped", "stop")
    updated = client.update_instance("demo-3", "demo", {"okx": ["ETH-USDT"]}, {"threshold": 3})
    assert updated.strategy.config == {"threshold": 3}
    assert (gateway.last().method, gateway.last().path) == ("PUT", "/strategy/instances/demo-3")
    removed = client.delete_instance("demo-3")
    assert (removed.status, removed.id) == ("removed", "demo-3")
    assert "demo-3" not in gateway.instances


def test_instance_state_errors_are_the_gateways_409(client: GatewayClient) -> None:
    with pytest.raises(GatewayError, match="HTTP 409: strategy instance already running") as caught:
        client.start_instance("demo-1")
    assert caught.value.status == 409


@pytest.mark.parametrize(
    ("scope", "config", "message"),
    [
        ({}, None, "scope: expected provider -> symbols"),
        ({"binance": "BTC-USDT"}, None, r"scope\['binance'\]: expected a list of strings"),
        ({"binance": ["BTC-USDT", 3]}, None, r"scope\['binance'\]: expected a list of strings"),
        ({"binance": ["BTC-USDT"]}, ["x"], "config: expected a mapping"),
    ],
)
def test_a_malformed_instance_spec_is_refused_before_any_request(
    gateway: FakeGateway, client: GatewayClient, scope: object, config: object, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        client.create_instance("x", "demo", scope, config)  # type: ignore[arg-type]
    assert gateway.requests == []


def test_an_id_of_the_wrong_type_is_a_request_body_error(gateway: FakeGateway, client: GatewayClient) -> None:
    with pytest.raises(UsageError, match=r"createInstance\): request body id: expected a string, got 7"):
        client.create_instance(7, "demo", {"binance": ["BTC-USDT"]})  # type: ignore[arg-type]
    assert gateway.requests == []


def test_orders_with_their_filters(gateway: FakeGateway, client: GatewayClient) -> None:
    history = client.orders("demo-1")
    assert [o.id for o in history.orders] == ["ord-1", "ord-2", "ord-3"] and history.count == 3
    first = history.orders[0]
    assert (first.quantity, first.price, first.side, first.placed_at) == ("0.01000000", "35000.50", "BUY", 1762256034)
    assert history.orders[1].price is None
    filtered = client.orders("demo-1", limit=5, provider="binance", state=["FILLED", "REJECTED"])
    assert gateway.last().raw_query == "limit=5&provider=binance&state=FILLED&state=REJECTED"
    assert [o.id for o in filtered.orders] == ["ord-1", "ord-2"]
    assert [o.id for o in client.orders("demo-1", state="REJECTED").orders] == ["ord-3"]
    assert gateway.last().raw_query == "state=REJECTED"


def test_executions_with_their_filters(gateway: FakeGateway, client: GatewayClient) -> None:
    history = client.executions("demo-1")
    assert [(e.execution_id, e.order_id, e.fee) for e in history.executions] == [
        ("exe-1", "ord-1", "0.0000100"),
        ("exe-2", "ord-2", None),
    ]
    one = client.executions("demo-1", limit=1, provider="binance", order_id="ord-2")
    assert gateway.last().raw_query == "limit=1&provider=binance&orderId=ord-2"
    assert [e.execution_id for e in one.executions] == ["exe-2"]


@pytest.mark.parametrize("limit", [0, -1, True])
def test_order_limits_start_at_one_as_the_contract_says(
    gateway: FakeGateway, client: GatewayClient, limit: int
) -> None:
    with pytest.raises(UsageError, match=r"limit: expected an integer >= 1"):
        client.orders("demo-1", limit=limit)
    with pytest.raises(UsageError, match=r"limit: expected an integer >= 1"):
        client.executions_frame("demo-1", limit=limit)
    assert gateway.requests == []


def test_order_states_must_be_strings(gateway: FakeGateway, client: GatewayClient) -> None:
    with pytest.raises(UsageError, match="state: expected a list of strings"):
        client.orders("demo-1", state=[1])  # type: ignore[list-item]
    assert gateway.requests == []


# -- writes -----------------------------------------------------------------------------------------


def test_full_refresh_keeps_the_status(gateway: FakeGateway, client: GatewayClient) -> None:
    outcome = client.refresh()
    assert outcome == RefreshOutcome("refreshed", ())
    assert not outcome.partial
    assert gateway.last().json() == {}


def test_targeted_refresh_returns_one_record_per_instance(gateway: FakeGateway, client: GatewayClient) -> None:
    outcome = client.refresh(hashes=[gateway.demo_v1], strategies=["ghost"])
    assert gateway.last().json() == {"hashes": [gateway.demo_v1], "strategies": ["ghost"]}
    assert outcome.status == "partial_refresh" and outcome.partial
    assert [(r.selector, r.reason, r.instances) for r in outcome.results] == [
        (f"demo@{gateway.demo_v1}", "alreadyPinned", ("demo-pinned",)),
        ("ghost", "retired", ()),
    ]


def test_refresh_of_one_hash(gateway: FakeGateway, client: GatewayClient) -> None:
    outcome = client.refresh(hashes=[gateway.demo_v2])
    assert sorted(i for r in outcome.results for i in r.instances) == ["demo+2", "demo-1"]


@pytest.mark.parametrize("field", ["hashes", "strategies"])
def test_refresh_targets_must_be_lists_not_one_string(gateway: FakeGateway, client: GatewayClient, field: str) -> None:
    with pytest.raises(UsageError, match=f"{field}: expected a list of strings"):
        client.refresh(**{field: "demo"})
    assert gateway.requests == []


def test_assign_tag_sends_hash_and_refresh(gateway: FakeGateway, client: GatewayClient) -> None:
    answer = client.assign_tag("demo", "prod", gateway.demo_v1)
    assert answer == TagMutation("tag_assigned", "demo", "prod", gateway.demo_v1, "", None, True)
    request = gateway.last()
    assert (request.method, request.path) == ("PUT", "/strategies/modules/demo/tags/prod")
    assert request.json() == {"hash": gateway.demo_v1, "refresh": True}
    assert gateway.refreshes == [{"strategies": ["demo"]}]
    assert client.module("demo:prod").selected_revision_hash == gateway.demo_v1


def test_assign_tag_errors_carry_status_and_gateway_message(gateway: FakeGateway, client: GatewayClient) -> None:
    with pytest.raises(GatewayError) as unknown_hash:
        client.assign_tag("demo", "prod", gateway.alpha, refresh=False)
    assert unknown_hash.value.status == 400
    assert unknown_hash.value.message.endswith(f"HTTP 400: hash {gateway.alpha} not found for demo")
    with pytest.raises(GatewayError) as unknown_strategy:
        client.assign_tag("ghost", "prod", gateway.alpha)
    assert unknown_strategy.value.status == 404


def test_delete_tag_respects_the_orphan_guard(gateway: FakeGateway, client: GatewayClient) -> None:
    answer = client.delete_tag("demo", "stable")
    assert answer == TagMutation("tag_deleted", "demo", "stable", gateway.demo_v1, None, False, None)
    assert gateway.last().query == {}
    with pytest.raises(GatewayError, match=r'removing tag "v1\.0\.0" would orphan hash') as caught:
        client.delete_tag("demo", "v1.0.0")
    assert caught.value.status == 400
    assert client.delete_tag("demo", "v1.0.0", allow_orphan=True).allow_orphan is True
    assert gateway.last().query == {"allowOrphan": "true"}


def test_upload_returns_the_pending_revision(gateway: FakeGateway, client: GatewayClient) -> None:
    source = module_source("beta", "v2.0.0")
    answer = client.upload(source)
    assert (answer.status, answer.strategy_directory) == ("pending_refresh", ROOT)
    assert answer.module is not None and answer.module.hash == digest(source)
    assert gateway.last().json() == {"source": source.decode()}
    again = client.upload(source.decode()).module
    assert again is not None and again.hash == digest(source)


def test_update_module_stores_the_source_like_an_upload(gateway: FakeGateway, client: GatewayClient) -> None:
    source = module_source("demo", "v1.2.0")
    answer = client.update_module("demo", source)
    assert answer.module is not None and answer.module.tag == "v1.2.0"
    assert (gateway.last().method, gateway.last().path) == ("PUT", "/strategies/modules/demo")
    assert client.module("demo:v1.2.0").selected_revision_hash == digest(source)


def test_delete_module_removes_an_unused_revision_and_refuses_one_in_use(
    gateway: FakeGateway, client: GatewayClient
) -> None:
    spare = digest(module_source("demo", "v9"))
    client.upload(module_source("demo", "v9"))
    assert client.delete_module(f"demo@{spare}") is None
    assert (gateway.last().method, gateway.attempts("DELETE", f"/strategies/modules/demo@{spare}")) == ("DELETE", 1)
    with pytest.raises(GatewayError, match=f"HTTP 400: strategy revision {gateway.demo_v1} is in use"):
        client.delete_module("demo:stable")


def test_upload_refuses_bytes_that_are_not_utf8(gateway: FakeGateway, client: GatewayClient) -> None:
    with pytest.raises(UsageError, match="source: expected UTF-8 text"):
        client.upload(b"\xff\xfe")
    assert gateway.requests == []


def test_blank_upload_is_the_gateways_400(client: GatewayClient) -> None:
    with pytest.raises(GatewayError, match="HTTP 400: source required") as caught:
        client.upload("   ")
    assert caught.value.diagnostics == ()


# -- answers of the gateway's own eras the contract's text does not spell out -----------------------


def test_null_results_and_null_usage_are_the_gateways_empty_lists(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("POST", "/strategies/refresh", status=200, body={"status": "partial_refresh", "results": None})
    assert client.refresh(strategies=["ghost"]) == RefreshOutcome("partial_refresh", ())
    gateway.script("GET", "/strategies/registry", status=200, body={"registry": None, "usage": None})
    export = client.registry_export()
    assert (export.registry, export.usage) == (None, ())


def test_metadata_without_description_and_with_null_config(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.module("demo").to_dict()
    del body["metadata"]["description"]
    body["metadata"]["config"] = None
    body["tags"] = None
    gateway.script("GET", "/strategies/modules/demo", status=200, body=body)
    summary = client.module("demo")
    assert (summary.metadata.description, summary.metadata.config, summary.tags) == ("", (), ())


def test_start_answered_with_the_instance_snapshot(gateway: FakeGateway, client: GatewayClient) -> None:
    snapshot = client.instance("alpha 1").to_dict()
    snapshot["running"] = True
    gateway.script("POST", "/strategy/instances/alpha 1/start", status=200, body=snapshot)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        action = client.start_instance("alpha 1")
    assert (action.id, action.status, action.action) == ("alpha 1", "running", "start")
    assert action.snapshot is not None and action.snapshot.strategy.selector == "alpha:v0.1.0"


def test_answers_hand_over_to_the_analysis_frames(gateway: FakeGateway, client: GatewayClient) -> None:
    instances = analysis.instances_frame(client.instances())
    assert sorted(instances["instance"]) == sorted(gateway.instances)
    assert set(instances["source"]) == {"gateway"}
    export = client.registry_export()
    assert len(analysis.usage_frame(export)) == len(gateway.usage.snapshot())
    assert set(analysis.revisions_frame(export)["strategy"]) == {"alpha", "demo"}
