"""Fetching Binance dumps from a loopback server that serves the site's layout (no internet):
checksums good and bad, a missing day, resuming a broken download, the CLI."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from meltica_lab.cli import main
from meltica_lab.data import fetch_binance, load_market_data
from meltica_lab.data.fetch import BinanceFetcher, dumps
from meltica_lab.errors import ConfigError, DataError
from tests.data import samples
from tests.data.samples import zipped


class Site:
    """What the loopback server serves (path -> bytes) and the requests it saw."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []

    def publish(self, remote: str, body: bytes, checksum: str | None = None) -> None:
        name = remote.rsplit("/", 1)[1]
        self.files["/" + remote] = body
        digest = checksum or hashlib.sha256(body).hexdigest()
        self.files["/" + remote + ".CHECKSUM"] = f"{digest}  {name}\n".encode()


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    served = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests.append((self.path, self.headers.get("Range")))
            body = served.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            ranged = self.headers.get("Range")
            if ranged:
                start = int(ranged.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def day_zip(tmp_path: Path, name: str, text: str) -> bytes:
    return zipped(tmp_path, name, text).read_bytes()


def test_a_week_of_spot_trades_lands_verified_in_the_sites_layout(tmp_path, site):
    served, url = site
    for item in dumps("spot", "trades", "BTCUSDT", "2025-01-01", "2025-01-02"):
        served.publish(item.remote, day_zip(tmp_path, item.name, samples.BINANCE_SPOT_TRADES_2025))
    paths = fetch_binance(
        "spot", "trades", "btcusdt", "2025-01-01", "2025-01-02", directory=tmp_path / "d", base_url=url, progress=False
    )
    assert [p.relative_to(tmp_path / "d").as_posix() for p in paths] == [
        "binance/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2025-01-01.zip",
        "binance/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2025-01-02.zip",
    ]
    assert load_market_data(paths[0]).format == "binance-trades"
    before = len(served.requests)
    again = fetch_binance("spot", "trades", "BTCUSDT", "2025-01-01", directory=tmp_path / "d", base_url=url)
    assert again == paths[:1] and served.requests[before:] == [], "a verified file needs no network"
    paths[0].write_bytes(b"changed")
    fetch_binance("spot", "trades", "BTCUSDT", "2025-01-01", directory=tmp_path / "d", base_url=url, progress=False)
    assert paths[0].read_bytes() == served.files["/" + dumps("spot", "trades", "BTCUSDT", "2025-01-01")[0].remote]


def test_klines_and_futures_paths(tmp_path, site):
    served, url = site
    (kline,) = dumps("um", "klines", "BTCUSDT", "2024-01-01", interval="1m")
    assert kline.remote == "data/futures/um/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01-01.zip"
    served.publish(kline.remote, day_zip(tmp_path, kline.name, samples.BINANCE_FUTURES_KLINES))
    (path,) = fetch_binance(
        "um", "klines", "BTCUSDT", "2024-01-01", interval="1m", directory=tmp_path / "d", base_url=url, progress=False
    )
    assert load_market_data(path).format == "binance-klines"


def test_a_checksum_mismatch_leaves_nothing_under_the_final_name(tmp_path, site):
    served, url = site
    (item,) = dumps("spot", "trades", "BTCUSDT", "2025-01-01")
    served.publish(item.remote, day_zip(tmp_path, item.name, samples.BINANCE_SPOT_TRADES_2025), checksum="0" * 64)
    fetcher = BinanceFetcher(tmp_path / "d", base_url=url, progress=False)
    with pytest.raises(DataError, match="checksum mismatch") as info:
        fetcher.fetch(item)
    assert "\n" not in str(info.value)
    folder = fetcher.local(item).parent
    assert not fetcher.local(item).exists() and list(folder.iterdir()) == []


def test_a_missing_day_is_an_error_naming_it_and_keeps_the_days_before(tmp_path, site):
    served, url = site
    first, _ = dumps("spot", "aggTrades", "BTCUSDT", "2024-01-01", "2024-01-02")
    served.publish(first.remote, day_zip(tmp_path, first.name, samples.BINANCE_SPOT_AGG_TRADES))
    with pytest.raises(DataError, match=r"HTTP 404.*no BTCUSDT-aggTrades-2024-01-02\.zip"):
        fetch_binance(
            "spot", "aggTrades", "BTCUSDT", "2024-01-01", "2024-01-02", directory=tmp_path / "d", base_url=url,
            progress=False,
        )  # fmt: skip
    fetcher = BinanceFetcher(tmp_path / "d", base_url=url)
    assert fetcher.local(first).is_file()
    assert sorted(p.name for p in fetcher.local(first).parent.iterdir()) == [first.name, first.name + ".CHECKSUM"]


def test_a_broken_download_resumes_from_its_part_file(tmp_path, site):
    served, url = site
    (item,) = dumps("spot", "trades", "BTCUSDT", "2025-01-01")
    body = day_zip(tmp_path, item.name, samples.BINANCE_SPOT_TRADES_2025 * 200)
    served.publish(item.remote, body)
    fetcher = BinanceFetcher(tmp_path / "d", base_url=url, progress=False)
    part = fetcher.local(item).with_name(item.name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(body[: len(body) // 2])
    path = fetcher.fetch(item)
    assert path.read_bytes() == body and not part.exists()
    assert (f"/{item.remote}", f"bytes={len(body) // 2}-") in served.requests


def test_bad_requests_are_config_errors():
    with pytest.raises(ConfigError, match="klines need an interval"):
        dumps("spot", "klines", "BTCUSDT", "2024-01-01")
    with pytest.raises(ConfigError, match="bookTicker for futures only"):
        dumps("spot", "bookTicker", "BTCUSDT", "2024-01-01")
    with pytest.raises(ConfigError, match="not a date"):
        dumps("spot", "trades", "BTCUSDT", "2024-13-01")
    with pytest.raises(ConfigError, match="before the start"):
        dumps("spot", "trades", "BTCUSDT", "2024-01-02", "2024-01-01")


def test_the_fetch_command_prints_the_paths(tmp_path, site, capsys):
    served, url = site
    (item,) = dumps("cm", "trades", "BTCUSD_PERP", "2024-01-01")
    served.publish(item.remote, day_zip(tmp_path, item.name, samples.BINANCE_FUTURES_TRADES))
    code = main(["data", "fetch", "binance", "cm", "trades", "BTCUSD_PERP", "2024-01-01", "--dir", str(tmp_path / "d"),
                 "--base-url", url, "--quiet"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.strip().endswith("futures/cm/daily/trades/BTCUSD_PERP/BTCUSD_PERP-trades-2024-01-01.zip")


def test_monthly_dumps_one_per_calendar_month(tmp_path, site):
    names = [d.remote for d in dumps("spot", "klines", "BTCUSDT", "2024-11", "2025-02", "1h", monthly=True)]
    assert names == [
        f"data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-{month}.zip"
        for month in ("2024-11", "2024-12", "2025-01", "2025-02")
    ]
    served, url = site
    (item,) = dumps("um", "trades", "BTCUSDT", "2024-01-15", monthly=True)
    assert item.name == "BTCUSDT-trades-2024-01.zip"
    served.publish(item.remote, day_zip(tmp_path, item.name, samples.BINANCE_FUTURES_TRADES))
    code = main(["data", "fetch", "binance", "um", "trades", "BTCUSDT", "2024-01", "--monthly", "--dir",
                 str(tmp_path / "d"), "--base-url", url, "--quiet"])  # fmt: skip
    assert code == 0 and BinanceFetcher(tmp_path / "d").local(item).is_file()
