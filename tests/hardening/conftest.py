"""Shared pieces of the hardening suite: a workspace with one clean strategy, tree snapshots, sources.

The workspace holds the strategies root and, beside it, the inputs a case feeds in (market data, usage
exports, config files), so one snapshot covers every file a failed operation might have touched. The
loader's metadata cache lives outside it: writing that cache is what a refresh is for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from meltica_lab.registry import edit_registry, store_module

T0 = 1_700_000_000_000_000_000
"""2023-11-14T22:13:20Z in nanoseconds: where the suite's market data starts."""
SECOND = 1_000_000_000
CLEAN = "alpha"
"""The name of the well-behaved strategy every workspace starts with."""


def strategy_source(
    name: str = CLEAN,
    tag: str = "v1.0.0",
    *,
    create: str = "",
    on_trade: str = "",
    top: str = "",
    metadata: dict[str, Any] | None = None,
) -> str:
    """A module: ``top`` runs at load, ``create`` in ``create(env)`` (``rt`` is ``env.runtime``,
    ``log`` is ``env.helpers.log``), ``on_trade`` in the trade handler (``price`` is the price)."""
    meta = {"name": name, "tag": tag, "displayName": f"{name} {tag}", "events": ["Trade"], "config": []}
    meta.update(metadata or {})
    return (
        f"{top}\nmodule.exports = {{\n  metadata: {json.dumps(meta)},\n"
        f"  create(env) {{ const rt = env.runtime; const log = env.helpers.log; {create}\n"
        f"    return {{ onTrade(ctx, evt, payload, price) {{ {on_trade} }} }};\n  }},\n}};\n"
    )


CLEAN_SOURCE = strategy_source(
    create="let n = 0;",
    on_trade="n++; log('trade', n, price); if (n % 2 === 1) rt.submitMarketOrder('', n % 4 === 1 ? 'buy' : 'sell', 1);",
)
"""A strategy with observable behaviour (logs, orders, fills) to compare runs against a reference."""


def trades_csv(prices: Sequence[float], *, start: int = 0) -> str:
    """CSV text of trades one second apart from ``T0``, quantity 1, symbol BTC-USDT."""
    rows = [f"{T0 + (start + i) * SECOND},{p},1,BTC-USDT" for i, p in enumerate(prices)]
    return "timestamp,price,quantity,symbol\n" + "\n".join(rows) + "\n"


def register(root: Path, source: str | bytes, name: str, tag: str, *, latest: bool = True) -> str:
    """Store ``source`` as ``name:tag`` and register it; returns its hash."""
    data = source.encode() if isinstance(source, str) else source
    digest, rel = store_module(root, data, name=name, tag=tag)
    with edit_registry(root, f"add {name}:{tag}") as draft:
        draft.add_revision(name, digest, tag, rel)
        if latest:
            draft.assign_tag(name, "latest", digest)
    return digest


def tree(base: Path) -> dict[str, tuple[str, bytes]]:
    """Every entry under ``base``: files with their bytes, directories, and symlinks with their target."""
    out: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(base))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                out[rel] = ("dir", b"")
            else:
                out[rel] = ("file", path.read_bytes())
    return out


def tree_changes(before: dict[str, tuple[str, bytes]], after: dict[str, tuple[str, bytes]]) -> list[str]:
    """What differs between two :func:`tree` snapshots, one readable line per entry."""
    changes = [f"added {k}" for k in sorted(after.keys() - before.keys())]
    changes += [f"removed {k}" for k in sorted(before.keys() - after.keys())]
    changes += [f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]]
    return changes


@dataclass(frozen=True)
class Workspace:
    """``base`` holds ``root`` (the strategies root, with :data:`CLEAN` registered) and ``inputs``."""

    base: Path
    root: Path
    inputs: Path
    cache: Path
    clean_hash: str

    def write(self, name: str, data: str | bytes) -> Path:
        """An input file beside the root."""
        path = self.inputs / name
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
        return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every loader in the suite caches module reports in the test's own directory."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def workspace(tmp_path: Path, private_cache: Path) -> Workspace:
    """A fresh workspace: a root with the clean strategy registered, and an empty inputs folder."""
    base = tmp_path / "ws"
    root = base / "strategies"
    inputs = base / "inputs"
    root.mkdir(parents=True)
    inputs.mkdir()
    digest = register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    return Workspace(base, root, inputs, private_cache, digest)
