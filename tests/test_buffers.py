"""The kit's own Arrow buffers: text columns as pandas makes them, with memory from the system pool."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from meltica_lab.buffers import KIT_POOL, text_column, text_dtype

WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
# with at least one text: a column of nothing but missing values is not text to pandas
TEXTS = st.lists(st.one_of(WORDS, st.none()), min_size=1, max_size=40).filter(
    lambda values: any(v is not None for v in values)
)


@given(TEXTS)
def test_a_text_column_is_the_column_pandas_makes_of_the_same_text(values):
    made = pd.Series(text_column(values, text_dtype()))
    pd.testing.assert_series_equal(made, pd.Series(values))


@given(st.lists(WORDS.filter(lambda w: "\x00" not in w), max_size=40))
def test_a_text_column_of_a_numpy_string_array_is_the_column_pandas_makes_of_it(words):
    values = np.array(words, dtype=str)
    pd.testing.assert_series_equal(pd.Series(text_column(values, text_dtype())), pd.Series(values))


def test_a_text_column_takes_its_memory_from_the_kits_pool_not_pyarrows_default_pool():
    default, dtype = pa.default_memory_pool(), text_dtype()
    values = np.array([f"backtest-{i}" for i in range(10_000)], dtype=object)
    allocations, held = default.num_allocations(), KIT_POOL.bytes_allocated()
    column = text_column(values, dtype)
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        assert default.num_allocations() == allocations
        assert KIT_POOL.bytes_allocated() - held >= 10_000 * len("backtest-0")
    assert len(pd.Series(column)) == 10_000


def test_a_text_column_of_object_dtype_holds_the_values_as_python_objects():
    values = ["a", None, "b"]
    column = text_column(values, np.dtype(object))
    assert column.dtype == np.dtype(object) and column.tolist() == values
