"""Helpers for backtest tests: small strategy modules, market data frames, and a session runner."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from meltica_lab.backtest.data import load_market_data
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.backtest.session import SessionSnapshot, StrategySession
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.registry import edit_registry, store_module

T0 = 1_672_531_200_000_000_000
"""2023-01-01T00:00:00Z in nanoseconds."""
SECOND = 1_000_000_000


def module(create_body: str, *, name: str = "probe", config: Sequence[dict[str, Any]] = ()) -> bytes:
    """A strategy module whose ``create(env)`` runs ``create_body`` (which returns the handlers)."""
    metadata = {"name": name, "displayName": name, "events": ["Trade"], "config": list(config)}
    return (
        f"const log = (...a) => ENV.helpers.log(...a);\nlet ENV;\n"
        f"module.exports = {{ metadata: {json.dumps(metadata)},\n"
        f"  create(env) {{ ENV = env; const rt = env.runtime;\n{create_body}\n  }} }};\n"
    ).encode()


def trades(
    prices: Sequence[float], quantities: Sequence[float] | float = 1.0, *, step: int = SECOND, **extra: Any
) -> pd.DataFrame:
    """Trades one ``step`` apart from T0, BTC-USDT unless a ``symbol`` column is given."""
    n = len(prices)
    qty = [quantities] * n if isinstance(quantities, int | float) else list(quantities)
    frame = {"timestamp": [T0 + i * step for i in range(n)], "price": list(prices), "quantity": qty}
    frame.setdefault("symbol", ["BTC-USDT"] * n)
    frame.update(extra)
    return pd.DataFrame(frame)


def run_session(
    source: bytes,
    data: pd.DataFrame,
    *,
    config: dict[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    **options: Any,
) -> SessionSnapshot:
    """Load ``data``, run it through a fresh session of ``source``, finish, and snapshot."""
    events = load_market_data(data).events
    opts = SessionOptions(**options)
    with StrategySession(
        source,
        name="probe",
        tag="v1.0.0",
        config=config or {},
        options=opts,
        limits=limits,
        symbols=events.symbols,
        start_ns=events.start_ns,
    ) as session:
        session.feed(events)
        session.finish()
        return session.snapshot()


def log_lines(snapshot: SessionSnapshot) -> list[str]:
    """The strategy's log lines, in order."""
    return list(snapshot.summary["journal"]["logs"]["text"])


def errors(snapshot: SessionSnapshot) -> list[dict[str, Any]]:
    """The recorded handler errors."""
    return list(snapshot.summary["journal"]["errors"])


def register(root: Path, name: str, tag: str, source: bytes) -> str:
    """Store ``source`` as ``name:tag`` under ``root`` and register it (it becomes latest); its hash."""
    digest, rel = store_module(root, source, name=name, tag=tag, layout="tag")
    with edit_registry(root, f"add {name}:{tag}") as draft:
        draft.add_revision(name, digest, tag, rel)
    return digest
