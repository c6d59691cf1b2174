"""ReconcilePanel: instance picker over saved answers or a gateway, runs reconcile, filters the fills."""

from __future__ import annotations

from pathlib import Path

import pytest

from meltica_lab.backtest import Fees
from meltica_lab.errors import UsageError
from meltica_lab.widgets import ReconcilePanel
from meltica_lab.widgets.reconcile import reconcile_html
from tests.gateway_server import FakeGateway

PROJECT = Path(__file__).resolve().parents[2]
LIVE = PROJECT / "examples" / "live"
DATA = PROJECT / "examples" / "data" / "btc_trades.csv"


@pytest.fixture(scope="module")
def panel() -> ReconcilePanel:
    made = ReconcilePanel(
        DATA,
        orders=LIVE / "orders.json",
        executions=LIVE / "executions.json",
        snapshot=LIVE / "instance.json",
        root=PROJECT / "strategies",
        fees=Fees(0.001, 0.001),
    )
    made.run()
    return made


def test_the_picker_offers_the_instances_of_the_saved_records(panel: ReconcilePanel) -> None:
    assert list(panel.instance.options) == ["momentum-live"]


def test_a_run_shows_the_unmatched_fills_first(panel: ReconcilePanel) -> None:
    assert panel.result is not None and not panel.result.ok
    shown = "".join(panel.shown)
    assert "Fills: unmatched (2 of 99)" in shown and "ended REJECTED" in shown
    assert panel.status.value == "differences found"


def test_the_filter_browses_without_running_again(panel: ReconcilePanel) -> None:
    result = panel.result
    panel.filter.value = "matched"
    assert panel.result is result
    assert "Fills: matched (97 of 99)" in "".join(panel.shown)
    panel.filter.value = "unmatched"


def test_the_static_twin_shows_the_state_and_the_results(panel: ReconcilePanel) -> None:
    page = panel.to_html()
    assert "momentum-live" in page and "the instance&#x27;s hash" in page
    assert "data:image/png;base64," in page
    every = reconcile_html(panel.result, status="all")
    assert "Fills: all (99 of 99)" in every
    assert "more row(s) of 99" in every or every.count("ord-000") >= 99  # long tables are cut with a note


def test_a_gateway_offers_its_instances() -> None:
    with FakeGateway() as gateway:
        made = ReconcilePanel(DATA, gateway=gateway.url, root=PROJECT / "strategies")
        assert sorted(made.instance.options) == sorted(gateway.instances)
        made.close()


def test_an_error_during_a_run_is_shown_not_lost() -> None:
    made = ReconcilePanel(
        DATA, orders=LIVE / "orders.json", executions=LIVE / "executions.json", root=PROJECT / "strategies"
    )
    made.button.click()
    assert "give strategy=SELECTOR" in "".join(made.shown)
    assert made.status.value == "failed"


def test_live_records_must_be_given_one_way() -> None:
    with pytest.raises(UsageError, match="one way"):
        ReconcilePanel(DATA)
    with pytest.raises(UsageError, match="both orders= and executions="):
        ReconcilePanel(DATA, orders=LIVE / "orders.json")
