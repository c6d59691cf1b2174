"""Queries: the read side of a manager in the gateway's shapes (module listing, usage, the export).

Everything derived from the registry and the loaded revisions is built once per loader refresh
(:class:`~meltica_lab.runtime.listing.Catalog`, owned here: nothing else reads it); a call adds
only the usage.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from meltica_lab.errors import NotFoundError
from meltica_lab.registry import load_registry
from meltica_lab.runtime.listing import Catalog, RunningItems, check_paging, list_modules, selected_summary
from meltica_lab.runtime.state import RuntimeState
from meltica_lab.selectors import Selector, is_full_hash
from meltica_lab.usage import UsageRecord

__all__ = ["Queries"]


class Queries:
    """Module listing, one module, usage drill-down, the registry-plus-usage export, usage pruning."""

    def __init__(self, state: RuntimeState) -> None:
        self._state = state
        self._catalog: Catalog | None = None
        self._running_items = RunningItems()

    def catalog(self) -> Catalog:
        """The static part of the module listing for the loader's current registry."""
        registry = self._state.loader.registry
        if self._catalog is None or self._catalog.registry is not registry:
            self._catalog = Catalog(self._state.root, registry, self._state.loader.revisions())
        return self._catalog

    def modules(
        self,
        strategy: str | None = None,
        hash: str | None = None,
        running_only: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> dict[str, Any]:
        """The gateway's module listing (``GET /strategies/modules``): ``{"modules", "total", "offset",
        "limit"?, "strategyDirectory"}``; see :func:`meltica_lab.runtime.listing.list_modules`."""
        state = self._state
        with state.lock:
            catalog = self.catalog()
            if strategy:  # one module: ask the index about its revisions only
                name = strategy.strip().lower()
                module = catalog.modules.get(name)
                records = [state.index.get(name, r.hash) for r, _ in module.revisions] if module else []
            else:
                records = state.index.snapshot()
            return list_modules(
                catalog,
                self._running_items.of(records),
                state.pins(),
                root=state.root,
                strategy=strategy,
                hash=hash,
                running_only=running_only,
                limit=limit,
                offset=offset,
            )

    def module(self, selector: str) -> dict[str, Any]:
        """The gateway's ``GET /strategies/modules/{selector}``: the module summary with the revision
        ``selector`` names selected, every revision listed (with ``running`` and ``retired``)."""
        state = self._state
        with state.lock:
            revision = state.loader.resolve(selector)
            listing = self.modules(strategy=revision.name)
            (summary,) = listing["modules"]
            if summary["selectedRevisionHash"] != revision.hash:
                tags = state.loader.registry.strategies[revision.name].tags
                summary = {**summary, **selected_summary(revision, tags)}
            return summary

    def usage(
        self, selector: str, limit: int | None = None, offset: int = 0, include_stopped: bool = False
    ) -> dict[str, Any]:
        """The gateway's usage drill-down (``GET /strategies/modules/{selector}/usage``): the canonical
        selector, the revision's usage, and the instances on it (running ones unless
        ``include_stopped``), sorted by id and paged. A hash no longer in the registry still answers
        while an instance pins it."""
        check_paging(limit, offset)
        state = self._state
        with state.lock:
            strategy, digest, canonical = self._usage_target(selector)
            chosen = [
                state.view(slot)
                for slot in state.sorted_slots()
                if slot.spec.hash == digest and (include_stopped or slot.session is not None)
            ]
            start = min(offset, len(chosen))
            page = chosen[start:] if limit is None else chosen[start : start + limit]
            return {
                "selector": canonical,
                "strategy": strategy,
                "hash": digest,
                "usage": state.index.get(strategy, digest).to_dict(),
                "instances": [view.to_dict() for view in page],
                "total": len(chosen),
                "offset": start,
                "limit": limit,
            }

    def _usage_target(self, selector: str) -> tuple[str, str, str]:
        try:
            found = self._state.loader.resolution(selector)
        except NotFoundError:
            parsed = Selector.parse(selector)
            pins = self._state.pins()
            if parsed.hash is None or not is_full_hash(parsed.hash) or parsed.hash not in pins:
                raise
            name = pins[parsed.hash]
            if parsed.name not in (None, name):
                raise
            return name, parsed.hash, f"{name}@{parsed.hash}"
        return found.name, found.hash, found.selector

    def export(self) -> dict[str, Any]:
        """The gateway's ``GET /strategies/registry`` document: ``{"registry": <registry.json as on disk
        now>, "usage": [RevisionUsageSummary...] | null}``, interchangeable with a live gateway's."""
        state = self._state
        with state.lock:
            registry = load_registry(state.root)
            records = state.index.snapshot()
            return {
                "registry": registry.to_dict() if registry is not None else {},
                "usage": [record.to_dict() for record in records] or None,
            }

    def prune_usage(self, older_than: timedelta) -> list[UsageRecord]:
        """Drop usage entries idle for longer than ``older_than`` (never running ones); persisted."""
        state = self._state
        with state.lock:
            removed = state.index.prune(older_than)
            if removed:
                state.persist()
            return removed
