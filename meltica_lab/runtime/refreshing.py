"""Refresh: reload modules, re-resolve instances through their own selectors, move what moved.

Only running instances whose hash changed are restarted, and a new session starts before the old one
stops, so a failed move leaves the instance running its previous hash (reported with ``error``). An
instance whose selector stopped resolving keeps running its pinned hash and is reported ``retired``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from meltica_lab.errors import MelticaLabError
from meltica_lab.loader import RefreshReport
from meltica_lab.registry import Registry
from meltica_lab.runtime.instances import Instances
from meltica_lab.runtime.results import RefreshResult
from meltica_lab.runtime.specs import InstanceSpec
from meltica_lab.runtime.state import RuntimeState, Slot
from meltica_lab.runtime.targets import parse_targets

__all__ = ["Refresher"]


class Refresher:
    """Reload modules and move instances to what their selectors mean now.

    Works on the manager's :class:`~meltica_lab.runtime.state.RuntimeState`; restarts go through
    ``instances`` (:class:`~meltica_lab.runtime.instances.Instances`), so a refresh starts sessions
    exactly as a start does.
    """

    def __init__(self, state: RuntimeState, instances: Instances) -> None:
        self._state = state
        self._instances = instances

    def reload(self) -> RefreshReport:
        """Re-read the registry and modules without touching any instance; what the loader did."""
        with self._state.lock:
            return self._state.loader.refresh()

    def refresh(self, hashes: Iterable[str] = (), strategies: Iterable[str] = ()) -> list[RefreshResult]:
        """Reload modules, re-resolve instances, restart the running ones whose hash changed.

        Without targets every instance is refreshed; with targets (see
        :mod:`meltica_lab.runtime.targets`) only the matching ones, plus one ``retired`` record per
        target no instance matched. One record per instance, sorted by selector, strategy, instance.
        An instance whose selector stopped resolving keeps running its pinned hash (``retired``); a
        move that fails leaves it on its hash with ``error`` set.
        """
        state = self._state
        with state.lock:
            before = state.loader.registry
            state.loader.refresh()
            after = state.loader.registry
            targets = parse_targets(hashes, strategies, before=before, after=after, pinned=state.pins())
            results = []
            matched_targets = set()
            for slot in state.sorted_slots():
                hits = [t for t in targets if t.matches(slot.spec)]
                if targets and not hits:
                    continue
                matched_targets.update(t.text for t in hits)
                results.append(self.refresh_slot(slot, after, restart=False))
            results += [t.unmatched(after) for t in targets if t.text not in matched_targets]
            state.persist()
            return sorted(results, key=lambda r: (r.selector, r.strategy, r.instances))

    def refresh_hash(self, hash: str) -> list[RefreshResult]:
        """Restart every running instance pinned to ``hash`` (full or a unique prefix, any case).

        Each is re-resolved first: one whose selector moved restarts on the new hash (``refreshed``),
        the others restart on the same hash (``alreadyPinned``, ``restarted``). Stopped instances are
        re-resolved only.
        """
        state = self._state
        with state.lock:
            state.loader.refresh()
            registry = state.loader.registry
            (target,) = parse_targets([hash], [], before=registry, after=registry, pinned=state.pins())
            results = [
                self.refresh_slot(slot, registry, restart=True)
                for slot in state.sorted_slots()
                if target.matches(slot.spec)
            ]
            if not results:
                results.append(target.unmatched(registry))
            state.persist()
            return results

    def refresh_slot(self, slot: Slot, registry: Registry, *, restart: bool) -> RefreshResult:
        """Re-resolve one instance through its own selector in ``registry`` and move it if it moved
        (``restart``: restart it on the same hash too); the state's lock must be held."""
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
                error = self._instances.relaunch(slot, spec)
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
            error = self._instances.relaunch(slot, moved)
        elif not error:
            slot.spec = moved
            self._state.index.ensure(moved.strategy, moved.hash)
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
            state = self._state
            state.checked_config(state.loader.revision(spec.hash), spec.config, spec.id)
        except MelticaLabError as exc:
            return f"cannot move to {spec.hash}: {exc.message}"
        return ""
