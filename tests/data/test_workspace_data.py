"""Market data through a workspace: its conversion cache, its settings' defaults, provenance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meltica_lab.data import DataCache
from meltica_lab.workspace import Workspace
from tests.data import samples
from tests.data.samples import write, zipped

STRATEGIES = Path(__file__).resolve().parents[2] / "strategies"


def test_a_workspace_reads_files_through_its_own_cache_with_its_defaults(tmp_path):
    path = write(tmp_path, "t.csv", samples.TARDIS_TRADES)
    with Workspace(STRATEGIES, cache_dir=tmp_path / "cache", providers=["binance"]) as ws:
        assert ws.data_cache == DataCache(tmp_path / "cache" / "columns")
        small = DataCache(tmp_path / "cache" / "columns", min_bytes=0)
        first = ws.load_market_data(path, cache=small)
        again = ws.load_market_data(path, cache=small)
        assert first.events.providers == ("binance",), "rows without a provider take the first one configured"
        assert isinstance(again.events.ts, np.memmap)
        assert ws.describe_data(path).format == "tardis-trades"


def test_a_backtest_records_the_detected_format_and_the_files(tmp_path):
    days = [
        zipped(tmp_path, "BTCUSDT-trades-2024-01-01.zip", samples.BINANCE_SPOT_TRADES_2024),
        zipped(tmp_path, "BTCUSDT-trades-2025-01-01.zip", samples.BINANCE_SPOT_TRADES_2025),
    ]
    with Workspace(STRATEGIES, cache_dir=tmp_path / "cache") as ws:
        result = ws.run_backtest("noop", days, progress=False)
    p = result.provenance
    assert p["data_format"] == "binance-trades" and p["events"] == 5
    assert [f["name"] for f in p["data_files"]] == [str(d) for d in days]
    assert [f["timestamp_unit"] for f in p["data_files"]] == ["ms", "us"]
    assert all(f["sha256"].startswith("sha256:") for f in p["data_files"])
