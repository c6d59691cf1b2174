"""OKX trades and candles, Tardis.dev trades, quotes and book snapshots."""

from __future__ import annotations

import pytest

from meltica_lab.data import load_market_data
from meltica_lab.data.events import BUY, KLINE, SELL, TICKER
from meltica_lab.errors import DataError
from tests.data import samples
from tests.data.samples import gzipped, write, zipped

MS_2024 = 1_704_067_200_000_000_000


@pytest.mark.parametrize("text", [samples.OKX_TRADES, samples.OKX_TRADES_BILINGUAL])
def test_okx_trades_with_english_or_bilingual_header(tmp_path, text):
    data = load_market_data(zipped(tmp_path, "BTC-USDT-trades-2024-01-01.zip", text))
    assert data.format == "okx-trades" and data.timestamp_unit == "ms"
    assert data.events.ts[0] == MS_2024 + 122_000_000
    assert data.events.side[0] == SELL and data.events.values[1, 0] == 0.00072
    assert data.events.symbols == ("BTC-USDT",)


def test_okx_trades_keep_the_taker_side(tmp_path):
    assert load_market_data(write(tmp_path, "o.csv", samples.OKX_TRADES)).events.side.tolist() == [SELL, BUY]


def test_okx_candles_end_one_bar_after_their_open_time(tmp_path):
    events = load_market_data(write(tmp_path, "c.csv", samples.OKX_CANDLES)).events
    assert events.kind.tolist() == [KLINE, KLINE]
    assert events.ts.tolist() == [MS_2024 + 60 * 10**9, MS_2024 + 120 * 10**9]
    assert events.values[:, 0].tolist() == [42283.9, 42300.1, 42280.0, 42290.5, 12.5, 60_000.0]


def test_one_okx_candle_needs_its_interval(tmp_path):
    path = write(tmp_path, "c.csv", samples.OKX_CANDLES.rsplit("BTC-USDT", 1)[0])
    with pytest.raises(DataError, match=r"interval="):
        load_market_data(path)
    assert load_market_data(path, interval="1h").events.ts.tolist() == [MS_2024 + 3600 * 10**9]


def test_tardis_trades_are_microseconds_at_the_exchange_time(tmp_path):
    data = load_market_data(gzipped(tmp_path, "binance_trades_2024-01-01_BTCUSDT.csv.gz", samples.TARDIS_TRADES))
    assert data.format == "tardis-trades" and data.timestamp_unit == "us"
    assert data.events.ts.tolist() == [MS_2024 + 5_000_000, MS_2024 + 16_000_000]
    assert data.events.side.tolist() == [SELL, BUY]
    assert data.events.values[1].tolist() == [0.002, 0.0003]
    assert data.events.providers == ("backtest",), "the exchange column does not rename the provider"


def test_a_tardis_trade_of_unknown_side_is_a_bad_row(tmp_path):
    path = write(tmp_path, "t.csv", samples.TARDIS_TRADES.replace(",buy,", ",unknown,"))
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column side: expected buy or sell"):
        load_market_data(path)


def test_tardis_quotes_are_tickers(tmp_path):
    events = load_market_data(write(tmp_path, "q.csv", samples.TARDIS_QUOTES)).events
    assert events.kind.tolist() == [TICKER]
    assert events.values[1:5, 0].tolist() == [42313.9, 42314.0, 6.297, 3.476]


@pytest.mark.parametrize("depth", [5, 25])
def test_tardis_book_snapshots_give_the_top_of_the_book(tmp_path, depth):
    data = load_market_data(write(tmp_path, f"book_snapshot_{depth}.csv", samples.tardis_book_snapshot(depth)))
    assert data.format == "tardis-book-snapshot"
    assert data.events.values[1:5, 0].tolist() == [42313.9, 42314.0, 2.5, 1.5]


def test_an_okx_candle_still_forming_is_a_bad_row(tmp_path):
    path = write(tmp_path, "c.csv", samples.OKX_CANDLES[: samples.OKX_CANDLES.rindex(",1")] + ",0\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column confirm: the bar is not confirmed"):
        load_market_data(path)
    assert len(load_market_data(path, drop_bad_rows=True, interval="1m").events) == 1
