"""The live usage index: which instances run which ``(strategy, hash)``, and since when.

The gateway's semantics (compat §7: ``firstSeen`` set once, ``lastSeen`` on every start and stop,
entries kept at zero), plus what the reference lacks: explicit retention (:meth:`UsageIndex.prune`),
persistence across restarts (:meth:`UsageIndex.save` / :meth:`UsageIndex.load` /
:meth:`UsageIndex.reset_running`) and Prometheus metrics in the index's own registry
(:mod:`meltica_lab.usage.metrics`).
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from meltica_lab.errors import MelticaLabError, UsageError
from meltica_lab.registry import atomic_write
from meltica_lab.usage.export import UsageExport, compact_json, export_document, parse_usage_export
from meltica_lab.usage.fetch import read_file
from meltica_lab.usage.metrics import RevisionCounts, UsageCollector, metrics_text
from meltica_lab.usage.records import UsageRecord, export_error
from meltica_lab.usage.rows import UsageRows
from meltica_lab.usage.server import serve_metrics
from meltica_lab.usage.times import checked_time

__all__ = ["UsageIndex"]


class _Entry:
    """Mutable state of one (strategy, hash) inside the index; guarded by the index lock."""

    __slots__ = ("first_seen", "hash", "instances", "last_seen", "starts", "stops", "strategy")

    def __init__(self, strategy: str, digest: str) -> None:
        self.strategy = strategy
        self.hash = digest
        self.instances: set[str] = set()
        self.first_seen: datetime | None = None
        self.last_seen: datetime | None = None
        self.starts = 0  # metric counters: ids newly added / removed since this process began
        self.stops = 0

    def record(self) -> UsageRecord:
        return UsageRecord(
            self.strategy,
            self.hash,
            tuple(self.instances),
            len(self.instances),
            self.first_seen,
            self.last_seen,
        )


def _key(strategy: str, digest: str) -> tuple[str, str]:
    """The gateway's key: trimmed lower-case strategy, trimmed hash (compat §7)."""
    name, digest = strategy.strip().lower(), digest.strip()
    if not name:
        raise UsageError(f"strategy: expected a non-empty name, got {strategy!r}", field="strategy")
    if not digest:
        raise UsageError(f"hash: expected a revision hash for {name}, got {digest!r}", field="hash")
    return name, digest


def _instance_id(instance_id: str) -> str:
    ident = instance_id.strip()
    if not ident:
        raise UsageError(f"instance_id: expected a non-empty id, got {instance_id!r}", field="instance_id")
    return ident


def _when(at: datetime | None, field: str) -> datetime:
    checked = checked_time(at, field)
    return datetime.now(UTC) if checked is None else checked


