"""Helpers shared by the runtime, analysis and usage-CLI tests (this module holds no tests)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from meltica_lab.registry import edit_registry, store_module
from meltica_lab.runtime import Manager

T0 = 1_700_000_000_000_000_000
"""2023-11-14T22:13:20Z in nanoseconds: where test market data starts."""
SECOND = 1_000_000_000


def strategy_source(
    name: str,
    tag: str,
    *,
    create: str = "",
    on_trade: str = "",
    config: Sequence[dict[str, Any]] = (),
) -> str:
    """A valid module; ``create`` runs in ``create(env)``, ``on_trade`` in its trade handler."""
    metadata = {"name": name, "tag": tag, "displayName": f"{name} {tag}", "events": ["Trade"], "config": list(config)}
    return (
        f"module.exports = {{\n  metadata: {json.dumps(metadata)},\n"
        f"  create(env) {{ {create}\n    return {{ onTrade(t) {{ {on_trade} }} }};\n  }},\n}};\n"
    )


def register(root: Path, source: str, name: str, tag: str, *, latest: bool = False) -> str:
    """Store ``source`` as a revision of ``name`` tagged ``tag`` (``latest`` moves if asked); its hash."""
    digest, rel = store_module(root, source.encode(), name=name, tag=tag)
    with edit_registry(root, f"add {name}:{tag}") as draft:
        draft.add_revision(name, digest, tag, rel)
        if latest:
            draft.assign_tag(name, "latest", digest)
    return digest


def trades(n: int, *, start: int = 0, symbol: str = "BTC-USDT", provider: str | None = None) -> pd.DataFrame:
    """``n`` trades one second apart from ``T0 + start`` seconds, at prices 100, 101, ..."""
    frame = pd.DataFrame(
        {
            "timestamp": [T0 + (start + i) * SECOND for i in range(n)],
            "price": [100.0 + i for i in range(n)],
            "quantity": [1.0] * n,
            "symbol": [symbol] * n,
        }
    )
    if provider is not None:
        frame["provider"] = provider
    return frame


def events_seen(manager: Manager, instance_id: str) -> int:
    """How many market events a running instance's session has processed."""
    return int(manager.snapshot(instance_id).summary["events"])


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A private metadata cache directory."""
    return tmp_path / "cache"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A private manager state directory."""
    return tmp_path / "state"
