"""Whatever bytes a user hands over, reading them either works or is a one-line DataError."""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meltica_lab.data import load_market_data
from meltica_lab.errors import MelticaLabError
from tests.data import samples

SAMPLES = [
    samples.BINANCE_SPOT_TRADES_2025,
    samples.BINANCE_FUTURES_TRADES,
    samples.BINANCE_SPOT_KLINES_2025,
    samples.BINANCE_BOOK_TICKER,
    samples.OKX_TRADES_BILINGUAL,
    samples.OKX_CANDLES,
    samples.TARDIS_TRADES,
    samples.TARDIS_QUOTES,
]


def mutate(text: str, cuts: list[tuple[int, str]]) -> str:
    for where, piece in cuts:
        k = where % (len(text) + 1)
        text = text[:k] + piece + text[k + 1 :]
    return text


def pack(body: bytes, container: str) -> tuple[str, bytes]:
    if container == "gz":
        return "d.csv.gz", gzip.compress(body, mtime=0)
    if container == "zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("d.csv", body)
        return "d.zip", out.getvalue()
    return "d.csv", body


pieces = st.sampled_from(["", ",", "\n", "x", "-1", "0", "1e400", "True", "nan", "\x00", "é", '"', "9" * 25])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 10_000), pieces), max_size=4),
    st.sampled_from(["csv", "gz", "zip"]),
    st.integers(0, 400),
    st.booleans(),
)
def test_mutated_dumps_read_or_fail_with_one_clean_line(tmp_path, text, cuts, container, truncate, drop):
    body = mutate(text, cuts).encode()
    name, raw = pack(body, container)
    if truncate and container != "csv":
        raw = raw[: max(1, len(raw) - truncate)]
    path = tmp_path / name
    path.write_bytes(raw)
    try:
        data = load_market_data(path, drop_bad_rows=drop, cache=False)
    except MelticaLabError as exc:
        message = str(exc)
        assert "\n" not in message and all(c.isprintable() for c in message), message
        assert str(path) in message or "columns=" in message or "format" in message, message
        return
    events = data.events
    assert np.all(np.diff(events.ts) >= 0) and np.all(events.ts >= 0)
    assert len(events) + len(data.dropped) == data.rows or not drop