class UsageIndex:
    """Thread-safe index of which instances run which revision, with the gateway's semantics (§7).

    Entries are keyed by (lower-cased strategy, hash). ``firstSeen`` is set by the first start and never
    reset; ``lastSeen`` moves on every start and every stop that changed something; a stopped revision
    keeps its entry at count 0 until :meth:`prune` removes it explicitly.

    Metrics live in the index's own :attr:`metrics_registry` (never the process-global one):
    ``strategy_revision_instances{strategy,hash}`` (gauge, running count of every entry) and
    ``strategy_revision_instances_total{strategy,hash,action="start"|"stop"}`` (counter, ids newly added
    or removed in this process).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._collector = UsageCollector(self.counts)
        self.metrics_registry = CollectorRegistry(auto_describe=False)
        self.metrics_registry.register(self._collector)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _entry(self, key: tuple[str, str]) -> _Entry:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(*key)
        return entry

    def ensure(self, strategy: str, hash: str) -> UsageRecord:
        """Create a zero entry for a revision an instance spec refers to, if there is none yet."""
        key = _key(strategy, hash)
        with self._lock:
            return self._entry(key).record()

    def record_start(self, strategy: str, hash: str, instance_id: str, at: datetime | None = None) -> UsageRecord:
        """An instance launched on this revision (``at`` defaults to now, UTC).

        A new id joins the running set, sets ``firstSeen`` if unset, moves ``lastSeen`` and counts one
        ``start``; an id already present only moves ``lastSeen``.
        """
        key, ident, when = _key(strategy, hash), _instance_id(instance_id), _when(at, "at")
        with self._lock:
            entry = self._entry(key)
            if ident not in entry.instances:
                entry.instances.add(ident)
                entry.starts += 1
                if entry.first_seen is None:
                    entry.first_seen = when
            entry.last_seen = when
            return entry.record()

    def record_stop(self, strategy: str, hash: str, instance_id: str, at: datetime | None = None) -> UsageRecord:
        """An instance stopped running this revision: if it was running, it leaves the set, ``lastSeen``
        moves and one ``stop`` is counted; otherwise nothing changes. The entry itself stays."""
        key, ident, when = _key(strategy, hash), _instance_id(instance_id), _when(at, "at")
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return UsageRecord(*key)
            if ident in entry.instances:
                entry.instances.remove(ident)
                entry.stops += 1
                entry.last_seen = when
            return entry.record()

    def get(self, strategy: str, hash: str) -> UsageRecord:
        """Usage of one revision; a revision never seen gives a zero record (count 0, no times)."""
        key = _key(strategy, hash)
        with self._lock:
            entry = self._entries.get(key)
            return entry.record() if entry is not None else UsageRecord(*key)

    def snapshot(self) -> list[UsageRecord]:
        """Every entry, zero counts included, sorted by strategy then hash."""
        with self._lock:
            return [self._entries[key].record() for key in sorted(self._entries)]

    def export(self, registry: Mapping[str, Any] | None = None) -> UsageExport:
        """The index as a usage export (with ``registry`` beside it, if given), e.g. for analysis."""
        return UsageExport(None if registry is None else dict(registry), UsageRows(self.snapshot()), "<usage index>")

    def prune(self, older_than: timedelta, now: datetime | None = None) -> list[UsageRecord]:
        """Remove idle entries: count 0 and ``lastSeen`` before ``now - older_than``.

        An entry that never ran has the zero time as ``lastSeen`` and is older than any cutoff. Entries
        with running instances are never removed. Returns the removed records, sorted.
        """
        if older_than < timedelta(0):
            raise UsageError(f"older_than: expected a non-negative duration, got {older_than}", field="older_than")
        cutoff = _when(now, "now") - older_than
        with self._lock:
            idle = sorted(
                key
                for key, entry in self._entries.items()
                if not entry.instances and (entry.last_seen is None or entry.last_seen < cutoff)
            )
            return [self._entries.pop(key).record() for key in idle]

    def reset_running(self) -> list[UsageRecord]:
        """Empty every running set, keeping the times: for use after a restart, when the instances a
        saved index lists run no more. Returns the records that had running instances, as they were."""
        with self._lock:
            running = [self._entries[key] for key in sorted(self._entries) if self._entries[key].instances]
            before = [entry.record() for entry in running]
            for entry in running:
                entry.instances.clear()
            return before

    # -- persistence --------------------------------------------------------------------------------

    def save(self, path: str | PathLike[str]) -> None:
        """Write the index as a usage export (``{"registry": null, "usage": [...]}``) atomically:
        a temporary file in the same directory, fsync, then replace. On failure the old file stays."""
        target = Path(path)
        try:
            atomic_write(target, compact_json(export_document(None, [r.to_dict() for r in self.snapshot()])))
        except OSError as exc:
            raise MelticaLabError(
                f"{target}: cannot save the usage index: {exc.strerror or exc}", path=str(target)
            ) from None

    @classmethod
    def load(cls, path: str | PathLike[str]) -> UsageIndex:
        """Read an index written by :meth:`save` (or any usage export). A missing file gives an empty
        index; an unreadable or malformed one raises :class:`UsageExportError` naming the file.

        Running sets are restored as saved; call :meth:`reset_running` when those instances are known
        to have stopped (a process restart)."""
        source = Path(path)
        try:
            data = read_file(source)
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise export_error(str(source), None, None, f"cannot read: {exc.strerror or exc}") from None
        index = cls()
        for row, record in enumerate(parse_usage_export(data, source=str(source)).usage):
            try:
                key = _key(record.strategy, record.hash)
            except UsageError as exc:
                raise export_error(str(source), row, exc.field, exc.message) from None
            if key in index._entries:
                raise export_error(str(source), row, None, f"a second entry for {key[0]}@{key[1]}")
            entry = index._entries[key] = _Entry(*key)
            entry.instances.update(record.instances)
            entry.first_seen, entry.last_seen = record.first_seen, record.last_seen
        return index

    # -- metrics ------------------------------------------------------------------------------------

    def counts(self) -> list[RevisionCounts]:
        """Running instances, starts and stops of every entry, sorted (what the metrics report)."""
        with self._lock:
            return [
                RevisionCounts(*key, len(entry.instances), entry.starts, entry.stops)
                for key, entry in sorted(self._entries.items())
            ]

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector protocol, so the index can join another registry (a manager's)."""
        return self._collector.collect()

    def metrics_text(self) -> str:
        """The metrics in the Prometheus text format (0.0.4)."""
        return metrics_text(self.metrics_registry)

    def serve_metrics(self, port: int, addr: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
        """Serve :meth:`metrics_text` at ``http://addr:port/metrics`` (see :func:`.server.serve_metrics`)."""
        return serve_metrics(self.metrics_text, port, addr)
