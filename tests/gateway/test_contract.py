"""The contract the client reads: the shipped copy is the published one, every endpoint in scope has a
method, answers that break it are errors naming endpoint, field and expectation, and the few places
where the real gateway departs from its text are widened, and only those."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from meltica_lab.errors import GatewayContractError, GatewayError, UsageError
from meltica_lab.gateway import CONTRACT_FILE, Contract, GatewayClient
from meltica_lab.gateway.contract import ALTERNATIVE_ANSWERS, RELAXATIONS, _json_schema
from tests.gateway_server import FakeGateway

PROJECT = Path(__file__).resolve().parents[2]
PUBLISHED = PROJECT.parent / "shared" / "compat" / "gateway-openapi.yaml"

# operationId -> the client method that covers it. Providers, adapters, risk and context backups are
# outside the client's job (strategies, modules, tags, refresh, the export and instances).
COVERED = {
    "listStrategies": "strategies",
    "getStrategy": "strategy",
    "listStrategyModules": "modules",
    "createStrategyModule": "upload",
    "getStrategyModule": "module",
    "updateStrategyModule": "update_module",
    "deleteStrategyModule": "delete_module",
    "getStrategyModuleSource": "module_source",
    "getStrategyModuleUsage": "usage",
    "assignStrategyModuleTag": "assign_tag",
    "deleteStrategyModuleTag": "delete_tag",
    "refreshStrategies": "refresh",
    "exportStrategyRegistry": "registry_export",
    "listInstances": "instances",
    "createInstance": "create_instance",
    "getInstance": "instance",
    "updateInstance": "update_instance",
    "deleteInstance": "delete_instance",
    "startInstance": "start_instance",
    "stopInstance": "stop_instance",
    "listInstanceOrders": "orders",
    "listInstanceExecutions": "executions",
}
OUT_OF_SCOPE = ("/providers", "/adapters", "/risk", "/context")


def test_the_shipped_contract_is_the_published_one_byte_for_byte() -> None:
    assert PUBLISHED.is_file(), f"the published contract is missing: expected {PUBLISHED} (shared/ beside the clone)"
    assert CONTRACT_FILE.read_bytes() == PUBLISHED.read_bytes(), (
        f"{CONTRACT_FILE} differs from {PUBLISHED}: copy the published contract and re-run the contract tests"
    )


def test_every_strategy_module_tag_refresh_export_and_instance_endpoint_has_a_method(contract: Contract) -> None:
    in_scope = {op.id for op in contract.operations() if not op.path.startswith(OUT_OF_SCOPE)}
    assert in_scope == set(COVERED)
    for method in COVERED.values():
        assert callable(getattr(GatewayClient, method))


def test_each_method_calls_its_own_operation() -> None:
    source = inspect.getsource(GatewayClient)
    for operation_id in COVERED:
        assert f'"{operation_id}"' in source, f"no client method sends {operation_id}"


def test_operations_carry_method_path_status_and_media_type(contract: Contract) -> None:
    source = contract.operation("getStrategyModuleSource")
    assert (source.method, source.path, source.success, source.media_type) == (
        "GET",
        "/strategies/modules/{selector}/source",
        200,
        "application/javascript",
    )
    delete = contract.operation("deleteStrategyModule")
    assert (delete.success, delete.media_type, delete.reads) == (204, None, False)
    orders = contract.operation("listInstanceOrders")
    state = orders.parameters["state"]
    assert (state.location, state.explode, state.encode(["a", "b"])) == (
        "query",
        True,
        [("state", "a"), ("state", "b")],
    )
    assert orders.parameters["id"].location == "path" and orders.parameters["id"].required
    assert contract.operation("getStrategyModuleUsage").parameters["includeStopped"].encode(True) == [
        ("includeStopped", "true")
    ]


def test_an_unknown_operation_is_a_usage_error(contract: Contract) -> None:
    with pytest.raises(UsageError, match="the gateway contract has no operation 'nope'"):
        contract.operation("nope")


def test_a_contract_can_be_read_from_another_path(tmp_path: Path) -> None:
    copy = tmp_path / "api.yaml"
    copy.write_bytes(CONTRACT_FILE.read_bytes())
    loaded = Contract(copy)
    assert loaded.version == "2025-11-13"
    assert repr(loaded) == f"Contract({str(copy)!r}, version='2025-11-13')"


# -- answers that break the contract ----------------------------------------------------------------


def _broken(gateway: FakeGateway, client: GatewayClient, method: str, path: str, body: Any, call: Any) -> Any:
    gateway.script(method, path, status=200, body=body)
    with pytest.raises(GatewayContractError) as caught:
        call(client)
    return caught.value


def test_a_missing_required_field_names_endpoint_and_field(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.usage("demo").to_dict()
    del body["usage"]["count"]
    error = _broken(gateway, client, "GET", "/strategies/modules/demo/usage", body, lambda c: c.usage("demo"))
    assert isinstance(error, GatewayError)
    assert (error.operation, error.field, error.status, error.method) == (
        "getStrategyModuleUsage",
        "usage.count",
        200,
        "GET",
    )
    assert error.message == (
        f"GET {gateway.url}/strategies/modules/demo/usage -> HTTP 200: the answer breaks the gateway contract "
        "(getStrategyModuleUsage 2025-11-13): usage.count: expected a value (the field is required), "
        "got nothing (it is missing)"
    )


def test_a_value_of_the_wrong_type_names_the_field_and_the_type(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.modules().to_dict()
    body["modules"][1]["size"] = "12"
    error = _broken(gateway, client, "GET", "/strategies/modules", body, lambda c: c.modules())
    assert (error.field, error.expected) == ("modules[1].size", "an integer")
    assert error.message.endswith('modules[1].size: expected an integer, got "12"')


def test_null_where_the_contract_does_not_allow_it(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.orders("demo-1").to_dict()
    body["orders"][0]["quantity"] = None
    error = _broken(gateway, client, "GET", "/strategy/instances/demo-1/orders", body, lambda c: c.orders("demo-1"))
    assert (error.field, error.expected) == ("orders[0].quantity", "a string")


def test_a_wrong_type_inside_a_nullable_object_is_found_inside(gateway: FakeGateway, client: GatewayClient) -> None:
    body = {"status": "pending_refresh", "strategyDirectory": "/s", "module": {"name": 3}}
    error = _broken(gateway, client, "POST", "/strategies/modules", body, lambda c: c.upload("x"))
    assert (error.field, error.expected) == ("module.name", "a string")


def test_a_value_outside_an_enum_lists_the_allowed_ones(gateway: FakeGateway, client: GatewayClient) -> None:
    body = {"id": "demo-1", "status": "paused", "action": "pause"}
    error = _broken(
        gateway, client, "POST", "/strategy/instances/demo-1/stop", body, lambda c: c.stop_instance("demo-1")
    )
    assert (error.field, error.expected) == ("action", 'one of "start", "stop"')


def test_an_answer_that_is_not_json_is_a_contract_error(gateway: FakeGateway, client: GatewayClient) -> None:
    error = _broken(gateway, client, "GET", "/strategy/instances", b"<html>ok</html>", lambda c: c.instances())
    assert (error.field, error.expected) == ("", "a JSON body")


def test_a_list_where_an_object_is_due(gateway: FakeGateway, client: GatewayClient) -> None:
    error = _broken(gateway, client, "GET", "/strategy/instances", [1, 2], lambda c: c.instances())
    assert error.message.endswith("expected an object, got a list")


def test_unknown_extra_fields_are_kept_not_refused(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.module("demo").to_dict()
    body["running"] = [{"hash": gateway.demo_v2, "count": 2}]  # f58fcf3 sent this block
    gateway.script("GET", "/strategies/modules/demo", status=200, body=body)
    assert client.module("demo").to_dict()["running"] == body["running"]


# -- the widened places -----------------------------------------------------------------------------


@pytest.mark.parametrize("relaxation", RELAXATIONS, ids=lambda r: f"{r.schema}.{r.field}")
def test_each_relaxation_names_a_field_the_contract_has(contract: Contract, relaxation: Any) -> None:
    schema = contract.document["components"]["schemas"][relaxation.schema]
    assert relaxation.field in schema["properties"]
    if relaxation.change == "optional":
        assert relaxation.field in schema["required"], "already optional: the relaxation would be a no-op"
    else:
        assert not schema["properties"][relaxation.field].get("nullable"), "already nullable: a no-op"


def test_the_relaxed_places_are_accepted_and_the_strict_text_would_refuse_them(contract: Contract) -> None:
    metadata = {"name": "demo", "displayName": "Demo", "config": None, "events": ["Trade"]}
    assert contract.conforms_to("Strategy", metadata)
    assert contract.conforms_to("StrategyRefreshResponse", {"status": "refreshed", "results": None})
    assert contract.conforms_to("StrategyRegistryExport", {"registry": None, "usage": None})
    text = contract.document["components"]["schemas"]
    strict = {"schemas": {name: _json_schema(schema) for name, schema in text.items()}}
    check = fastjsonschema.compile({"$ref": "#/components/schemas/Strategy", "components": strict})
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        check(metadata)


def test_nothing_else_is_widened(contract: Contract) -> None:
    assert not contract.conforms_to("Strategy", {"name": "demo", "displayName": "Demo", "events": ["Trade"]})
    assert not contract.conforms_to("StrategyRefreshResponse", {"results": None})
    assert not contract.conforms_to("OrderHistoryResponse", {"orders": None, "count": 0})
    assert set(ALTERNATIVE_ANSWERS) == {"startInstance", "stopInstance"}


def test_nullable_in_the_contract_accepts_null(contract: Contract) -> None:
    listing = {"modules": [], "limit": None}
    assert contract.conforms_to("StrategyModulesResponse", listing)
    usage = {"strategy": "demo", "hash": "h", "count": 0, "instances": None, "firstSeen": None, "lastSeen": None}
    assert contract.conforms_to("ModuleRevisionUsage", usage)
    summary = {"id": "a", "strategyIdentifier": "demo", "providers": [], "aggregatedSymbols": [], "running": False}
    assert contract.conforms_to("InstanceSummary", {**summary, "strategyTag": None, "usage": None})
    assert not contract.conforms_to("InstanceSummary", {**summary, "running": None})


def test_the_answer_schema_serves_any_json_schema_validator(contract: Contract, client: GatewayClient) -> None:
    operation = contract.operation("listInstanceOrders")
    check = fastjsonschema.compile(contract.answer_schema(operation), use_formats=False)
    body = client.orders("demo-1").to_dict()
    assert check(body) == body
    body["count"] = "3"
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        check(body)
    with pytest.raises(UsageError, match="has no JSON answer"):
        contract.answer_schema(contract.operation("deleteStrategyModule"))
