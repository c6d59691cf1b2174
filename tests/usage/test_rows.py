"""Usage rows: an immutable sequence of records over Arrow columns, and their pandas frame."""

from __future__ import annotations

import pandas as pd
import pytest

from meltica_lab.usage import (
    UsageIndex,
    UsageRecord,
    UsageRows,
    parse_usage_export,
)
from tests.usage.samples import GATEWAY_EXPORT, H1, H2, T0

# -- rows and frames --------------------------------------------------------------------------------


def test_rows_behave_as_an_immutable_sequence_of_records() -> None:
    records_ = [UsageRecord("a", H1), UsageRecord("b", H2, ("i",), 1, T0, T0)]
    rows = UsageRows(records_)
    assert len(rows) == 2
    assert rows[-1] == records_[1]
    assert list(rows[::-1]) == records_[::-1]
    assert rows == UsageRows(records_)
    assert rows != UsageRows(records_[:1])
    assert repr(rows) == "UsageRows(2 rows)"
    with pytest.raises(IndexError):
        rows[2]


def test_frame_has_typed_columns_and_nat_for_never() -> None:
    frame = parse_usage_export(GATEWAY_EXPORT).to_frame()
    assert list(frame.columns) == ["strategy", "hash", "instances", "count", "running", "first_seen", "last_seen"]
    assert isinstance(frame["strategy"].dtype, pd.CategoricalDtype)
    assert str(frame["first_seen"].dtype) == "datetime64[ns, UTC]"
    assert frame["count"].tolist() == [0, 2, 0]
    assert frame["running"].tolist() == [False, True, False]
    assert frame["first_seen"][0] == pd.Timestamp("2025-11-04T11:32:54.123456789Z")
    assert pd.isna(frame["last_seen"][2])
    assert list(frame["instances"][1]) == ["a", "b"] and pd.isna(frame["instances"][0])
    assert frame.explode("instances")["instances"].dropna().tolist() == ["a", "b"]


def test_index_export_feeds_the_same_frame() -> None:
    index = UsageIndex()
    index.record_start("demo", H1, "i1", at=T0)
    frame = index.export().to_frame()
    assert frame[["strategy", "count"]].astype(object).values.tolist() == [["demo", 1]]
    assert frame["last_seen"][0] == pd.Timestamp(T0)
