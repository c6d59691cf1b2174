"""``registry.json``: the versioned strategy registry, byte-compatible with the gateway's file.

Shape (compat notes §1): ``{name: {"tags": {tag: hash}, "hashes": {hash: {"tag", "path"}}}}``. Hashes are
``sha256:`` + lower-case hex of the module file's raw bytes; paths are relative to the strategies root
with ``/``. :class:`Registry` is an immutable, validated model with the gateway's selector resolution;
:func:`edit_registry` is the only way to change the file: an inter-process lock, a fresh read, the
change, a temporary file, fsync, an atomic replace, and one line per tag change in the append-only
tag history beside the registry.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cachetools import LRUCache

from meltica_lab.errors import (
    AmbiguousHashError,
    ConflictError,
    NotFoundError,
    RegistryError,
    SelectorError,
)
from meltica_lab.files import (
    check_regular,
    create_new,
    decode_text,
    fsync_dir,
    loads_json,
    open_regular,
    read_bytes,
    read_text,
    shorten,
    temp_path,
    write_atomic,
)
from meltica_lab.hashing import content_hash  # re-exported: callers look for it here
from meltica_lab.journal import INTENT_FILE, TRASH_DIR, Journal, recover
from meltica_lab.selectors import HASH_PREFIX, Selector, is_full_hash, normalize_hash
from meltica_lab.versions import version_key

REGISTRY_FILE = "registry.json"
HISTORY_FILE = "registry.history.jsonl"
LOCK_FILE = ".registry.json.lock"
LOCK_TIMEOUT_SECONDS = 60.0
LATEST = "latest"
MAX_SEGMENT_BYTES = 255
"""The longest strategy name or tag, in bytes: one directory name on common file systems."""


def check_segment(value: str, what: str) -> str:
    """A name or tag used as a directory name: non-empty, no ``..``, ``/`` or ``\\``, at most
    :data:`MAX_SEGMENT_BYTES` bytes of UTF-8 (what a file system takes as one name)."""
    if len(value.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
        raise RegistryError(
            f"{what} {shorten(value)!r} is too long to be a directory name: expected at most {MAX_SEGMENT_BYTES} bytes",
            field=what,
        )
    if not value or ".." in value or "/" in value or "\\" in value or value != value.strip():
        raise RegistryError(
            f"{what} {shorten(value)!r} cannot be used as a path segment: expected non-empty text without "
            "'..', '/', '\\' or surrounding spaces",
            field=what,
        )
    return value


def module_relpath(name: str, tag: str, digest: str, layout: str) -> str:
    """Where a revision lives: ``<name>/<tag>/<name>.js`` (tag layout) or ``<name>/<64hex>/<name>.js``."""
    if layout not in ("tag", "hash"):
        raise RegistryError(f"layout {layout!r} is not supported: expected 'tag' or 'hash'", field="layout")
    folder = check_segment(tag, "tag") if layout == "tag" else digest.removeprefix(HASH_PREFIX)
    return f"{check_segment(name, 'strategy name')}/{folder}/{name}.js"


@dataclass(frozen=True)
class Location:
    """Where a revision's file is, and its primary tag (``hashes[h]`` in the file)."""

    tag: str
    path: str
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class StrategyEntry:
    """One strategy: ``tags`` (tag -> hash as written) and ``hashes`` (hash -> :class:`Location`)."""

    tags: Mapping[str, str]
    hashes: Mapping[str, Location]
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @cached_property
    def _targets(self) -> dict[str, str]:
        # Validated on parse; normalised once here because listings ask for it per revision.
        return {tag: normalize_hash(value, allow_prefix=False) for tag, value in self.tags.items()}

    @cached_property
    def _tags_by_hash(self) -> dict[str, tuple[str, ...]]:
        by_hash: dict[str, set[str]] = {}
        for tag, digest in self._targets.items():
            by_hash.setdefault(digest, set()).add(tag)
        for digest, location in self.hashes.items():
            if location.tag:
                by_hash.setdefault(digest, set()).add(location.tag)
        return {digest: tuple(sorted(tags)) for digest, tags in by_hash.items()}

    def tag_target(self, tag: str) -> str | None:
        """The normalised hash a tag points at (the file may hold bare or upper-case hex)."""
        return self._targets.get(tag)

    def default_hash(self) -> str | None:
        """``latest`` when set, else the smallest hash (the gateway's fallback)."""
        latest = self.tags.get(LATEST, "").strip()
        if latest:
            return normalize_hash(latest, allow_prefix=False)
        return min(self.hashes) if self.hashes else None

    def tags_of(self, digest: str) -> tuple[str, ...]:
        """Every tag pointing at ``digest`` plus its primary tag, de-duplicated and sorted."""
        return self._tags_by_hash.get(digest, ())


