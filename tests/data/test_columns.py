"""Column conversions: a categorical side column read from its codes, whatever its chunks and gaps;
the Arrow buffers of a read made in the kit's pool."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from meltica_lab.data import load_market_data
from meltica_lab.data import read as read_module
from meltica_lab.data.columns import Problems, text_sides
from meltica_lab.data.events import BUY, SELL
from meltica_lab.errors import DataError

WORDS = ["buy", None, " SELL ", "", "sell", "buy"]
SIDES = [BUY, BUY, SELL, BUY, SELL, BUY]
"""What the words mean: blank or missing is a buy, as the kit's own format always had it."""


def _sides(column: pa.ChunkedArray) -> tuple[list[int], list[int]]:
    problems = Problems(len(column))
    sides = text_sides(column, len(column), "side", problems)
    return sides.tolist(), np.flatnonzero(problems.bad).tolist()


def test_a_categorical_of_one_chunk_reads_as_the_same_words_as_plain_text():
    categorical = pa.chunked_array([pa.Array.from_pandas(pd.Categorical(WORDS))])
    assert categorical.null_count == 1
    assert _sides(categorical) == _sides(pa.chunked_array([pa.array(WORDS)])) == (SIDES, [])


def test_a_categorical_of_several_chunks_with_their_own_dictionaries_reads_the_same():
    parts = [pa.array(WORDS[:3]).dictionary_encode(), pa.array(WORDS[3:]).dictionary_encode()]
    assert _sides(pa.chunked_array(parts)) == (SIDES, [])


def test_a_word_that_is_no_side_is_flagged_in_a_categorical_of_one_chunk():
    categorical = pa.chunked_array([pa.Array.from_pandas(pd.Categorical(["buy", "hold", "sell"]))])
    assert _sides(categorical) == ([BUY, BUY, SELL], [1])


def test_a_dataframe_with_a_categorical_side_without_gaps_backtests_its_sides():
    frame = pd.DataFrame(
        {
            "timestamp": [1_672_531_200_000, 1_672_531_201_000, 1_672_531_202_000],
            "price": [1.0, 2.0, 3.0],
            "quantity": [1.0, 1.0, 1.0],
            "side": pd.Categorical(["sell", "buy", "sell"]),
        }
    )
    assert load_market_data(frame, default_symbol="X").events.side.tolist() == [SELL, BUY, SELL]


def test_a_dataframe_with_an_unknown_categorical_side_is_refused_naming_the_row():
    frame = pd.DataFrame(
        {"timestamp": [1_672_531_200_000], "price": [1.0], "quantity": [1.0], "side": pd.Categorical(["hold"])}
    )
    with pytest.raises(DataError, match=r"<DataFrame>: row 1, column side: expected buy or sell"):
        load_market_data(frame, default_symbol="X")


def _default_pool_bytes(read, capfd) -> int:
    """Bytes ``read()`` asked of pyarrow's default pool, from the pool's own log of its calls (stdout)."""
    read()  # once before: what a first read sets up (kernels, their tables) is not the read's
    capfd.readouterr()
    pa.log_memory_allocations(True)
    try:
        read()
    finally:
        pa.log_memory_allocations(False)
    logged = capfd.readouterr()
    return sum(int(m) for m in re.findall(r"Allocate: size = (\d+)", logged.out + logged.err))


def test_reading_a_file_or_a_dataframe_makes_its_arrow_buffers_in_the_kits_pool(tmp_path, capfd):
    # pyarrow's default pool keeps every page it touched: a 1M-row Parquet file read through it
    # left 80 MiB resident for a 34 MiB table. Only pyarrow's own kernels still ask it for buffers
    # (dictionary encoding's tables: 8 bytes a row here, against 86 to 254 when the kit used it).
    n = 20_000
    frame = pd.DataFrame(
        {
            "timestamp": np.arange(n, dtype=np.int64) * 1_000 + 1_672_531_200_000,
            "price": np.linspace(100.0, 200.0, n),
            "quantity": np.full(n, 0.5),
            "side": np.where(np.arange(n) % 3 == 0, " Sell", "buy"),
            "symbol": np.where(np.arange(n) % 2 == 0, "BTC-USDT", "ETH-USDT"),
        }
    )
    frame.to_csv(tmp_path / "trades.csv", index=False)
    frame.to_parquet(tmp_path / "trades.parquet")
    categorical = frame.assign(side=pd.Categorical(frame["side"]))
    reads = {
        "csv": lambda: load_market_data(tmp_path / "trades.csv", progress=False, cache=False),
        "parquet": lambda: load_market_data(tmp_path / "trades.parquet", progress=False, cache=False),
        "dataframe": lambda: load_market_data(categorical, progress=False),
    }
    # the log is seen: an array built from Python objects asks the default pool for its buffers
    assert _default_pool_bytes(lambda: pa.array(list(range(n))), capfd) >= 8 * n
    for name, read in reads.items():
        assert len(read().events) == n
        assert _default_pool_bytes(read, capfd) <= 16 * n, name


def test_the_memory_a_large_file_read_freed_is_handed_back_and_a_small_reads_is_not(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(read_module, "release_free_memory", lambda: calls.append(True))
    for n in (1_000, read_module._RELEASE_ROWS):
        pd.DataFrame(
            {"timestamp": np.arange(n, dtype=np.int64) + 1_672_531_200_000, "price": 1.0, "quantity": 1.0}
        ).to_parquet(tmp_path / f"{n}.parquet")
        load_market_data(tmp_path / f"{n}.parquet", default_symbol="X", progress=False, cache=False)
        calls.append(n)
    assert calls == [1_000, True, read_module._RELEASE_ROWS]
