"""CLI: ``meltica-lab gateway ...`` against the loopback fake gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from meltica_lab.cli import main
from tests.gateway.conftest import free_port
from tests.gateway_server import FakeGateway, module_source


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGateway]:
    with FakeGateway() as server:
        monkeypatch.setenv("MELTICA_GATEWAY_URL", server.url)
        monkeypatch.delenv("MELTICA_GATEWAY_TOKEN", raising=False)
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main(["gateway", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_modules_as_a_table_and_as_the_gateways_json(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "modules")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["module", "tag", "hash", "revisions", "tags"]
    assert lines[2].split()[:2] == ["alpha", "v0.1.0"] and lines[-1] == "2 of 2 module(s)"
    code, out, _ = run(capsys, "modules", "--strategy", "demo", "--limit", "1", "--json")
    assert code == 0 and json.loads(out)["modules"][0]["selectedRevisionHash"] == gateway.demo_v2
    assert gateway.last().query == {"strategy": "demo", "limit": "1"}


def test_the_read_commands(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    for argv, first in [
        (["strategies"], "name"),
        (["strategy", "demo"], "demo v1.1.0: Demo (Trade)"),
        (["module", "demo:stable"], f"demo v1.0.0 {gateway.demo_v1}"),
        (["usage", "demo", "--include-stopped"], f"demo ({gateway.demo_v2}): 2 running"),
        (["registry"], "strategy"),
        (["instances"], "instance"),
        (["instance", "alpha 1"], "alpha 1: stopped, alpha -> alpha:v0.1.0"),
        (["orders", "demo-1", "--state", "FILLED", "--state", "REJECTED"], "order"),
        (["executions", "demo-1", "--order-id", "ord-1"], "fill"),
    ]:
        code, out, err = run(capsys, *argv)
        assert (code, err) == (0, ""), argv
        assert out.startswith(first), (argv, out)
    assert gateway.last().raw_query == "orderId=ord-1"


def test_orders_table_keeps_the_exact_decimals(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "orders", "demo-1", "--limit", "2")
    rows = out.splitlines()
    assert code == 0 and rows[2].split()[:7] == [
        "ord-1",
        "BTC-USDT",
        "BUY",
        "LIMIT",
        "FILLED",
        "0.01000000",
        "35000.50",
    ]
    assert rows[-1] == "2 order(s), count 2"
    code, out, _ = run(capsys, "orders", "demo-1", "--json")
    assert json.loads(out)["orders"][2]["state"] == "REJECTED"


def test_start_stop_and_refresh(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "start", "alpha 1")[:2] == (0, "alpha 1: start -> running\n")
    code, out, _ = run(capsys, "stop", "alpha 1", "--json")
    assert code == 0 and json.loads(out) == {"id": "alpha 1", "status": "stopped", "action": "stop"}
    assert run(capsys, "refresh")[:2] == (0, "refreshed: 0 record(s)\n")
    code, out, _ = run(capsys, "refresh", "--hash", gateway.demo_v1, "--strategy", "ghost")
    assert code == 0 and out.splitlines()[-1] == "partial_refresh: 2 record(s)"
    assert gateway.last().json() == {"hashes": [gateway.demo_v1], "strategies": ["ghost"]}


def test_source_goes_to_stdout_or_a_file(
    gateway: FakeGateway, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    assert main(["gateway", "source", "demo:v1.0.0"]) == 0
    assert capsysbinary.readouterr().out == module_source("demo", "v1.0.0")
    target = tmp_path / "demo.js"
    assert main(["gateway", "source", "demo:v1.0.0", "--out", str(target)]) == 0
    assert target.read_bytes() == module_source("demo", "v1.0.0")


def test_a_gateway_refusal_is_exit_1_with_one_line(gateway: FakeGateway, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "start", "demo-1")
    assert (code, out) == (1, "")
    url = f"{gateway.url}/strategy/instances/demo-1/start"
    assert err == f"meltica-lab: error: POST {url} -> HTTP 409: strategy instance already running\n"


def test_an_unreachable_gateway_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "instances", "--url", f"http://127.0.0.1:{free_port()}", "--retries", "0")
    assert code == 1 and "gateway unreachable (after 1 attempt)" in err


def test_no_url_or_a_bad_one_is_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("MELTICA_GATEWAY_URL", raising=False)
    code, _, err = run(capsys, "instances")
    assert code == 2 and "--url: give the gateway's base URL, or set MELTICA_GATEWAY_URL" in err
    assert run(capsys, "instances", "--url", "ftp://x")[0] == 2
    assert run(capsys, "orders", "demo-1", "--url", "http://127.0.0.1:1", "--limit", "0")[0] == 2
    assert run(capsys)[0] == 2


def test_the_token_comes_from_the_environment(
    gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPS_TOKEN", "s3cret")
    assert run(capsys, "instances", "--token-env", "OPS_TOKEN")[0] == 0
    assert gateway.last().headers["authorization"] == "Bearer s3cret"


def test_inconsistencies_are_warnings_on_stderr_and_exit_0(
    gateway: FakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"orders": [], "count": 4}
    gateway.script("GET", "/strategy/instances/demo-1/orders", status=200, body=body)
    code, out, err = run(capsys, "orders", "demo-1", "--json")
    assert code == 0 and json.loads(out) == body
    url = f"{gateway.url}/strategy/instances/demo-1/orders"
    assert err == f"meltica-lab: warning: GET {url}: count is 4 but 0 orders are listed\n"
