"""Refresh: reload modules, re-resolve instances through their own selectors, move what moved.

Only running instances whose hash changed are restarted, and a new session starts before the old one
stops, so a failed move leaves the instance running its previous hash (reported with ``error``). An
instance whose selector stopped resolving keeps running its pinned hash and is reported ``retired``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from meltica_lab.errors import InstanceError, MelticaLabError
from meltica_lab.loader import RefreshReport
from meltica_lab.registry import Registry
from meltica_lab.runtime.core import ManagerCore, Slot
from meltica_lab.runtime.results import RefreshResult
from meltica_lab.runtime.specs import InstanceSpec
from meltica_lab.runtime.targets import parse_targets


class Refreshing(ManagerCore):
    """Refresh operations over the core; see :class:`meltica_lab.runtime.Manager`."""

    def reload(self) -> RefreshReport:
        """Re-read the registry and modules without touching any instance; what the loader did."""
        with self._lock:
            return self._loader.refresh()

    def refresh(self, hashes: Iterable[str] = (), strategies: Iterable[str] = ()) -> list[RefreshResult]:
        """Reload modules, re-resolve instances, restart the running ones whose hash changed.

        Without targets every instance is refreshed; with targets (see
        :mod:`meltica_lab.runtime.targets`) only the matching ones, plus one ``retired`` record per
        target no instance matched. One record per instance, sorted by selector, strategy, instance.
        An instance whose selector stopped resolving keeps running its pinned hash (``retired``); a
        move that fails leaves it on its hash with ``error`` set.
        """
        with self._lock:
            before = self._loader.registry
            self._loader.refresh()
            after = self._loader.registry
            pinned = {slot.spec.hash for slot in self._slots.values()}
            targets = parse_targets(hashes, strategies, before=before, after=after, pinned=pinned)
            results = []
            matched_targets = set()
            for key in sorted(self._slots):
                slot = self._slots[key]
                hits = [t for t in targets if t.matches(slot.spec)]
                if targets and not hits:
                    continue
                matched_targets.update(t.text for t in hits)
                results.append(self._refresh_slot(slot, after, restart=False))
            results += [t.unmatched(after) for t in targets if t.text not in matched_targets]
            self._persist()
            return sorted(results, key=lambda r: (r.selector, r.strategy, r.instances))

    def refresh_hash(self, hash: str) -> list[RefreshResult]:
        """Restart every running instance pinned to ``hash`` (full or a unique prefix, any case).

        Each is re-resolved first: one whose selector moved restarts on the new hash (``refreshed``),
        the others restart on the same hash (``alreadyPinned``, ``restarted``). Stopped instances are
        re-resolved only.
        """
        with self._lock:
            self._loader.refresh()
            registry = self._loader.registry
            pinned = {slot.spec.hash for slot in self._slots.values()}
            (target,) = parse_targets([hash], [], before=registry, after=registry, pinned=pinned)
            results = [
                self._refresh_slot(self._slots[key], registry, restart=True)
                for key in sorted(self._slots)
                if target.matches(self._slots[key].spec)
            ]
            if not results:
                results.append(target.unmatched(registry))
            self._persist()
            return results

    def _refresh_slot(self, slot: Slot, registry: Registry, *, restart: bool) -> RefreshResult:
        spec = slot.spec
        running = slot.session is not None
        record = {"selector": spec.selector, "strategy": spec.strategy, "instances": (spec.id,)}
        try:
            found = registry.resolve(spec.selector)
        except MelticaLabError as exc:
            keeps = "keeps running" if running else "stays pinned to"
            detail = f"{spec.selector} no longer resolves ({exc.message}); the instance {keeps} {spec.hash}"
            return RefreshResult(**record, hash=spec.hash, previous_hash=spec.hash, reason="retired", detail=detail)
        if found.hash == spec.hash:
            why = (
                f"pinned by hash: {spec.selector} never moves"
                if spec.pinned_by_hash
                else f"{spec.selector} still resolves to {spec.hash}"
            )
            error, restarted = "", False
            if restart and running:
                error = self._relaunch(slot, spec)
                restarted = not error
                why += "; restarted on the same hash" if restarted else f"; restart failed: {error}"
            return RefreshResult(
                **record,
                hash=spec.hash,
                previous_hash=spec.hash,
                reason="alreadyPinned",
                detail=why,
                error=error,
                restarted=restarted,
            )
        moved = replace(spec, hash=found.hash, tag=found.tag)
        error = self._check_move(moved)
        if not error and running:
            error = self._relaunch(slot, moved)
        elif not error:
            slot.spec = moved
            self._index.ensure(moved.strategy, moved.hash)
        if error:
            keeps = "keeps running" if running else "stays pinned to"
            detail = f"{spec.selector} now resolves to {found.hash}, but the instance {keeps} {spec.hash}"
            return RefreshResult(
                **record, hash=spec.hash, previous_hash=spec.hash, reason="alreadyPinned", detail=detail, error=error
            )
        what = "restarted on the new hash" if running else "not running: it will start on the new hash"
        return RefreshResult(
            **record,
            hash=found.hash,
            previous_hash=spec.hash,
            reason="refreshed",
            detail=f"{spec.selector} now resolves to {found.hash} (was {spec.hash}); {what}",
            restarted=running,
        )

    def _check_move(self, spec: InstanceSpec) -> str:
        """Why ``spec`` cannot be pinned (its revision failed to load, or its config no longer fits)."""
        try:
            self._checked_config(self._loader.revision(spec.hash), spec.config, spec.id)
        except MelticaLabError as exc:
            return f"cannot move to {spec.hash}: {exc.message}"
        return ""

    def _relaunch(self, slot: Slot, spec: InstanceSpec) -> str:
        """Start ``spec`` in a new session, then retire the old one; on failure the old one keeps
        running and the error text is returned."""
        try:
            session = self._launch(spec)
        except InstanceError as exc:
            return exc.message
        self._halt(slot)
        slot.spec, slot.session = spec, session
        self._index.ensure(spec.strategy, spec.hash)
        self._mark_start(slot)
        return ""
