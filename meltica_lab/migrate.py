"""Migration of a legacy strategies directory to the versioned layout and registry.

:func:`plan_migration` reads a root and returns a :class:`MigrationPlan` without writing anything:
for every ``*.js`` file its name, tag, hash, target path and action, and every conflict. The tag is
the metadata ``tag``, else the older ``version``, else ``v1.0.0`` (flagged). :func:`apply_migration`
carries a plan out: it copies each file to its target, verifies the copy's hash, merges the revisions
into the registry under its lock (existing entries are never clobbered), and only then removes the
flat sources. Every step is safe to interrupt: running the migration again completes it, and running
it on a finished root changes nothing.

The reference bootstrap's faults are fixed deliberately (compat notes §13.22): the dry run writes
nothing, an already versioned file is never rewritten onto itself, ``latest`` follows semantic-version
order, and the hash layout is available.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from meltica_lab.errors import ConflictError, MigrationError, RegistryError
from meltica_lab.files import read_bytes
from meltica_lab.jshost.module import ModuleHost
from meltica_lab.registry import (
    LATEST,
    Registry,
    content_hash,
    edit_registry,
    load_registry,
    module_relpath,
    recover_edits,
)
from meltica_lab.versions import newest

DEFAULT_TAG = "v1.0.0"

# What happens to one file:
#   move           copy to the versioned target, verify, register, remove the source
#   register       the file already sits at its versioned target: register it in place
#   remove-source  an identical copy is already registered at the target: only the source goes
#   skip           already registered at this very path: nothing to do
#   conflict       cannot be migrated until the conflict is resolved (see the plan's conflicts)
ACTIONS = ("move", "register", "remove-source", "skip", "conflict")


@dataclass(frozen=True)
class PlanItem:
    """One ``.js`` file and what the migration does with it. Paths are relative to the root."""

    file: str
    name: str
    tag: str
    tag_source: str
    hash: str
    target: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "file": self.file,
            "name": self.name,
            "tag": self.tag,
            "tagSource": self.tag_source,
            "hash": self.hash,
            "target": self.target,
            "action": self.action,
        }


@dataclass(frozen=True)
class Conflict:
    """A problem found while planning. ``blocking`` conflicts stop ``apply_migration``."""

    kind: str
    file: str
    message: str
    blocking: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "file": self.file, "message": self.message, "blocking": self.blocking}


@dataclass(frozen=True)
class PruneCandidate:
    """A registered revision with no running instance in a usage export, and why it is listed."""

    name: str
    hash: str
    tags: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "hash": self.hash, "tags": list(self.tags), "reason": self.reason}


@dataclass(frozen=True)
class MigrationPlan:
    """Everything a migration would do, computed without writing anything."""

    root: Path
    layout: str
    items: tuple[PlanItem, ...]
    conflicts: tuple[Conflict, ...]
    latest: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    pruning: tuple[PruneCandidate, ...] = ()

    @property
    def blocking(self) -> tuple[Conflict, ...]:
        """Conflicts that must be resolved before ``--write``."""
        return tuple(c for c in self.conflicts if c.blocking)

    @property
    def changes(self) -> tuple[PlanItem, ...]:
        """Items that change something on disk."""
        return tuple(i for i in self.items if i.action in ("move", "register", "remove-source"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``meltica-lab migrate --json`` prints)."""
        return {
            "root": str(self.root),
            "layout": self.layout,
            "items": [i.to_dict() for i in self.items],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "latest": dict(sorted(self.latest.items())),
            "notes": list(self.notes),
            "pruning": [p.to_dict() for p in self.pruning],
        }

    def to_frame(self) -> Any:
        """The plan as a pandas DataFrame, one row per file."""
        import pandas as pd

        columns = ["file", "name", "tag", "tagSource", "hash", "target", "action"]
        return pd.DataFrame([i.to_dict() for i in self.items], columns=columns)


@dataclass(frozen=True)
class MigrationResult:
    """What :func:`apply_migration` did."""

    plan: MigrationPlan
    copied: tuple[str, ...]
    registered: tuple[str, ...]
    removed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "plan": self.plan.to_dict(),
            "copied": list(self.copied),
            "registered": list(self.registered),
            "removed": list(self.removed),
        }


def _read(path: Path) -> bytes:
    """A module file's bytes: a regular file within the size limit, else a :class:`MigrationError`."""
    return read_bytes(path, what="module", error=MigrationError)


