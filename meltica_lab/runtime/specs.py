"""Instance specs and the summaries the manager hands out.

An :class:`InstanceSpec` is what an operator asked for (id, selector, config, providers, symbols) plus
what the selector resolved to when the instance was last (re)pinned: the strategy, the hash, the tag.
The stored selector is the resolution's canonical selector, so its meaning never drifts: ``name:tag``
keeps following that tag, ``name@hash`` and bare hashes stay pinned, ``name`` follows ``latest``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from meltica_lab.errors import ConfigError, UsageError
from meltica_lab.registry import LATEST
from meltica_lab.selectors import Selector
from meltica_lab.usage import UsageRecord

# The gateway writes "@" and ":" unescaped in its links (compat §9.13); so do we.
_LINK_SAFE = "@:"


def instance_link(instance_id: str) -> str:
    """``/strategy/instances/<path-escaped id>``, the gateway's ``links.self``."""
    return f"/strategy/instances/{urllib.parse.quote(instance_id, safe=_LINK_SAFE)}"


def usage_link(selector: str) -> str:
    """``/strategies/modules/<path-escaped selector>/usage``, the gateway's ``links.usage``."""
    return f"/strategies/modules/{urllib.parse.quote(selector, safe=_LINK_SAFE)}/usage"


def normalise_id(instance_id: str) -> str:
    """A trimmed, non-empty instance id without ``/`` (it is a URL path segment)."""
    if not isinstance(instance_id, str) or not instance_id.strip() or "/" in instance_id:
        raise UsageError(f"instance id: expected non-empty text without '/', got {instance_id!r}", field="id")
    return instance_id.strip()


def normalise_providers(providers: Iterable[str]) -> tuple[str, ...]:
    """Trimmed provider names, sorted and unique; at least one (the gateway's scope keys)."""
    if isinstance(providers, str):
        raise UsageError(f"providers: expected a list of provider names, got the text {providers!r}", field="providers")
    names = sorted({p.strip() for p in providers if isinstance(p, str) and p.strip()})
    if not names:
        raise UsageError(f"providers: expected at least one provider name, got {list(providers)!r}", field="providers")
    return tuple(names)


def normalise_symbols(symbols: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, upper-cased symbols, sorted and unique; at least one (the gateway's rule)."""
    if isinstance(symbols, str):
        raise UsageError(f"symbols: expected a list of symbols, got the text {symbols!r}", field="symbols")
    names = sorted({s.strip().upper() for s in symbols if isinstance(s, str) and s.strip()})
    if not names:
        raise UsageError(f"symbols: expected at least one symbol, got {list(symbols)!r}", field="symbols")
    return tuple(names)


def frozen_config(config: Mapping[str, Any] | None, instance_id: str) -> Mapping[str, Any]:
    """A deep, read-only copy of a config that JSON can carry (it is handed to V8 as JSON)."""
    if config is None:
        return MappingProxyType({})
    if not isinstance(config, Mapping):
        raise ConfigError(f"config of {instance_id}: expected a mapping, got {type(config).__name__}", field="config")
    try:
        copied = json.loads(json.dumps(dict(config), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config of {instance_id}: expected JSON values ({exc})", field="config") from None
    return MappingProxyType(copied)


@dataclass(frozen=True)
class InstanceSpec:
    """One registered instance.

    ``identifier`` is the selector as the operator wrote it; ``selector`` the canonical selector kept
    for re-resolution; ``strategy``/``hash``/``tag`` the pinned revision (``tag`` is its primary tag);
    ``config`` as given (coerced by the revision's metadata at launch); ``providers`` and ``symbols``
    the subscription, normalised as the gateway does.
    """

    id: str
    identifier: str
    selector: str
    strategy: str
    hash: str
    tag: str
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    providers: tuple[str, ...] = ("backtest",)
    symbols: tuple[str, ...] = ()

    @property
    def pinned(self) -> str:
        """The pinned selector ``name@hash`` of the revision this instance runs."""
        return f"{self.strategy}@{self.hash}"

    @property
    def pinned_by_hash(self) -> bool:
        """Whether the selector names a hash (then refreshes never move the instance)."""
        return Selector.parse(self.selector).hash is not None

    def follows(self, strategy: str, tag: str) -> bool:
        """Whether this instance follows ``strategy:tag`` (``name`` alone follows ``latest``)."""
        if self.strategy != strategy:
            return False
        parsed = Selector.parse(self.selector)
        if parsed.hash is not None:
            return False
        return parsed.tag == tag or (parsed.tag is None and tag == LATEST)


@dataclass(frozen=True)
class Instance:
    """A read-only view of one instance: its spec, whether it runs, its revision's usage, its last error.

    ``to_dict()`` is the gateway's ``InstanceSummary`` (compat §9.13) with ``links.usage`` pointing at
    the pinned ``name@hash`` the instance actually runs (not at whatever its tag means now), plus
    ``config`` and ``lastError`` (the reason a launch or a feed stopped it; omitted when empty).
    """

    spec: InstanceSpec
    running: bool
    usage: UsageRecord
    error: str = ""

    @property
    def id(self) -> str:
        """The instance id."""
        return self.spec.id

    def to_dict(self) -> dict[str, Any]:
        """The gateway's InstanceSummary JSON, key for key, plus ``config`` and ``lastError``."""
        spec = self.spec
        out: dict[str, Any] = {
            "id": spec.id,
            "strategyIdentifier": spec.strategy,
            "strategyTag": spec.tag,
            "strategyHash": spec.hash,
            "strategySelector": spec.selector,
            "providers": list(spec.providers),
            "aggregatedSymbols": list(spec.symbols),
            "running": self.running,
            "usage": self.usage.to_dict(),
            "links": {"self": instance_link(spec.id), "usage": usage_link(spec.pinned)},
            "config": dict(spec.config),
        }
        if self.error:
            out["lastError"] = self.error
        return out
