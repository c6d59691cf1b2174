"""Market events: value rows a batch does not use hold no memory and still read as NaN."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from meltica_lab.data import DataCache, load_market_data
from meltica_lab.data.events import KLINE, TRADE, VALUE_COLUMNS, MarketEvents, concat_events
from meltica_lab.errors import DataError
from meltica_lab.hashing import hash_text
from tests.backtest.conftest import SECOND, T0


def trades(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": T0 + np.arange(n, dtype=np.int64) * SECOND,
            "price": 20_000.0 + np.arange(n),
            "quantity": np.full(n, 0.5),
            "side": ["buy", "sell", "buy"][:n],
        }
    )


def test_trades_keep_only_price_and_quantity_rows_and_read_the_rest_as_nan():
    events = load_market_data(trades()).events
    assert [row is not None for row in events.value_rows] == [True, True, False, False, False, False]
    absent = events.value(3)
    assert np.isnan(absent).all() and absent.shape == (3,) and absent.strides == (0,)
    assert not absent.flags.writeable
    values = events.values
    assert values.shape == (VALUE_COLUMNS, 3) and values[0].tolist() == [20_000.0, 20_001.0, 20_002.0]
    assert np.isnan(values[2:]).all()


@pytest.mark.parametrize("n", [3, 70_000])
def test_the_data_digest_is_that_of_the_whole_value_array(n):
    # the digest a frame's events have always had: every column's bytes, the (6, n) values whole;
    # from 65,536 events on it is computed on a background thread, to the same value
    frame = trades(n) if n <= 3 else trades(3).sample(n, replace=True, random_state=1).sort_values("timestamp")
    data = load_market_data(frame)
    events = data.events
    digest = hashlib.sha256()
    for array in (events.ts, events.kind, events.symbol, events.provider, events.side, events.values):
        digest.update(np.ascontiguousarray(array).data)
    digest.update("\x00".join((*events.symbols, "|", *events.providers)).encode())
    assert data.sha256 == hash_text(digest)


def test_take_and_concat_keep_absent_rows_absent_and_fill_them_when_mixed():
    events = load_market_data(trades()).events
    part = events.take(np.array([True, False, True]))
    assert part.value_rows[2] is None and part.value(0).tolist() == [20_000.0, 20_002.0]
    joined = concat_events([part, events.take(slice(1, 2))])
    assert joined.value_rows[2] is None and joined.value(0).tolist() == [20_000.0, 20_002.0, 20_001.0]
    bars = MarketEvents(
        ts=np.array([T0], dtype=np.int64),
        kind=np.array([KLINE], dtype=np.int8),
        symbol=np.zeros(1, dtype=np.int32),
        provider=np.zeros(1, dtype=np.int32),
        side=np.zeros(1, dtype=np.int8),
        value_rows=tuple(np.array([float(k + 1)]) for k in range(VALUE_COLUMNS)),
        symbols=("",),
        providers=("backtest",),
    )
    mixed = concat_events([part, bars])
    assert mixed.kind.tolist() == [TRADE, TRADE, KLINE]
    assert np.isnan(mixed.value(5)[:2]).all()
    assert mixed.value(5)[2] == 6.0


def test_a_batch_needs_six_value_rows():
    with pytest.raises(ValueError, match="expected 6 value rows"):
        MarketEvents(
            ts=np.zeros(0, dtype=np.int64),
            kind=np.zeros(0, dtype=np.int8),
            symbol=np.zeros(0, dtype=np.int32),
            provider=np.zeros(0, dtype=np.int32),
            side=np.zeros(0, dtype=np.int8),
            value_rows=(None,) * 5,
            symbols=("",),
            providers=("backtest",),
        )


def test_the_cache_stores_no_file_for_an_absent_row_and_maps_the_rest_back(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("timestamp,price,quantity\n1672531200000000000,20000,1\n1672531201000000000,20001,2\n")
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    first = load_market_data(path, cache=cache)
    again = load_market_data(path, cache=cache)
    (entry,) = (cache.directory / "entries").iterdir()
    assert sorted(p.name for p in entry.glob("v*.npy")) == ["v0.npy", "v1.npy"]
    assert isinstance(again.events.value(0), np.memmap) and again.events.value_rows[2] is None
    np.testing.assert_array_equal(first.events.values, again.events.values)


def test_copy_false_shares_the_frames_float_columns_read_only_and_the_default_copies():
    frame = trades()
    shared = load_market_data(frame, copy=False).events
    assert np.shares_memory(shared.value(0), frame["price"].to_numpy())
    assert not shared.value(0).flags.writeable
    copied = load_market_data(frame).events
    assert not np.shares_memory(copied.value(0), frame["price"].to_numpy())
    assert load_market_data(frame, copy=False).sha256 == load_market_data(frame).sha256


def test_missing_values_are_still_found_when_columns_are_shared():
    frame = trades()
    frame.loc[1, "quantity"] = np.nan
    with pytest.raises(DataError, match="row 2, column quantity: missing value"):
        load_market_data(frame, copy=False)