@dataclass(frozen=True)
class StoredModule:
    """A module file put in place by :meth:`RegistryDraft.store`: its ``hash`` and ``path`` (relative
    to the root), whether the file was ``created`` now, and whether the bytes were already
    ``registered`` as a revision of the strategy."""

    hash: str
    path: str
    created: bool
    registered: bool


@dataclass(frozen=True)
class Resolution:
    """What a selector resolved to: strategy ``name``, ``hash``, canonical ``tag`` and ``alias``.

    ``tag`` is the revision's primary tag; ``alias`` is the tag that was asked for (``name:prod``
    gives ``prod``), else the default tag (``latest`` when it points here). ``selector`` is the
    canonical selector that keeps meaning the same thing: ``name@hash`` for anything given by hash
    (bare hashes stay pinned), ``name:tag`` with the tag as asked (it keeps following that tag), else
    ``name`` (follows ``latest``).
    """

    name: str
    hash: str
    tag: str
    alias: str
    selector: str


@dataclass(frozen=True)
class Registry:
    """A validated, immutable ``registry.json``. Build with :func:`load_registry` or :meth:`from_dict`.

    ``warnings`` lists oddities that do not stop reading (unknown keys, dangling non-``latest`` tags).
    """

    strategies: Mapping[str, StrategyEntry]
    path: Path | None = None
    warnings: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, path: Path | None = None, root: Path | None = None) -> Registry:
        """Validate a decoded registry document. Paths must be relative without ``..``; with ``root``
        they must also resolve (symlinks followed) inside it."""
        return _Parser(path, root).parse(data)

    @classmethod
    def from_text(cls, text: str, *, path: Path | None = None, root: Path | None = None) -> Registry:
        """Parse registry JSON text; empty text and ``null`` are an empty registry (as the gateway).

        A key given twice in one object is an error: a JSON reader would silently keep the last one,
        and the next write would drop the other for good.
        """
        where = str(path) if path else "registry.json"
        if not text.strip():
            return cls.from_dict({}, path=path, root=root)

        def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            data = dict(pairs)
            if len(data) != len(pairs):
                twice = next(key for key in data if sum(1 for k, _ in pairs if k == key) > 1)
                raise RegistryError(
                    f"{where}: duplicate key {twice!r} in one object: expected each key once", path=where
                )
            return data

        def not_json(constant: str) -> Any:
            raise RegistryError(f"{where}: {constant} is not a JSON value (the gateway cannot read it)", path=where)

        data = loads_json(
            text, where, what="registry", error=RegistryError, object_pairs_hook=unique_keys, parse_constant=not_json
        )
        return cls.from_dict({} if data is None else data, path=path, root=root)

    # -- queries ------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Strategy names, sorted."""
        return sorted(self.strategies)

    def entry(self, name: str) -> StrategyEntry:
        """The entry for ``name`` (case-insensitive); :class:`NotFoundError` with suggestions."""
        key = name.strip().lower()
        try:
            return self.strategies[key]
        except KeyError:
            import difflib  # only a miss needs it; reading the registry does not

            near = difflib.get_close_matches(key, self.strategies, n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise NotFoundError(f"strategy {shorten(key)!r} not found in the registry{hint}", selector=name) from None

    def all_hashes(self) -> dict[str, str]:
        """Every hash -> the strategy that owns it."""
        return {digest: name for name, entry in self.strategies.items() for digest in entry.hashes}

    def resolve(self, selector: str | Selector) -> Resolution:
        """Resolve a selector with the gateway's rules (compat §4.2) plus unique hash prefixes."""
        sel = selector if isinstance(selector, Selector) else Selector.parse(selector)
        text = str(selector).strip()
        if sel.name is None:
            name, digest = self._find_hash(str(sel.hash), None, text)
            return self._resolution(name, digest, None, f"{name}@{digest}")
        entry = self.entry(sel.name)
        if sel.hash is not None:
            _, digest = self._find_hash(sel.hash, sel.name, text)
            return self._resolution(sel.name, digest, None, f"{sel.name}@{digest}")
        if sel.tag is not None:
            target = entry.tags.get(sel.tag)
            if target is not None:
                digest = entry.tag_target(sel.tag) or ""
                if digest not in entry.hashes:
                    raise NotFoundError(
                        f"tag {shorten(sel.tag)!r} of {sel.name} references unknown hash {shorten(target)!r}",
                        selector=text,
                    )
                return self._resolution(sel.name, digest, sel.tag, f"{sel.name}:{sel.tag}")
            if sel.tag.lower() != LATEST:
                known = ", ".join(sorted(entry.tags)) or "none"
                raise NotFoundError(
                    f"tag {shorten(sel.tag)!r} not found for {shorten(sel.name)} "
                    f"(tags are case-sensitive; known: {known})",
                    selector=text,
                )
        digest = entry.default_hash()
        if digest is None:
            raise NotFoundError(f"strategy {sel.name!r} has no revisions", selector=text)
        return self._resolution(sel.name, digest, None, str(sel))

    def _find_hash(self, digest: str, name: str | None, text: str) -> tuple[str, str]:
        owners = self.all_hashes()
        if is_full_hash(digest):
            owner = owners.get(digest)
            if owner is None:
                where = f" for {name}" if name else ""
                raise NotFoundError(f"hash {digest!r} not found{shorten(where)}", selector=text)
            if name is not None and owner != name:
                raise NotFoundError(f"hash {digest!r} belongs to {owner}, not {name}", selector=text)
            return owner, digest
        pool = owners if name is None else {h: n for h, n in owners.items() if n == name}
        matches = sorted(h for h in pool if h.startswith(digest))
        if not matches:
            where = f" for {name}" if name else ""
            raise NotFoundError(f"no revision hash starts with {digest!r}{where}", selector=text)
        if len(matches) > 1:
            listed = ", ".join(f"{owners[h]}@{h}" for h in matches)
            raise AmbiguousHashError(
                f"hash prefix {digest!r} is ambiguous: {len(matches)} revisions match ({listed})",
                candidates=matches,
                selector=text,
            )
        return owners[matches[0]], matches[0]

    def _resolution(self, name: str, digest: str, asked_tag: str | None, canonical: str) -> Resolution:
        entry = self.strategies[name]
        primary = entry.hashes[digest].tag
        alias = asked_tag if asked_tag is not None else self.default_tag(name, digest)
        return Resolution(name=name, hash=digest, tag=primary or alias, alias=alias, selector=canonical)

    def default_tag(self, name: str, digest: str) -> str:
        """``latest`` if it points at ``digest``, else the primary tag, else the first tag by name."""
        entry = self.strategies[name]
        if entry.tag_target(LATEST) == digest:
            return LATEST
        location = entry.hashes.get(digest)
        if location and location.tag:
            return location.tag
        tags = entry.tags_of(digest)
        return tags[0] if tags else ""

    # -- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The registry document, ready for ``json.dumps``, keys in the gateway's order."""
        out: dict[str, Any] = {}
        for name in sorted(self.strategies):
            entry = self.strategies[name]
            hashes = {
                digest: {"tag": loc.tag, "path": loc.path, **dict(sorted(loc.extra.items()))}
                for digest, loc in sorted(entry.hashes.items())
            }
            out[name] = {"tags": dict(sorted(entry.tags.items())), "hashes": hashes, **dict(entry.extra)}
        out.update(self.extra)
        return out

    def dumps(self) -> str:
        """The file text: map keys sorted, ``tags`` before ``hashes``, two-space indent, newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


class _Parser:
    """Validates a decoded document; every error names the file, the key path and what was expected."""

    def __init__(self, path: Path | None, root: Path | None) -> None:
        self.where = str(path) if path else "registry.json"
        self.path = path
        self.root = root
        self.guard = RootGuard(root) if root is not None else None
        self.warnings: list[str] = []

    def fail(self, key: str, message: str) -> RegistryError:
        return RegistryError(f"{self.where}: {key}: {message}", path=self.where, field=key)

    def parse(self, data: Any) -> Registry:
        if not isinstance(data, dict):
            raise self.fail("(top level)", f"expected an object of strategies, got {_kind(data)}")
        strategies: dict[str, StrategyEntry] = {}
        for raw_name, raw_entry in data.items():
            name = raw_name.strip().lower()
            if not name:
                raise self.fail(repr(raw_name), "strategy name is empty")
            if name in strategies:
                raise self.fail(raw_name, f"duplicate strategy name (case-insensitive) {name!r}")
            strategies[name] = self.entry(raw_name, raw_entry)
        owners: dict[str, str] = {}
        for name, entry in strategies.items():
            for digest in entry.hashes:
                other = owners.setdefault(digest, name)
                if other != name:
                    raise self.fail(
                        f"{name}.hashes[{digest!r}]",
                        f"the same hash is also listed under {other}: a revision belongs to one strategy",
                    )
        return Registry(MappingProxyType(strategies), self.path, tuple(self.warnings))

    def entry(self, key: str, raw: Any) -> StrategyEntry:
        if not isinstance(raw, dict):
            raise self.fail(key, f"expected an object with 'tags' and 'hashes', got {_kind(raw)}")
        extra = self.kept(key, {k: v for k, v in raw.items() if k not in ("tags", "hashes")})
        if extra:
            self.warnings.append(f"{self.where}: {key}: unknown keys kept as they are: {', '.join(extra)}")
        hashes: dict[str, Location] = {}
        for digest, loc in self.mapping(f"{key}.hashes", raw.get("hashes")).items():
            where = f"{key}.hashes[{digest!r}]"
            if not is_full_hash(digest):
                raise self.fail(where, "hash keys must be 'sha256:' followed by 64 lower-case hex digits")
            hashes[digest] = self.location(where, key, digest, loc)
        tags: dict[str, str] = {}
        for tag, target in self.mapping(f"{key}.tags", raw.get("tags")).items():
            where = f"{key}.tags[{tag!r}]"
            if not isinstance(target, str):
                raise self.fail(where, f"expected a hash string, got {_kind(target)}")
            try:
                digest = normalize_hash(target, allow_prefix=False)
            except SelectorError:
                raise self.fail(where, f"expected a sha256 hash, got {target!r}") from None
            if digest not in hashes:
                if tag == LATEST:
                    raise self.fail(where, f"'latest' points at {target!r}, which is not among the hashes")
                self.warnings.append(f"{self.where}: {where}: points at unknown hash {target!r}")
            tags[tag] = target
        return StrategyEntry(MappingProxyType(tags), MappingProxyType(hashes), MappingProxyType(extra))

    def mapping(self, key: str, raw: Any) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(key, f"expected an object, got {_kind(raw)}")
        return raw

    def location(self, where: str, name: str, digest: str, raw: Any) -> Location:
        if not isinstance(raw, dict):
            raise self.fail(where, f"expected an object with 'tag' and 'path', got {_kind(raw)}")
        tag, rel = raw.get("tag", ""), raw.get("path")
        if not isinstance(tag, str):
            raise self.fail(f"{where}.tag", f"expected a string, got {_kind(tag)}")
        if not isinstance(rel, str) or not rel.strip():
            raise self.fail(f"{where}.path", f"expected a relative path string, got {_kind(rel)}")
        if "\x00" in rel:
            raise self.fail(f"{where}.path", f"path {rel!r} contains a NUL character: expected a file path")
        self.check_path(f"{where}.path", rel)
        extra = self.kept(where, {k: v for k, v in raw.items() if k not in ("tag", "path")})
        if extra:
            self.warnings.append(f"{self.where}: {where}: unknown keys kept as they are: {', '.join(extra)}")
        return Location(tag=tag, path=rel, extra=MappingProxyType(extra))

    def kept(self, where: str, extra: dict[str, Any]) -> dict[str, Any]:
        """Unknown keys, which are written back as they are: only if JSON can carry their values."""
        if extra:
            try:
                json.dumps(extra, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise self.fail(where, f"an unknown key holds a value JSON cannot carry ({exc})") from None
        return extra

    def check_path(self, where: str, rel: str) -> None:
        posix = rel.replace("\\", "/")
        if posix.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
            raise self.fail(where, f"path {rel!r} is absolute: expected a path relative to the root")
        if ".." in posix.split("/"):
            raise self.fail(where, f"path {rel!r} contains '..': expected a path inside the root")
        if self.guard is not None:
            outside = self.guard.escapes(rel)
            if outside is not None:
                raise self.fail(where, f"path {rel!r} resolves outside the root {self.root} (to {outside})")


class RootGuard:
    """Tells whether a relative path leads out of a root through symlinks.

    Only the components below the root are examined (one ``lstat`` each, remembered per directory),
    and a full ``realpath`` is taken only when one of them is a link: a plain tree costs one ``lstat``
    per new directory and file.
    """

    def __init__(self, root: str | Path) -> None:
        self.base = os.path.abspath(root)
        self.real = os.path.realpath(root)
        self._links: dict[str, bool] = {}

    def escapes(self, rel: str) -> str | None:
        """Where ``root/rel`` really leads when that is outside the root, else ``None``."""
        prefix = self.base
        for part in rel.replace("\\", "/").split("/"):
            prefix = os.path.join(prefix, part)
            is_link = self._links.get(prefix)
            if is_link is None:
                is_link = self._links[prefix] = os.path.islink(prefix)
            if is_link:
                resolved = os.path.realpath(os.path.join(self.base, rel))
                inside = resolved == self.real or resolved.startswith(self.real.rstrip(os.sep) + os.sep)
                return None if inside else resolved
        return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# -- reading ----------------------------------------------------------------------------------------
def registry_path(root: str | Path) -> Path:
    """``<root>/registry.json``."""
    return Path(root) / REGISTRY_FILE


class ParsedRegistries:
    """Parsed ``registry.json`` documents, remembered by file identity (path, size, mtime, inode).

    A parsed :class:`Registry` is immutable, so an unchanged file is parsed once: a warm refresh of a
    10,000-revision registry then skips the parse. A workspace owns one (shared by its loaders); a
    :class:`~meltica_lab.loader.Loader` made alone has its own. Thread-safe.
    """

    def __init__(self, maxsize: int = 64) -> None:
        self._parsed: LRUCache[tuple[str, int, int, int, bool], Registry] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int, int, bool]) -> Registry | None:
        """The registry parsed from the file with this identity, if remembered."""
        with self._lock:
            return self._parsed.get(key)

    def put(self, key: tuple[str, int, int, int, bool], registry: Registry) -> None:
        """Remember ``registry`` as the parse of the file with this identity."""
        with self._lock:
            self._parsed[key] = registry

    def clear(self) -> None:
        """Forget every parsed document."""
        with self._lock:
            self._parsed.clear()


def load_registry(
    root: str | Path, *, follow_links: bool = True, memo: ParsedRegistries | None = None
) -> Registry | None:
    """Read and validate ``<root>/registry.json``; ``None`` when the file does not exist.

    ``follow_links=False`` skips the symlink containment check (one realpath per revision) for
    callers that check each file as they open it, as the loader does. With ``memo`` an unchanged
    file (same size, mtime and inode) is parsed once; without one the file is always read (as an
    edit under the lock must be).
    """
    path = registry_path(root)
    try:
        with open_regular(path, what="registry", error=RegistryError) as handle:
            st = os.fstat(handle.fileno())
            key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, follow_links)
            known = memo.get(key) if memo is not None else None
            if known is not None:
                return known
            raw = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read: {exc.strerror}", path=str(path)) from None
    text = decode_text(raw, path, what="registry", error=RegistryError)
    registry = Registry.from_text(text, path=path, root=Path(root) if follow_links else None)
    if memo is not None and len(raw) == st.st_size:  # not rewritten while being read: safe under this stat
        memo.put(key, registry)
    return registry


# -- tag history ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TagChange:
    """One line of the tag history: ``tag`` of ``strategy`` moved from ``from_hash`` to ``to_hash``.

    ``from_hash`` is ``None`` when the tag was created, ``to_hash`` ``None`` when it was removed.
    """

    time: datetime
    strategy: str
    tag: str
    from_hash: str | None
    to_hash: str | None
    reason: str
    actor: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON line written to the history file."""
        return {
            "time": self.time.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "strategy": self.strategy,
            "tag": self.tag,
            "from": self.from_hash,
            "to": self.to_hash,
            "reason": self.reason,
            "actor": self.actor,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TagChange:
        """Inverse of :meth:`to_dict`."""
        return cls(
            time=datetime.fromisoformat(str(data["time"]).replace("Z", "+00:00")),
            strategy=str(data["strategy"]),
            tag=str(data["tag"]),
            from_hash=data.get("from"),
            to_hash=data.get("to"),
            reason=str(data.get("reason", "")),
            actor=str(data.get("actor", "")),
        )


def read_tag_history(root: str | Path, strategy: str | None = None) -> list[TagChange]:
    """Every recorded tag change, oldest first, optionally for one strategy.

    A line cut short by a crash mid-append is skipped; any other bad line is an error naming it.
    """
    path = Path(root) / HISTORY_FILE
    try:
        lines = read_text(path, what="tag history", error=RegistryError).splitlines()
    except FileNotFoundError:
        return []
    changes = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            change = TagChange.from_dict(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            if number == len(lines):
                continue
            raise RegistryError(f"{path}: line {number}: not a tag change record: {exc}", path=str(path)) from None
        if strategy is None or change.strategy == strategy.strip().lower():
            changes.append(change)
    return changes


def _tag_changes(before: Registry | None, after: Registry, reason: str) -> list[TagChange]:
    now = datetime.now(UTC)
    actor = _actor()
    changes = []
    names = set(after.strategies) | set(before.strategies if before else {})
    for name in sorted(names):
        old = before.strategies.get(name) if before else None
        new = after.strategies.get(name)
        old_tags = {t: old.tag_target(t) for t in old.tags} if old else {}
        new_tags = {t: new.tag_target(t) for t in new.tags} if new else {}
        for tag in sorted(set(old_tags) | set(new_tags)):
            if old_tags.get(tag) != new_tags.get(tag):
                changes.append(TagChange(now, name, tag, old_tags.get(tag), new_tags.get(tag), reason, actor))
    return changes


def _actor() -> str:
    import getpass  # only an edit records who made it

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


# -- editing ----------------------------------------------------------------------------------------
class RegistryDraft:
    """A registry being edited inside :func:`edit_registry`. Changes are written when the block ends.

    Methods validate as they go and raise without changing anything on disk.
    """

    def __init__(self, root: Path, current: Registry | None, journal: Journal | None = None) -> None:
        self.root = root
        self.before = current
        self.data: dict[str, Any] = current.to_dict() if current else {}
        self.journal = journal
        self.dropped: list[str] = []
        self.files_removed: tuple[str, ...] = ()
        """The module files the transaction removed (set when the block has committed)."""

    def store(self, source: bytes, *, name: str, tag: str, layout: str | None = None) -> StoredModule:
        """Put ``source`` on disk for ``name`` as part of this transaction (under the lock).

        Bytes already registered for ``name`` with their file intact reuse it (``registered``). Else
        the tag layout is used unless its path holds other bytes, then the hash layout (``layout``
        forces one; its path holding other bytes is a :class:`ConflictError`). A file already there
        with the same bytes is reused; a new one is journaled first, so a failed or crashed
        transaction removes it again.
        """
        digest = content_hash(source)
        key = check_segment(name.strip().lower(), "strategy name")
        known = (self.data.get(key) or {}).get("hashes") or {}
        if digest in known:
            rel = str(known[digest]["path"])
            if self._holds(rel, source):
                return StoredModule(digest, rel, created=False, registered=True)
        layouts = [layout] if layout is not None else ["tag", "hash"]
        for chosen in layouts:
            rel = module_relpath(key, tag, digest, chosen)
            target = self.root / rel
            if not (target.exists() or target.is_symlink()):
                try:
                    if self.journal is not None:
                        self.journal.will_create(rel)
                    store_module(self.root, source, name=key, tag=tag, layout=chosen)
                except OSError as exc:
                    raise RegistryError(
                        f"{exc.filename or target}: cannot write the module file: {exc.strerror}", path=str(target)
                    ) from None
                return StoredModule(digest, rel, created=True, registered=False)
            if self._holds(rel, source):
                return StoredModule(digest, rel, created=False, registered=False)
        raise ConflictError(
            f"{self.root / rel} already holds different bytes; a module file is never overwritten "
            "(use the hash layout, or another tag)",
            path=str(self.root / rel),
        )

    def _holds(self, rel: str, source: bytes) -> bool:
        try:
            return read_bytes(self.root / rel, what="module", error=RegistryError) == source
        except FileNotFoundError:
            return False

    def registry(self) -> Registry:
        """The draft as a validated :class:`Registry`."""
        return Registry.from_dict(self.data, path=registry_path(self.root), root=self.root)

    def _entry(self, name: str, *, create: bool = False) -> dict[str, Any]:
        key = name.strip().lower()
        if key not in self.data:
            if not create:
                raise NotFoundError(f"strategy {shorten(key)!r} not found in {registry_path(self.root)}", selector=key)
            self.data[key] = {"tags": {}, "hashes": {}}
        entry = self.data[key]
        entry.setdefault("tags", {})
        entry.setdefault("hashes", {})
        if entry["tags"] is None:
            entry["tags"] = {}
        if entry["hashes"] is None:
            entry["hashes"] = {}
        return entry

    def _known_hash(self, name: str, digest: str) -> str:
        """The full hash of a revision of ``name`` given its hash or a unique prefix of it."""
        entry = self._entry(name)
        wanted = normalize_hash(digest)
        if wanted in entry["hashes"]:
            return wanted  # a full hash needs no resolution (pruning thousands stays linear)
        return self.registry().resolve(Selector(name.strip().lower(), hash=wanted)).hash

    def add_revision(self, name: str, digest: str, tag: str, path: str) -> None:
        """Record a revision file and point ``tag`` at it; ``latest`` is set if the strategy has none."""
        check_segment(tag, "tag")
        entry = self._entry(name, create=True)
        entry["hashes"][digest] = {"tag": tag, "path": path}
        entry["tags"][tag] = digest
        if not str(entry["tags"].get(LATEST, "")).strip():
            entry["tags"][LATEST] = digest

    def assign_tag(self, name: str, tag: str, digest: str) -> str | None:
        """Point ``tag`` at ``digest`` (which must be a revision of ``name``); returns the previous hash."""
        check_segment(tag.strip(), "tag")
        full = self._known_hash(name, digest)
        tags = self._entry(name)["tags"]
        previous = tags.get(tag.strip())
        tags[tag.strip()] = full
        return None if previous is None else normalize_hash(previous, allow_prefix=False)

    def remove_tag(self, name: str, tag: str, *, allow_orphan: bool = False) -> str:
        """Remove ``tag``; ``latest`` cannot be removed, nor a hash's last tag without ``allow_orphan``."""
        key = name.strip().lower()
        if tag.strip().lower() == LATEST:
            raise ConflictError(f'tag "latest" of {key} cannot be removed; reassign it instead', field="tag")
        tags = self._entry(name)["tags"]
        if tag not in tags:
            raise NotFoundError(f"tag {shorten(tag)!r} not found for {key}", selector=f"{key}:{tag}")
        digest = normalize_hash(tags[tag], allow_prefix=False)
        others = [t for t, v in tags.items() if t != tag and normalize_hash(v, allow_prefix=False) == digest]
        if not others and not allow_orphan:
            raise ConflictError(
                f"removing tag {tag!r} would orphan hash {digest} of {key} (no other tag points at it); "
                "pass allow_orphan to remove it anyway",
                selector=f"{key}:{tag}",
            )
        del tags[tag]
        return digest

    def remove_revision(self, name: str, digest: str) -> str:
        """Drop a revision and every tag on it; returns its path. ``latest`` moves to the newest
        remaining revision (semantic-version order of primary tags); the entry goes with its last hash.
        Its file, when no remaining revision uses it, goes to the trash in the same transaction and
        is deleted once the registry is written (:attr:`files_removed`)."""
        key = name.strip().lower()
        full = self._known_hash(name, digest)
        entry = self._entry(name)
        path = entry["hashes"].pop(full)["path"]
        self.dropped.append(str(path))
        was_latest = any(
            t == LATEST and normalize_hash(v, allow_prefix=False) == full for t, v in entry["tags"].items()
        )
        entry["tags"] = {t: v for t, v in entry["tags"].items() if normalize_hash(v, allow_prefix=False) != full}
        if not entry["hashes"]:
            del self.data[key]
        elif was_latest:
            newest = max(entry["hashes"], key=lambda h: (version_key(entry["hashes"][h]["tag"]), h))
            entry["tags"][LATEST] = newest
        return str(path)


@contextlib.contextmanager
def edit_registry(root: str | Path, reason: str, *, create: bool = True) -> Iterator[RegistryDraft]:
    """Change ``<root>/registry.json`` safely. Usage::

        with edit_registry(root, "promote v1.2.0") as draft:
            draft.assign_tag("momentum", "prod", digest)

    Holds an inter-process lock for the whole block, first finishing or undoing what a crashed edit
    left (:mod:`meltica_lab.journal`), then starts from the file as it is now. Module files stored with
    :meth:`RegistryDraft.store` and files of removed revisions are part of the same transaction. On a
    clean exit it validates the result, moves the files of removed revisions to the trash, appends
    each tag change to the history, atomically replaces the registry (through a symlink, keeping its
    mode) and empties the trash. An exception, or a crash at any point, leaves registry, files and
    history as they were (or, after the replace, as they are meant to be).
    """
    root_path = Path(root)
    path = registry_path(root_path)
    if not root_path.is_dir():
        raise RegistryError(f"strategies root {root_path} is not a directory", path=str(root_path))
    # imported by what takes the lock: a process that only reads the registry (a backtest, a sweep
    # worker) never loads filelock (7 ms)
    from filelock import FileLock, Timeout

    lock = FileLock(str(root_path / LOCK_FILE), timeout=LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise RegistryError(
            f"{path}: another process holds the registry lock {LOCK_FILE} for more than {LOCK_TIMEOUT_SECONDS:g} s",
            path=str(path),
        ) from None
    except OSError as exc:
        raise RegistryError(
            f"{root_path / LOCK_FILE}: cannot take the registry lock: {exc.strerror} (is the root read-only?)",
            path=str(root_path / LOCK_FILE),
        ) from None
    try:
        history = root_path / HISTORY_FILE
        _check_writable_file(history, "tag history")
        _check_writable_file(path, "registry")
        try:
            recover(root_path, path, history)
        except OSError as exc:
            raise RegistryError(
                f"{root_path}: cannot finish a crashed registry edit: {exc.strerror}", path=str(root_path)
            ) from None
        current = load_registry(root_path)
        if current is None and not create:
            raise RegistryError(f"{path} does not exist", path=str(path))
        journal = Journal(root_path, path, history)
        draft = RegistryDraft(root_path, current, journal)
        try:
            yield draft
        except BaseException:
            journal.roll_back()
            raise
        try:
            updated = draft.registry()
            text = updated.dumps().encode("utf-8")
            used = {loc.path for entry in updated.strategies.values() for loc in entry.hashes.values()}
            doomed = list(dict.fromkeys(rel for rel in draft.dropped if rel not in used))
            _check_inside(root_path, doomed)
            unchanged = current is not None and current.path is not None and text == _current_bytes(path)
            if unchanged and not journal.created and not doomed:
                return
            changes = _tag_changes(current, updated, reason)
            journal.move_to_trash(doomed)
            journal.commit(text, _history_text(changes), lambda data: _append_history(root_path, data))
            draft.files_removed = tuple(doomed)
        except OSError as exc:
            journal.roll_back()
            raise RegistryError(
                f"{exc.filename or path}: cannot write the registry edit: {exc.strerror}; nothing was changed",
                path=str(exc.filename or path),
            ) from None
        except BaseException:
            journal.roll_back()
            raise
    finally:
        lock.release()


def recover_edits(root: str | Path, *, wait: bool = True) -> str | None:
    """Finish or undo, now, what a registry edit killed mid-way left (see :mod:`meltica_lab.journal`);
    every edit does this first, readers call it to see the settled state. Costs one ``stat`` when
    there is nothing to do. Returns ``"committed"``/``"rolled back"``, or ``None`` if nothing was left
    (or, with ``wait=False``, when another process holds the lock: its edit is still running).
    """
    root_path = Path(root)
    if not (root_path / INTENT_FILE).exists() and not (root_path / TRASH_DIR).exists():
        return None
    from filelock import FileLock, Timeout  # see edit_registry

    lock = FileLock(str(root_path / LOCK_FILE), timeout=LOCK_TIMEOUT_SECONDS if wait else 0)
    try:
        with lock:
            return recover(root_path, registry_path(root_path), root_path / HISTORY_FILE)
    except Timeout:
        if not wait:
            return None
        raise RegistryError(
            f"{root_path}: another process holds the registry lock {LOCK_FILE} for more than "
            f"{LOCK_TIMEOUT_SECONDS:g} s",
            path=str(root_path),
        ) from None
    except OSError as exc:
        raise RegistryError(
            f"{root_path}: cannot finish a crashed registry edit: {exc.strerror or exc}",
            path=str(root_path),
        ) from None


def _check_writable_file(path: Path, what: str) -> None:
    """A file the transaction will replace or append to must be a regular file (or not exist yet)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        check_regular(st, path, what=what, error=RegistryError)


def _check_inside(root: Path, rels: list[str]) -> None:
    base = root.resolve()
    for rel in rels:
        target = (root / rel).resolve()
        if not target.is_relative_to(base) or target == base:
            raise RegistryError(f"refusing to delete {rel!r}: it resolves outside the root {base}", path=rel)


def _current_bytes(path: Path) -> bytes | None:
    try:
        return read_bytes(path, what="registry", error=RegistryError)
    except FileNotFoundError:
        return None


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, through symlinks, keeping its mode (see
    :func:`meltica_lab.files.write_atomic`)."""
    write_atomic(path, data)


def _history_text(changes: list[TagChange]) -> bytes:
    return "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in changes).encode("utf-8")


def _append_history(root: Path, text: bytes) -> None:
    with open(root / HISTORY_FILE, "a+b") as handle:
        # A record cut short by a crash has no line end; appended to, it would swallow the first new
        # record into one unreadable line. It was never a complete record: drop it (the lock is held).
        handle.truncate(_complete_lines_end(handle))
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _complete_lines_end(handle: Any) -> int:
    """The offset just after the last line end of a binary file (0 when it has none)."""
    end = position = handle.seek(0, os.SEEK_END)
    while position > 0:
        start = max(0, position - 4096)
        handle.seek(start)
        block = handle.read(position - start)
        if position == end and block.endswith(b"\n"):
            return end
        cut = block.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        position = start
    return 0


# -- module files -----------------------------------------------------------------------------------
def store_module(root: str | Path, source: bytes, *, name: str, tag: str, layout: str = "tag") -> tuple[str, str]:
    """Write a revision file under ``root``; returns ``(hash, relative path)``.

    A file already there with the same bytes is reused; one with different bytes is never
    overwritten (:class:`ConflictError`). The new file appears atomically, complete and fsynced.
    """
    digest = content_hash(source)
    rel = module_relpath(name, tag, digest, layout)
    target = Path(root) / rel
    if target.exists():
        if read_bytes(target, what="module", error=RegistryError) == source:
            return digest, rel
        raise ConflictError(
            f"{target} already holds different bytes; a module file is never overwritten "
            "(use the hash layout, or another tag)",
            path=str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    fd = create_new(tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(source)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # fails if another writer got there first: never overwrite
        except FileExistsError:
            if read_bytes(target, what="module", error=RegistryError) != source:
                raise ConflictError(
                    f"{target} was written concurrently with different bytes", path=str(target)
                ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(target.parent)
    return digest, rel
