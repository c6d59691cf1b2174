"""Where the kit's own Arrow buffers are allocated: the system allocator, not pyarrow's default pool.

pyarrow's default pool (mimalloc, in its wheels) keeps the pages it has touched for the life of the
process, and where the kernel backs them with transparent huge pages (``madvise``, the default of
many distributions; mimalloc asks for them) a buffer of 100 KiB on a fresh page costs 2 MiB
resident. The buffers the kit makes itself are either short-lived (a file as it is read, a
DataFrame's columns as Arrow arrays, the conversions of both into market events) or held by a
result (the frames' text columns): from the system allocator, large ones come from and go back to
the kernel as they are made and freed, and what malloc keeps serves numpy and Python too.
Measured: after a 1M-trade backtest from a DataFrame the default pool's arena held 12 MiB resident
for 2 MiB it had in use, now 4 MiB (the caller's DataFrame's, and pandas' own small buffers);
after loading a 1M-row file (load_market_data), 94 MiB (Parquet) and 82 MiB (CSV), now 18 and 6.

The default pool belongs to the process (``pa.set_memory_pool``, ``ARROW_DEFAULT_MEMORY_POOL``,
``MIMALLOC_ALLOW_THP``): the kit leaves it as the user set it and only chooses where its own
buffers go. What pandas allocates for the user's own work is the user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

KIT_POOL = pa.system_memory_pool()
"""The pool of the Arrow buffers the kit makes: market data read and converted, result columns."""

_PANDAS_MAJOR = int(pd.__version__.split(".")[0])


def text_dtype() -> Any:
    """The dtype pandas gives a column of text now: ``str`` (Arrow-backed) from pandas 3, object
    before (or as the user's pandas options say)."""
    return pd.Series(["-"]).dtype


def text_column(values: Sequence[str | None] | np.ndarray, dtype: Any) -> Any:
    """Text (``None`` or NaN where missing) as the values of a column of ``dtype`` (a
    :func:`text_dtype`): an Arrow-backed ``str`` column gets its buffers from :data:`KIT_POOL`;
    any other dtype is made by pandas as it makes it."""
    if _PANDAS_MAJOR >= 3 and isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        array = pa.array(values, type=pa.large_string(), from_pandas=True, memory_pool=KIT_POOL)
        return pd.arrays.ArrowStringArray(array, dtype=dtype)
    if dtype is np.dtype(object):
        return np.asarray(values, dtype=object)
    return pd.array(values, dtype=dtype)
