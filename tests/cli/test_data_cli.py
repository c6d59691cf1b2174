"""CLI: ``data inspect`` and ``data formats``."""

from __future__ import annotations

import json

from meltica_lab.cli import main
from tests.data import samples
from tests.data.samples import write, zipped


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_prints_what_the_file_holds(tmp_path, capsys):
    path = zipped(tmp_path, "BTCUSDT-trades-2025-01-01.zip", samples.BINANCE_SPOT_TRADES_2025)
    code, out, _ = run(capsys, "data", "inspect", path)
    assert code == 0
    assert "binance-trades (times in us)" in out and "1 buy, 2 sell" in out and "sha256:" in out


def test_inspect_json_and_a_dataset_of_globbed_files(tmp_path, capsys):
    zipped(tmp_path, "BTCUSDT-trades-2024-01-01.zip", samples.BINANCE_SPOT_TRADES_2024)
    zipped(tmp_path, "BTCUSDT-trades-2025-01-01.zip", samples.BINANCE_SPOT_TRADES_2025)
    code, out, _ = run(capsys, "data", "inspect", "--dataset", "--json", tmp_path / "*.zip")
    answer = json.loads(out)
    assert code == 0 and answer["events"] == 5 and len(answer["files"]) == 2
    assert answer["timestamp_unit"] == "ms+us"


def test_inspect_with_column_and_time_unit_options(tmp_path, capsys):
    path = write(tmp_path, "t.csv", "Zeit,preis,menge\n1672531200,1,2\n")
    code, out, _ = run(
        capsys, "data", "inspect", path, "--column", "Zeit=timestamp", "--column", "preis=price",
        "--column", "menge=quantity", "--time-unit", "s", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["first"] == "2023-01-01T00:00:00+00:00"


def test_inspect_of_a_file_that_fits_nothing_is_one_line_on_stderr_and_exit_1(tmp_path, capsys):
    code, out, err = run(capsys, "data", "inspect", write(tmp_path, "x.csv", "1,2,3\n2,3,4\n"))
    assert code == 1 and out == "" and err.count("\n") == 1 and "--format" in err


def test_a_malformed_column_option_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, "data", "inspect", write(tmp_path, "x.csv", "a\n"), "--column", "Zeit")
    assert code == 2 and "COLUMN=NAME" in err


def test_formats_lists_every_format(capsys):
    code, out, _ = run(capsys, "data", "formats", "--json")
    names = [row["format"] for row in json.loads(out)]
    assert code == 0 and "binance-trades" in names and "tardis-book-snapshot" in names and names[-1] == "meltica"


def test_backtest_reads_any_detected_format_and_takes_the_read_options(tmp_path, capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(tmp_path / "cache"))
    root = Path(__file__).resolve().parents[2] / "strategies"
    day = zipped(tmp_path, "BTCUSDT-trades-2025-01-01.zip", samples.BINANCE_SPOT_TRADES_2025)
    code, out, err = run(
        capsys, "backtest", "--root", root, "--strategy", "noop", "--data", day, "--format", "binance-trades",
        "--json", "--no-progress",
    )  # fmt: skip
    provenance = json.loads(out)["provenance"]
    assert code == 0, err
    assert provenance["data_format"] == "binance-trades" and provenance["events"] == 3
    code, _, err = run(
        capsys, "backtest", "--root", root, "--strategy", "noop", "--data", day, "--format", "okx-trades",
    )  # fmt: skip
    assert code == 1 and "not okx-trades data" in err


def test_cache_shows_its_size_and_clears(tmp_path, capsys):
    from meltica_lab.data import DataCache, load_market_data

    store = DataCache(tmp_path / "columns", min_bytes=0)
    load_market_data(write(tmp_path, "t.csv", samples.TARDIS_TRADES), cache=store)
    code, out, _ = run(capsys, "data", "cache", "--dir", store.directory, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["entries"] == 1 and answer["bytes"] > 0
    code, out, _ = run(capsys, "data", "cache", "--dir", store.directory, "--clear")
    assert code == 0 and "removed 1" in out and store.usage() == (0, 0)
