"""What is known about module files: their hashes by file identity, and their reports by hash.

A module report (metadata or diagnostics) is derived from the module's bytes alone, so it is kept by
content hash and never needs invalidation (ARCHITECTURE decision 3). :class:`ModuleCache` keeps
reports and file hashes in memory (LRU) over a :class:`MetadataCache` on disk, so a warm refresh
evaluates no JavaScript and, in a new process, reads no module file. A workspace owns one cache
shared by everything it loads; a :class:`~meltica_lab.loader.Loader` made alone has its own.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from cachetools import LRUCache

from meltica_lab.jshost.module import ModuleReport
from meltica_lab.version import __version__

CACHE_FORMAT = 3
"""Bump when the stored report layout changes: older rows are then ignored."""

MEMORY_ENTRIES = 200_000
"""File hashes and reports each kept in memory by a :class:`ModuleCache` (least recently used dropped)."""

FileKey = tuple[str, int, int, int]
"""A file's identity: absolute path, size, mtime in nanoseconds, inode. Any change gives a new key."""


def default_cache_dir() -> Path:
    """``$MELTICA_LAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/meltica-lab``, else ``~/.cache/meltica-lab``."""
    explicit = os.environ.get("MELTICA_LAB_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meltica-lab"


class MetadataCache:
    """Module reports (metadata or diagnostics) on disk, keyed by content hash and meltica-lab version.

    A hash names immutable bytes, so an entry never needs invalidation; the version in the key keeps
    reports from an older validator out.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "module-reports.sqlite3"
        self._version = f"{__version__}/{CACHE_FORMAT}"
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS reports (version TEXT, hash TEXT, report TEXT, PRIMARY KEY (version, hash))"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, ino INTEGER, hash TEXT)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, hashes: Iterable[str]) -> dict[str, ModuleReport]:
        """The cached reports among ``hashes``."""
        wanted = set(hashes)
        if not wanted:
            return {}
        with self._connect() as db:
            rows = db.execute("SELECT hash, report FROM reports WHERE version = ?", (self._version,)).fetchall()
        decoded = {h: _report_from_row(row) for h, row in rows if h in wanted}
        return {h: report for h, report in decoded.items() if report is not None}

    def put_many(self, reports: Mapping[str, ModuleReport]) -> None:
        """Store reports; an existing entry is kept (same hash, same bytes, same report)."""
        if not reports:
            return
        rows = [(self._version, h, _report_to_row(r)) for h, r in reports.items()]
        with self._connect() as db:
            db.executemany("INSERT OR IGNORE INTO reports VALUES (?, ?, ?)", rows)

    def file_hashes(self, base: str) -> dict[FileKey, str]:
        """Hashes of files under ``base`` computed by earlier processes, keyed by path and stat."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT path, size, mtime_ns, ino, hash FROM files WHERE path >= ? AND path < ?",
                (base + os.sep, base + chr(ord(os.sep) + 1)),
            ).fetchall()
        return {(path, size, mtime, ino): digest for path, size, mtime, ino, digest in rows}

    def put_file_hashes(self, hashes: Mapping[FileKey, str]) -> None:
        """Remember file hashes by path and stat (a changed file gets a new stat and is re-read)."""
        if hashes:
            with self._connect() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
                    [(*key, digest) for key, digest in hashes.items()],
                )


# Rows are pickled reports: unpickling restores the frozen values without re-running their
# normalisation, which dominated a warm refresh of 10,000 revisions in a new process. The cache lives
# in the user's own cache directory and holds only what this package wrote; a row that does not
# unpickle to a ModuleReport is treated as missing and evaluated again.
def _report_to_row(report: ModuleReport) -> bytes:
    return pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)


def _report_from_row(row: bytes) -> ModuleReport | None:
    try:
        report = pickle.loads(row)
    except Exception:  # any undecodable row is a cache miss, never an error
        return None
    return report if isinstance(report, ModuleReport) else None


class ModuleCache:
    """File hashes by file identity and module reports by content hash, in memory over the disk.

    ``directory`` holds the :class:`MetadataCache` (``None``: memory only, nothing outlives the
    object). Hashing every file on every refresh is the dominant warm cost, so a file's hash is
    remembered under its (path, size, mtime, inode); execution always re-verifies the bytes. Reports
    cut short by a time or heap limit say nothing lasting about the bytes and are never kept.
    Thread-safe: several loaders (a workspace's, a manager's) may share one cache.
    """

    def __init__(self, directory: Path | None, *, memory_entries: int = MEMORY_ENTRIES) -> None:
        self.directory = directory
        self.disk = MetadataCache(directory) if directory is not None else None
        self._hashes: LRUCache[FileKey, str] = LRUCache(maxsize=memory_entries)
        self._reports: LRUCache[str, ModuleReport] = LRUCache(maxsize=memory_entries)
        self._lock = threading.Lock()

    def remembered_hashes(self, base: str) -> dict[FileKey, str]:
        """File hashes under ``base`` that earlier processes stored on disk (empty without a disk)."""
        return self.disk.file_hashes(base) if self.disk is not None else {}

    def known_hash(self, key: FileKey) -> str | None:
        """The hash of the file with this identity, if this cache computed it before."""
        with self._lock:
            return self._hashes.get(key)

    def remember_hashes(self, hashes: Mapping[FileKey, str], *, store: bool = True) -> None:
        """Keep file hashes in memory, and on disk when ``store`` (they were computed by this process)."""
        with self._lock:
            self._hashes.update(hashes)
        if store and self.disk is not None:
            self.disk.put_file_hashes(hashes)

    def reports(self, digests: Iterable[str]) -> dict[str, ModuleReport]:
        """The known reports among ``digests``: from memory, else from the disk (then kept in memory)."""
        wanted = list(digests)
        with self._lock:
            found = {digest: self._reports[digest] for digest in wanted if digest in self._reports}
        missing = [digest for digest in wanted if digest not in found]
        if missing and self.disk is not None:
            loaded = self.disk.get_many(missing)
            with self._lock:
                self._reports.update(loaded)
            found.update(loaded)
        return found

    def store_reports(self, reports: Mapping[str, ModuleReport]) -> None:
        """Keep freshly made reports, in memory and on disk, except those cut short by a limit."""
        lasting = {digest: report for digest, report in reports.items() if report.cacheable}
        with self._lock:
            self._reports.update(lasting)
        if self.disk is not None:
            self.disk.put_many(lasting)
