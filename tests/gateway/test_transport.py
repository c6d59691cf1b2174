"""The client's HTTP behaviour against the loopback fake: error answers, retries, timeouts, headers."""

from __future__ import annotations

import pytest

from meltica_lab.errors import GatewayError, UsageError
from meltica_lab.gateway import GatewayClient
from meltica_lab.jshost.diagnostics import Diagnostic
from tests.gateway.conftest import free_port
from tests.gateway_server import FakeGateway, module_source

# -- error answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "text"),
    [
        (400, {"status": "error", "error": 'strategy loader: tag "x" not found for demo'}, 'tag "x" not found'),
        (404, {"status": "error", "error": "strategy module not found"}, "strategy module not found"),
        (409, {"status": "error", "error": "strategy instance already running"}, "already running"),
        (500, {"status": "error", "error": "decode registry: unexpected EOF"}, "decode registry: unexpected EOF"),
        (502, b"<html>\n<body>Bad Gateway</body></html>", "<html>"),
        (400, b"\x00\x01binary\x7f", "??binary?"),
    ],
)
def test_error_answers_raise_gateway_error_with_status_url_method_and_message(
    gateway: FakeGateway, client: GatewayClient, status: int, body: object, text: str
) -> None:
    gateway.script("GET", "/strategy/instances/demo-1", status=status, body=body, times=5)
    with pytest.raises(GatewayError) as caught:
        client.instance("demo-1")
    url = f"{gateway.url}/strategy/instances/demo-1"
    assert (caught.value.status, caught.value.url, caught.value.path, caught.value.method) == (status, url, url, "GET")
    assert caught.value.message.startswith(f"GET {url} -> HTTP {status}")
    assert text in caught.value.message
    assert "\n" not in caught.value.message and "\x00" not in caught.value.message


def test_the_contracts_error_payload_gives_error_and_details(gateway: FakeGateway, client: GatewayClient) -> None:
    body = {"error": "strategy revision in use", "details": {"instances": ["demo-1"], "hash": gateway.demo_v1}}
    gateway.script("DELETE", "/strategies/modules/demo:stable", status=409, body=body)
    with pytest.raises(GatewayError) as caught:
        client.delete_module("demo:stable")
    error = caught.value
    assert (error.status, error.method, error.gateway_error) == (409, "DELETE", "strategy revision in use")
    assert error.details == body["details"]
    assert error.message.endswith(
        f'HTTP 409: strategy revision in use (details: {{"hash": "{gateway.demo_v1}", "instances": ["demo-1"]}})'
    )
    assert error.to_dict()["details"] == body["details"]


