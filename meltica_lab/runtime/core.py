"""The manager's core: its state, the instance lifecycle, and market events for running instances.

One lock guards every piece of lifecycle state (instances, sessions, the loader, the usage index
writes), so no check-then-act race exists between two threads (compat §13.14). Each running instance
is one :class:`~meltica_lab.backtest.session.StrategySession`: its own V8 isolate with the same host and
simulated exchange a backtest uses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

from meltica_lab.backtest.config import DRY_RUN, resolve_config
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.backtest.session import SessionSnapshot, StrategySession
from meltica_lab.config import AppConfig
from meltica_lab.errors import InstanceError, MelticaLabError, UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.loader import Loader, Revision
from meltica_lab.runtime.feeding import EventsInput, market_events, share_of
from meltica_lab.runtime.listing import Catalog, RunningItems
from meltica_lab.runtime.metrics import ManagerMetrics
from meltica_lab.runtime.results import FeedResult
from meltica_lab.runtime.specs import (
    Instance,
    InstanceSpec,
    frozen_config,
    normalise_id,
    normalise_providers,
    normalise_symbols,
)
from meltica_lab.usage import UsageIndex

USAGE_FILE = "usage.json"
"""The usage snapshot's file name inside ``state_dir``."""


@dataclass
class Slot:
    """Mutable state of one instance; only touched under the manager's lock."""

    spec: InstanceSpec
    session: StrategySession | None = None
    launched: tuple[str, str] | None = None  # the (strategy, hash) its usage was recorded under
    error: str = ""


