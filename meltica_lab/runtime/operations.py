"""Module operations: upload, tags, delete, rollback; all through the registry's locked edits.

Each edits ``registry.json`` under its inter-process lock (recorded in the tag history) and refreshes
the loader at once, so no answer comes from stale state (compat §13.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from meltica_lab.errors import InUseError, ModuleError, NotFoundError, SelectorError
from meltica_lab.jshost.diagnostics import Diagnostic
from meltica_lab.registry import LATEST, Registry, check_segment, edit_registry, load_registry
from meltica_lab.runtime.refreshing import Refresher
from meltica_lab.runtime.results import Deletion, Rollback, TagAssignment, TagDeletion, UploadResult
from meltica_lab.runtime.state import RuntimeState
from meltica_lab.selectors import Selector, normalize_hash

__all__ = ["ModuleOperations"]


class ModuleOperations:
    """Upload, tag, delete and roll back revisions of the manager's root.

    Uploads are evaluated in the loader's module host (the one the loader reads metadata with; a
    workspace's loader brings the workspace's host). Instances move only through ``refresher``
    (:class:`~meltica_lab.runtime.refreshing.Refresher`).
    """

    def __init__(self, state: RuntimeState, refresher: Refresher) -> None:
        self._state = state
        self._refresher = refresher

    @property
    def root(self) -> Path:
        """The strategies root."""
        return self._state.root

    def upload(
        self,
        source: str | bytes,
        tag: str | None = None,
        aliases: Iterable[str] = (),
        promote_latest: bool = True,
        strategy: str | None = None,
    ) -> UploadResult:
        """Validate and store a new revision; its strategy name comes from its metadata.

        ``tag`` defaults to the metadata ``tag``. ``aliases`` are more tags pointed at the new hash
        (moved if they pointed elsewhere). ``latest`` moves to it when ``promote_latest`` (or when the
        strategy has none). An invalid module raises :class:`ModuleError` with every diagnostic and
        changes nothing. Bytes already registered reuse their file and keep their primary tag.
        Instances do not move until a refresh. ``strategy``, when given, is the name the module must
        declare (a module of another strategy is refused before anything is written).
        """
        data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
        state = self._state
        with state.lock:
            report = state.loader.host.inspect(data, filename="upload.js")
            metadata = report.metadata
            if not report.ok or metadata is None:
                state.metrics.upload_failed(report.diagnostics)
                raise ModuleError(report.headline, diagnostics=report.diagnostics, path="upload.js")
            chosen = (tag if tag is not None else metadata.tag or "").strip()
            if not chosen:
                missing = Diagnostic("validation", "tag required", hint="metadata.tag")
                state.metrics.upload_failed((missing,))
                raise ModuleError("metadata tag required for registry writes", diagnostics=(missing,))
            name = check_segment(metadata.name, "strategy name")
            if strategy is not None and name != strategy.strip().lower():
                raise ModuleError(
                    f"upload.js declares strategy {name!r}, not {strategy.strip().lower()!r}: "
                    "upload it as a revision of its own strategy",
                    path="upload.js",
                )
            check_segment(chosen, "tag")
            extra = tuple(dict.fromkeys(check_segment(a.strip(), "alias") for a in aliases if a.strip()))
            # One transaction: the file is stored (or found) and registered under the registry lock, so a
            # concurrent prune cannot delete what this upload confirms, nor a concurrent upload take its path.
            with edit_registry(self.root, f"upload {name}:{chosen}") as draft:
                stored = draft.store(data, name=name, tag=chosen)
                digest, rel, created = stored.hash, stored.path, stored.created
                if stored.registered:
                    draft.assign_tag(name, chosen, digest)
                else:
                    draft.add_revision(name, digest, chosen, rel)
                for alias in extra:
                    draft.assign_tag(name, alias, digest)
                if promote_latest:
                    draft.assign_tag(name, LATEST, digest)
                latest = draft.registry().strategies[name].default_hash() == digest
            # The report is keyed by content hash, so the refresh that reads the new file uses it
            # instead of evaluating the same bytes a second time.
            state.loader.cache.store_reports({digest: report})
            state.loader.refresh()
            return UploadResult(name, digest, chosen, extra, rel, str(self.root), created, latest)

    def assign_tag(self, name: str, tag: str, hash: str, refresh: bool = True) -> TagAssignment:
        """Point ``tag`` of ``name`` at ``hash`` (full or a unique prefix); recorded in the tag history.

        With ``refresh``, when the tag moved, the strategy's instances are re-resolved (only those that
        follow the tag can move).
        """
        state = self._state
        with state.lock:
            with edit_registry(self.root, f"assign {name.strip().lower()}:{tag.strip()}", create=False) as draft:
                previous = draft.assign_tag(name, tag, hash)
                found = draft.registry().resolve(Selector(name.strip().lower(), tag=tag.strip()))
            state.loader.refresh()
            moved = previous != found.hash
            if moved and previous is not None:
                state.metrics.tag_reassigned(found.name, tag.strip())
            results = tuple(self._refresher.refresh(strategies=[found.name])) if refresh and moved else ()
            return TagAssignment(found.name, tag.strip(), found.hash, previous or "", results)

    def delete_tag(self, name: str, tag: str, allow_orphan: bool = False) -> TagDeletion:
        """Remove a tag (never ``latest``; not a hash's last tag unless ``allow_orphan``). Instances
        that followed it keep running; the next refresh reports them ``retired``."""
        state = self._state
        with state.lock:
            with edit_registry(self.root, f"delete tag {name.strip().lower()}:{tag}", create=False) as draft:
                digest = draft.remove_tag(name, tag, allow_orphan=allow_orphan)
            state.loader.refresh()
            state.metrics.tag_deleted(name.strip().lower(), tag, allow_orphan)
            return TagDeletion(name.strip().lower(), tag, digest, allow_orphan)

    def delete(self, selector: str) -> Deletion:
        """Delete revisions: ``name`` all of the strategy's, ``name:tag`` the revision the tag points at
        (not just the tag: use :meth:`delete_tag` for that), ``name@hash`` or a bare hash that one.

        Refused with :class:`InUseError` while any instance, running or stopped, pins a revision to be
        deleted. ``latest`` moves to the newest remaining revision. Files go after the registry write.
        """
        state = self._state
        with state.lock:
            registry = load_registry(self.root)
            if registry is None:
                raise NotFoundError(f"{self.root}/registry.json does not exist", selector=selector)
            parsed = Selector.parse(selector)
            if parsed.kind == "name":
                name = str(parsed.name)
                hashes = tuple(sorted(registry.entry(name).hashes))
            else:
                found = registry.resolve(parsed)
                name, hashes = found.name, (found.hash,)
            self._refuse_in_use(selector, name, hashes, whole=parsed.kind == "name")
            entry = registry.strategies[name]
            tags = tuple(sorted(t for t in entry.tags if entry.tag_target(t) in hashes))
            with edit_registry(self.root, f"delete {selector.strip()}", create=False) as draft:
                for digest in hashes:
                    draft.remove_revision(name, digest)
                remaining = draft.registry()
            files = draft.files_removed
            state.loader.refresh()
            latest = remaining.strategies[name].default_hash() if name in remaining.strategies else None
            return Deletion(
                selector.strip(),
                name,
                hashes,
                tags,
                tuple(files),
                latest,
                _deletion_message(parsed, name, hashes, tags, latest),
            )

    def _refuse_in_use(self, selector: str, name: str, hashes: tuple[str, ...], *, whole: bool) -> None:
        slots = self._state.slots.values()
        users = sorted((s.spec.id, s.session is not None) for s in slots if s.spec.hash in hashes)
        if not users:
            return
        listed = ", ".join(f"{ident} ({'running' if on else 'stopped'})" for ident, on in users)
        what = f"strategy {name}" if whole else f"revision {name}@{hashes[0]}"
        raise InUseError(
            f"cannot delete {selector.strip()}: {what} is in use by instance(s) {listed}; remove them first",
            instances=[ident for ident, _ in users],
            selector=selector.strip(),
        )

    def rollback(self, name: str, to: str) -> Rollback:
        """Move ``latest`` of ``name`` to the revision ``to`` names (a tag, else a hash or prefix), then
        refresh the instances that follow ``latest``."""
        state = self._state
        with state.lock:
            key = name.strip().lower()
            registry = load_registry(self.root) or Registry({})
            entry = registry.entry(key)
            wanted = to.strip()
            if wanted in entry.tags:
                target = registry.resolve(Selector(key, tag=wanted)).hash
            else:
                try:
                    digest = normalize_hash(wanted)
                except SelectorError:
                    known = ", ".join(sorted(entry.tags)) or "none"
                    raise NotFoundError(
                        f"rollback {key}: {wanted!r} is neither a tag of {key} (tags: {known}) nor a revision hash",
                        selector=f"{key}:{wanted}",
                    ) from None
                target = registry.resolve(Selector(key, hash=digest)).hash
            with edit_registry(self.root, f"rollback {key} latest to {to.strip()}", create=False) as draft:
                previous = draft.assign_tag(key, LATEST, target) or ""
            state.loader.refresh()
            if previous and previous != target:
                state.metrics.tag_reassigned(key, LATEST)
            after = state.loader.registry
            results = tuple(
                self._refresher.refresh_slot(slot, after, restart=False)
                for slot in state.sorted_slots()
                if slot.spec.follows(key, LATEST)
            )
            state.persist()
            return Rollback(key, target, previous, results)


def _deletion_message(
    parsed: Selector, name: str, hashes: tuple[str, ...], tags: tuple[str, ...], latest: str | None
) -> str:
    if parsed.kind == "name":
        head = f"deleted strategy {name}: {len(hashes)} revision(s)"
    elif parsed.kind == "tag":
        head = (
            f"deleted revision {name}@{hashes[0]}, which tag {parsed.tag!r} pointed at "
            "(the whole revision, not just the tag)"
        )
    else:
        head = f"deleted revision {name}@{hashes[0]}"
    gone = f"; tags removed with it: {', '.join(tags)}" if tags else ""
    where = f"; latest is now {latest}" if latest else f"; {name} has no revisions left"
    return head + gone + where
