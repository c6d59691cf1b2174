"""Helpers for the V8 host tests: module sources built from metadata, and a host with short limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from meltica_lab.jshost.limits import Limits
from meltica_lab.jshost.module import ModuleHost

# Short enough that a runaway module costs the suite little; long enough for any real module.
SHORT = Limits(eval_seconds=0.25, call_seconds=5.0, heap_bytes=64 * 2**20)


def metadata(**changes: Any) -> dict[str, Any]:
    """Metadata that passes every rule, with ``changes`` applied (``None`` removes a key)."""
    base: dict[str, Any] = {
        "name": "demo",
        "tag": "v1.0.0",
        "displayName": "Demo strategy",
        "events": ["Trade"],
        "config": [],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def module_js(
    meta: dict[str, Any] | str | None = None,
    *,
    create: str = "function (env) { return {}; }",
    before: str = "",
    after: str = "",
) -> str:
    """A module exporting ``meta`` (a dict as JSON, or JavaScript text) and ``create``."""
    text = json.dumps(metadata() if meta is None else meta) if not isinstance(meta, str) else meta
    return f"{before}module.exports = {{ metadata: {text}, create: {create} }};\n{after}"


def probe_js(expression: str, *, before: str = "") -> str:
    """A valid module whose ``metadata.description`` is ``String(expression)``, computed inside the module."""
    meta = json.dumps(metadata(description="__PROBE__")).replace('"__PROBE__"', f"String({expression})")
    return module_js(meta, before=before)


@pytest.fixture
def host() -> Iterator[ModuleHost]:
    """A fresh module host with :data:`SHORT` limits (its counters start at zero)."""
    with ModuleHost(SHORT) as module_host:
        yield module_host
