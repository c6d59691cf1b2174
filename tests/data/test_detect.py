"""Detection never guesses: no fit, two fits, implausible units and explicit choices."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from meltica_lab.data import FORMATS, load_market_data
from meltica_lab.data.detect import detect_rows
from meltica_lab.data.formats.base import Format
from meltica_lab.data.read import _frame_table
from meltica_lab.errors import ConfigError, DataError
from tests.data import samples
from tests.data.samples import write

T0_S = 1_672_531_200  # 2023-01-01 in seconds


def test_a_headerless_file_that_fits_nothing_says_what_it_looks_like_and_how_to_say_which(tmp_path):
    path = write(tmp_path, "x.csv", "1,2,3\n2,3,4\n")
    with pytest.raises(DataError) as info:
        load_market_data(path)
    message = str(info.value)
    assert str(path) in message and "fits no known market data format" in message
    assert "3 columns without a header" in message and "steps by 1 (an id, not a time)" in message
    assert "format=" in message and "--format" in message and "\n" not in message


def test_a_file_that_fits_two_formats_is_refused_with_the_candidates():
    twin = Format(**{**FORMATS[0].__dict__, "name": "binance-trades-twin"})
    rows = [samples.BINANCE_SPOT_TRADES_2024.splitlines()[0].split(",")]
    with pytest.raises(DataError, match=r"fits several formats: binance-trades, binance-trades-twin") as info:
        import meltica_lab.data.detect as detect

        saved = detect.FORMATS
        detect.FORMATS = (FORMATS[0], twin)
        try:
            detect_rows(rows, "x.csv", format=None, time_unit=None)
        finally:
            detect.FORMATS = saved
    assert "format=" in str(info.value)


def test_columns_that_fit_quotes_and_bars_are_refused(tmp_path):
    path = write(tmp_path, "x.csv", f"timestamp,bid,ask,open,high,low,close\n{T0_S},1,2,1,2,1,2\n")
    with pytest.raises(DataError, match="fit both quotes"):
        load_market_data(path)


def test_two_columns_that_could_be_the_time_are_refused_and_columns_chooses(tmp_path):
    path = write(tmp_path, "x.csv", f"ts,time,price,qty\n{T0_S},{T0_S + 5},1,1\n")
    with pytest.raises(DataError, match=r"columns ts and time could both be the timestamp column.*columns="):
        load_market_data(path)
    data = load_market_data(path, columns={"time": "timestamp"})
    assert data.events.ts.tolist() == [(T0_S + 5) * 10**9]


def test_seconds_milliseconds_microseconds_nanoseconds_by_plausible_epoch(tmp_path):
    for unit, scale in (("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)):
        path = write(tmp_path, f"{unit}.csv", f"timestamp,price,quantity\n{T0_S * scale},1,1\n")
        data = load_market_data(path)
        assert (data.timestamp_unit, data.events.ts.tolist()) == (unit, [T0_S * 10**9])


def test_a_time_plausible_in_no_unit_is_refused_with_each_reading(tmp_path):
    path = write(tmp_path, "x.csv", "timestamp,price,quantity\n5000,1,1\n")
    with pytest.raises(DataError, match=r"row 1 \(line 2\), column timestamp: 5000 is no plausible time") as info:
        load_market_data(path)
    assert "as s 1970-01-01 01:23:20" in str(info.value) and "time_unit=" in str(info.value)
    assert load_market_data(path, time_unit="s").events.ts.tolist() == [5000 * 10**9]


def test_explicit_format_and_unit_are_checked(tmp_path):
    path = write(tmp_path, "x.csv", samples.BINANCE_FUTURES_TRADES)
    with pytest.raises(ConfigError, match="unknown format 'binance'"):
        load_market_data(path, format="binance")
    with pytest.raises(ConfigError, match="unknown unit 'sec'"):
        load_market_data(path, time_unit="sec")
    with pytest.raises(DataError, match="are not those of okx-trades"):
        load_market_data(path, format="okx-trades")
    assert load_market_data(path, format="binance-trades").format == "binance-trades"


def test_headerless_positional_gateway_format_needs_plausible_nanoseconds(tmp_path):
    good = write(tmp_path, "g.csv", f"{T0_S * 10**9},20000,1,BTC-USDT\n{T0_S * 10**9 + 5},20001,2,BTC-USDT\n")
    assert load_market_data(good).format == "meltica-positional"
    with pytest.raises(DataError, match="fits no known"):
        load_market_data(write(tmp_path, "b.csv", f"{T0_S * 1000},20000,1\n"))


def test_a_dataframe_with_ts_and_qty_or_a_time_index_is_read():
    stamps = pd.to_datetime([T0_S, T0_S + 1], unit="s")
    by_column = load_market_data(pd.DataFrame({"ts": stamps, "price": [1.0, 2.0], "qty": [1.0, 1.0]}))
    indexed = load_market_data(pd.DataFrame({"price": [1.0, 2.0], "amount": [1.0, 1.0]}, index=stamps))
    zoned = load_market_data(
        pd.DataFrame(
            {"price": [1.0, 2.0], "size": [1.0, 1.0]}, index=stamps.tz_localize("UTC").tz_convert("Asia/Tokyo")
        )
    )
    expected = [T0_S * 10**9, (T0_S + 1) * 10**9]
    assert by_column.events.ts.tolist() == indexed.events.ts.tolist() == zoned.events.ts.tolist() == expected


def test_a_dataframe_with_both_a_time_index_and_a_time_column_is_refused():
    stamps = pd.to_datetime([T0_S], unit="s")
    with pytest.raises(DataError, match="both its datetime index and column time"):
        load_market_data(pd.DataFrame({"time": stamps, "price": [1.0], "qty": [1.0]}, index=stamps))


def test_a_dataframe_with_two_columns_of_one_name_in_lower_case_is_refused_naming_both():
    frame = pd.DataFrame({"time": [T0_S * 1000], "Price": [1.0], "price ": [2.0], "qty": [1.0]})
    with pytest.raises(
        DataError, match=r"columns 'Price' and 'price ' both read as price \(names are compared trimmed"
    ):
        load_market_data(frame)


def test_a_dataframe_reads_as_the_same_table_as_pyarrow_from_pandas_makes_of_it():
    stamps = pd.to_datetime([T0_S, T0_S + 1], unit="s").tz_localize("UTC")
    frame = pd.DataFrame(
        {
            "Price": [1.0, 2.0],
            "qty": pd.array([1, None], dtype="Int64"),
            "side": pd.Categorical(["buy", "sell"]),
            "symbol": pd.array(["A", None], dtype="string"),
        },
        index=stamps,
    )
    table, index_time = _frame_table(frame)
    expected = pa.Table.from_pandas(
        frame.rename(columns=str.lower).rename_axis("timestamp").reset_index(), preserve_index=False
    )
    assert index_time and table.equals(expected.replace_schema_metadata(None))


def test_is_buyer_maker_in_a_table_gives_the_side():
    frame = pd.DataFrame({"time": [T0_S * 1000], "price": [1.0], "qty": [1.0], "is_buyer_maker": [True]})
    assert load_market_data(frame).events.side.tolist() == [1]
