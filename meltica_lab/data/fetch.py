"""Fetching Binance public data (data.binance.vision): daily dumps of trades, aggTrades, klines and
bookTicker for spot and USD-M/COIN-M futures, each verified against its published ``.CHECKSUM``.

Files land in a data directory (default ``~/.cache/meltica-lab/data``, or ``$MELTICA_LAB_CACHE_DIR/data``)
under the same layout as the site (``binance/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2025-01-01.zip``).
A download is written to ``<name>.part`` and renamed to its final name only once its sha256 matches
(the checksum is then kept beside it, so a later fetch of a file already there needs no network):
an interrupted download resumes from the ``.part`` (an HTTP range request), a mismatch removes it,
and no partial file ever lies under the final name. A day the site does not have is an error naming
it; the days fetched before it stay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meltica_lab.errors import ConfigError, DataError
from meltica_lab.files import write_atomic
from meltica_lab.progress import progress_bar

if TYPE_CHECKING:
    import httpx

BINANCE_URL = "https://data.binance.vision"
"""Where Binance publishes its dumps; ``base_url=`` (``--base-url``) points elsewhere (a mirror)."""
MARKETS = {"spot": "spot", "um": "futures/um", "cm": "futures/cm"}
KINDS = {"trades": "trades", "aggtrades": "aggTrades", "klines": "klines", "bookticker": "bookTicker"}
INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")
_BLOCK = 1 << 20


def default_data_dir() -> Path:
    """``data`` under the kit's cache directory (``$MELTICA_LAB_CACHE_DIR``, else the user's)."""
    from meltica_lab.module_cache import default_cache_dir

    return default_cache_dir() / "data"


@dataclass(frozen=True)
class Dump:
    """One daily file of the site: its path there (``remote``) and the ``date`` it holds."""

    remote: str
    date: dt.date

    @property
    def name(self) -> str:
        """The file's name (``BTCUSDT-trades-2025-01-01.zip``)."""
        return self.remote.rsplit("/", 1)[1]


def _date(text: str | dt.date, field: str, monthly: bool) -> dt.date:
    if isinstance(text, dt.date):
        return text.replace(day=1) if monthly else text
    try:
        if monthly and len(text) == 7:
            return dt.date.fromisoformat(f"{text}-01")
        day = dt.date.fromisoformat(text)
    except ValueError:
        expected = "YYYY-MM (or YYYY-MM-DD)" if monthly else "YYYY-MM-DD"
        raise ConfigError(f"{field}: {text!r} is not a date (expected {expected})", field=field) from None
    return day.replace(day=1) if monthly else day


