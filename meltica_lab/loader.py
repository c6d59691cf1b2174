"""The loader: a strategies root and its registry turned into resolvable :class:`Revision` objects.

A refresh reads ``registry.json``, checks every revision file against its hash, and reads each
module's metadata. Metadata is derived from the module's bytes, so it is cached on disk by hash
(ARCHITECTURE decision 3): a warm refresh of an unchanged registry evaluates no JavaScript. A file
whose bytes do not match its hash is reported and never evaluated. Selector resolution is cached in
an LRU keyed by the exact selector text (tags are case-sensitive, so keys are never lower-cased).

Without a registry (and ``strategies.requireRegistry`` false) the root is read in legacy mode: every
flat ``*.js``/``*.mjs`` file in it is one read-only revision, as the gateway did before registries.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from cachetools import LRUCache

from meltica_lab.config import AppConfig, load_app_config
from meltica_lab.errors import IntegrityError, MelticaLabError, ModuleError, NotFoundError, RegistryError, UsageError
from meltica_lab.files import read_bytes
from meltica_lab.hashing import HASH_PREFIX, content_hash
from meltica_lab.jshost.diagnostics import Diagnostic
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.jshost.metadata import Metadata
from meltica_lab.jshost.module import ModuleHost, ModuleReport
from meltica_lab.module_cache import FileKey, ModuleCache, default_cache_dir
from meltica_lab.registry import (
    LATEST,
    ParsedRegistries,
    Registry,
    Resolution,
    RootGuard,
    load_registry,
    recover_edits,
    registry_path,
)
from meltica_lab.selectors import Selector

RESOLUTION_CACHE_SIZE = 256
LEGACY_DEFAULT_TAG = "0.0.0"


@dataclass(frozen=True)
class Revision:
    """One immutable revision of a strategy, identified by its content hash.

    ``tag`` is the primary tag (``hashes[h].tag`` in the registry); ``tags`` every tag on the hash;
    ``root`` the absolute strategies root; ``relpath`` the registry path; ``path`` the absolute file
    path; ``size`` in bytes.
    """

    name: str
    hash: str
    tag: str
    tags: tuple[str, ...]
    root: Path
    relpath: str
    size: int
    metadata: Metadata

    @cached_property
    def path(self) -> Path:
        """The absolute path of the module file (derived on first use: a refresh builds thousands)."""
        return self.root / self.relpath

    @property
    def selector(self) -> str:
        """The pinned selector ``name@sha256:<hex>``."""
        return f"{self.name}@{self.hash}"

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of the hash, for display."""
        return self.hash.removeprefix(HASH_PREFIX)[:12]

    def read_source(self) -> bytes:
        """The module's bytes, verified against the hash; :class:`IntegrityError` if they differ."""
        try:
            data = read_bytes(self.path, what="module", error=IntegrityError)
        except OSError as exc:
            raise IntegrityError(f"{self.path}: cannot read module: {exc.strerror}", path=str(self.path)) from None
        actual = content_hash(data)
        if actual != self.hash:
            raise IntegrityError(
                f"module hash mismatch for {self.path} ({actual} != {self.hash}); refusing to run it",
                path=str(self.path),
                selector=self.selector,
            )
        return data

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: name, hash, tag, tags, path, size, selector, metadata."""
        return {
            "name": self.name,
            "hash": self.hash,
            "tag": self.tag,
            "tags": list(self.tags),
            "path": self.relpath,
            "size": self.size,
            "selector": self.selector,
            "metadata": self.metadata.to_dict(),
        }


ProblemKind = Literal["missing", "outside", "integrity", "module", "name"]
"""Why a revision cannot be used: its file is ``missing`` (unreadable), leads ``outside`` the root
through a symlink, fails its hash (``integrity``), is not a valid ``module``, or declares another
``name`` than its registry entry."""


@dataclass(frozen=True)
class Problem:
    """A revision that cannot be used, and why (``kind``: see :data:`ProblemKind`)."""

    name: str
    hash: str
    path: str
    kind: ProblemKind
    message: str
    diagnostics: tuple[Diagnostic, ...] = ()

    def error(self) -> MelticaLabError:
        """The exception a caller gets when it asks for this revision."""
        if self.kind == "integrity":
            return IntegrityError(self.message, path=self.path, selector=f"{self.name}@{self.hash}")
        if self.kind == "module":
            return ModuleError(self.message, diagnostics=self.diagnostics, path=self.path)
        return RegistryError(self.message, path=self.path, selector=f"{self.name}@{self.hash}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "name": self.name,
            "hash": self.hash,
            "path": self.path,
            "kind": self.kind,
            "message": self.message,
        }
        if self.diagnostics:
            out["diagnostics"] = [d.to_dict() for d in self.diagnostics]
        return out


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did: revisions loaded, JavaScript evaluations, cache hits, problems, time."""

    revisions: int
    evaluated: int
    cached: int
    problems: tuple[Problem, ...]
    seconds: float


