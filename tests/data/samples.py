"""Byte-exact copies of the first rows of real downloads, and helpers that package them as the
publishers do (a zip holding one CSV named like the archive, gzip)."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

BINANCE_SPOT_TRADES_2025 = (  # spot, from 2025-01-01 on: microseconds, no header, True/False
    "4380116571,93530.01000000,0.00012000,11.22360120,1735689600015477,True,True\n"
    "4380116572,93530.01000000,0.00100000,93.53001000,1735689600015477,False,True\n"
    "4380116573,93530.00000000,0.00054000,50.50620000,1735689600109963,True,True\n"
)
BINANCE_SPOT_TRADES_2024 = (  # spot before 2025: milliseconds
    "3351254935,42283.58000000,0.00200000,84.56716000,1704067200005,True,True\n"
    "3351254936,42283.59000000,0.00030000,12.68507700,1704067200016,False,True\n"
)
BINANCE_FUTURES_TRADES = (  # USD-M futures: a header, true/false, no is_best_match
    "id,price,qty,quote_qty,time,is_buyer_maker\n"
    "4430305624,42314.00,0.005,211.57000,1704067200088,true\n"
    "4430305625,42314.10,0.020,846.28200,1704067200090,false\n"
)
BINANCE_SPOT_AGG_TRADES = "3340424523,42283.58000000,0.00200000,3351254935,3351254935,1704067200005,True,True\n"
BINANCE_FUTURES_AGG_TRADES = (
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
    "1943516843,42313.90,0.010,4430305614,4430305614,1704067200018,false\n"
    "1943516844,42313.80,0.134,4430305615,4430305617,1704067200018,true\n"
)
BINANCE_SPOT_KLINES_2025 = (
    "1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000,"
    "1735689659999999,768978.82999999,3030,4.88917000,457455.38155110,0\n"
    "1735689660000000,93610.93000000,93652.00000000,93607.50000000,93631.66000000,13.45430000,"
    "1735689719999999,1259701.46013710,2643,9.03120000,845584.25765990,0\n"
)
BINANCE_FUTURES_KLINES = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore\n"
    "1704067200000,42314.00,42353.90,42296.40,42353.80,346.254,1704067259999,14654316.28080,3860,"
    "225.339,9537468.36940,0\n"
)
BINANCE_BOOK_TICKER = (
    "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time\n"
    "3973408431451,42313.90,6.297,42314.00,3.476,1704067200003,1704067200008\n"
    "3973408431620,42313.90,6.297,42314.00,3.477,1704067200005,1704067200010\n"
)
OKX_TRADES = (
    "instrument_name,trade_id,side,price,size,created_time\n"
    "BTC-USDT,474652349,sell,42283.9,0.00072,1704067200122\n"
    "BTC-USDT,474652350,buy,42284.0,0.01,1704067200307\n"
)
OKX_TRADES_BILINGUAL = (
    "instrument_name/交易币对,trade_id/成交ID,side/成交方向,price/成交价格,size/成交数量,created_time/成交时间\n"
    "BTC-USDT,474652349,sell,42283.9,0.00072,1704067200122\n"
)
OKX_CANDLES = (
    "instrument_name,open,high,low,close,vol,vol_ccy,vol_quote,open_time,confirm\n"
    "BTC-USDT,42283.9,42300.1,42280.0,42290.5,12.5,12.5,528631.25,1704067200000,1\n"
    "BTC-USDT,42290.5,42310.0,42288.8,42305.2,8.25,8.25,349018.15,1704067260000,1\n"
)
TARDIS_TRADES = (
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
    "binance,BTCUSDT,1704067200005000,1704067200010373,3351254935,sell,42283.58,0.002\n"
    "binance,BTCUSDT,1704067200016000,1704067200020117,3351254936,buy,42283.59,0.0003\n"
)
TARDIS_QUOTES = (
    "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
    "binance-futures,BTCUSDT,1704067200003000,1704067200010111,3.476,42314.0,42313.9,6.297\n"
)


def tardis_book_snapshot(depth: int) -> str:
    """A ``book_snapshot_<depth>`` file of one row: level k at ask 42314 + k, bid 42313.9 - k."""
    names, cells = [], []
    for k in range(depth):
        names += [f"asks[{k}].price", f"asks[{k}].amount", f"bids[{k}].price", f"bids[{k}].amount"]
        cells += [f"{42314.0 + k}", f"{1.5 + k}", f"{42313.9 - k:.1f}", f"{2.5 + k}"]
    head = "exchange,symbol,timestamp,local_timestamp," + ",".join(names)
    row = "binance-futures,BTCUSDT,1704067200003000,1704067200010111," + ",".join(cells)
    return f"{head}\n{row}\n"


def write(directory: Path, name: str, text: str | bytes) -> Path:
    """``text`` as the file ``name`` in ``directory``."""
    path = directory / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def zipped(directory: Path, name: str, text: str, *, members: tuple[str, ...] = ()) -> Path:
    """``name`` (``X.zip``) holding ``X.csv`` with ``text``, as Binance and OKX publish, and ``members``."""
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.removesuffix(".zip") + ".csv", text)
        for member in members:
            archive.writestr(member, text)
    return path


def gzipped(directory: Path, name: str, text: str) -> Path:
    """``name`` (``X.csv.gz``) holding ``text`` gzip-compressed, as Tardis.dev publishes."""
    path = directory / name
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path
