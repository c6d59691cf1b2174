"""The kit's own formats: header-driven CSV, the gateway's positional CSV, Parquet, DataFrames; bad rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meltica_lab.backtest.data import BadRow, load_market_data
from meltica_lab.backtest.events import KLINE, SELL, TICKER, TRADE
from meltica_lab.errors import DataError
from tests.backtest.conftest import SECOND, T0


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reference_test_file_reads_as_nanosecond_trades(tmp_path):
    path = write(tmp_path, "timestamp,price,quantity\n1672531200000000000,20000,1\n1672531201000000000,20001,2\n")
    data = load_market_data(path)
    events = data.events
    assert events.ts.tolist() == [1672531200000000000, 1672531201000000000]
    assert events.values[0].tolist() == [20000.0, 20001.0] and events.values[1].tolist() == [1.0, 2.0]
    assert events.kind.tolist() == [TRADE, TRADE] and data.timestamp_unit == "ns"
    assert events.providers == ("backtest",) and events.symbols == ("",)
    assert data.sha256 == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert data.rows == 2 and data.dropped == ()


def test_headerless_positional_csv_is_read_with_optional_symbol(tmp_path):
    path = write(tmp_path, "1672531200000000000,20000,1,BTC-USDT\n1672531201000000000,20001,2,ETH-USDT\n")
    events = load_market_data(path).events
    assert [events.symbols[s] for s in events.symbol] == ["BTC-USDT", "ETH-USDT"]
    assert events.values[0].tolist() == [20000.0, 20001.0]


def test_millisecond_timestamps_are_recognised_by_magnitude(tmp_path):
    path = write(tmp_path, "timestamp,price,quantity\n1672531200000,1,1\n1672531200500,1,1\n")
    data = load_market_data(path)
    assert data.timestamp_unit == "ms"
    assert data.events.ts.tolist() == [T0, T0 + 500_000_000]


def test_iso_timestamps_with_offsets_are_utc(tmp_path):
    path = write(
        tmp_path,
        "timestamp,price,quantity\n2023-01-01T00:00:00Z,1,1\n"
        "2023-01-01T01:00:00.25+01:00,1,1\n2023-01-01 00:00:01,1,1\n",
    )
    data = load_market_data(path)
    assert data.events.ts.tolist() == [T0, T0 + 250_000_000, T0 + SECOND]


def test_uniform_iso_timestamps_keep_their_fraction(tmp_path):
    path = write(tmp_path, "timestamp,price,quantity\n2023-01-01T00:00:00.000000123Z,1,1\n2023-01-01T00:00:01Z,1,1\n")
    assert load_market_data(path).events.ts.tolist() == [T0 + 123, T0 + SECOND]


def test_header_names_are_case_insensitive_and_side_symbol_provider_are_read(tmp_path):
    path = write(tmp_path, "Timestamp,PRICE,Quantity,Side,Symbol,Provider\n1672531200000,1,2,SELL,btc-usdt,binance\n")
    events = load_market_data(path).events
    assert events.side.tolist() == [SELL]
    assert events.symbols == ("btc-usdt",) and events.providers == ("binance",)


def test_quotes_become_tickers_and_bars_become_klines(tmp_path):
    quotes = write(tmp_path, "timestamp,bid,ask,bid_size,ask_size\n1672531200000,99,101,3,4\n", "q.csv")
    events = load_market_data(quotes).events
    assert events.kind.tolist() == [TICKER]
    assert np.isnan(events.values[0, 0]) and events.values[1:5, 0].tolist() == [99.0, 101.0, 3.0, 4.0]
    bars = write(tmp_path, "timestamp,open,high,low,close,volume\n1672531260000,10,12,9,11,5\n", "b.csv")
    events = load_market_data(bars).events
    assert events.kind.tolist() == [KLINE] and events.values[:5, 0].tolist() == [10.0, 12.0, 9.0, 11.0, 5.0]


def test_parquet_and_dataframes_with_datetime_index_are_read(tmp_path):
    frame = pd.DataFrame(
        {"price": [1.0, 2.0], "quantity": [1.0, 1.0]},
        index=pd.DatetimeIndex(pd.to_datetime([T0, T0 + SECOND], unit="ns", utc=True)),
    )
    from_frame = load_market_data(frame)
    assert from_frame.events.ts.tolist() == [T0, T0 + SECOND] and from_frame.timestamp_unit == "datetime"
    assert from_frame.sha256.startswith("sha256:") and from_frame.source == "<DataFrame>"
    path = tmp_path / "data.parquet"
    frame.rename_axis("timestamp").reset_index().to_parquet(path)
    assert load_market_data(path).events.ts.tolist() == [T0, T0 + SECOND]


def test_dataframe_digest_depends_on_content_only():
    a = pd.DataFrame({"timestamp": [T0], "price": [1.0], "quantity": [1.0]})
    assert load_market_data(a).sha256 == load_market_data(a.copy()).sha256
    assert load_market_data(a).sha256 != load_market_data(a.assign(price=[2.0])).sha256


@pytest.mark.parametrize(
    ("body", "row", "line", "column", "reason"),
    [
        ("1672531200000,abc,1\n", 2, 3, "price", "not a number"),
        ("1672531200000,-1,1\n", 2, 3, "price", "expected a price > 0"),
        ("1672531200000,0,1\n", 2, 3, "price", "expected a price > 0"),
        ("1672531200000,1,0\n", 2, 3, "quantity", "expected a quantity > 0"),
        ("1672531200000,NaN,1\n", 2, 3, "price", "missing value"),
        ("1672531200000,,1\n", 2, 3, "price", "missing value"),
        ("1672531199999,1,1\n", 2, 3, "timestamp", "earlier than a previous row"),
        ("yesterday,1,1\n", 2, 3, "timestamp", "not a timestamp"),
    ],
)
def test_bad_rows_name_the_data_row_file_line_and_column(tmp_path, body, row, line, column, reason):
    path = write(tmp_path, "timestamp,price,quantity\n1672531200000,1,1\n" + body)
    with pytest.raises(DataError) as info:
        load_market_data(path)
    error = info.value
    assert (error.row, error.field) == (row, column)
    assert f"row {row} (line {line}), column {column}: {reason}" in str(error)
    assert str(path) in str(error)


def test_line_numbers_count_blank_lines(tmp_path):
    path = write(tmp_path, "timestamp,price,quantity\n\n1672531200000,1,1\n\n\n1672531200001,x,1\n")
    with pytest.raises(DataError, match=r"row 2 \(line 6\), column price"):
        load_market_data(path)


def test_bad_sides_are_rejected(tmp_path):
    path = write(tmp_path, "timestamp,price,quantity,side\n1672531200000,1,1,up\n")
    with pytest.raises(DataError, match=r"row 1 .* column side: expected buy or sell"):
        load_market_data(path)


def test_drop_bad_rows_keeps_the_good_ones_and_lists_the_rest(tmp_path):
    path = write(
        tmp_path,
        "timestamp,price,quantity\n1672531200000,1,1\n1672531200001,x,1\n1672531199000,1,1\n1672531200002,2,1\n",
    )
    data = load_market_data(path, drop_bad_rows=True)
    assert data.events.values[0].tolist() == [1.0, 2.0]
    assert data.rows == 4
    assert data.dropped == (
        BadRow(2, 3, "price", "not a number"),
        BadRow(3, 4, "timestamp", "earlier than a previous row (timestamps must not go backwards)"),
    )


def test_missing_columns_are_named(tmp_path):
    with pytest.raises(DataError, match=r"missing column\(s\) quantity") as info:
        load_market_data(write(tmp_path, "timestamp,price\n1672531200000,1\n"))
    assert info.value.field == "quantity"
    with pytest.raises(DataError, match="missing column timestamp") as info:
        load_market_data(write(tmp_path, "when,price,quantity\nx,1,1\n", "b.csv"))
    assert "format=" in str(info.value) and "columns=" in str(info.value)


def test_empty_and_absent_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no data"):
        load_market_data(write(tmp_path, "\n\n"))
    with pytest.raises(DataError, match="not found"):
        load_market_data(tmp_path / "absent.csv")


def test_a_million_rows_load_through_arrow(tmp_path):
    n = 1_000_000
    frame = pd.DataFrame({"timestamp": T0 + np.arange(n, dtype=np.int64) * 1000, "price": 100.0, "quantity": 1.0})
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    data = load_market_data(path)
    assert len(data.events) == n and data.events.ts[-1] == T0 + (n - 1) * 1000
