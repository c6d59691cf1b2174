"""The pairing of live and backtest fills and orders, on hand-built records with known answers."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meltica_lab.reconcile import LiveRecords, pair_nearest, reconcile_result
from tests.reconcile.records import T0, BtFill, answers, backtest_result, execution, known_case, order


def reconciled(tolerance: str = "5s"):
    live, backtest = known_case()
    return reconcile_result(LiveRecords.from_answers(*live), backtest, tolerance=tolerance)


def row(fills: pd.DataFrame, **where: object) -> pd.Series:
    mask = np.ones(len(fills), dtype=bool)
    for column, value in where.items():
        mask &= (fills[column] == value).to_numpy()
    assert mask.sum() == 1, fills[mask]
    return fills[mask].iloc[0]


def test_the_known_case_summary_is_exact() -> None:
    s = reconciled().summary
    assert (s["matched"], s["missing_live"], s["extra_live"]) == (4, 1, 1)
    assert s["median_delay_s"] == 0.5  # delays 0, 2, 0, 1
    assert s["median_slippage_bps"] == pytest.approx(0.0, abs=1e-9)  # 0, 3, 0, 0
    assert (s["live_fills"], s["backtest_fills"]) == (5, 4)
    assert (s["orders_matched"], s["orders_missing_live"], s["orders_extra_live"]) == (4, 0, 1)
    assert (s["orders_outcome_differs"], s["rejected_live"]) == (1, 1)
    assert s["fees_live"] == pytest.approx(0.1 + 0.1009697 + 0.0306 + 0.0204 + 0.0104)
    assert s["fees_backtest"] == pytest.approx(0.1 + 0.101 + 0.051 + 0.0515)


def test_a_fill_3_bps_worse_and_2_s_late_is_matched_with_both_figures() -> None:
    pair = row(reconciled().fills, live_execution_id="exe-2")
    assert pair["status"] == "matched"
    assert pair["delay_s"] == 2.0
    # a sell 3 bps below the backtest's price is 3 bps worse for the instance
    assert pair["price_diff_bps"] == pytest.approx(3.0)
    assert pair["backtest_order_id"] == "b-2"


def test_backtest_times_are_compared_at_the_live_resolution() -> None:
    pair = row(reconciled().fills, live_execution_id="exe-1")
    assert pair["backtest_time"] == pd.Timestamp((T0 + 10.3) * 1e9, unit="ns", tz="UTC")
    assert pair["delay_s"] == 0.0  # 10.3 s is the live second 10


def test_a_partial_fill_pairs_quantity_by_quantity() -> None:
    fills = reconciled().fills
    parts = fills[fills["backtest_order_id"] == "b-3"]
    assert list(parts["status"]) == ["matched", "matched"]
    assert list(parts["quantity"]) == pytest.approx([0.3, 0.2])
    assert list(parts["delay_s"]) == [0.0, 1.0]
    assert list(parts["backtest_fee"]) == pytest.approx([0.051 * 0.6, 0.051 * 0.4])
    assert all("split" in note for note in parts["note"])


def test_a_rejected_order_leaves_its_backtest_fill_missing_live_and_says_so() -> None:
    result = reconciled()
    missing = row(result.fills, status="missing_live")
    assert missing["backtest_order_id"] == "b-4"
    assert missing["note"] == "the live order ord-4 for it ended REJECTED"
    pair = row(result.orders, live_order_id="ord-4")
    assert (pair["status"], pair["live_outcome"], pair["backtest_outcome"]) == ("matched", "rejected", "filled")


def test_a_live_fill_the_backtest_did_not_make_is_extra_live() -> None:
    result = reconciled()
    extra = row(result.fills, status="extra_live")
    assert (extra["live_execution_id"], extra["quantity"]) == ("exe-5", 0.1)
    assert extra["note"] == "no backtest Buy BTC-USDT fill within 5 s"
    assert row(result.orders, status="extra_live")["live_order_id"] == "ord-5"
    assert not result.ok


def test_pnl_of_both_sides_is_cash_flow_less_fees_plus_the_marked_position() -> None:
    s = reconciled().summary
    # live: -100 + 100.9697 - 0.5*102 - 0.1*104 = -60.4303, fees 0.2623697, position +0.6 marked at
    # the last price seen (104: without market prices, the last fill price of either side)
    assert s["pnl_live"] == pytest.approx(-60.4303 - 0.2623697 + 0.6 * 104)
    # backtest: -100 + 101 - 51 + 51.5 = 1.5, fees 0.3035, position 0, marked at the last price
    assert s["pnl_backtest"] == pytest.approx(1.5 - 0.3035)


def test_tolerance_decides_what_matches() -> None:
    assert reconciled("1s").summary["matched"] == 3  # the 2 s late fill no longer matches
    assert reconciled("1s").summary["extra_live"] == 2
    assert reconciled(0).summary["matched"] == 2  # exe-1 (same second) and exe-3 only


def test_nearest_pairs_first_whatever_the_order() -> None:
    backtest = backtest_result([BtFill(0, "Buy", 1.0, 100.0, "b-1"), BtFill(4, "Buy", 1.0, 100.0, "b-2")])
    live = answers([order(1, "BUY", "1", 3)], [execution(1, 1, "1", "100", 3)])
    fills = reconcile_result(LiveRecords.from_answers(*live), backtest).fills
    assert row(fills, status="matched")["backtest_order_id"] == "b-2"
    assert row(fills, status="missing_live")["backtest_order_id"] == "b-1"


def test_equal_distance_prefers_the_equal_quantity() -> None:
    backtest = backtest_result([BtFill(0, "Buy", 2.0, 100.0, "b-1"), BtFill(2, "Buy", 1.0, 100.0, "b-2")])
    live = answers([order(1, "BUY", "1", 1)], [execution(1, 1, "1", "100", 1)])
    fills = reconcile_result(LiveRecords.from_answers(*live), backtest).fills
    assert row(fills, status="matched")["backtest_order_id"] == "b-2"


def test_side_and_symbol_must_agree() -> None:
    backtest = backtest_result([BtFill(0, "Sell", 1.0, 100.0, "b-1")])
    live = answers([order(1, "BUY", "1", 0)], [execution(1, 1, "1", "100", 0)])
    s = reconcile_result(LiveRecords.from_answers(*live), backtest).summary
    assert (s["matched"], s["missing_live"], s["extra_live"]) == (0, 1, 1)


def test_the_same_records_in_another_order_give_the_same_reconciliation() -> None:
    live, backtest = known_case()
    first = reconcile_result(LiveRecords.from_answers(*live), backtest).to_json()
    orders, executions = live
    shuffled = random.Random(7)
    orders["orders"] = shuffled.sample(orders["orders"], len(orders["orders"]))
    executions["executions"] = shuffled.sample(executions["executions"], len(executions["executions"]))
    again = reconcile_result(LiveRecords.from_answers(orders, executions), backtest)
    assert again.to_json() == first


def test_pair_nearest_splits_one_item_over_several() -> None:
    pairs = pair_nearest(
        np.array([0]), np.array([10]), np.array([1.0]), np.array([0, 0]), np.array([9, 12]), np.array([0.4, 0.4]), 5
    )
    assert pairs.live.tolist() == [0, 0, 0]
    assert pairs.backtest.tolist() == [0, 1, -1]
    assert pairs.quantity.tolist() == pytest.approx([0.4, 0.4, 0.2])


def test_pair_nearest_whole_pairs_each_item_once() -> None:
    pairs = pair_nearest(
        np.array([0, 0]),
        np.array([10, 11]),
        np.array([1.0, 1.0]),
        np.array([0]),
        np.array([10]),
        np.array([2.0]),
        5,
        whole=True,
    )
    assert pairs.live.tolist() == [0, 1]
    assert pairs.backtest.tolist() == [0, -1]


def test_an_empty_side_leaves_everything_unmatched() -> None:
    pairs = pair_nearest(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.array([0]), np.array([1]), np.array([1.0]), 5
    )
    assert (pairs.live.tolist(), pairs.backtest.tolist()) == ([-1], [0])


def test_to_json_has_the_four_parts_and_readable_times() -> None:
    import json

    document = json.loads(reconciled().to_json())
    assert list(document) == ["summary", "fills", "orders", "provenance"]
    first = document["fills"][0]
    assert first["live_time"].startswith("2024-03-01T00:00:10")
    assert document["summary"]["missing_live"] == 1
    assert document["provenance"]["tolerance_s"] == 5.0


def test_the_notebook_repr_and_the_plot_show_the_unmatched() -> None:
    result = reconciled()
    text = result._repr_html_()
    assert "Unmatched fills" in text and "REJECTED" in text
    assert "extra_live" in repr(result)
    figure = result.plot()
    assert len(figure.axes) == 3
    assert any(c.get_label() == "unmatched" for c in figure.axes[0].collections)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 40), st.sampled_from([0.5, 1.0, 1.5, 2.0])), max_size=25),
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 40), st.sampled_from([0.5, 1.0, 1.5, 2.0])), max_size=25),
    st.integers(0, 6),
    st.booleans(),
)
def test_the_vectorised_rounds_pair_exactly_as_the_walk_in_rank_order(live, bt, tolerance, whole) -> None:
    def columns(items):
        return [np.array([item[k] for item in items], dtype=float if k == 2 else np.int64) for k in range(3)]

    lk, lt, lq = columns(live)
    bk, bt_t, bq = columns(bt)
    fast = pair_nearest(lk, lt, lq, bk, bt_t, bq, tolerance, whole=whole)
    walked = pair_nearest(lk, lt, lq, bk, bt_t, bq, tolerance, whole=whole, rounds=False)
    assert fast.live.tolist() == walked.live.tolist()
    assert fast.backtest.tolist() == walked.backtest.tolist()
    assert fast.quantity.tolist() == pytest.approx(walked.quantity.tolist())


def test_a_tolerance_that_makes_everything_a_candidate_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from meltica_lab.errors import ConfigError
    from meltica_lab.reconcile import matching

    monkeypatch.setattr(matching, "MAX_CANDIDATES", 50)
    same = np.zeros(10, np.int64)
    with pytest.raises(ConfigError, match=r"tolerance: 100\+ candidate pairs \(10 per live item"):
        pair_nearest(same, same, np.ones(10), same, same, np.ones(10), 5)


def test_equally_near_fills_of_equal_quantity_pair_by_the_closest_price() -> None:
    backtest = backtest_result([BtFill(0, "Buy", 1.0, 101.0, "b-1"), BtFill(0, "Buy", 1.0, 100.0, "b-2")])
    orders = [order(1, "BUY", "1", 0), order(2, "BUY", "1", 0)]
    executions = [execution(1, 1, "1", "100.01", 0), execution(2, 2, "1", "101.02", 0)]
    fills = reconcile_result(LiveRecords.from_answers(*answers(orders, executions)), backtest).fills
    assert row(fills, live_execution_id="exe-1")["backtest_order_id"] == "b-2"
    assert row(fills, live_execution_id="exe-2")["backtest_order_id"] == "b-1"


def test_ties_pair_the_same_way_whatever_order_the_records_came_in() -> None:
    backtest = backtest_result([BtFill(0, "Buy", 1.0, 100.0, "b-1"), BtFill(0, "Buy", 1.0, 101.0, "b-2")])
    orders = [order(1, "BUY", "1", 0), order(2, "BUY", "1", 0)]
    executions = [execution(1, 1, "1", "100", 0), execution(2, 2, "1", "101", 0)]
    first = reconcile_result(LiveRecords.from_answers(*answers(orders, executions)), backtest)
    again = reconcile_result(LiveRecords.from_answers(*answers(orders[::-1], executions[::-1])), backtest)
    assert again.to_json() == first.to_json()
