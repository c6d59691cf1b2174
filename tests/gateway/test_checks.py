"""Answers the contract allows but that disagree with themselves: kept as sent, reported as warnings."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest

from meltica_lab.errors import UsageExportError
from meltica_lab.gateway import GatewayClient, InconsistentAnswerWarning
from meltica_lab.gateway.checks import MAX_FINDINGS
from tests.gateway_server import FakeGateway


def _usage_answer(client: GatewayClient, **changes: Any) -> dict[str, Any]:
    body = client.usage("demo").to_dict()
    body["usage"].update(changes)
    return body


def _scripted_usage(gateway: FakeGateway, client: GatewayClient, **changes: Any) -> Any:
    gateway.script("GET", "/strategies/modules/demo/usage", status=200, body=_usage_answer(client, **changes))
    return client.usage("demo")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": 3}, "usage.count is 3 but 2 instance(s) are listed"),
        ({"count": 0, "instances": None, "running": True}, "usage.running is true but count is 0"),
        ({"strategy": ""}, "usage.strategy is empty"),
        ({"count": -1, "instances": None, "running": False}, "usage.count is -1, a negative count"),
        ({"instances": ["a", "a"]}, "usage.instances lists an instance id more than once"),
        ({"firstSeen": "1914-02-15T16:07:39Z"}, "usage.firstSeen 1914-02-15T16:07:39Z is before 1970"),
        ({"firstSeen": "2026-01-01T00:00:00Z"}, "usage.firstSeen is after usage.lastSeen"),
    ],
)
def test_inconsistent_usage_is_kept_and_warned(
    gateway: FakeGateway, client: GatewayClient, changes: dict[str, Any], message: str
) -> None:
    with pytest.warns(InconsistentAnswerWarning, match=re.escape(message)):
        answer = _scripted_usage(gateway, client, **changes)
    assert any(w.endswith(message) for w in answer.warnings)
    assert answer.warnings[0].startswith(f"GET {gateway.url}/strategies/modules/demo/usage: ")
    for key, value in changes.items():
        assert answer.usage.to_dict()[key] == value
    assert answer.usage.count == changes.get("count", 2)


def test_a_time_the_kit_cannot_hold_is_kept_as_text(gateway: FakeGateway, client: GatewayClient) -> None:
    with pytest.warns(InconsistentAnswerWarning, match=r"usage.lastSeen '0000-01-01T00:00:00Z' is not a time"):
        answer = _scripted_usage(gateway, client, lastSeen="0000-01-01T00:00:00Z")
    assert answer.usage.last_seen is None
    assert answer.usage.to_dict()["lastSeen"] == "0000-01-01T00:00:00Z"


def test_lower_case_rfc3339_letters_are_read(gateway: FakeGateway, client: GatewayClient) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        answer = _scripted_usage(gateway, client, firstSeen="2025-11-04t11:32:54z")
    assert answer.usage.first_seen is not None and answer.usage.first_seen.isoformat() == "2025-11-04T11:32:54+00:00"


def test_an_inconsistent_summary_does_not_become_a_usage_record(gateway: FakeGateway, client: GatewayClient) -> None:
    with pytest.warns(InconsistentAnswerWarning):
        answer = _scripted_usage(gateway, client, count=5)
    with pytest.raises(UsageExportError, match="count"):
        answer.usage.to_record()


def test_paging_that_disagrees_with_the_list(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.modules().to_dict()
    body.update(total=1, limit=1, offset=0)
    gateway.script("GET", "/strategies/modules", status=200, body=body)
    with pytest.warns(InconsistentAnswerWarning) as caught:
        listing = client.modules()
    messages = [str(w.message) for w in caught]
    assert any(m.endswith("2 modules are listed, more than limit 1") for m in messages)
    assert any(m.endswith("offset 0 and 2 modules listed go past total 1") for m in messages)
    assert (listing.total, len(listing.modules)) == (1, 2)


def test_usage_paging_that_disagrees(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.usage("demo").to_dict()
    body.update(total=-1)
    gateway.script("GET", "/strategies/modules/demo/usage", status=200, body=body)
    with pytest.warns(InconsistentAnswerWarning, match="total is -1, a negative number"):
        assert client.usage("demo").total == -1


def test_inconsistent_export_rows_warn_and_stay_out_of_the_strict_analysis(
    gateway: FakeGateway, client: GatewayClient
) -> None:
    body = client.registry_export().to_dict()
    body["usage"][0]["count"] = 7
    gateway.script("GET", "/strategies/registry", status=200, body=body)
    with pytest.warns(InconsistentAnswerWarning, match=r"usage\[0\]\.running is false but count is 7"):
        export = client.registry_export()
    assert export.usage[0].count == 7
    with pytest.raises(UsageExportError, match=r"usage\[0\]\.count"):
        export.to_usage_export()


def test_at_most_so_many_problems_are_spelled_out(gateway: FakeGateway, client: GatewayClient) -> None:
    row = {"strategy": "", "hash": "h", "count": 1, "instances": None, "running": False}
    gateway.script("GET", "/strategies/registry", status=200, body={"registry": {}, "usage": [row] * 30})
    with pytest.warns(InconsistentAnswerWarning):
        export = client.registry_export()
    assert len(export.warnings) == MAX_FINDINGS + 1
    assert export.warnings[-1].endswith("... and 40 more problem(s) of the same answer")


def test_the_warning_points_at_the_callers_line(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script("GET", "/strategies/modules/demo/usage", status=200, body=_usage_answer(client, count=9))
    with pytest.warns(InconsistentAnswerWarning) as caught:
        client.usage("demo")
    assert {w.filename for w in caught} == {__file__}


def test_orders_of_another_instance_odd_times_and_counts(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.orders("demo-1").to_dict()
    body["count"] = 10
    body["orders"][0]["strategyInstance"] = "demo+2"
    body["orders"][1]["placedAt"] = 1762256094000
    body["orders"][2]["quantity"] = "ten"
    gateway.script("GET", "/strategy/instances/demo-1/orders", status=200, body=body, times=2)
    with pytest.warns(InconsistentAnswerWarning) as caught:
        history = client.orders("demo-1")
    found = [text.split(": ", 1)[1] for text in history.warnings]
    assert found == [
        "count is 10 but 3 orders are listed",
        "orders[0] belongs to instance 'demo+2', not 'demo-1'",
        "orders[1].placedAt 1762256094000 is not Unix seconds between 1970 and 5138 (milliseconds?)",
        "orders[2].quantity 'ten' is not a decimal number (NaN in frames)",
    ]
    assert len(caught) == 4
    assert (history.count, history.orders[1].placed_at) == (10, 1762256094000)
    with pytest.warns(InconsistentAnswerWarning):
        frame = client.orders_frame("demo-1")
    assert frame.attrs["warnings"] == list(history.warnings)
    assert frame["placed_at"][1].year > 50000  # kept exactly, as sent, not dropped
    assert frame["quantity_text"][2] == "ten" and frame["quantity"].isna()[2]


def test_executions_with_a_negative_time_and_a_bad_fee(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.executions("demo-1").to_dict()
    body["executions"][0]["tradedAt"] = -5
    body["executions"][0]["fee"] = "n/a"
    gateway.script("GET", "/strategy/instances/demo-1/executions", status=200, body=body)
    with pytest.warns(InconsistentAnswerWarning) as caught:
        frame = client.executions_frame("demo-1")
    assert [str(w.message).split(": ", 1)[1] for w in caught] == [
        "executions[0].fee 'n/a' is not a decimal number (NaN in frames)",
        "executions[0].tradedAt -5 is not Unix seconds between 1970 and 5138",
    ]
    assert str(frame["traded_at"][0]) == "1969-12-31 23:59:55+00:00"


def test_refresh_codes_the_reference_does_not_use(gateway: FakeGateway, client: GatewayClient) -> None:
    body = {"status": "reloaded", "results": [{"selector": "demo", "reason": "moved"}]}
    gateway.script("POST", "/strategies/refresh", status=200, body=body)
    with pytest.warns(InconsistentAnswerWarning) as caught:
        outcome = client.refresh()
    assert [str(w.message).split(": ", 1)[1] for w in caught] == [
        "status 'reloaded' is neither of refreshed, partial_refresh",
        "results[0].reason 'moved' is none of refreshed, alreadyPinned, retired",
    ]
    assert (outcome.status, outcome.results[0].reason) == ("reloaded", "moved")


def test_an_action_answer_about_something_else(gateway: FakeGateway, client: GatewayClient) -> None:
    gateway.script(
        "POST", "/strategy/instances/demo-1/stop", status=200, body={"id": "x", "status": "s", "action": "start"}
    )
    with pytest.warns(InconsistentAnswerWarning) as caught:
        action = client.stop_instance("demo-1")
    assert [str(w.message).split(": ", 1)[1] for w in caught] == [
        "id is 'x' but instance 'demo-1' was asked to stop",
        "action is 'start' but 'stop' was asked for",
    ]
    assert (action.id, action.action) == ("x", "start")


def test_a_snapshot_of_another_instance(gateway: FakeGateway, client: GatewayClient) -> None:
    body = client.instance("demo-1").to_dict()
    gateway.script("GET", "/strategy/instances/demo+2", status=200, body=body)
    with pytest.warns(InconsistentAnswerWarning, match="id is 'demo-1' but instance 'demo\\+2' was asked for"):
        assert client.instance("demo+2").id == "demo-1"


def test_instance_listing_usage_is_checked_and_frames_carry_the_warnings(
    gateway: FakeGateway, client: GatewayClient
) -> None:
    body = {"instances": [item.to_dict() for item in client.instances()]}
    body["instances"][0]["usage"]["running"] = True
    gateway.script("GET", "/strategy/instances", status=200, body=body)
    with pytest.warns(InconsistentAnswerWarning, match=r"instances\[0\]\.usage\.running is true but count is 0"):
        frame = client.instances_frame()
    assert len(frame.attrs["warnings"]) == 1
