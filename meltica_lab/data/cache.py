"""The conversion cache: a large dump is parsed once; later runs, sweeps and workers memory-map its
columns from a directory keyed by the file's sha256 (and the reading options), ARCHITECTURE
decision 3: what derives from a file's bytes never needs invalidation.

An entry is a directory of ``.npy`` columns and a ``meta.json``, written under a temporary name
and renamed into place, so a reader sees a whole entry or none. A file's sha256 is itself kept by
the file's identity (path, size, mtime, ctime, inode), as the module cache does, so a warm read
does not re-hash the dump; any change to the file changes its identity.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meltica_lab.data.events import MarketEvents
from meltica_lab.data.model import BadRow, Digest, MarketData, SourceFile
from meltica_lab.data.source import file_sha256
from meltica_lab.version import __version__

# CPython 3.11 keeps the AST builder's recursion count per interpreter, not per thread: two threads
# parsing at once can fail with "SystemError: AST constructor recursion depth mismatch" (gh-106905),
# and np.load reads every .npy header with ast.literal_eval. Threads (a sweep on a thread pool) open
# memory-mapped columns one at a time.
_OPENING = threading.Lock()


def open_columns(directory: Path, names: Iterable[str]) -> dict[str, np.ndarray]:
    """The columns ``names`` stored in ``directory`` as ``<name>.npy``, memory-mapped read-only."""
    with _OPENING:
        return {name: np.load(directory / f"{name}.npy", mmap_mode="r") for name in names}


def stored_market_data(meta: dict[str, Any], columns: dict[str, np.ndarray], source: str) -> MarketData:
    """Market data stored as columns and the ``meta.json`` beside them (a cache entry, a sweep's
    shared data): the columns as events, the rest from ``meta`` (``duplicates`` only for datasets)."""
    return MarketData(
        events=MarketEvents.from_arrays(columns, tuple(meta["symbols"]), tuple(meta["providers"])),
        digest=Digest(meta["sha256"]),
        rows=meta["rows"],
        dropped=tuple(BadRow(**bad) for bad in meta["dropped"]),
        source=source,
        timestamp_unit=meta["timestamp_unit"],
        format=meta["format"],
        files=tuple(SourceFile(**f) for f in meta["files"]),
        duplicates=meta.get("duplicates", 0),
    )


CACHE_LAYOUT = 2
"""Bump when what an entry holds changes: older entries are then ignored. 2: one file per value row
present (``v0.npy``..), an absent row (NaN throughout) in none."""
MIN_BYTES = 1 << 20
"""Files smaller than this are read directly: parsing them is as quick as mapping them."""


def default_data_cache_dir() -> Path:
    """``columns`` under the kit's cache directory (``$MELTICA_LAB_CACHE_DIR``, else the user's)."""
    from meltica_lab.module_cache import default_cache_dir

    return default_cache_dir() / "columns"


@dataclass(frozen=True)
class DataCache:
    """Parsed market data columns on disk under ``directory``, for files of ``min_bytes`` or more."""

    directory: Path
    min_bytes: int = MIN_BYTES

    @classmethod
    def default(cls) -> DataCache:
        """The cache in :func:`default_data_cache_dir`."""
        return cls(default_data_cache_dir())

    def wants(self, path: Path) -> bool:
        """Whether reads of ``path`` go through the cache (it is large enough)."""
        try:
            return path.stat().st_size >= self.min_bytes
        except OSError:
            return False

    # -- file hashes by identity -------------------------------------------------------------------
    def _identity(self, path: Path) -> str:
        info = path.stat()
        key = f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0{info.st_ino}\0{info.st_dev}"
        return hashlib.sha256(key.encode()).hexdigest()

    def file_sha256(self, path: Path) -> str:
        """``sha256:<hex>`` of the file, remembered by its identity."""
        memo = self.directory / "hashes" / self._identity(path)
        try:
            known = memo.read_text(encoding="ascii").strip()
            if known.startswith("sha256:") and len(known) == 71:
                return known
        except OSError:
            pass
        digest = file_sha256(path)
        self._write_text(memo, digest)
        return digest

    # -- entries -----------------------------------------------------------------------------------
    def key(self, sha256: str, options: dict[str, Any]) -> str:
        """The entry name of a file's bytes read with ``options``."""
        text = json.dumps(
            {"sha256": sha256, "options": options, "layout": CACHE_LAYOUT, "kit": __version__}, sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def load(self, key: str, source: str) -> MarketData | None:
        """The entry ``key`` with its columns memory-mapped read-only, or None."""
        entry = self.directory / "entries" / key
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
            return stored_market_data(meta, open_columns(entry, meta["columns"]), source)
        except (OSError, ValueError, KeyError, TypeError):
            # entries appear whole (a rename), so one that cannot be read is damaged: drop it, so that
            # the file parsed again is stored again
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            return None

    def store(self, key: str, data: MarketData) -> None:
        """Keep ``data`` as entry ``key`` (a whole entry appears at once; a failure leaves none)."""
        entries = self.directory / "entries"
        target = entries / key
        if target.exists():
            return
        try:
            entries.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=entries, prefix=".staging-"))
        except OSError:
            return  # the cache is not writable: reading still works, it is only slower next time
        try:
            events = data.events
            columns = events.arrays()
            for name, array in columns.items():
                np.save(staging / f"{name}.npy", np.ascontiguousarray(array))
            meta = {
                "columns": list(columns),
                "symbols": list(events.symbols),
                "providers": list(events.providers),
                "sha256": data.sha256,
                "rows": data.rows,
                "dropped": [asdict(bad) for bad in data.dropped],
                "timestamp_unit": data.timestamp_unit,
                "format": data.format,
                "files": [asdict(f) for f in data.files],
            }
            (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            os.replace(staging, target)
        except OSError:
            # another process stored it first, or the cache is not writable: reading still works
            shutil.rmtree(staging, ignore_errors=True)

    def usage(self) -> tuple[int, int]:
        """``(entries, bytes)`` the cache holds on disk."""
        entries = self.directory / "entries"
        if not entries.is_dir():
            return 0, 0
        kept = [p for p in entries.iterdir() if not p.name.startswith(".")]
        size = sum(f.stat().st_size for p in kept for f in p.iterdir() if f.is_file())
        return len(kept), size

    def clear(self) -> int:
        """Remove every entry and remembered hash; the number of entries removed."""
        entries = self.directory / "entries"
        count = sum(1 for p in entries.iterdir() if not p.name.startswith(".")) if entries.is_dir() else 0
        for part in ("entries", "hashes"):
            shutil.rmtree(self.directory / part, ignore_errors=True)
        return count

    def _write_text(self, path: Path, text: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(text)
            os.replace(temp, path)
        except OSError:
            pass
