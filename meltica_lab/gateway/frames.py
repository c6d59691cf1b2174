"""pandas frames over the gateway's instance, order and execution answers.

Times: the gateway stores orders and executions with Unix **seconds** (``time.Unix()``); they become
``datetime64[s, UTC]`` columns, which hold every 64-bit second count exactly (a value the checks
found odd, such as one that looks like milliseconds, is therefore still there, as sent). ``null``
becomes ``NaT``. Usage times (RFC 3339 text) become ``datetime64[ns, UTC]``.

Decimals: the gateway sends quantities, prices and fees as strings so that no digit is lost. Each
becomes a ``float64`` column (``NaN`` for ``null`` and for text that is not a decimal number) beside
a ``*_text`` column with the exact string.

Every frame's ``attrs["warnings"]`` lists the inconsistencies found in the answer (empty when none).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from meltica_lab.usage import parse_time

__all__ = ["DECIMAL", "decimal_value", "executions_frame", "instances_frame", "orders_frame"]

DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A decimal number as text: what a quantity, price or fee string must look like to become a float."""

_NAT = np.iinfo(np.int64).min  # numpy's NaT


def _seconds(values: Iterable[Any]) -> pd.Series:
    """Unix seconds (``None`` for null, anything beyond 64 bits is NaT) as ``datetime64[s, UTC]``."""
    raw = [v if isinstance(v, int) and _NAT < v < 2**63 else _NAT for v in values]
    stamps = np.array(raw, dtype=np.int64).view("datetime64[s]")
    return pd.Series(stamps, dtype="datetime64[s]").dt.tz_localize("UTC")


def decimal_value(text: Any) -> float:
    """The float of a decimal string; ``NaN`` for ``null``, for text that is not a decimal number and
    for one too large for a float."""
    if isinstance(text, str) and DECIMAL.fullmatch(text):
        value = float(text)
        return value if math.isfinite(value) else math.nan
    return math.nan


def _decimals(frame: dict[str, Any], name: str, texts: list[Any]) -> None:
    frame[name] = np.array([decimal_value(t) for t in texts], dtype=np.float64)
    frame[f"{name}_text"] = pd.array(texts, dtype=object)