def dumps(
    market: str,
    kind: str,
    symbol: str,
    start: str | dt.date,
    end: str | dt.date | None = None,
    interval: str | None = None,
    *,
    monthly: bool = False,
) -> list[Dump]:
    """The daily files from ``start`` to ``end`` (inclusive; default ``start``), or with ``monthly``
    the monthly ones (the site's ``monthly/`` dumps, one per calendar month; ``YYYY-MM``)."""
    if market not in MARKETS:
        raise ConfigError(f"market: unknown market {market!r}; expected one of {', '.join(MARKETS)}", field="market")
    remote_kind = KINDS.get(kind.lower())
    if remote_kind is None:
        names = ", ".join(KINDS.values())
        raise ConfigError(f"kind: unknown kind {kind!r}; expected one of {names}", field="kind")
    if remote_kind == "bookTicker" and market == "spot":
        raise ConfigError("kind: Binance publishes bookTicker for futures only (um, cm)", field="kind")
    if remote_kind == "klines":
        if interval not in INTERVALS:
            raise ConfigError(
                f"interval: klines need an interval, one of {', '.join(INTERVALS)} (got {interval!r})", field="interval"
            )
    elif interval is not None:
        raise ConfigError(f"interval: only klines have an interval, not {remote_kind}", field="interval")
    symbol = symbol.upper()
    if not symbol.replace("_", "").isalnum():
        raise ConfigError(f"symbol: {symbol!r} is not a Binance symbol such as BTCUSDT", field="symbol")
    first = _date(start, "start", monthly)
    last = _date(end if end is not None else start, "end", monthly)
    if last < first:
        raise ConfigError(f"end: {last} is before the start {first}", field="end")
    period = "monthly" if monthly else "daily"
    out = []
    day = first
    while day <= last:
        stamp = f"{day:%Y-%m}" if monthly else f"{day}"
        folder = f"data/{MARKETS[market]}/{period}/{remote_kind}/{symbol}"
        if remote_kind == "klines":
            remote = f"{folder}/{interval}/{symbol}-{interval}-{stamp}.zip"
        else:
            remote = f"{folder}/{symbol}-{remote_kind}-{stamp}.zip"
        out.append(Dump(remote, day))
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) if monthly else day + dt.timedelta(days=1)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class BinanceFetcher:
    """Downloads daily dumps into ``directory`` from ``base_url`` (see the module docstring).

    ``client`` is the :class:`httpx.Client` to use (default: one made, and closed, by the fetcher).
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        base_url: str = BINANCE_URL,
        client: httpx.Client | None = None,
        progress: bool = True,
        timeout: float = 60.0,
    ) -> None:
        self.directory = Path(directory) if directory is not None else default_data_dir()
        self.base_url = base_url.rstrip("/")
        # httpx is imported where it is used: a process that only backtests never loads it (~5 MiB)
        import httpx

        self._owned = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout, follow_redirects=True)
        self._progress = progress

    def close(self) -> None:
        """Close the HTTP client the fetcher made."""
        if self._owned:
            self._client.close()

    def __enter__(self) -> BinanceFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def local(self, dump: Dump) -> Path:
        """Where ``dump`` is kept."""
        return self.directory / "binance" / dump.remote.removeprefix("data/")

    def _get(self, url: str, what: str, headers: dict[str, str] | None = None) -> httpx.Response:
        import httpx

        try:
            response = self._client.get(url, headers=headers or {})
        except httpx.HTTPError as exc:
            raise DataError(f"{url}: cannot fetch {what} ({type(exc).__name__}: {exc})", path=url) from None
        return response

    def _missing(self, url: str, dump: Dump, response: httpx.Response) -> DataError:
        if response.status_code == 404:
            return DataError(
                f"{url}: the site has no such file (HTTP 404): no {dump.name}; "
                "check the symbol, the market and that the day is published",
                path=url,
            )
        return DataError(f"{url}: HTTP {response.status_code} {response.reason_phrase}", path=url)

    def checksum(self, dump: Dump) -> str:
        """The sha256 hex the site publishes for ``dump`` (its ``.CHECKSUM`` file)."""
        url = f"{self.base_url}/{dump.remote}.CHECKSUM"
        response = self._get(url, "the checksum")
        if response.status_code != 200:
            raise self._missing(url, dump, response)
        words = response.text.split()
        if not words or len(words[0]) != 64 or any(c not in "0123456789abcdef" for c in words[0].lower()):
            raise DataError(f"{url}: not a checksum file (expected '<sha256>  {dump.name}')", path=url)
        return words[0].lower()

    def fetch(self, dump: Dump) -> Path:
        """``dump`` verified under its final name (downloaded, resumed, or already there: a file
        that matches the checksum kept beside it needs no network)."""
        final = self.local(dump)
        kept = final.with_name(final.name + ".CHECKSUM")
        if final.is_file() and kept.is_file():
            words = kept.read_text(encoding="ascii", errors="replace").split()
            if words and _sha256(final) == words[0]:
                return final
        expected = self.checksum(dump)
        if final.is_file() and _sha256(final) == expected:
            write_atomic(kept, f"{expected}  {dump.name}\n".encode())
            return final
        import httpx

        final.parent.mkdir(parents=True, exist_ok=True)
        part = final.with_name(final.name + ".part")
        url = f"{self.base_url}/{dump.remote}"
        have = part.stat().st_size if part.is_file() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 416 and have:
                    pass  # the part is already whole: verify it below
                elif response.status_code not in (200, 206):
                    response.read()
                    raise self._missing(url, dump, response)
                else:
                    resumed = response.status_code == 206
                    total = int(response.headers.get("content-length", 0)) + (have if resumed else 0)
                    with (
                        part.open("ab" if resumed else "wb") as out,
                        progress_bar(
                            total=total or None,
                            initial=have if resumed else 0,
                            unit="B",
                            unit_scale=True,
                            desc=dump.name,
                            disable=not self._progress,
                            delay=0.5,
                        ) as bar,
                    ):
                        for block in response.iter_bytes(_BLOCK):
                            out.write(block)
                            bar.update(len(block))
        except httpx.HTTPError as exc:
            raise DataError(
                f"{url}: the download broke off ({type(exc).__name__}); run again to resume from {part.name}",
                path=url,
            ) from None
        got = _sha256(part)
        if got != expected:
            part.unlink()
            raise DataError(
                f"{url}: checksum mismatch: the site publishes sha256 {expected}, the download is {got}; "
                "the download was removed: run again",
                path=url,
            )
        os.replace(part, final)
        write_atomic(kept, f"{expected}  {dump.name}\n".encode())
        return final

    def fetch_all(self, items: Sequence[Dump]) -> list[Path]:
        """Every dump in order; the first missing or bad one stops with its error."""
        return [self.fetch(dump) for dump in items]


def fetch_binance(
    market: str,
    kind: str,
    symbol: str,
    start: str | dt.date,
    end: str | dt.date | None = None,
    *,
    interval: str | None = None,
    monthly: bool = False,
    directory: str | Path | None = None,
    base_url: str = BINANCE_URL,
    progress: bool = True,
) -> list[Path]:
    """Download (or find, verified) the daily (``monthly``: monthly) ``kind`` dumps of ``symbol`` on
    ``market`` (``spot``, ``um``, ``cm``) from ``start`` to ``end``; the paths, in date order, ready
    for :func:`~meltica_lab.data.load_market_data` (a list of them is one dataset)."""
    items = dumps(market, kind, symbol, start, end, interval, monthly=monthly)
    with BinanceFetcher(directory, base_url=base_url, progress=progress) as fetcher:
        return fetcher.fetch_all(items)
