"""The conversion cache: parsed once, memory-mapped after, keyed by the bytes and the options."""

from __future__ import annotations

import os

import numpy as np
import pytest

from meltica_lab.data import DataCache, load_market_data
from meltica_lab.errors import DataError
from tests.data import samples
from tests.data.samples import write, zipped


def entries(cache: DataCache) -> list[str]:
    folder = cache.directory / "entries"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def test_a_dump_is_parsed_once_and_memory_mapped_after(tmp_path):
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    path = zipped(tmp_path, "BTCUSDT-trades-2025-01-01.zip", samples.BINANCE_SPOT_TRADES_2025)
    first = load_market_data(path, cache=cache)
    again = load_market_data(path, cache=DataCache(tmp_path / "cache", min_bytes=0))
    assert not isinstance(first.events.ts, np.memmap) and isinstance(again.events.ts, np.memmap)
    assert len(entries(cache)) == 1
    for name in ("ts", "kind", "symbol", "provider", "side", "values"):
        np.testing.assert_array_equal(getattr(first.events, name), getattr(again.events, name))
    assert (again.sha256, again.format, again.timestamp_unit, again.files) == (
        first.sha256,
        first.format,
        first.timestamp_unit,
        first.files,
    )
    assert again.events.symbols == first.events.symbols == ("BTCUSDT",)


def test_the_same_bytes_under_another_name_share_the_entry_and_keep_their_name(tmp_path):
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    one = write(tmp_path, "one.csv", samples.TARDIS_TRADES)
    two = write(tmp_path, "two.csv", samples.TARDIS_TRADES)
    load_market_data(one, cache=cache)
    data = load_market_data(two, cache=cache)
    assert len(entries(cache)) == 1 and isinstance(data.events.ts, np.memmap)
    assert data.files[0].name == str(two) and data.source == str(two)


def test_a_changed_file_or_other_options_are_parsed_anew(tmp_path):
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    path = write(tmp_path, "t.csv", samples.TARDIS_TRADES)
    load_market_data(path, cache=cache)
    assert load_market_data(path, cache=cache, default_provider="tardis").events.providers == ("tardis",)
    path.write_text(samples.TARDIS_TRADES.replace("42283.58", "42000.00"))
    os.utime(path, ns=(1, 1))  # an old mtime does not fool the cache: the identity has ctime and size too
    assert load_market_data(path, cache=cache).events.values[0, 0] == 42000.0
    assert len(entries(cache)) == 3


def test_small_files_and_cache_false_skip_the_cache(tmp_path):
    cache = DataCache(tmp_path / "cache")
    path = write(tmp_path, "t.csv", samples.TARDIS_TRADES)
    load_market_data(path, cache=cache)
    load_market_data(path, cache=False)
    assert not (tmp_path / "cache").exists()


def test_bad_data_is_not_cached_and_fails_every_time(tmp_path):
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    path = write(tmp_path, "t.csv", samples.TARDIS_TRADES.replace(",buy,", ",hold,"))
    for _ in range(2):
        with pytest.raises(DataError, match="expected buy or sell"):
            load_market_data(path, cache=cache)
    assert entries(cache) == []


def test_an_unwritable_cache_still_reads(tmp_path):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory would be")
    data = load_market_data(write(tmp_path, "t.csv", samples.TARDIS_TRADES), cache=DataCache(blocked, min_bytes=0))
    assert len(data.events) == 2


def test_clear_removes_every_entry(tmp_path):
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    load_market_data(write(tmp_path, "t.csv", samples.TARDIS_TRADES), cache=cache)
    assert cache.clear() == 1 and entries(cache) == []


def test_a_damaged_entry_is_parsed_again(tmp_path):
    cache = DataCache(tmp_path / "cache", min_bytes=0)
    path = write(tmp_path, "t.csv", samples.TARDIS_TRADES)
    load_market_data(path, cache=cache)
    (entry,) = entries(cache)
    (cache.directory / "entries" / entry / "meta.json").write_text('{"symbols": []}')
    data = load_market_data(path, cache=cache)
    assert len(data.events) == 2 and not isinstance(data.events.ts, np.memmap)
    assert isinstance(load_market_data(path, cache=cache).events.ts, np.memmap), "stored again"
