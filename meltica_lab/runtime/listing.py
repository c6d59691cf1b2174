"""Module listing (the gateway's ``GET /strategies/modules``, compat §9.4) and usage drill-down (§9.7).

Everything derived from the registry and the loaded revisions is built once per loader refresh
(:class:`Catalog`); a listing call only adds the usage, so listing a large registry stays cheap.

A revision is **retired** when no tag points at it and no instance (running or stopped) pins it:
nothing would run it again unless someone names its hash. That is a fact about the registry and the
instances now, not about this process's history (the gateway's flag depended on both, compat §13.16).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachetools import LRUCache

from meltica_lab.errors import UsageError
from meltica_lab.loader import Revision
from meltica_lab.registry import LATEST, Registry
from meltica_lab.selectors import normalize_hash
from meltica_lab.usage import UsageRecord, format_time
from meltica_lab.versions import version_key


@dataclass(frozen=True)
class _Module:
    """One strategy's static summary: the JSON without usage, its revisions (oldest first) with their
    static items, and the selected (default) revision."""

    summary: dict[str, Any]
    revisions: tuple[tuple[Revision, dict[str, Any]], ...]
    default: str


def _alias(tags: tuple[str, ...], primary: str) -> str:
    """The gateway's revision ``alias``: another tag on the hash (first by name), else ``latest``."""
    others = [t for t in tags if t not in (primary, LATEST)]
    if others:
        return others[0]
    return LATEST if LATEST in tags else ""


def _revision_item(revision: Revision, root: Path) -> dict[str, Any]:
    item: dict[str, Any] = {"hash": revision.hash}
    alias = _alias(revision.tags, revision.tag)
    if alias:
        item["alias"] = alias
    item["path"] = str(root / revision.relpath)
    if revision.tag:
        item["tag"] = revision.tag
    item["size"] = revision.size
    return item


class Catalog:
    """The static part of every module summary, for one state of the loader."""

    def __init__(self, root: Path, registry: Registry, revisions: list[Revision]) -> None:
        self.registry = registry
        grouped: dict[str, list[Revision]] = {}
        for revision in revisions:
            grouped.setdefault(revision.name, []).append(revision)
        self.tagged: frozenset[str] = frozenset(
            digest
            for entry in registry.strategies.values()
            for tag in entry.tags
            if (digest := entry.tag_target(tag)) is not None
        )
        self.modules: dict[str, _Module] = {}
        for name in sorted(grouped):
            ordered = sorted(grouped[name], key=lambda r: (version_key(r.tag), r.hash))
            entry = registry.strategies[name]
            wanted = entry.default_hash()
            chosen = next((r for r in ordered if r.hash == wanted), ordered[-1])
            items = tuple((r, _revision_item(r, root)) for r in ordered)
            self.modules[name] = _Module(selected_summary(chosen, entry.tags), items, chosen.hash)


def selected_summary(chosen: Revision, tags: Mapping[str, str]) -> dict[str, Any]:
    """A ModuleSummary's fields for one selected revision (current key names, compat §9.4)."""
    return {
        "name": chosen.name,
        "file": chosen.path.name,
        "path": str(chosen.path),
        "selectedRevisionHash": chosen.hash,
        "selectedRevisionTag": chosen.tag,
        "tags": sorted(set(chosen.tags) | ({chosen.tag} if chosen.tag else set())),
        "tagAliases": dict(sorted(tags.items())),
        "size": chosen.size,
        "metadata": chosen.metadata.to_dict(),
    }


class RunningItems:
    """The gateway's ``running`` items of revisions, built from usage records.

    Formatting times is the dearest part of a listing, and most records do not change between two
    listings, so the formatted times are remembered per record (records are immutable values).
    """

    def __init__(self, size: int = 65_536) -> None:
        self._times: LRUCache[UsageRecord, tuple[str, str]] = LRUCache(maxsize=size)

    def item(self, record: UsageRecord) -> dict[str, Any]:
        """One revision's running item: ``hash``, ``instances``, ``count``, ``firstSeen``, ``lastSeen``."""
        times = self._times.get(record)
        if times is None:
            times = self._times[record] = (format_time(record.first_seen), format_time(record.last_seen))
        return {
            "hash": record.hash,
            "instances": list(record.instances),
            "count": record.count,
            "firstSeen": times[0],
            "lastSeen": times[1],
        }

    def of(self, records: Iterable[UsageRecord]) -> dict[str, dict[str, Any]]:
        """Hash -> running item, for the records with running instances."""
        return {record.hash: self.item(record) for record in records if record.count}


def check_paging(limit: int | None, offset: int) -> None:
    """``limit`` (``None`` = unlimited) and ``offset`` must be non-negative integers."""
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UsageError(f"{name} must be a non-negative integer, got {value!r}", field=name)


def list_modules(
    catalog: Catalog,
    running: Mapping[str, dict[str, Any]],
    pinned: Collection[str],
    *,
    root: Path,
    strategy: str | None,
    hash: str | None,
    running_only: bool,
    limit: int | None,
    offset: int,
) -> dict[str, Any]:
    """The ``GET /strategies/modules`` answer.

    ``running`` maps the hashes with running instances to their running items (see
    :class:`RunningItems`); ``pinned`` holds every hash an
    instance pins. Filters: ``strategy`` (case-insensitive exact name), ``hash`` (full or a prefix,
    any case: keeps only matching revisions, drops modules without one), ``running_only`` (modules
    with a running revision). Each revision item carries ``running`` (its usage item, or ``null``) and
    ``retired``; each module its ``running`` list (count descending, then hash), as the gateway did.
    """
    check_paging(limit, offset)
    wanted_name = strategy.strip().lower() if strategy else None
    wanted_hash = normalize_hash(hash) if hash else None
    modules = []
    for name, module in catalog.modules.items():
        if wanted_name is not None and name != wanted_name:
            continue
        items = module.revisions
        if wanted_hash is not None:
            items = tuple(pair for pair in items if pair[0].hash.startswith(wanted_hash))
            if not items:
                continue
        blocks = [running[r.hash] for r, _ in items if r.hash in running]
        if running_only and not blocks:
            continue
        revisions = []
        for revision, static in items:
            item = dict(static)
            item["running"] = running.get(revision.hash)
            item["retired"] = revision.hash not in catalog.tagged and revision.hash not in pinned
            revisions.append(item)
        if any(r.hash == module.default for r, _ in items):
            summary = dict(module.summary)
        else:
            summary = selected_summary(items[-1][0], catalog.registry.strategies[name].tags)
        summary["revisions"] = revisions
        ordered = sorted(blocks, key=lambda b: (-b["count"], b["hash"]))
        summary["running"] = [{**b, "instances": list(b["instances"])} for b in ordered]
        modules.append(summary)
    total = len(modules)
    start = min(offset, total)
    page = modules[start:] if limit is None else modules[start : start + limit]
    answer: dict[str, Any] = {"modules": page, "total": total, "offset": start}
    if limit is not None:
        answer["limit"] = limit
    answer["strategyDirectory"] = str(root)
    return answer