def _column(items: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    return [item.get(key) for item in items]


def _metadata(items: Sequence[Mapping[str, Any]]) -> Any:
    # The answer's own dicts (not copies): a frame of 100k orders would otherwise copy 100k dicts.
    return pd.array([item.get("metadata") or {} for item in items], dtype=object)


def _finish(columns: dict[str, Any], warnings: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.attrs["warnings"] = list(warnings)
    return frame


def _texts(items: Sequence[Mapping[str, Any]], names: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {column: pd.array(_column(items, key), dtype=object) for column, key in names}


def orders_frame(orders: Sequence[Mapping[str, Any]], warnings: Sequence[str] = ()) -> pd.DataFrame:
    """One row per ``OrderRecord``: ``id``, ``client_order_id``, ``provider``, ``strategy_instance``,
    ``symbol``, ``side``, ``type``, ``state``, ``quantity``/``quantity_text``, ``price``/``price_text``,
    the times ``placed_at``, ``acknowledged_at``, ``completed_at``, ``created_at``, ``updated_at`` (UTC),
    ``external_reference`` and ``metadata`` (a dict per row)."""
    columns = _texts(
        orders,
        [
            ("id", "id"),
            ("client_order_id", "clientOrderId"),
            ("provider", "provider"),
            ("strategy_instance", "strategyInstance"),
            ("symbol", "symbol"),
            ("side", "side"),
            ("type", "type"),
            ("state", "state"),
        ],
    )
    _decimals(columns, "quantity", _column(orders, "quantity"))
    _decimals(columns, "price", _column(orders, "price"))
    for column, key in (
        ("placed_at", "placedAt"),
        ("acknowledged_at", "acknowledgedAt"),
        ("completed_at", "completedAt"),
        ("created_at", "createdAt"),
        ("updated_at", "updatedAt"),
    ):
        columns[column] = _seconds(_column(orders, key))
    columns["external_reference"] = pd.array(_column(orders, "externalReference"), dtype=object)
    columns["metadata"] = _metadata(orders)
    return _finish(columns, warnings)


def executions_frame(executions: Sequence[Mapping[str, Any]], warnings: Sequence[str] = ()) -> pd.DataFrame:
    """One row per ``ExecutionRecord``: ``execution_id``, ``order_id``, ``provider``,
    ``strategy_instance``, ``quantity``/``quantity_text``, ``price``/``price_text``, ``fee``/``fee_text``,
    ``fee_asset``, ``liquidity``, ``traded_at`` and ``created_at`` (UTC), ``metadata``."""
    columns = _texts(
        executions,
        [
            ("execution_id", "executionId"),
            ("order_id", "orderId"),
            ("provider", "provider"),
            ("strategy_instance", "strategyInstance"),
        ],
    )
    _decimals(columns, "quantity", _column(executions, "quantity"))
    _decimals(columns, "price", _column(executions, "price"))
    _decimals(columns, "fee", _column(executions, "fee"))
    columns.update(_texts(executions, [("fee_asset", "feeAsset"), ("liquidity", "liquidity")]))
    columns["traded_at"] = _seconds(_column(executions, "tradedAt"))
    columns["created_at"] = _seconds(_column(executions, "createdAt"))
    columns["metadata"] = _metadata(executions)
    return _finish(columns, warnings)


def _usage_time(text: Any) -> pd.Timestamp:
    if not isinstance(text, str):
        return pd.NaT
    try:
        value = parse_time(text.upper())
    except ValueError:  # reported by the checks; the text is in the answer
        return pd.NaT
    return pd.NaT if value is None else pd.Timestamp(value).tz_convert("UTC")


def instances_frame(instances: Sequence[Mapping[str, Any]], warnings: Sequence[str] = ()) -> pd.DataFrame:
    """One row per ``InstanceSummary``: ``id``, ``strategy_identifier``, ``strategy_tag``,
    ``strategy_hash``, ``strategy_selector``, ``providers`` and ``aggregated_symbols`` (tuples),
    ``running``, the usage's ``usage_count``, ``usage_running`` (``<NA>`` without usage) and
    ``usage_first_seen``/``usage_last_seen`` (UTC), and ``link_self``/``link_usage``."""
    columns = _texts(
        instances,
        [
            ("id", "id"),
            ("strategy_identifier", "strategyIdentifier"),
            ("strategy_tag", "strategyTag"),
            ("strategy_hash", "strategyHash"),
            ("strategy_selector", "strategySelector"),
        ],
    )
    columns["providers"] = pd.array([tuple(item["providers"]) for item in instances], dtype=object)
    columns["aggregated_symbols"] = pd.array([tuple(item["aggregatedSymbols"]) for item in instances], dtype=object)
    columns["running"] = np.array([bool(item["running"]) for item in instances], dtype=bool)
    usages = [item.get("usage") or {} for item in instances]
    columns["usage_count"] = pd.array([u.get("count") for u in usages], dtype="Int64")
    columns["usage_running"] = pd.array([u.get("running") for u in usages], dtype="boolean")
    for column, key in (("usage_first_seen", "firstSeen"), ("usage_last_seen", "lastSeen")):
        stamps = [_usage_time(u.get(key)) for u in usages]
        columns[column] = pd.Series(pd.DatetimeIndex(stamps, tz="UTC"), dtype="datetime64[ns, UTC]")
    links = [item.get("links") or {} for item in instances]
    columns["link_self"] = pd.array([link.get("self") for link in links], dtype=object)
    columns["link_usage"] = pd.array([link.get("usage") for link in links], dtype=object)
    return _finish(columns, warnings)