class _OutsideRoot(Exception):
    pass


class _Unreadable(RegistryError):
    """A revision file that is not a regular file of bounded size: reported as a problem."""


class _Hashing:
    """One refresh's file hashing: memory first, the disk's remembered hashes on the first miss, then
    the file itself (checked for symlinks leading out of the root only then, not on every refresh)."""

    def __init__(self, base: str, cache: ModuleCache) -> None:
        self.base = base
        self.cache = cache
        self.guard = RootGuard(base)
        self.remembered: dict[FileKey, str] | None = None
        self.recalled: dict[FileKey, str] = {}
        self.computed: dict[FileKey, str] = {}

    def hash(self, rel: str) -> tuple[str, int, bytes | None]:
        """The file's hash, its size, and its bytes when they had to be read (else ``None``)."""
        path = os.path.join(self.base, rel)
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        known = self.cache.known_hash(key)
        if known is None:
            if self.remembered is None:
                self.remembered = self.cache.remembered_hashes(self.base)
            known = self.remembered.get(key)
            if known is not None:
                self.recalled[key] = known
        if known is not None:
            return known, st.st_size, None
        outside = self.guard.escapes(rel)
        if outside is not None:
            raise _OutsideRoot(str(outside))
        data = read_bytes(path, what="module", error=_Unreadable)
        digest = content_hash(data)
        self.computed[key] = digest
        return digest, len(data), data

    def keep(self) -> None:
        """Hand what this refresh learnt to the cache (the computed hashes also to its disk)."""
        self.cache.remember_hashes(self.recalled, store=False)
        self.cache.remember_hashes(self.computed)


@dataclass(frozen=True)
class _State:
    registry: Registry
    revisions: dict[str, Revision]
    problems: dict[str, Problem]
    mode: str


