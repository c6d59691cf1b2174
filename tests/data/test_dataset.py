"""Datasets of daily dumps: time order, identical overlaps dropped, conflicts and mixed formats refused."""

from __future__ import annotations

import pandas as pd
import pytest

from meltica_lab.data import describe_data, load_market_data
from meltica_lab.errors import DataError
from tests.data import samples
from tests.data.samples import write, zipped

DAY_1 = samples.BINANCE_SPOT_TRADES_2024
DAY_2 = (
    "3351254937,42290.00000000,0.1,4229.0,1704153600001,False,True\n"
    "3351254938,42291.0,0.2,8458.2,1704153600002,True,True\n"
)


def test_a_glob_of_daily_dumps_is_one_dataset_in_time_order(tmp_path):
    # names sort the other way round: the order is the data's, not the names'
    zipped(tmp_path, "b-BTCUSDT-trades-2024-01-01.zip", DAY_1)
    zipped(tmp_path, "a-BTCUSDT-trades-2024-01-02.zip", DAY_2)
    data = load_market_data(str(tmp_path / "*.zip"))
    assert len(data.events) == 4 and (data.events.ts[1:] >= data.events.ts[:-1]).all()
    assert [f.name.rsplit("/", 1)[1] for f in data.files] == [
        "b-BTCUSDT-trades-2024-01-01.zip",
        "a-BTCUSDT-trades-2024-01-02.zip",
    ]
    assert data.sha256.startswith("sha256:") and data.sha256 not in {f.sha256 for f in data.files}
    assert load_market_data(sorted(tmp_path.glob("*.zip"))).sha256 == data.sha256


def test_a_day_missing_between_dumps_is_reported_as_a_gap(tmp_path):
    third = DAY_2.replace("17041536", "17043264")  # 2024-01-04: the 3rd is missing
    paths = [write(tmp_path, "1.csv", DAY_1), write(tmp_path, "3.csv", third)]
    description = describe_data(paths)
    assert description.gap_count == 1
    assert description.gaps[0].start == pd.Timestamp("2024-01-01 00:00:00.016", tz="UTC")
    assert description.gaps[0].end.date().isoformat() == "2024-01-04"


def test_an_overlap_of_identical_rows_is_dropped_and_counted(tmp_path):
    again = DAY_1.splitlines(keepends=True)[-1] + DAY_2
    data = load_market_data([write(tmp_path, "1.csv", DAY_1), write(tmp_path, "2.csv", again)])
    assert len(data.events) == 4 and data.duplicates == 1 and data.rows == 5


def test_a_conflicting_overlap_is_an_error_naming_both_files(tmp_path):
    changed = DAY_1.splitlines(keepends=True)[-1].replace("42283.59", "42000.00") + DAY_2
    first, second = write(tmp_path, "1.csv", DAY_1), write(tmp_path, "2.csv", changed)
    with pytest.raises(DataError, match=r"overlaps .* with rows that differ") as info:
        load_market_data([first, second])
    assert str(first) in str(info.value) and str(second) in str(info.value)


def test_mixed_formats_do_not_make_one_dataset(tmp_path):
    with pytest.raises(DataError, match=r"is okx-trades data, but .* is binance-trades"):
        load_market_data([write(tmp_path, "1.csv", DAY_1), write(tmp_path, "2.csv", samples.OKX_TRADES)])


def test_a_glob_that_matches_nothing_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no file matches"):
        load_market_data(str(tmp_path / "*.zip"))


def test_bad_rows_of_a_dataset_name_their_file(tmp_path):
    bad = DAY_2.replace("42290.00000000", "x")
    data = load_market_data([write(tmp_path, "1.csv", DAY_1), write(tmp_path, "2.csv", bad)], drop_bad_rows=True)
    assert data.dropped[0].file == str(tmp_path / "2.csv") and data.dropped[0].row == 1
    assert str(tmp_path / "2.csv") in data.dropped[0].describe(data.source)


def test_what_is_not_a_path_is_a_usage_error():
    import pandas as pd

    from meltica_lab.errors import UsageError

    with pytest.raises(UsageError, match="got int"):
        load_market_data(5)
    with pytest.raises(UsageError, match=r"pandas\.concat"):
        load_market_data([pd.DataFrame({"timestamp": [1]})])
