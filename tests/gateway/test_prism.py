"""Contract tests: every GatewayClient method against Stoplight Prism serving the published contract.

Prism (``node_modules/.bin/prism``, pinned in package.json, installed by ``npm ci``) serves
``../shared/compat/gateway-openapi.yaml`` on loopback with ``--errors``, so a request that breaks the
contract is answered 422 instead of a mock answer. It runs in static mode (the contract's examples)
and in dynamic mode with several seeds (random answers drawn from the schemas: nulls wherever
nullable, extra properties, negative counts, odd years). Each request must be accepted, and each
answer must parse into the method's value type; inconsistencies may only be warnings.
"""

from __future__ import annotations

import inspect
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from meltica_lab.gateway import (
    Contract,
    ExecutionHistory,
    GatewayClient,
    InconsistentAnswerWarning,
    InstanceAction,
    InstanceRemoval,
    InstanceSnapshot,
    InstanceSummary,
    ModuleList,
    ModuleOperation,
    ModuleSummary,
    OrderHistory,
    RefreshOutcome,
    RegistryExport,
    RevisionUsage,
    Strategy,
    TagMutation,
)
from meltica_lab.gateway.frames import instances_frame
from tests.gateway.conftest import EXECUTION_COLUMNS, ORDER_COLUMNS, free_port

PROJECT = Path(__file__).resolve().parents[2]
SPEC = PROJECT.parent / "shared" / "compat" / "gateway-openapi.yaml"
PRISM = PROJECT / "node_modules" / ".bin" / "prism"
STARTUP_SECONDS = 180  # generous: the machine is shared; Prism needs a few seconds on a quiet one
MODES = {
    "static": [],
    "dynamic-seed-1": ["--dynamic", "--seed", "1"],
    "dynamic-seed-2": ["--dynamic", "--seed", "2"],
    "dynamic-seed-3": ["--dynamic", "--seed", "3"],
}
ROUNDS = {"static": 1, "dynamic-seed-1": 3, "dynamic-seed-2": 3, "dynamic-seed-3": 3}
HASH = "sha256:" + "ab" * 32


class Recording(httpx.HTTPTransport):
    """The real HTTP transport, keeping method, URL, status and Prism's violation header of each exchange."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[str, str, int, str | None]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.exchanges.append(
            (request.method, str(request.url), response.status_code, response.headers.get("sl-violations"))
        )
        return response


def _prism_output(log: Path) -> str:
    text = log.read_text("utf-8", "replace") if log.exists() else ""
    return text[-6000:] or "(no output)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def _serve(args: list[str], log: Path) -> Iterator[str]:
    """Run Prism on a free loopback port until the caller is done; yields its base URL."""
    if not SPEC.is_file():
        pytest.fail(f"the published gateway contract is missing: expected {SPEC} (shared/ beside the project)")
    if not PRISM.exists():
        pytest.fail(f"Prism is not installed at {PRISM}: run `npm ci` in {PROJECT} (`make test` does)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(PRISM), "mock", "--errors", "--host", "127.0.0.1", "--port", str(port), *args, str(SPEC)]
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            command, cwd=PROJECT, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"Prism exited with code {process.returncode} before serving:\n{_prism_output(log)}")
            try:
                httpx.get(f"{url}/strategies", timeout=2.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Prism did not answer on {url} within {STARTUP_SECONDS} s:\n{_prism_output(log)}")
                time.sleep(0.25)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="module", params=list(MODES))
def prism(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(mode, base URL) of a Prism mock of the contract, one per mode."""
    log = tmp_path_factory.mktemp("prism") / f"{request.param}.log"
    with _serve(MODES[request.param], log) as url:
        yield request.param, url


def _tuple_of(kind: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, tuple) and all(isinstance(item, kind) for item in value)


def _frame_with(columns: list[str]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, pd.DataFrame) and list(value.columns) == columns


INSTANCE_COLUMNS = list(instances_frame([]).columns)

