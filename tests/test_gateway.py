"""GatewayClient against a real loopback HTTP server that plays the gateway (tests/gateway_server.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from meltica_lab.errors import GatewayError, SelectorError, UsageError
from meltica_lab.gateway import GatewayClient, RevisionUsage
from meltica_lab.jshost.diagnostics import Diagnostic
from meltica_lab.usage import UsageRecord
from tests.gateway_server import FakeGateway, digest, module_source


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with FakeGateway() as server:
        yield server


@pytest.fixture
def client(gateway: FakeGateway) -> GatewayClient:
    return GatewayClient(gateway.url, timeout=5.0, backoff=0.01)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- reads ------------------------------------------------------------------------------------------


def test_modules_returns_the_listing_with_paging(gateway: FakeGateway, client: GatewayClient) -> None:
    listing = client.modules(limit=1, offset=1)
    assert (listing["total"], listing["offset"], listing["limit"]) == (2, 1, 1)
    assert [m["name"] for m in listing["modules"]] == ["demo"]
    assert listing["strategyDirectory"] == "/srv/meltica/strategies"
    assert gateway.last().query == {"limit": "1", "offset": "1"}


def test_modules_filters_are_sent_as_query_parameters(gateway: FakeGateway, client: GatewayClient) -> None:
    listing = client.modules(strategy="Demo", hash=gateway.demo_v1)
    assert [r["hash"] for r in listing["modules"][0]["revisions"]] == [gateway.demo_v1]
    assert gateway.last().query == {"strategy": "Demo", "hash": gateway.demo_v1}


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_bad_paging_is_refused_before_any_request(gateway: FakeGateway, client: GatewayClient, bad: object) -> None:
    with pytest.raises(UsageError, match="limit: expected a non-negative integer"):
        client.modules(limit=bad)  # type: ignore[arg-type]
    assert gateway.requests == []


def test_module_by_each_selector_form_selects_that_revision(gateway: FakeGateway, client: GatewayClient) -> None:
    assert client.module("demo")["selectedRevisionHash"] == gateway.demo_v2
    assert client.module("demo:stable")["selectedRevisionHash"] == gateway.demo_v1
    assert client.module(f"demo@{gateway.demo_v1}")["selectedRevisionTag"] == "v1.0.0"
    assert client.module(gateway.alpha)["name"] == "alpha"


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


def test_module_source_is_the_exact_file_bytes(gateway: FakeGateway, client: GatewayClient) -> None:
    source = client.module_source("demo:v1.0.0")
    assert source == module_source("demo", "v1.0.0")
    assert digest(source) == gateway.demo_v1


def test_usage_parses_the_summary_and_instances(gateway: FakeGateway, client: GatewayClient) -> None:
    answer = client.usage("demo")
    assert isinstance(answer, RevisionUsage)
    assert (answer.selector, answer.strategy, answer.hash) == ("demo", "demo", gateway.demo_v2)
    assert answer.usage == gateway.usage.get("demo", gateway.demo_v2)
    assert answer.usage.instances == ("demo+2", "demo-1")
    assert [i["id"] for i in answer.instances] == ["demo+2", "demo-1"]
    assert (answer.total, answer.offset, answer.limit) == (2, 0, None)


def test_usage_with_stopped_instances_and_paging(gateway: FakeGateway, client: GatewayClient) -> None:
    answer = client.usage(f"demo@{gateway.demo_v1}", include_stopped=True, limit=5, offset=0)
    assert [i["id"] for i in answer.instances] == ["demo-pinned"]
    assert answer.usage == UsageRecord("demo", gateway.demo_v1, (), 0, answer.usage.first_seen, answer.usage.last_seen)
    assert answer.usage.first_seen is not None and answer.limit == 5
    assert gateway.last().query == {"includeStopped": "true", "limit": "5", "offset": "0"}


def test_registry_export_reads_registry_and_usage(gateway: FakeGateway, client: GatewayClient) -> None:
    export = client.registry_export()
    assert export.registry == gateway.registry
    assert list(export.usage) == gateway.usage.snapshot()
    assert export.source == f"{gateway.url}/strategies/registry"


def test_instances_and_one_instance(gateway: FakeGateway, client: GatewayClient) -> None:
    ids = [item["id"] for item in client.instances()]
    assert ids == sorted(gateway.instances)
    snapshot = client.instance("alpha 1")
    assert snapshot["strategySelector"] == "alpha:v0.1.0"
    assert gateway.last().path == "/strategy/instances/alpha%201"


# -- writes -----------------------------------------------------------------------------------------


def test_full_refresh_returns_no_results(gateway: FakeGateway, client: GatewayClient) -> None:
    assert client.refresh() == []
    assert gateway.last().json() == {}


def test_targeted_refresh_returns_one_record_per_instance(gateway: FakeGateway, client: GatewayClient) -> None:
    results = client.refresh(hashes=[gateway.demo_v1], strategies=["ghost"])
    assert gateway.last().json() == {"hashes": [gateway.demo_v1], "strategies": ["ghost"]}
    assert [(r["selector"], r["reason"]) for r in results] == [
        (f"demo@{gateway.demo_v1}", "alreadyPinned"),
        ("ghost", "retired"),
    ]


def test_assign_tag_sends_hash_and_refresh(gateway: FakeGateway, client: GatewayClient) -> None:
    answer = client.assign_tag("demo", "prod", gateway.demo_v1)
    assert answer == {
        "status": "tag_assigned",
        "strategy": "demo",
        "tag": "prod",
        "hash": gateway.demo_v1,
        "previousHash": "",
        "refresh": True,
    }
    request = gateway.last()
    assert (request.method, request.path) == ("PUT", "/strategies/modules/demo/tags/prod")
    assert request.json() == {"hash": gateway.demo_v1, "refresh": True}
    assert gateway.refreshes == [{"strategies": ["demo"]}]
    assert client.module("demo:prod")["selectedRevisionHash"] == gateway.demo_v1


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
    assert answer == {
        "status": "tag_deleted",
        "strategy": "demo",
        "tag": "stable",
        "hash": gateway.demo_v1,
        "allowOrphan": False,
    }
    assert gateway.last().query == {}
    with pytest.raises(GatewayError, match=r'removing tag "v1\.0\.0" would orphan hash') as caught:
        client.delete_tag("demo", "v1.0.0")
    assert caught.value.status == 400
    assert client.delete_tag("demo", "v1.0.0", allow_orphan=True)["allowOrphan"] is True
    assert gateway.last().query == {"allowOrphan": "true"}


def test_upload_returns_the_pending_revision(gateway: FakeGateway, client: GatewayClient) -> None:
    source = module_source("beta", "v2.0.0")
    answer = client.upload(source)
    assert answer["status"] == "pending_refresh"
    assert answer["module"]["hash"] == digest(source)
    assert gateway.last().json() == {"source": source.decode()}
    assert client.upload(source.decode())["module"]["hash"] == digest(source)


def test_upload_of_an_invalid_module_carries_the_diagnostics(client: GatewayClient) -> None:
    with pytest.raises(GatewayError) as caught:
        client.upload("let syntax error = ;")
    error = caught.value
    assert error.status == 422
    assert error.gateway_error == "strategy_validation_failed"  # type: ignore[attr-defined]
    assert error.diagnostics == (  # type: ignore[attr-defined]
        Diagnostic(
            "compile",
            "SyntaxError: Unexpected identifier 'error'",
            1,
            8,
            "Fix the JavaScript syntax near the reported location.",
        ),
    )
    assert 'HTTP 422: compile module "strategy-123.js" failed (strategy_validation_failed): compile error at 1:8' in (
        error.message
    )


def test_malformed_diagnostics_are_left_out_and_the_answer_kept(gateway: FakeGateway, client: GatewayClient) -> None:
    body = {
        "status": "error",
        "error": "strategy_validation_failed",
        "message": "metadata validation failed",
        "diagnostics": [{"stage": "validation", "message": "displayName required"}, {"line": "x"}, "text"],
    }
    gateway.script("POST", "/strategies/modules", status=422, body=body)
    with pytest.raises(GatewayError) as caught:
        client.upload(module_source("beta", "v1"))
    assert caught.value.diagnostics == (Diagnostic("validation", "displayName required"),)  # type: ignore[attr-defined]
    assert caught.value.message.endswith(
        "HTTP 422: metadata validation failed (strategy_validation_failed): validation error: displayName required"
    )


def test_upload_refuses_bytes_that_are_not_utf8(gateway: FakeGateway, client: GatewayClient) -> None:
    with pytest.raises(UsageError, match="source: expected UTF-8 text"):
        client.upload(b"\xff\xfe")
    assert gateway.requests == []


def test_blank_upload_is_the_gateways_400(client: GatewayClient) -> None:
    with pytest.raises(GatewayError, match="HTTP 400: source required") as caught:
        client.upload("   ")
    assert caught.value.diagnostics == ()  # type: ignore[attr-defined]


# -- error answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "text"),
    [
        (400, {"status": "error", "error": 'strategy loader: tag "x" not found for demo'}, 'tag "x" not found'),
        (404, {"status": "error", "error": "strategy module not found"}, "strategy module not found"),
        (409, {"status": "error", "error": "strategy instance already running"}, "already running"),
        (500, {"status": "error", "error": "decode registry: unexpected EOF"}, "decode registry: unexpected EOF"),
        (502, b"<html>\n<body>Bad Gateway</body></html>", "<html>"),
    ],
)
def test_error_answers_raise_gateway_error_with_status_url_and_message(
    gateway: FakeGateway, client: GatewayClient, status: int, body: object, text: str
) -> None:
    gateway.script("GET", "/strategy/instances/demo-1", status=status, body=body)
    with pytest.raises(GatewayError) as caught:
        client.instance("demo-1")
    url = f"{gateway.url}/strategy/instances/demo-1"
    assert (caught.value.status, caught.value.url, caught.value.path) == (status, url, url)
    assert caught.value.message.startswith(f"GET {url} -> HTTP {status}: ")
    assert text in caught.value.message
    assert "\n" not in caught.value.message


def test_registry_export_failure_is_the_gateways_500(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.registry_error = 'strategy loader: decode registry "registry.json": invalid character'
    with pytest.raises(GatewayError, match="HTTP 500: strategy loader: decode registry") as caught:
        client.registry_export()
    assert caught.value.status == 500


def test_an_answer_that_is_not_a_json_object_is_an_error(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("GET", "/strategy/instances", status=200, body=[1, 2])
    with pytest.raises(GatewayError, match="expected a JSON object, got JSON list") as caught:
        client.instances()
    assert caught.value.status == 200


# -- retries ----------------------------------------------------------------------------------------


def test_reads_are_retried_after_dropped_connections(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("GET", "/strategies/modules", drop=True, times=2)
    assert client.modules()["total"] == 2
    assert gateway.attempts("GET", "/strategies/modules") == 3


def test_reads_give_up_after_the_retries_with_status_zero(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("GET", "/strategies/registry", drop=True, times=5)
    with pytest.raises(GatewayError, match=r"gateway unreachable \(after 3 attempts\)") as caught:
        client.registry_export()
    assert caught.value.status == 0
    assert caught.value.url == f"{gateway.url}/strategies/registry"
    assert gateway.attempts("GET", "/strategies/registry") == 3


def test_retries_zero_means_one_attempt(gateway: FakeGateway) -> None:
    gateway.script("GET", "/strategy/instances", drop=True)
    with pytest.raises(GatewayError, match=r"after 1 attempt\)"):
        GatewayClient(gateway.url, retries=0).instances()
    assert gateway.attempts("GET", "/strategy/instances") == 1


def test_a_read_that_times_out_is_retried(gateway: FakeGateway) -> None:
    gateway.script("GET", "/strategies/modules/demo", delay=1.0)
    answer = GatewayClient(gateway.url, timeout=0.3, retries=1, backoff=0.01).module("demo")
    assert answer["name"] == "demo"
    assert gateway.attempts("GET", "/strategies/modules/demo") == 2


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/strategies/refresh", lambda c, g: c.refresh()),
        ("POST", "/strategies/modules", lambda c, g: c.upload(module_source("beta", "v1"))),
        ("PUT", "/strategies/modules/demo/tags/prod", lambda c, g: c.assign_tag("demo", "prod", g.demo_v1)),
        ("DELETE", "/strategies/modules/demo/tags/stable", lambda c, g: c.delete_tag("demo", "stable")),
    ],
)
def test_writes_are_never_retried(
    gateway: FakeGateway, client: GatewayClient, method: str, path: str, call: object
) -> None:
    gateway.script(method, path, drop=True)
    with pytest.raises(GatewayError, match=f"not retried: the {method} may have been applied") as caught:
        call(client, gateway)  # type: ignore[operator]
    assert caught.value.status == 0
    assert gateway.attempts(method, path) == 1


def test_an_unreachable_gateway_is_status_zero_with_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(GatewayError) as caught:
        GatewayClient(url, retries=1, backoff=0.01).modules()
    assert caught.value.status == 0
    assert caught.value.url == f"{url}/strategies/modules"
    assert caught.value.message.startswith(f"GET {url}/strategies/modules: gateway unreachable (after 2 attempts)")


# -- configuration ----------------------------------------------------------------------------------


def test_token_is_sent_as_a_bearer_token(gateway: FakeGateway) -> None:
    GatewayClient(gateway.url, token="s3cret").modules()
    assert gateway.last().headers["authorization"] == "Bearer s3cret"
    GatewayClient(gateway.url).modules()
    assert "authorization" not in gateway.last().headers


def test_token_is_not_shown_in_the_repr(gateway: FakeGateway) -> None:
    assert "s3cret" not in repr(GatewayClient(gateway.url + "/", token="s3cret"))


@pytest.mark.parametrize("url", ["ftp://gw", "gateway:8080", "http://"])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(UsageError, match="base_url: expected an http"):
        GatewayClient(url)