def _intact(path: Path, item: PlanItem) -> bool:
    """Whether a registered revision's file is there with the planned bytes."""
    try:
        return content_hash(_read(path)) == item.hash
    except FileNotFoundError:
        return False


def _discover(root: Path) -> list[Path]:
    """Every ``.js``/``.mjs`` file under the root, skipping hidden files and directories."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and name.lower().endswith((".js", ".mjs")):
                found.append(Path(dirpath) / name)
    return found


def plan_migration(
    root: str | Path,
    *,
    layout: str = "tag",
    usage: Any = None,
    host: ModuleHost | None = None,
) -> MigrationPlan:
    """Plan the migration of ``root``; writes nothing.

    ``usage`` (a path, URL, dict or list accepted by :func:`meltica_lab.usage.read_usage_export`)
    adds pruning candidates: registered revisions with zero running instances. ``host`` evaluates
    the modules (a workspace's :attr:`~meltica_lab.workspace.Workspace.host`); without one, the call
    makes one and closes it.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise MigrationError(f"strategies root {root_path} is not a directory", path=str(root_path))
    if layout not in ("tag", "hash"):
        raise MigrationError(f"layout {layout!r} is not supported: expected 'tag' or 'hash'", field="layout")
    registry = load_registry(root_path) or Registry.from_dict({})
    registered_paths = {
        loc.path: (name, digest) for name, entry in registry.strategies.items() for digest, loc in entry.hashes.items()
    }
    items: list[PlanItem] = []
    conflicts: list[Conflict] = []
    real_root = root_path.resolve()
    # a host the caller owns stays open; without one, this call owns one and closes it
    with contextlib.nullcontext(host) if host is not None else ModuleHost() as module_host:
        for path in _discover(root_path):
            rel = path.relative_to(root_path).as_posix()
            resolved = path.resolve()
            if not resolved.is_relative_to(real_root):
                # a symlink out of the root: its code is not the operator's to register from here
                conflicts.append(
                    Conflict(
                        "outside-root",
                        rel,
                        f"{rel} resolves outside the root (to {resolved}); "
                        "copy the module into the root or remove the link",
                    )
                )
                continue
            try:
                data = _read(path)
            except FileNotFoundError:  # removed since the walk listed it (a concurrent prune): not there to plan
                continue
            except MigrationError as exc:  # a FIFO, a directory named *.js, a file over the size limit
                conflicts.append(Conflict("unreadable", rel, exc.message))
                continue
            item, problems = _plan_file(root_path, rel, data, layout, registry, registered_paths, module_host)
            conflicts.extend(problems)
            if item is not None:
                items.append(item)
    items, more = _cross_check(items, registry)
    conflicts.extend(more)
    latest, notes = _plan_latest(items, registry)
    plan = MigrationPlan(root_path, layout, tuple(items), tuple(conflicts), latest, tuple(notes))
    if usage is not None:
        plan = replace(plan, pruning=tuple(_pruning(plan, registry, usage)))
    return plan


def _plan_file(
    root: Path,
    rel: str,
    data: bytes,
    layout: str,
    registry: Registry,
    registered_paths: dict[str, tuple[str, str]],
    host: ModuleHost,
) -> tuple[PlanItem | None, list[Conflict]]:
    digest = content_hash(data)
    if rel in registered_paths:
        name, registered = registered_paths[rel]
        if registered == digest:
            tag = registry.strategies[name].hashes[digest].tag
            return PlanItem(rel, name, tag, "registry", digest, rel, "skip"), []
        return None, [
            Conflict(
                "hash-mismatch",
                rel,
                f"{rel} is registered as {registered} but its bytes hash to "
                f"{digest}; restore the file or fix the registry first",
            )
        ]
    report = host.inspect(data, filename=rel)
    if report.metadata is None or not report.ok:
        detail = "; ".join(d.describe() for d in report.diagnostics) or report.headline
        return None, [Conflict("invalid-metadata", rel, f"{rel}: {report.headline}: {detail}")]
    meta = report.metadata
    problems: list[Conflict] = []
    tag, source = meta.tag, meta.tag_source or "default"
    if not tag:
        tag = DEFAULT_TAG
        problems.append(
            Conflict("missing-tag", rel, f"{rel}: metadata has no tag or version; using {DEFAULT_TAG}", blocking=False)
        )
    elif source == "version":
        problems.append(
            Conflict(
                "version-key", rel, f"{rel}: tag {tag!r} taken from the older metadata 'version' key", blocking=False
            )
        )
    try:
        target = module_relpath(meta.name, tag, digest, layout)
    except RegistryError as exc:
        return None, [*problems, Conflict("invalid-tag", rel, f"{rel}: {exc.message}")]
    if rel == target:
        action = "register"
    else:
        other = registered_paths.get(target)
        if other is not None and other[1] == digest:
            action = "remove-source"
        elif (root / target).exists():
            action = "remove-source" if _read(root / target) == data else "conflict"
            if action == "conflict":
                problems.append(
                    Conflict(
                        "target-exists",
                        rel,
                        f"{rel}: target {target} already holds different bytes; it is never overwritten",
                    )
                )
        else:
            action = "move"
    return PlanItem(rel, meta.name, tag, source, digest, target, action), problems


def _cross_check(items: list[PlanItem], registry: Registry) -> tuple[list[PlanItem], list[Conflict]]:
    """Conflicts between files, and between files and the existing registry."""
    conflicts: list[Conflict] = []
    by_name: dict[str, list[PlanItem]] = defaultdict(list)
    for item in items:
        by_name[item.name].append(item)
    blocked: set[str] = set()
    for name, group in by_name.items():
        # Flat files sharing a name were an error in the gateway's legacy mode; here they become
        # revisions of one strategy, which the operator should know. Copies of one revision (a source
        # and its copy) are not duplicates, and files already in versioned places are revisions by design.
        revisions = {i.hash: i.file for i in group if i.file != i.target}
        if len(revisions) > 1:
            files = sorted(revisions.values())
            conflicts.append(
                Conflict(
                    "duplicate-name",
                    files[0],
                    f"{len(files)} different modules share the strategy name {name!r}: {', '.join(files)}",
                    blocking=False,
                )
            )
        by_tag: dict[str, list[PlanItem]] = defaultdict(list)
        for item in group:
            by_tag[item.tag].append(item)
        existing = registry.strategies.get(name)
        for tag, tagged in by_tag.items():
            hashes = {i.hash for i in tagged}
            registered = existing.tag_target(tag) if existing and tag in existing.tags else None
            if registered is not None:
                hashes.add(registered)
            if len(hashes) > 1:
                listed = ", ".join(sorted({i.file for i in tagged}))
                where = " and the registry" if registered is not None else ""
                conflicts.append(
                    Conflict(
                        "tag-conflict",
                        tagged[0].file,
                        f"{name}:{tag} has different bytes in {listed}{where}; give each revision its own tag",
                    )
                )
                blocked.update(i.file for i in tagged if i.action != "skip")
    planned = [replace(i, action="conflict") if i.file in blocked else i for i in items]
    return planned, conflicts


def _plan_latest(items: Iterable[PlanItem], registry: Registry) -> tuple[dict[str, str], list[str]]:
    """``latest`` per strategy: kept when the registry has one, else the newest tag by semver."""
    latest: dict[str, str] = {}
    notes: list[str] = []
    tags_by_name: dict[str, dict[str, str]] = defaultdict(dict)
    for name, entry in registry.strategies.items():
        for digest, loc in entry.hashes.items():
            tags_by_name[name][loc.tag] = digest
    for item in items:
        if item.action != "conflict":
            tags_by_name[item.name].setdefault(item.tag, item.hash)
    for name, tags in sorted(tags_by_name.items()):
        top = newest(tags)
        entry = registry.strategies.get(name)
        current = entry.tag_target(LATEST) if entry and LATEST in entry.tags else None
        if current is not None:
            latest[name] = current
            if top is not None and tags[top] != current:
                notes.append(
                    f"{name}: latest stays at {current[:19]}; newer tag {top} is available "
                    f"(promote it with `meltica-lab tag {name} latest {tags[top][:19]}`)"
                )
        elif top is not None:
            latest[name] = tags[top]
    return latest, notes


def _pruning(plan: MigrationPlan, registry: Registry, usage: Any) -> list[PruneCandidate]:
    from meltica_lab.usage import read_usage_export

    export = read_usage_export(usage)
    counts = {(r.strategy.lower(), r.hash.strip()): r for r in export.usage}
    revisions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, entry in registry.strategies.items():
        for digest in entry.hashes:
            revisions[(name, digest)].update(entry.tags_of(digest))
    for item in plan.items:
        if item.action != "conflict":
            revisions[(item.name, item.hash)].add(item.tag)
    out = []
    for (name, digest), tags in sorted(revisions.items()):
        record = counts.get((name, digest))
        if record is None:
            reason = "no usage entry: no instance has run it since the gateway started"
        elif record.count == 0:
            seen = record.last_seen.isoformat() if record.last_seen else "never"
            reason = f"0 running instances (last seen {seen})"
        else:
            continue
        if plan.latest.get(name) == digest:
            reason += "; note: it is latest"
        out.append(PruneCandidate(name, digest, tuple(sorted(tags)), reason))
    return out


def apply_migration(plan: MigrationPlan) -> MigrationResult:
    """Carry out a plan made by :func:`plan_migration`.

    Refuses (changing nothing) when the plan has blocking conflicts or a source file changed since
    planning. Copying, verifying and merging the registry are one registry transaction (under its
    lock, journaled: a crash before the registry is written removes the copies); the sources are
    removed after it. An interruption at any point is completed by migrating again.
    """
    if plan.blocking:
        listed = "; ".join(c.message for c in plan.blocking)
        raise MigrationError(
            f"{plan.root}: {len(plan.blocking)} blocking conflict(s), nothing written: {listed}", path=str(plan.root)
        )
    root = plan.root
    copied = []
    registered = []
    # One registry transaction: copies, checks and registration happen under the registry lock, so a
    # concurrent prune or upload sees either none of the migration or all of it; a crash before the
    # registry is written removes the copies again (the sources are untouched until after it).
    with edit_registry(root, "migrate") as draft:
        for item in plan.changes:
            actual = content_hash(_read(root / item.file))
            if actual != item.hash:
                raise MigrationError(
                    f"{root / item.file} changed since the plan was made ({actual} != {item.hash}); plan again",
                    path=str(root / item.file),
                )
        current = draft.registry()
        had_latest = {name for name, entry in current.strategies.items() if LATEST in entry.tags}
        for item in plan.items:
            if item.action in ("skip", "conflict"):
                continue
            entry = current.strategies.get(item.name)
            if entry is not None and item.hash in entry.hashes and _intact(root / entry.hashes[item.hash].path, item):
                if item.tag not in entry.tags:  # the legacy file's tag names it: a prune must not take it
                    draft.assign_tag(item.name, item.tag, item.hash)
                continue
            if item.file != item.target or item.action == "move":
                # the target may have gone since planning (a prune): copy it (again) from the source
                try:
                    stored = draft.store(_read(root / item.file), name=item.name, tag=item.tag, layout=plan.layout)
                except ConflictError:
                    raise MigrationError(
                        f"{root / item.target} holds other bytes than {item.file} now; plan again",
                        path=str(root / item.target),
                    ) from None
                if stored.path != item.target or stored.hash != item.hash:
                    raise MigrationError(
                        f"copy of {item.file} to {stored.path} failed verification; the source is kept",
                        path=str(root / stored.path),
                    )
                if stored.created:
                    copied.append(stored.path)
            draft.add_revision(item.name, item.hash, item.tag, item.target)
            registered.append(item.target)
        for name, digest in plan.latest.items():
            if name not in had_latest:
                draft.assign_tag(name, LATEST, digest)
    removed = []
    for item in plan.items:
        if item.action in ("move", "remove-source") and item.file != item.target:
            (root / item.file).unlink(missing_ok=True)
            removed.append(item.file)
    return MigrationResult(plan, tuple(copied), tuple(registered), tuple(removed))


def migrate(
    root: str | Path,
    *,
    write: bool = False,
    layout: str = "tag",
    usage: Any = None,
    host: ModuleHost | None = None,
) -> MigrationPlan | MigrationResult:
    """Plan, and with ``write=True`` apply, the migration of ``root`` (the dry run is the default);
    ``host`` as for :func:`plan_migration`."""
    if write:
        recover_edits(root)  # plan on the settled tree, not on the files of an edit killed mid-way
    plan = plan_migration(root, layout=layout, usage=usage, host=host)
    return apply_migration(plan) if write else plan


__all__ = [
    "ACTIONS",
    "Conflict",
    "MigrationPlan",
    "MigrationResult",
    "PlanItem",
    "PruneCandidate",
    "apply_migration",
    "migrate",
    "plan_migration",
]