# Every public method, called with every parameter it has, and the value type its answer must parse into.
CALLS: dict[str, tuple[Callable[[GatewayClient], Any], Callable[[Any], bool]]] = {
    "strategies": (lambda c: c.strategies(), _tuple_of(Strategy)),
    "strategy": (lambda c: c.strategy("demo"), lambda v: isinstance(v, Strategy)),
    "modules": (
        lambda c: c.modules(strategy="demo", hash=HASH, limit=2, offset=1),
        lambda v: isinstance(v, ModuleList) and all(isinstance(m, ModuleSummary) for m in v.modules),
    ),
    "module": (lambda c: c.module(f"demo@{HASH}"), lambda v: isinstance(v, ModuleSummary)),
    "module_source": (lambda c: c.module_source("demo:v1.0.0"), lambda v: isinstance(v, bytes)),
    "usage": (
        lambda c: c.usage("demo:prod", include_stopped=True, limit=5, offset=0),
        lambda v: isinstance(v, RevisionUsage) and all(isinstance(i, InstanceSummary) for i in v.instances),
    ),
    "upload": (lambda c: c.upload("module.exports = {};"), lambda v: isinstance(v, ModuleOperation)),
    "update_module": (
        lambda c: c.update_module("demo", b"module.exports = {};"),
        lambda v: isinstance(v, ModuleOperation),
    ),
    "delete_module": (lambda c: c.delete_module("demo:v1.0.0"), lambda v: v is None),
    "assign_tag": (lambda c: c.assign_tag("demo", "prod", HASH, refresh=False), lambda v: isinstance(v, TagMutation)),
    "delete_tag": (lambda c: c.delete_tag("demo", "prod", allow_orphan=True), lambda v: isinstance(v, TagMutation)),
    "refresh": (lambda c: c.refresh(hashes=[HASH], strategies=["demo"]), lambda v: isinstance(v, RefreshOutcome)),
    "registry_export": (lambda c: c.registry_export(), lambda v: isinstance(v, RegistryExport)),
    "instances": (lambda c: c.instances(), _tuple_of(InstanceSummary)),
    "instances_frame": (lambda c: c.instances_frame(), _frame_with(INSTANCE_COLUMNS)),
    "instance": (lambda c: c.instance("demo-1"), lambda v: isinstance(v, InstanceSnapshot)),
    "create_instance": (
        lambda c: c.create_instance("demo-9", "demo:v1.0.0", {"binance": ["BTC-USDT"]}, {"threshold": 2}),
        lambda v: isinstance(v, InstanceSnapshot),
    ),
    "update_instance": (
        lambda c: c.update_instance("demo-9", "demo", {"binance": ["BTC-USDT"], "okx": ["ETH-USDT"]}),
        lambda v: isinstance(v, InstanceSnapshot),
    ),
    "delete_instance": (lambda c: c.delete_instance("demo-9"), lambda v: isinstance(v, InstanceRemoval)),
    "start_instance": (lambda c: c.start_instance("demo-1"), lambda v: isinstance(v, InstanceAction)),
    "stop_instance": (lambda c: c.stop_instance("demo-1"), lambda v: isinstance(v, InstanceAction)),
    "orders": (
        lambda c: c.orders("demo-1", limit=10, provider="binance", state=["FILLED", "NEW"]),
        lambda v: isinstance(v, OrderHistory),
    ),
    "orders_frame": (lambda c: c.orders_frame("demo-1", limit=1, state="FILLED"), _frame_with(ORDER_COLUMNS)),
    "executions": (
        lambda c: c.executions("demo-1", limit=10, provider="binance", order_id="ord-1"),
        lambda v: isinstance(v, ExecutionHistory),
    ),
    "executions_frame": (lambda c: c.executions_frame("demo-1"), _frame_with(EXECUTION_COLUMNS)),
}
# The same endpoints without their optional parameters: the bare requests must conform too.
BARE_CALLS: list[Callable[[GatewayClient], Any]] = [
    lambda c: c.modules(),
    lambda c: c.usage("demo"),
    lambda c: c.refresh(),
    lambda c: c.delete_tag("demo", "prod"),
    lambda c: c.assign_tag("demo", "prod", HASH),
    lambda c: c.orders("demo-1"),
    lambda c: c.executions("demo-1"),
    lambda c: c.create_instance("x", "demo", {"binance": ["BTC-USDT"]}),
]


def test_every_public_method_has_a_contract_call() -> None:
    public = {
        name
        for name, member in inspect.getmembers(GatewayClient, inspect.isfunction)
        if not name.startswith("_") and name != "close"
    }
    assert public == set(CALLS)


def test_every_method_is_accepted_by_the_contract_mock_and_parses(prism: tuple[str, str]) -> None:
    mode, url = prism
    recording = Recording()
    with (
        GatewayClient(url, transport=recording, retries=0, contract=Contract()) as client,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        for _ in range(ROUNDS[mode]):
            for name, (call, parses) in CALLS.items():
                value = call(client)
                assert parses(value), f"{mode}: {name} gave {type(value).__name__}: {value!r:.300}"
                if hasattr(value, "to_dict"):
                    assert isinstance(value.to_dict(), dict)
            for call in BARE_CALLS:
                call(client)
    refused = [e for e in recording.exchanges if not 200 <= e[2] < 300 or e[3] is not None]
    assert refused == [], f"{mode}: Prism refused requests as breaking the contract: {refused}"
    assert len(recording.exchanges) == ROUNDS[mode] * (len(CALLS) + len(BARE_CALLS))
    others = [w for w in caught if not issubclass(w.category, InconsistentAnswerWarning)]
    assert others == [], f"{mode}: unexpected warnings {[str(w.message) for w in others]}"


def test_the_mock_refuses_requests_that_break_the_contract(prism: tuple[str, str]) -> None:
    """The control: without this, a Prism that accepted anything would let every request pass."""
    _, url = prism
    bad = [
        httpx.get(f"{url}/strategies/modules", params={"limit": "-1"}),
        httpx.get(f"{url}/strategy/instances/x/orders", params={"limit": "0"}),
        httpx.post(f"{url}/strategy/instances", json={"id": "x", "strategy": {"identifier": "demo"}}),
        httpx.put(f"{url}/strategies/modules/demo/tags/prod", json={"refresh": True}),
    ]
    assert [response.status_code for response in bad] == [422, 422, 422, 422]
    assert all(response.headers.get("sl-violations") for response in bad)
    # The fault the issue found: the source is only served as application/javascript.
    assert httpx.get(f"{url}/strategies/modules/demo/source", headers={"Accept": "application/json"}).status_code == 406