class Loader:
    """A strategies root, read and resolvable.

    ``root`` defaults to ``strategies.directory`` from ``config/app.yaml`` (else ``strategies``).
    With ``strategies.requireRegistry: true`` a root without ``registry.json`` fails at once.
    The first query refreshes; call :meth:`refresh` again after the files change.

    A loader works with collaborators its owner (a :class:`~meltica_lab.workspace.Workspace`) hands
    it: ``host``, the :class:`ModuleHost` that evaluates modules whose report is not cached;
    ``cache``, the :class:`ModuleCache` of file hashes and module reports; ``registries``, the
    :class:`ParsedRegistries` memo. Whatever is not given the loader makes for itself: a host with
    ``limits`` (closed by :meth:`close`), a cache over ``cache_dir`` (default
    :func:`default_cache_dir`), a memo of its own.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        config: AppConfig | None = None,
        cache_dir: str | Path | None = None,
        host: ModuleHost | None = None,
        limits: Limits = DEFAULT_LIMITS,
        cache: ModuleCache | None = None,
        registries: ParsedRegistries | None = None,
    ) -> None:
        if cache is not None and cache_dir is not None:
            raise UsageError("Loader: give cache or cache_dir, not both (a cache has its directory)", field="cache_dir")
        config = config if config is not None else load_app_config()
        self.root = Path(root) if root is not None else config.strategies_directory
        if not self.root.is_dir():
            raise RegistryError(f"strategies root {self.root} is not a directory", path=str(self.root))
        if config.require_registry and not registry_path(self.root).exists():
            where = config.source or "config/app.yaml"
            raise RegistryError(
                f"registry required but {registry_path(self.root)} is missing "
                f"(strategies.requireRegistry is true in {where}); run `meltica-lab migrate --root "
                f"{self.root}` to create it",
                path=str(registry_path(self.root)),
            )
        if cache is None:
            cache = ModuleCache(Path(cache_dir) if cache_dir is not None else default_cache_dir())
        self.cache = cache
        self.registries = registries if registries is not None else ParsedRegistries()
        self._host = host
        self._owns_host = host is None
        self._limits = limits
        self._resolved: LRUCache[str, Revision] = LRUCache(maxsize=RESOLUTION_CACHE_SIZE)
        self._state: _State | None = None
        self._lock = threading.RLock()

    @property
    def host(self) -> ModuleHost:
        """The module host this loader evaluates with (its owner's, else its own, made on first use)."""
        with self._lock:
            if self._host is None:
                self._host = ModuleHost(self._limits)
            return self._host

    def close(self) -> None:
        """Close the module host this loader made for itself (a host it was given stays open)."""
        with self._lock:
            if self._owns_host and self._host is not None:
                self._host.close()
                self._host = None

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- refresh ------------------------------------------------------------------------------------
    def refresh(self) -> RefreshReport:
        """Re-read the registry and every revision; returns what it did. Problems do not abort it."""
        started = time.perf_counter()
        with contextlib.suppress(RegistryError):  # a read-only root keeps what the crash left: still consistent
            recover_edits(self.root, wait=False)  # an edit killed mid-way: see the settled registry
        registry = load_registry(self.root, follow_links=False, memo=self.registries)
        mode = "registry"
        if registry is None:
            registry, mode = self._legacy_registry(), "legacy"
        problems: dict[str, Problem] = {}
        files: dict[str, tuple[str, str, str, int, bytes | None]] = {}
        base = os.path.abspath(self.root)
        root_path = Path(base)
        hashing = _Hashing(base, self.cache)
        for name, entry in registry.strategies.items():
            for digest, location in entry.hashes.items():
                path = os.path.join(base, location.path)
                try:
                    actual, size, data = hashing.hash(location.path)
                except OSError as exc:
                    problems[digest] = Problem(
                        name, digest, location.path, "missing", f"{path}: module file unreadable: {exc.strerror}"
                    )
                    continue
                except _Unreadable as exc:  # a FIFO, a directory, a file over the size limit
                    problems[digest] = Problem(name, digest, location.path, "missing", exc.message)
                    continue
                except _OutsideRoot as exc:
                    problems[digest] = Problem(
                        name,
                        digest,
                        location.path,
                        "outside",
                        f"{path} resolves outside the root (to {exc}); it will not be read",
                    )
                    continue
                if actual != digest:
                    problems[digest] = Problem(
                        name,
                        digest,
                        location.path,
                        "integrity",
                        f"module hash mismatch for {path} ({actual} != {digest}); it will not be run",
                    )
                    continue
                files[digest] = (name, location.path, path, size, data)
        hashing.keep()
        reports, evaluated, cached = self._reports(files)
        previous = self._state.revisions if self._state is not None else {}
        revisions: dict[str, Revision] = {}
        for digest, (name, rel, path, size, _) in files.items():
            report = reports[digest]
            if not report.ok or report.metadata is None:
                problems[digest] = Problem(
                    name, digest, rel, "module", f"{path}: {report.headline}", report.diagnostics
                )
                continue
            if report.metadata.name != name:
                problems[digest] = Problem(
                    name,
                    digest,
                    rel,
                    "name",
                    f"{path}: module name {report.metadata.name!r} does not match registry entry {name!r}",
                )
                continue
            entry = registry.strategies[name]
            revision = Revision(
                name=name,
                hash=digest,
                tag=entry.hashes[digest].tag or report.metadata.tag,
                tags=entry.tags_of(digest),
                root=root_path,
                relpath=rel,
                size=size,
                metadata=report.metadata,
            )
            known = previous.get(digest)
            revisions[digest] = known if known == revision else revision  # unchanged: keep the object
        with self._lock:
            self._state = _State(registry, revisions, problems, mode)
            self._resolved.clear()
        return RefreshReport(len(revisions), evaluated, cached, tuple(problems.values()), time.perf_counter() - started)

    def _reports(
        self, files: dict[str, tuple[str, str, str, int, bytes | None]]
    ) -> tuple[dict[str, ModuleReport], int, int]:
        reports = self.cache.reports(files)
        cached = len(reports)
        fresh: dict[str, ModuleReport] = {}
        for digest, (_, rel, path, _, data) in files.items():
            if digest in reports:
                continue
            source = data if data is not None else read_bytes(path, what="module", error=RegistryError)
            fresh[digest] = self.host.inspect(source, filename=rel)
        self.cache.store_reports(fresh)
        reports.update(fresh)
        return reports, len(fresh), cached

    def _legacy_registry(self) -> Registry:
        """Flat ``*.js``/``*.mjs`` files as a read-only registry (pre-registry gateway behaviour)."""
        data: dict[str, Any] = {}
        for path in sorted(self.root.iterdir()):
            if not path.is_file() or path.suffix.lower() not in (".js", ".mjs"):
                continue
            source = read_bytes(path, what="legacy module", error=RegistryError)
            report = self.host.inspect(source, filename=path.name)
            if report.metadata is None:
                continue  # reported by `verify` and migration; nothing to resolve here
            name, digest = report.metadata.name, content_hash(source)
            tag = report.metadata.tag or LEGACY_DEFAULT_TAG
            if name in data:
                raise RegistryError(
                    f"{path}: duplicate strategy name {name!r} (also in "
                    f"{next(iter(data[name]['hashes'].values()))['path']})",
                    path=str(path),
                )
            data[name] = {"tags": {tag: digest, LATEST: digest}, "hashes": {digest: {"tag": tag, "path": path.name}}}
        return Registry.from_dict(data, root=self.root)

    # -- queries ------------------------------------------------------------------------------------
    def _current(self) -> _State:
        state = self._state
        if state is None:
            self.refresh()
            state = self._state
            assert state is not None
        return state

    @property
    def mode(self) -> str:
        """``"registry"`` or ``"legacy"`` (flat files, no registry.json)."""
        return self._current().mode

    @property
    def registry(self) -> Registry:
        """The registry as of the last refresh (built in memory in legacy mode)."""
        return self._current().registry

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Revisions that could not be loaded at the last refresh."""
        return tuple(self._current().problems.values())

    def strategies(self) -> list[str]:
        """Strategy names in the registry, sorted."""
        return self._current().registry.names()

    def revisions(self, strategy: str | None = None) -> list[Revision]:
        """Loaded revisions, by strategy then primary tag (semantic-version order), optionally of one."""
        from meltica_lab.versions import version_key

        state = self._current()
        wanted = strategy.strip().lower() if strategy else None
        if wanted is not None:
            state.registry.entry(wanted)
        chosen = [r for r in state.revisions.values() if wanted is None or r.name == wanted]
        return sorted(chosen, key=lambda r: (r.name, version_key(r.tag), r.hash))

    def revision(self, digest: str) -> Revision:
        """The loaded revision with this full hash (its problem is raised if it failed to load)."""
        state = self._current()
        if digest in state.revisions:
            return state.revisions[digest]
        if digest in state.problems:
            raise state.problems[digest].error()
        raise NotFoundError(f"hash {digest!r} not found under {self.root}", selector=digest)

    def resolution(self, selector: str | Selector) -> Resolution:
        """Name, hash, canonical tag and alias a selector resolves to (no file access)."""
        return self._current().registry.resolve(selector)

    def resolve(self, selector: str | Selector) -> Revision:
        """The :class:`Revision` a selector names. Warm calls are a dictionary lookup.

        Raises :class:`SelectorError` (malformed), :class:`NotFoundError` / :class:`AmbiguousHashError`
        (names nothing / several), or the revision's load problem (hash mismatch, invalid module).
        """
        key = selector if isinstance(selector, str) else str(selector)
        hit = self._resolved.get(key)
        if hit is not None:
            return hit
        state = self._current()
        found = state.registry.resolve(selector)
        try:
            revision = self.revision(found.hash)
        except MelticaLabError as exc:
            exc.selector = key
            raise
        with self._lock:
            if self._state is state:
                self._resolved[key] = revision
        return revision
