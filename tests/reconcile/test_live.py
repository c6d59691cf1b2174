"""Reading live records: every way in, and every record that cannot be read without a guess."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from meltica_lab.gateway import GatewayClient
from meltica_lab.gateway.frames import executions_frame, orders_frame
from meltica_lab.reconcile import LiveRecords, LiveRecordsError, ReconcileWarning, as_live_records
from tests.gateway_server import FakeGateway
from tests.reconcile.records import INSTANCE, T0, answers, execution, known_case, order


def write_answers(directory: Path, orders: object, executions: object) -> tuple[Path, Path]:
    paths = directory / "orders.json", directory / "executions.json"
    for path, answer in zip(paths, (orders, executions), strict=True):
        path.write_text(json.dumps(answer), encoding="utf-8")
    return paths


def test_saved_answers_read_like_the_client_reads_a_live_one(tmp_path: Path) -> None:
    live, _ = known_case()
    records = LiveRecords.from_files(*write_answers(tmp_path, *live))
    assert records.instance == INSTANCE
    assert len(records.fills) == 5 and len(records.order_rows) == 5
    first = records.fills.iloc[0]
    assert (first["symbol"], first["side"], first["time_ns"]) == ("BTC-USDT", "Buy", (T0 + 10) * 10**9)
    assert records.order_rows.set_index("order_id").loc["ord-3", "filled"] == pytest.approx(0.5)
    assert records.span_ns == ((T0 + 10) * 10**9, (T0 + 300) * 10**9)


def test_frames_of_the_client_and_frames_of_json_records_read_the_same() -> None:
    (orders, executions), _ = known_case()
    from_client = LiveRecords.from_frames(orders_frame(orders["orders"]), executions_frame(executions["executions"]))
    from_json = LiveRecords.from_frames(pd.DataFrame(orders["orders"]), pd.DataFrame(executions["executions"]))
    pd.testing.assert_frame_equal(from_client.fills, from_json.fills)
    pd.testing.assert_frame_equal(from_client.order_rows, from_json.order_rows)


def test_a_live_gateway_gives_records_and_the_instance_snapshot() -> None:
    (orders, executions), _ = known_case()
    with FakeGateway() as gateway:
        spec = next(iter(gateway.instances.values()))
        gateway.orders[spec.id] = [dict(o, strategyInstance=spec.id) for o in orders["orders"]]
        gateway.executions[spec.id] = [dict(e, strategyInstance=spec.id) for e in executions["executions"]]
        with GatewayClient(gateway.url, backoff=0.01) as client:
            records = as_live_records((client, spec.id))
        by_url = as_live_records((gateway.url, spec.id))
    assert records.strategy_hash == spec.hash
    assert records.config == {}
    assert len(records.fills) == 5 and len(by_url.fills) == 5
    assert records.providers == ("binance",)


def test_records_of_another_instance_mixed_in_are_an_error_naming_both() -> None:
    (orders, executions), _ = known_case()
    orders["orders"].append(order(9, "BUY", "1", 50, instance="other"))
    orders["count"] += 1
    with pytest.raises(LiveRecordsError, match=r"records of 2 instances are mixed: inst-1 \(10 record\(s\)\), other"):
        LiveRecords.from_answers(orders, executions)


def test_choosing_the_instance_leaves_the_others_out_with_a_warning() -> None:
    (orders, executions), _ = known_case()
    orders["orders"].append(order(9, "BUY", "1", 50, instance="other"))
    orders["count"] += 1
    with pytest.warns(ReconcileWarning, match=r"left out 1 record\(s\) of other instances: other \(1\)"):
        records = LiveRecords.from_answers(orders, executions, instance=INSTANCE)
    assert len(records.order_rows) == 5
    assert any("other" in w for w in records.warnings)


def test_an_execution_whose_order_is_missing_is_an_error_naming_both() -> None:
    live = answers([order(1, "BUY", "1", 0)], [execution(1, 1, "1", "100", 0), execution(2, 7, "1", "100", 5)])
    with pytest.raises(LiveRecordsError, match=r"executions\[1\] \(execution exe-2\) belongs to order ord-7") as caught:
        LiveRecords.from_answers(*live)
    assert "without a limit" in caught.value.message
    assert caught.value.field == "executions[1].orderId"


def test_milliseconds_where_seconds_are_expected_are_an_error() -> None:
    bad = order(1, "BUY", "1", 0)
    bad["placedAt"] = (T0 + 5) * 1000
    live = answers([bad], [execution(1, 1, "1", "100", 5)])
    with pytest.raises(LiveRecordsError, match=r"orders.placedAt\[0\] = 1709251205000 is after the year 5138.*milli"):
        LiveRecords.from_answers(*live)


def test_times_before_2000_are_an_error_not_a_guess() -> None:
    early = execution(1, 1, "1", "100", 0)
    early["tradedAt"] = T0 // 1000
    with pytest.raises(LiveRecordsError, match=r"executions.tradedAt\[0\] = 1709251 is before 2000"):
        LiveRecords.from_answers(*answers([order(1, "BUY", "1", 0)], [early]))


def test_frames_with_millisecond_datetimes_are_caught_too() -> None:
    (orders, executions), _ = known_case()
    frame = pd.DataFrame(orders["orders"]).drop(columns=["clientOrderId"])
    frame = frame.rename(columns={"placedAt": "placed_at", "strategyInstance": "strategy_instance"})
    frame["placed_at"] = frame["placed_at"] * 1000
    executions_table = executions_frame(executions["executions"])
    with pytest.raises(LiveRecordsError, match="milliseconds"):
        LiveRecords.from_frames(frame, executions_table)


def test_a_side_that_is_neither_buy_nor_sell_is_an_error() -> None:
    live = answers([order(1, "HOLD", "1", 0)], [])
    with pytest.raises(LiveRecordsError, match=r"orders\[0\] \(order ord-1\): side 'HOLD' is neither BUY nor SELL"):
        LiveRecords.from_answers(*live)


def test_a_fill_without_a_number_for_a_price_is_an_error() -> None:
    live = answers([order(1, "BUY", "1", 0)], [execution(1, 1, "1", "n/a", 0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            LiveRecordsError, match=r"executions\[0\] \(execution exe-1\): price is 'n/a'; expected a number > 0"
        ):
            LiveRecords.from_answers(*live)


def test_an_answer_that_breaks_the_contract_names_the_field(tmp_path: Path) -> None:
    broken = order(1, "BUY", "1", 0)
    del broken["placedAt"]
    paths = write_answers(tmp_path, {"orders": [broken], "count": 1}, {"executions": [], "count": 0})
    with pytest.raises(
        LiveRecordsError, match=r"orders.json: not a listInstanceOrders answer.*orders\[0\].placedAt: expected a value"
    ):
        LiveRecords.from_files(*paths)


def test_a_file_that_is_not_the_answer_says_what_it_holds(tmp_path: Path) -> None:
    paths = write_answers(tmp_path, {"items": []}, {"executions": [], "count": 0})
    with pytest.raises(LiveRecordsError, match=r'expected \{"orders": \[...\], "count": n\}.*got items'):
        LiveRecords.from_files(*paths)
    with pytest.raises(LiveRecordsError, match="file not found"):
        LiveRecords.from_files(tmp_path / "nope.json", paths[1])


def test_no_records_at_all_is_an_error() -> None:
    with pytest.raises(LiveRecordsError, match="no live orders or executions"):
        LiveRecords.from_answers(*answers([], []))


def test_fees_in_another_asset_are_left_out_with_a_warning() -> None:
    paid = execution(1, 1, "1", "100", 0, fee="0.5")
    paid["feeAsset"] = "BNB"
    with pytest.warns(ReconcileWarning, match=r"1 execution\(s\) pay fees in an asset .*\(BNB\)"):
        records = LiveRecords.from_answers(*answers([order(1, "BUY", "1", 0)], [paid]))
    assert records.fills["fee_quote"].isna().all()


def test_fees_in_the_base_asset_count_at_the_fill_price() -> None:
    paid = execution(1, 1, "1", "100", 0, fee="0.001")
    paid["feeAsset"] = "BTC"
    records = LiveRecords.from_answers(*answers([order(1, "BUY", "1", 0)], [paid]))
    assert records.fills["fee_quote"].iloc[0] == pytest.approx(0.1)


def test_filled_orders_whose_executions_are_not_all_listed_are_warned_about() -> None:
    live = answers([order(1, "BUY", "1", 0), order(2, "SELL", "1", 5)], [execution(1, 1, "1", "100", 0)])
    with pytest.warns(ReconcileWarning, match=r"1 order\(s\) say FILLED but their listed executions add up to less"):
        records = LiveRecords.from_answers(*live)
    assert "ord-2" in records.warnings[-1]
