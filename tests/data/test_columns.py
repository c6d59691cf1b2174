"""Column conversions: a categorical side column read from its codes, whatever its chunks and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from meltica_lab.data import load_market_data
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
