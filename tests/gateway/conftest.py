"""Fixtures for the gateway client: the loopback fake gateway and a client of it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from meltica_lab.gateway import Contract, GatewayClient
from tests.gateway_server import FakeGateway

# The columns of the order and execution frames, in order.
ORDER_COLUMNS = [
    "id",
    "client_order_id",
    "provider",
    "strategy_instance",
    "symbol",
    "side",
    "type",
    "state",
    "quantity",
    "quantity_text",
    "price",
    "price_text",
    "placed_at",
    "acknowledged_at",
    "completed_at",
    "created_at",
    "updated_at",
    "external_reference",
    "metadata",
]
EXECUTION_COLUMNS = [
    "execution_id",
    "order_id",
    "provider",
    "strategy_instance",
    "quantity",
    "quantity_text",
    "price",
    "price_text",
    "fee",
    "fee_text",
    "fee_asset",
    "liquidity",
    "traded_at",
    "created_at",
    "metadata",
]


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The shipped contract, loaded once for the whole run (a Contract is read-only)."""
    return Contract()


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    """A fresh fake gateway on a loopback port."""
    with FakeGateway() as server:
        yield server


@pytest.fixture
def client(gateway: FakeGateway, contract: Contract) -> Iterator[GatewayClient]:
    """A client of :func:`gateway` with short retry waits."""
    with GatewayClient(gateway.url, timeout=5.0, backoff=0.01, contract=contract) as made:
        yield made


def free_port() -> int:
    """A loopback port nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
