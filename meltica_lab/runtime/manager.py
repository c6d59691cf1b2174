"""The runtime manager: instances of pinned strategy revisions, module operations, usage, metrics.

:class:`Manager` puts together the core (state, lifecycle, events: :mod:`~meltica_lab.runtime.core`),
refresh (:mod:`~meltica_lab.runtime.refreshing`) and module operations
(:mod:`~meltica_lab.runtime.operations`), and adds the read side: module listing, usage drill-down,
the registry-plus-usage export and metrics.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from meltica_lab.errors import NotFoundError
from meltica_lab.registry import load_registry
from meltica_lab.runtime.listing import Catalog, check_paging, list_modules
from meltica_lab.runtime.operations import ModuleOperations
from meltica_lab.selectors import Selector, is_full_hash
from meltica_lab.usage import UsageRecord


class Manager(ModuleOperations):
    """Instances, module operations and usage over one strategies root.

    Lifecycle: :meth:`create` (stopped), :meth:`start`, :meth:`stop`, :meth:`update`, :meth:`remove`,
    :meth:`feed`; refresh: :meth:`refresh`, :meth:`refresh_hash`, :meth:`reload`; modules:
    :meth:`upload`, :meth:`assign_tag`, :meth:`delete_tag`, :meth:`delete`, :meth:`rollback`; reading:
    :meth:`instances`, :meth:`modules`, :meth:`usage`, :meth:`export`, :meth:`metrics_text`.

    ``state_dir`` holds the usage snapshot (``usage.json``), rewritten after every change to the
    running sets and times, so ``firstSeen``/``lastSeen`` survive a restart; a new manager starts
    with every count at 0 and the times kept. ``cache_dir`` is the loader's metadata cache.
    ``limits`` bound every V8 call of every instance; ``options`` are the simulated exchange's
    settings (fees, fill model, capital, ...) each instance starts with, its id and providers filled
    in. An instance's ``dry_run`` config defaults to false here, as in backtests: orders go to the
    simulated exchange.

    Events reach running instances only through :meth:`feed`; the simulation clock is the time of the
    last event fed, and a later batch may not start before it.
    """

    def _current_catalog(self) -> Catalog:
        registry = self._loader.registry
        if self._catalog is None or self._catalog.registry is not registry:
            self._catalog = Catalog(self.root, registry, self._loader.revisions())
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
        with self._lock:
            catalog = self._current_catalog()
            if strategy:  # one module: ask the index about its revisions only
                name = strategy.strip().lower()
                module = catalog.modules.get(name)
                records = [self._index.get(name, r.hash) for r, _ in module.revisions] if module else []
            else:
                records = self._index.snapshot()
            running = self._running_items.of(records)
            pinned = {slot.spec.hash for slot in self._slots.values()}
            return list_modules(
                catalog,
                running,
                pinned,
                root=self.root,
                strategy=strategy,
                hash=hash,
                running_only=running_only,
                limit=limit,
                offset=offset,
            )

    def usage(
        self, selector: str, limit: int | None = None, offset: int = 0, include_stopped: bool = False
    ) -> dict[str, Any]:
        """The gateway's usage drill-down (``GET /strategies/modules/{selector}/usage``): the canonical
        selector, the revision's usage, and the instances on it (running ones unless
        ``include_stopped``), sorted by id and paged. A hash no longer in the registry still answers
        while an instance pins it."""
        check_paging(limit, offset)
        with self._lock:
            strategy, digest, canonical = self._usage_target(selector)
            chosen = [
                self._view(self._slots[key])
                for key in sorted(self._slots)
                if self._slots[key].spec.hash == digest and (include_stopped or self._slots[key].session is not None)
            ]
            start = min(offset, len(chosen))
            page = chosen[start:] if limit is None else chosen[start : start + limit]
            return {
                "selector": canonical,
                "strategy": strategy,
                "hash": digest,
                "usage": self._index.get(strategy, digest).to_dict(),
                "instances": [view.to_dict() for view in page],
                "total": len(chosen),
                "offset": start,
                "limit": limit,
            }

    def _usage_target(self, selector: str) -> tuple[str, str, str]:
        try:
            found = self._loader.resolution(selector)
        except NotFoundError:
            parsed = Selector.parse(selector)
            pins = {s.spec.hash: s.spec.strategy for s in self._slots.values()}
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
        with self._lock:
            registry = load_registry(self.root)
            records = self._index.snapshot()
            return {
                "registry": registry.to_dict() if registry is not None else {},
                "usage": [record.to_dict() for record in records] or None,
            }

    def prune_usage(self, older_than: timedelta) -> list[UsageRecord]:
        """Drop usage entries idle for longer than ``older_than`` (never running ones); persisted."""
        with self._lock:
            removed = self._index.prune(older_than)
            if removed:
                self._persist()
            return removed

    def metrics_text(self) -> str:
        """The manager's metrics in the Prometheus text format."""
        return self._metrics.text()