class ManagerCore:
    """State and instance lifecycle of a :class:`~meltica_lab.runtime.Manager` (see there)."""

    def __init__(
        self,
        root: str | Path,
        *,
        state_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        limits: Limits = DEFAULT_LIMITS,
        options: SessionOptions = SessionOptions(),  # noqa: B008 - frozen value
        config: AppConfig | None = None,
    ) -> None:
        self._lock = threading.RLock()
        cache = Path(cache_dir) if cache_dir is not None else None
        self._loader = Loader(root, config=config, cache_dir=cache, limits=limits)
        self.root = self._loader.root
        self._limits = limits
        self._options = options
        self._state_file = Path(state_dir) / USAGE_FILE if state_dir is not None else None
        if self._state_file is not None:
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            self._index = UsageIndex.load(self._state_file)
            self._index.reset_running()  # the instances it lists ran in another process
        else:
            self._index = UsageIndex()
        self._metrics = ManagerMetrics(self._index)
        self._slots: dict[str, Slot] = {}
        self._clock_ns = 0
        self._catalog: Catalog | None = None
        self._running_items = RunningItems()
        self._loader.refresh()

    # -- small internals ----------------------------------------------------------------------------
    @property
    def usage_index(self) -> UsageIndex:
        """The live usage index (read it; the manager writes it)."""
        return self._index

    @property
    def loader(self) -> Loader:
        """The loader the manager resolves with (refreshed after every module operation)."""
        return self._loader

    def _slot(self, instance_id: str) -> Slot:
        ident = normalise_id(instance_id)
        slot = self._slots.get(ident)
        if slot is None:
            known = ", ".join(sorted(self._slots)[:10]) or "none"
            raise InstanceError(f"instance {ident!r} not found (instances: {known})", field="id")
        return slot

    def _view(self, slot: Slot) -> Instance:
        spec = slot.spec
        return Instance(spec, slot.session is not None, self._index.get(spec.strategy, spec.hash), slot.error)

    def _persist(self) -> None:
        if self._state_file is not None:
            self._index.save(self._state_file)

    def _checked_config(self, revision: Revision, config: Mapping[str, Any], instance_id: str) -> dict[str, Any]:
        return resolve_config(revision.metadata.config, config, strategy=f"{revision.name} (instance {instance_id})")

    def _launch(self, spec: InstanceSpec) -> StrategySession:
        """A new session of the pinned revision, or :class:`InstanceError` saying why not."""
        try:
            revision = self._loader.revision(spec.hash)
            source = revision.read_source()
            config = self._checked_config(revision, spec.config, spec.id)
            options = replace(
                self._options, instance_id=spec.id, providers=spec.providers, dry_run=bool(config[DRY_RUN])
            )
            return StrategySession(
                source,
                name=spec.strategy,
                tag=spec.tag,
                config=config,
                options=options,
                limits=self._limits,
                symbols=spec.symbols,
                start_ns=self._clock_ns,
            )
        except MelticaLabError as exc:
            raise InstanceError(
                f"instance {spec.id}: cannot start {spec.pinned}: {exc.message}", selector=spec.selector
            ) from exc

    def _mark_start(self, slot: Slot) -> None:
        slot.launched = (slot.spec.strategy, slot.spec.hash)
        self._index.record_start(*slot.launched, slot.spec.id)

    def _halt(self, slot: Slot) -> None:
        """Close a running session and record the stop under the revision it was launched on."""
        if slot.session is not None:
            slot.session.close()
            slot.session = None
        if slot.launched is not None:
            self._index.record_stop(*slot.launched, slot.spec.id)
            slot.launched = None

    # -- instances ----------------------------------------------------------------------------------
    def create(
        self,
        id: str,
        strategy: str,
        config: Mapping[str, Any] | None = None,
        providers: Iterable[str] = ("backtest",),
        symbols: Iterable[str] = (),
    ) -> Instance:
        """Register a stopped instance of the revision ``strategy`` resolves to.

        ``strategy`` is a selector: ``name`` (follows ``latest``), ``name:tag`` (follows that tag),
        ``name@hash`` or a bare hash, full or a unique prefix (stays pinned). ``config`` is checked
        against the revision's metadata now; ``symbols`` needs at least one entry.
        """
        ident = normalise_id(id)
        with self._lock:
            if ident in self._slots:
                raise InstanceError(f"instance {ident!r} already exists", field="id")
            if not isinstance(strategy, str):
                raise UsageError(f"strategy: expected a selector string, got {type(strategy).__name__}")
            found = self._loader.resolution(strategy)
            revision = self._loader.revision(found.hash)
            frozen = frozen_config(config, ident)
            self._checked_config(revision, frozen, ident)
            spec = InstanceSpec(
                id=ident,
                identifier=strategy.strip(),
                selector=found.selector,
                strategy=found.name,
                hash=found.hash,
                tag=found.tag,
                config=frozen,
                providers=normalise_providers(providers),
                symbols=normalise_symbols(symbols),
            )
            slot = self._slots[ident] = Slot(spec)
            # a zero entry carries no times: the next change that does saves it too
            self._index.ensure(spec.strategy, spec.hash)
            return self._view(slot)

    def start(self, id: str) -> Instance:
        """Launch a stopped instance on its pinned hash; :class:`InstanceError` if it runs already or
        cannot start (the reason is also kept as the instance's ``lastError``)."""
        with self._lock:
            slot = self._slot(id)
            if slot.session is not None:
                raise InstanceError(f"instance {slot.spec.id!r} is already running", field="id")
            try:
                slot.session = self._launch(slot.spec)
            except InstanceError as exc:
                slot.error = exc.message
                raise
            slot.error = ""
            self._mark_start(slot)
            self._persist()
            return self._view(slot)

    def stop(self, id: str) -> Instance:
        """Stop a running instance (its usage records the stop)."""
        with self._lock:
            slot = self._slot(id)
            if slot.session is None:
                raise InstanceError(f"instance {slot.spec.id!r} is not running", field="id")
            self._halt(slot)
            self._persist()
            return self._view(slot)

    def remove(self, id: str) -> Instance:
        """Stop the instance if it runs and forget it; returns its last state. Its usage entry stays."""
        with self._lock:
            slot = self._slot(id)
            was_running = slot.session is not None
            self._halt(slot)
            del self._slots[slot.spec.id]
            if was_running:
                self._persist()
            return self._view(slot)

    def update(self, id: str, config: Mapping[str, Any] | None) -> Instance:
        """Replace the instance's config. The selector is never re-resolved: the instance stays on its
        hash; a running instance is relaunched on that same hash (the old session keeps running if the
        new one cannot start, and the config is then left unchanged)."""
        with self._lock:
            slot = self._slot(id)
            frozen = frozen_config(config, slot.spec.id)
            self._checked_config(self._loader.revision(slot.spec.hash), frozen, slot.spec.id)
            spec = replace(slot.spec, config=frozen)
            if slot.session is not None:
                session = self._launch(spec)
                self._halt(slot)
                slot.spec, slot.session = spec, session
                self._mark_start(slot)
                self._persist()
            else:
                slot.spec = spec
            return self._view(slot)

    def instance(self, id: str) -> Instance:
        """One instance's current state."""
        with self._lock:
            return self._view(self._slot(id))

    def instances(self) -> list[Instance]:
        """Every instance, sorted by id."""
        with self._lock:
            return [self._view(self._slots[key]) for key in sorted(self._slots)]

    def snapshot(self, id: str) -> SessionSnapshot:
        """The results so far of a running instance: fills, orders, equity, logs and counters."""
        with self._lock:
            slot = self._slot(id)
            if slot.session is None:
                raise InstanceError(f"instance {slot.spec.id!r} is not running: no session to read", field="id")
            return slot.session.snapshot()

    def feed(self, events: EventsInput, *, provider: str = "backtest") -> FeedResult:
        """Deliver market events to every running instance subscribed to their provider and symbol.

        ``events``: a DataFrame (columns as for backtests), :class:`MarketData`, :class:`MarketEvents`
        or an iterable of event mappings; rows without a provider come from ``provider``. Batches must
        not go back in time. An instance whose strategy fails (time or heap limit, host failure) is
        stopped, its usage records the stop and the reason is its ``lastError``; the others go on.
        """
        batch = market_events(events, provider=provider)
        with self._lock:
            if len(batch) and batch.start_ns < self._clock_ns:
                raise UsageError(
                    f"events: the first event ({batch.start_ns} ns) is earlier than the last one delivered "
                    f"({self._clock_ns} ns); batches must not go back in time",
                    field="timestamp",
                )
            delivered: dict[str, int] = {}
            failed: dict[str, str] = {}
            for key in sorted(self._slots):
                slot = self._slots[key]
                if slot.session is None:
                    continue
                share = share_of(batch, slot.spec.providers, slot.spec.symbols)
                try:
                    slot.session.feed(share)
                except MelticaLabError as exc:
                    slot.error = exc.message
                    failed[key] = exc.message
                    self._halt(slot)
                    continue
                delivered[key] = len(share)
            if len(batch):
                self._clock_ns = int(batch.ts[-1])
            if failed:
                self._persist()
            return FeedResult(delivered, failed)

    def close(self) -> None:
        """Stop every running instance (recorded in the usage) and release every isolate. The
        instances stay registered; starting one again is allowed."""
        with self._lock:
            running = [slot for slot in self._slots.values() if slot.session is not None]
            for slot in running:
                self._halt(slot)
            if running:
                self._persist()
            self._loader.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
