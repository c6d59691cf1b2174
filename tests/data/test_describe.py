"""describe_data: format, kinds, rows, times, symbols, sides, dropped rows and files."""

from __future__ import annotations

import json

import pandas as pd

from meltica_lab.data import describe_data, load_market_data
from tests.data import samples
from tests.data.samples import write, zipped


def test_the_description_says_what_was_read(tmp_path):
    path = zipped(tmp_path, "BTCUSDT-trades-2025-01-01.zip", samples.BINANCE_SPOT_TRADES_2025)
    description = describe_data(path)
    assert description.format == "binance-trades" and description.timestamp_unit == "us"
    assert description.kinds == {"Trade": 3, "Ticker": 0, "KlineSummary": 0}
    assert (description.rows, description.events, description.buys, description.sells) == (3, 3, 1, 2)
    assert description.first == pd.Timestamp("2025-01-01 00:00:00.015477", tz="UTC")
    assert description.last == pd.Timestamp("2025-01-01 00:00:00.109963", tz="UTC")
    assert description.symbols == ("BTCUSDT",) and description.gap_count == 0
    assert description.files[0].sha256 == load_market_data(path).sha256
    text = str(description)
    assert "binance-trades (times in us)" in text and "1 buy, 2 sell" in text and "2025-01-01 00:00:00.015477" in text
    assert "<table>" in description._repr_html_()
    assert json.loads(json.dumps(description.to_dict()))["sells"] == 2


def test_dropped_rows_are_listed(tmp_path):
    path = write(tmp_path, "t.csv", samples.TARDIS_TRADES.replace(",buy,", ",unknown,"))
    description = describe_data(path, drop_bad_rows=True)
    assert description.events == 1 and len(description.dropped) == 1
    assert "column side: expected buy or sell" in str(description)


def test_quotes_have_no_sides_line(tmp_path):
    text = str(describe_data(write(tmp_path, "q.csv", samples.TARDIS_QUOTES)))
    assert "Ticker" in text and "Sides" not in text


def test_one_missing_bar_is_a_gap(tmp_path):
    rows = [samples.BINANCE_FUTURES_KLINES.splitlines()[1].split(",")]
    lines = [samples.BINANCE_FUTURES_KLINES.splitlines()[0]]
    for k in (0, 1, 3):  # the bar of minute 2 is missing
        row = list(rows[0])
        row[0], row[6] = str(int(row[0]) + k * 60_000), str(int(row[6]) + k * 60_000)
        lines.append(",".join(row))
    description = describe_data(write(tmp_path, "k.csv", "\n".join(lines) + "\n"))
    assert description.gap_count == 1 and description.gaps[0].duration == pd.Timedelta(minutes=2)


def test_the_plot_shows_price_gaps_and_event_rate(tmp_path):
    day = samples.BINANCE_SPOT_TRADES_2024
    later = day.replace("17040672", "17043264")  # three days later: one gap
    data = load_market_data([write(tmp_path, "1.csv", day), write(tmp_path, "2.csv", later)])
    figure = data.plot()
    top, bottom = figure.axes
    assert len(top.lines) == 1 and len(top.lines[0].get_xdata()) == 4
    assert len(top.patches) == 1, "the gap is shaded"
    assert "1 gap(s)" in top.get_title() and bottom.get_ylabel() == "events / min"