def test_upload_of_an_invalid_module_carries_the_diagnostics(client: GatewayClient) -> None:
    with pytest.raises(GatewayError) as caught:
        client.upload("let syntax error = ;")
    error = caught.value
    assert (error.status, error.method) == (422, "POST")
    assert error.gateway_error == "strategy_validation_failed"
    assert error.diagnostics == (
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


def test_diagnostics_are_also_read_from_the_details(gateway: FakeGateway, client: GatewayClient) -> None:
    diagnostic = {"stage": "validation", "message": "events must include at least one event type"}
    body = {"error": "strategy_validation_failed", "details": {"diagnostics": [diagnostic]}}
    gateway.script("POST", "/strategies/modules", status=422, body=body)
    with pytest.raises(GatewayError) as caught:
        client.upload(module_source("beta", "v1"))
    assert caught.value.diagnostics == (Diagnostic("validation", "events must include at least one event type"),)
    assert caught.value.message.endswith(
        "strategy_validation_failed: validation error: events must include at least one event type"
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
    assert caught.value.diagnostics == (Diagnostic("validation", "displayName required"),)
    assert caught.value.message.endswith(
        "HTTP 422: metadata validation failed (strategy_validation_failed): validation error: displayName required"
    )


def test_registry_export_failure_is_the_gateways_500(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.registry_error = 'strategy loader: decode registry "registry.json": invalid character'
    with pytest.raises(GatewayError, match="HTTP 500: strategy loader: decode registry") as caught:
        client.registry_export()
    assert caught.value.status == 500


# -- retries ----------------------------------------------------------------------------------------


def test_reads_are_retried_after_dropped_connections(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("GET", "/strategies/modules", drop=True, times=2)
    assert client.modules().total == 2
    assert gateway.attempts("GET", "/strategies/modules") == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_reads_are_retried_after_a_proxy_could_not_reach_the_gateway(
    gateway: FakeGateway, client: GatewayClient, status: int
) -> None:
    gateway.script("GET", "/strategy/instances", status=status, body=b"upstream down", times=2)
    assert len(client.instances()) == 4
    assert gateway.attempts("GET", "/strategy/instances") == 3


def test_a_read_still_failing_after_the_retries_names_the_attempts(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("GET", "/strategy/instances", status=503, body={"error": "strategy manager unavailable"}, times=9)
    with pytest.raises(GatewayError, match=r"HTTP 503 \(after 3 attempts\): strategy manager unavailable") as caught:
        client.instances()
    assert caught.value.status == 503
    assert gateway.attempts("GET", "/strategy/instances") == 3


def test_other_error_statuses_are_not_retried(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("GET", "/strategy/instances", status=500, body={"error": "boom"}, times=9)
    with pytest.raises(GatewayError, match=r"HTTP 500: boom$"):
        client.instances()
    assert gateway.attempts("GET", "/strategy/instances") == 1


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
    assert answer.name == "demo"
    assert gateway.attempts("GET", "/strategies/modules/demo") == 2


_WRITES = [
    ("POST", "/strategies/refresh", lambda c, g: c.refresh()),
    ("POST", "/strategies/modules", lambda c, g: c.upload(module_source("beta", "v1"))),
    ("PUT", "/strategies/modules/demo", lambda c, g: c.update_module("demo", module_source("demo", "v3"))),
    ("DELETE", "/strategies/modules/demo:stable", lambda c, g: c.delete_module("demo:stable")),
    ("PUT", "/strategies/modules/demo/tags/prod", lambda c, g: c.assign_tag("demo", "prod", g.demo_v1)),
    ("DELETE", "/strategies/modules/demo/tags/stable", lambda c, g: c.delete_tag("demo", "stable")),
    ("POST", "/strategy/instances", lambda c, g: c.create_instance("n", "demo", {"binance": ["BTC-USDT"]})),
    ("PUT", "/strategy/instances/demo-1", lambda c, g: c.update_instance("demo-1", "demo", {"binance": ["X"]})),
    ("DELETE", "/strategy/instances/demo-1", lambda c, g: c.delete_instance("demo-1")),
    ("POST", "/strategy/instances/alpha 1/start", lambda c, g: c.start_instance("alpha 1")),
    ("POST", "/strategy/instances/demo-1/stop", lambda c, g: c.stop_instance("demo-1")),
]


@pytest.mark.parametrize(("method", "path", "call"), _WRITES)
def test_writes_are_never_retried_after_a_dropped_connection(
    gateway: FakeGateway, client: GatewayClient, method: str, path: str, call: object
) -> None:
    gateway.script(method, path, drop=True)
    with pytest.raises(GatewayError, match=f"not retried: the {method} may have been applied") as caught:
        call(client, gateway)  # type: ignore[operator]
    assert (caught.value.status, caught.value.method) == (0, method)
    assert gateway.attempts(method, path.replace(" ", "%20")) == 1


@pytest.mark.parametrize(("method", "path", "call"), _WRITES[:3])
def test_writes_are_never_retried_after_a_503(
    gateway: FakeGateway, client: GatewayClient, method: str, path: str, call: object
) -> None:
    gateway.script(method, path, status=503, body=b"busy", times=5)
    with pytest.raises(GatewayError, match=r"HTTP 503: busy$"):
        call(client, gateway)  # type: ignore[operator]
    assert gateway.attempts(method, path) == 1


def test_an_unreachable_gateway_is_status_zero_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
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


def test_extra_headers_go_with_every_request(gateway: FakeGateway) -> None:
    with GatewayClient(gateway.url, headers={"X-Forwarded-User": "ops"}, token="t") as client:
        client.module_source("demo")
        client.refresh()
    for request in gateway.requests:
        assert (request.headers["x-forwarded-user"], request.headers["authorization"]) == ("ops", "Bearer t")


def test_token_is_not_shown_in_the_repr(gateway: FakeGateway) -> None:
    client = GatewayClient(gateway.url + "/", token="s3cret")
    assert repr(client) == f"GatewayClient({gateway.url!r})"


@pytest.mark.parametrize("url", ["ftp://gw", "gateway:8080", "http://", "http://:80"])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(UsageError, match="base_url: expected an http"):
        GatewayClient(url)


@pytest.mark.parametrize(
    "options",
    [{"retries": -1}, {"retries": 1.5}, {"timeout": 0}, {"connect_timeout": -1}, {"backoff": -0.1}, {"timeout": "5"}],
)
def test_bad_timeouts_and_retries_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(UsageError, match="expected"):
        GatewayClient("http://127.0.0.1:1", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("headers", "token"), [({"X-A": "a\nb"}, None), ({}, "a\r\nX-Evil: 1"), ({}, " ")])
def test_headers_and_tokens_must_be_one_line(headers: dict[str, str], token: str | None) -> None:
    with pytest.raises(UsageError):
        GatewayClient("http://127.0.0.1:1", headers=headers, token=token)


def test_the_options_are_kept(gateway: FakeGateway) -> None:
    client = GatewayClient(gateway.url, timeout=3.0, retries=4, backoff=0.5)
    assert (client.base_url, client.timeout, client.retries, client.backoff) == (gateway.url, 3.0, 4, 0.5)
