"""Binance public data: trades, aggTrades, klines, bookTicker; spot and futures; ms and us; sides."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from meltica_lab.data import load_market_data
from meltica_lab.data.events import BUY, KLINE, SELL, TICKER, TRADE
from meltica_lab.errors import DataError
from tests.data import samples
from tests.data.samples import write, zipped

US_2025 = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z in ns
MS_2024 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z in ns


def test_spot_trades_in_microseconds_are_read_in_2025_with_sides_from_is_buyer_maker(tmp_path):
    data = load_market_data(zipped(tmp_path, "BTCUSDT-trades-2025-01-01.zip", samples.BINANCE_SPOT_TRADES_2025))
    events = data.events
    assert data.format == "binance-trades" and data.timestamp_unit == "us"
    assert events.ts.tolist() == [US_2025 + 15_477_000, US_2025 + 15_477_000, US_2025 + 109_963_000]
    # is_buyer_maker=True: the buyer was resting, the aggressor sold
    assert events.side.tolist() == [SELL, BUY, SELL]
    assert events.kind.tolist() == [TRADE] * 3
    assert events.values[0].tolist() == [93530.01, 93530.01, 93530.0]
    assert events.values[1].tolist() == [0.00012, 0.001, 0.00054]
    assert events.symbols == ("BTCUSDT",), "the symbol comes from the Binance file name"
    assert data.source.endswith("BTCUSDT-trades-2025-01-01.zip!BTCUSDT-trades-2025-01-01.csv")


def test_spot_trades_before_2025_are_milliseconds(tmp_path):
    data = load_market_data(write(tmp_path, "BTCUSDT-trades-2024-01-01.csv", samples.BINANCE_SPOT_TRADES_2024))
    assert data.timestamp_unit == "ms"
    assert data.events.ts.tolist() == [MS_2024 + 5_000_000, MS_2024 + 16_000_000]
    assert data.events.side.tolist() == [SELL, BUY]


def test_futures_trades_with_their_header_and_lower_case_booleans(tmp_path):
    data = load_market_data(write(tmp_path, "BTCUSDT-trades-2024-01-01.csv", samples.BINANCE_FUTURES_TRADES))
    assert data.format == "binance-trades"
    assert data.events.ts.tolist() == [MS_2024 + 88_000_000, MS_2024 + 90_000_000]
    assert data.events.side.tolist() == [SELL, BUY]
    assert data.events.values[1].tolist() == [0.005, 0.02]


@pytest.mark.parametrize("text", [samples.BINANCE_SPOT_AGG_TRADES, samples.BINANCE_FUTURES_AGG_TRADES])
def test_agg_trades_spot_and_futures(tmp_path, text):
    data = load_market_data(write(tmp_path, "BTCUSDT-aggTrades-2024-01-01.csv", text))
    assert data.format == "binance-aggtrades"
    first = data.events
    assert first.ts[0] == MS_2024 + (5 if text is samples.BINANCE_SPOT_AGG_TRADES else 18) * 1_000_000
    expected = [SELL] if text is samples.BINANCE_SPOT_AGG_TRADES else [BUY, SELL]
    assert first.side.tolist() == expected


def test_klines_become_bars_at_their_close_time_with_their_length(tmp_path):
    data = load_market_data(zipped(tmp_path, "BTCUSDT-1m-2025-01-01.zip", samples.BINANCE_SPOT_KLINES_2025))
    events = data.events
    assert data.format == "binance-klines" and data.timestamp_unit == "us"
    assert events.kind.tolist() == [KLINE, KLINE]
    assert events.ts.tolist() == [US_2025 + 59_999_999_000, US_2025 + 119_999_999_000]
    assert events.values[:, 0].tolist() == [93576.0, 93610.93, 93537.5, 93610.93, 8.21827, 60_000.0]
    futures = load_market_data(write(tmp_path, "k.csv", samples.BINANCE_FUTURES_KLINES)).events
    assert futures.ts.tolist() == [MS_2024 + 59_999_000_000]
    assert futures.values[4, 0] == 346.254, "the bar's volume, not its high, is the volume"


def test_book_ticker_becomes_tickers_at_the_transaction_time(tmp_path):
    events = load_market_data(write(tmp_path, "BTCUSDT-bookTicker-2024-01-01.csv", samples.BINANCE_BOOK_TICKER)).events
    assert events.kind.tolist() == [TICKER, TICKER]
    assert events.ts.tolist() == [MS_2024 + 3_000_000, MS_2024 + 5_000_000]
    assert np.isnan(events.values[0, 0])
    assert events.values[1:5, 1].tolist() == [42313.9, 42314.0, 6.297, 3.477]


def test_headerless_book_ticker_is_recognised_by_its_columns(tmp_path):
    body = samples.BINANCE_BOOK_TICKER.split("\n", 1)[1]
    assert load_market_data(write(tmp_path, "b.csv", body)).format == "binance-bookticker"


def test_a_trades_file_is_never_read_as_the_positional_format(tmp_path):
    """The bug of old: a Binance file fell into the positional format (trade ids as times)."""
    data = load_market_data(write(tmp_path, "x.csv", samples.BINANCE_SPOT_TRADES_2024))
    assert pd.Timestamp(data.events.ts[0], tz="UTC").year == 2024
    assert len(data.events.symbols) == 1


def test_a_row_in_another_unit_than_the_rest_is_a_bad_row_that_says_so(tmp_path):
    text = samples.BINANCE_SPOT_TRADES_2025 + "4380116574,93530.00000000,0.1,9353.0,1735689600110,True,True\n"
    path = write(tmp_path, "t.csv", text)
    with pytest.raises(DataError, match=r"row 4 \(line 4\), column time: 1735689600110 is not a plausible time in us"):
        load_market_data(path)
    data = load_market_data(path, drop_bad_rows=True)
    assert len(data.events) == 3 and data.dropped[0].row == 4


def test_a_broken_boolean_names_its_row_and_column(tmp_path):
    text = samples.BINANCE_FUTURES_TRADES.replace("true", "maybe")
    with pytest.raises(DataError, match=r"row 1 \(line 2\), column is_buyer_maker: expected true or false"):
        load_market_data(write(tmp_path, "t.csv", text))


def test_the_symbol_given_wins_over_the_file_name(tmp_path):
    path = write(tmp_path, "BTCUSDT-trades-2024-01-01.csv", samples.BINANCE_SPOT_TRADES_2024)
    assert load_market_data(path, default_symbol="BTC-USDT").events.symbols == ("BTC-USDT",)


def test_binance_columns_kept_in_parquet_keep_their_meaning(tmp_path):
    frame = pd.read_csv(io.StringIO(samples.BINANCE_FUTURES_TRADES))
    frame.to_parquet(tmp_path / "t.parquet")
    data = load_market_data(tmp_path / "t.parquet")
    assert data.format == "binance-trades" and data.events.side.tolist() == [SELL, BUY]
    frame.iloc[:0].to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(DataError, match="column names but no data rows"):
        load_market_data(tmp_path / "empty.parquet")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (samples.BINANCE_FUTURES_TRADES, "binance-trades"),
        (samples.BINANCE_FUTURES_AGG_TRADES, "binance-aggtrades"),
        (samples.BINANCE_FUTURES_KLINES, "binance-klines"),
        (samples.BINANCE_BOOK_TICKER, "binance-bookticker"),
    ],
)
def test_futures_files_read_the_same_with_and_without_their_header(tmp_path, text, name):
    with_header = load_market_data(write(tmp_path, "a.csv", text))
    without = load_market_data(write(tmp_path, "b.csv", text.split("\n", 1)[1]))
    assert with_header.format == without.format == name
    assert with_header.events.ts.tolist() == without.events.ts.tolist()
    assert with_header.events.side.tolist() == without.events.side.tolist()
    np.testing.assert_array_equal(with_header.events.values, without.events.values)


def test_coin_m_trades_and_klines_with_their_base_columns(tmp_path):
    trades = "id,price,qty,base_qty,time,is_buyer_maker\n403151431,42289.9,2,0.00472926,1704067200187,true\n"
    data = load_market_data(write(tmp_path, "BTCUSD_PERP-trades-2024-01-01.csv", trades))
    assert data.format == "binance-trades" and data.events.values[1, 0] == 2.0 and data.events.side[0] == SELL
    klines = samples.BINANCE_FUTURES_KLINES.replace("quote_volume", "base_volume").replace("buy_quote", "buy_base")
    assert load_market_data(write(tmp_path, "k.csv", klines)).format == "binance-klines"
    headerless = load_market_data(write(tmp_path, "t.csv", trades.split("\n", 1)[1]))
    assert headerless.format == "binance-trades", "layouts that differ only in names are one format"
