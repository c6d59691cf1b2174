"""Result frames: the helpers that build them give what the pandas formulation they replaced gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from meltica_lab.backtest.results import _before_in_symbol

FILLS = st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=60)


@given(FILLS)
def test_the_open_flag_before_each_fill_is_that_of_the_same_symbols_previous_fill(fills):
    symbol = np.array([float(s) for s, _ in fills])
    flags = np.array([f for _, f in fills], dtype=bool)
    frame = pd.DataFrame({"symbol": symbol, "open": flags})
    expected = frame.groupby("symbol")["open"].shift(fill_value=False).to_numpy(dtype=bool)
    assert np.array_equal(_before_in_symbol(symbol, flags), expected)
