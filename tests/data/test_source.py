"""Files as downloaded, and bad ones: zip, gzip, truncated, several members, empty, header only."""

from __future__ import annotations

import os

import pytest

from meltica_lab.data import load_market_data
from meltica_lab.errors import DataError
from tests.data import samples
from tests.data.samples import gzipped, write, zipped


def one_printable_line(message: str) -> bool:
    return "\n" not in message and all(c.isprintable() for c in message)


def test_zip_and_gzip_read_as_the_csv_inside(tmp_path):
    plain = load_market_data(write(tmp_path, "t.csv", samples.TARDIS_TRADES))
    gz = load_market_data(gzipped(tmp_path, "t.csv.gz", samples.TARDIS_TRADES))
    zp = load_market_data(zipped(tmp_path, "t.zip", samples.TARDIS_TRADES))
    assert plain.events.ts.tolist() == gz.events.ts.tolist() == zp.events.ts.tolist()
    assert len({plain.sha256, gz.sha256, zp.sha256}) == 3, "the hash is of the file as downloaded"
    assert zp.files[0].member == "t.csv"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda d: zipped(d, "t.zip", samples.TARDIS_TRADES, members=("other.csv",)),
            "holds 2 files (t.csv, other.csv)",
        ),
        (lambda d: write(d, "t.zip", zipped(d, "full.zip", samples.TARDIS_TRADES * 50).read_bytes()[:200]), "zip"),
        (lambda d: write(d, "t.csv.gz", b"\x00\x01binary\xff\xfe" * 4), "not gzip data"),
        (lambda d: write(d, "t.zip", b"\x00\x01binary\xff\xfe" * 4), "not a zip archive"),
        (lambda d: write(d, "t.csv", b""), "empty"),
        (lambda d: write(d, "t.csv", "id,price,qty,quote_qty,time,is_buyer_maker\n"), "a header line but no data rows"),
        (lambda d: write(d, "t.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 8), "not text"),
    ],
    ids=["several-members", "truncated-zip", "gzip-not-gzip", "zip-not-zip", "empty", "header-only", "binary"],
)
def test_bad_files_are_one_line_errors_naming_the_file_without_binary_bytes(tmp_path, make, expected):
    path = make(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(DataError) as info:
        load_market_data(path)
    message = str(info.value)
    assert expected in message and str(path) in message
    assert one_printable_line(message), message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before, "nothing written next to the data"


def test_a_truncated_member_inside_a_good_directory_is_an_error(tmp_path):
    body = samples.BINANCE_SPOT_TRADES_2024 * 2000
    path = zipped(tmp_path, "BTCUSDT-trades-2024-01-01.zip", body)
    raw = bytearray(path.read_bytes())
    raw[200:400] = bytes(200)  # damage the compressed data, keep the directory
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as info:
        load_market_data(path)
    assert one_printable_line(str(info.value)) and str(path) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "t.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="data file is a FIFO"):
        load_market_data(fifo)


def test_unsorted_rows_name_the_row(tmp_path):
    text = samples.BINANCE_FUTURES_TRADES.replace("1704067200090", "1704067200001")
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column time: earlier than a previous row"):
        load_market_data(write(tmp_path, "t.csv", text))
