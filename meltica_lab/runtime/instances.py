"""Instances: the lifecycle of instances of pinned revisions, and market events for the running ones.

Each running instance is one :class:`~meltica_lab.backtest.session.StrategySession`: its own V8
isolate with the same host and simulated exchange a backtest uses. Everything here works on the
manager's :class:`~meltica_lab.runtime.state.RuntimeState`, under its lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from meltica_lab.backtest.config import DRY_RUN
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.backtest.session import SessionSnapshot, StrategySession
from meltica_lab.errors import InstanceError, MelticaLabError, UsageError
from meltica_lab.jshost.limits import Limits
from meltica_lab.runtime.feeding import EventsInput, market_events, share_of
from meltica_lab.runtime.results import FeedResult
from meltica_lab.runtime.specs import (
    Instance,
    InstanceSpec,
    frozen_config,
    normalise_id,
    normalise_providers,
    normalise_symbols,
)
from meltica_lab.runtime.state import RuntimeState, Slot

__all__ = ["Instances"]


class Instances:
    """Create, start, stop, update and remove instances; feed them events; read what they traded.

    ``limits`` bound every V8 call of every instance; ``options`` are the simulated exchange's
    settings each instance starts with (its id, providers and ``dry_run`` filled in).
    """

    def __init__(self, state: RuntimeState, *, limits: Limits, options: SessionOptions) -> None:
        self._state = state
        self.limits = limits
        self.options = options

    # -- sessions ----------------------------------------------------------------------------------
    def launch(self, spec: InstanceSpec) -> StrategySession:
        """A new session of the pinned revision, or :class:`InstanceError` saying why not."""
        state = self._state
        try:
            revision = state.loader.revision(spec.hash)
            source = revision.read_source()
            config = state.checked_config(revision, spec.config, spec.id)
            options = replace(
                self.options, instance_id=spec.id, providers=spec.providers, dry_run=bool(config[DRY_RUN])
            )
            return StrategySession(
                source,
                name=spec.strategy,
                tag=spec.tag,
                config=config,
                options=options,
                limits=self.limits,
                symbols=spec.symbols,
                start_ns=state.clock_ns,
            )
        except MelticaLabError as exc:
            raise InstanceError(
                f"instance {spec.id}: cannot start {spec.pinned}: {exc.message}", selector=spec.selector
            ) from exc

    def mark_start(self, slot: Slot) -> None:
        """Record in the usage index that ``slot`` now runs its pinned revision."""
        slot.launched = (slot.spec.strategy, slot.spec.hash)
        self._state.index.record_start(*slot.launched, slot.spec.id)

    def halt(self, slot: Slot, *, keep_run: bool = False) -> None:
        """Close a running session and record the stop under the revision it was launched on.

        With ``keep_run`` (the instance stops, rather than moving to a new session) what the session
        traded is kept as the instance's ``last_run`` first. Only a deliberate stop asks: a session a
        failure stopped may have an unusable isolate, and a relaunched one is replaced at once.
        """
        if slot.session is not None:
            if keep_run:
                try:
                    slot.last_run = slot.session.snapshot()
                except MelticaLabError:
                    slot.last_run = None
            slot.session.close()
            slot.session = None
        if slot.launched is not None:
            self._state.index.record_stop(*slot.launched, slot.spec.id)
            slot.launched = None

    def relaunch(self, slot: Slot, spec: InstanceSpec) -> str:
        """Start ``spec`` in a new session, then retire the old one; on failure the old one keeps
        running and the error text is returned ("" on success)."""
        try:
            session = self.launch(spec)
        except InstanceError as exc:
            return exc.message
        self.halt(slot)
        slot.spec, slot.session = spec, session
        self._state.index.ensure(spec.strategy, spec.hash)
        self.mark_start(slot)
        return ""

    # -- lifecycle ---------------------------------------------------------------------------------
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
        state = self._state
        ident = normalise_id(id)
        with state.lock:
            if ident in state.slots:
                raise InstanceError(f"instance {ident!r} already exists", field="id")
            if not isinstance(strategy, str):
                raise UsageError(f"strategy: expected a selector string, got {type(strategy).__name__}")
            found = state.loader.resolution(strategy)
            revision = state.loader.revision(found.hash)
            frozen = frozen_config(config, ident)
            state.checked_config(revision, frozen, ident)
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
            slot = state.slots[ident] = Slot(spec)
            # a zero entry carries no times: the next change that does saves it too
            state.index.ensure(spec.strategy, spec.hash)
            return state.view(slot)

    def start(self, id: str) -> Instance:
        """Launch a stopped instance on its pinned hash; :class:`InstanceError` if it runs already or
        cannot start (the reason is also kept as the instance's ``lastError``)."""
        state = self._state
        with state.lock:
            slot = state.slot(id)
            if slot.session is not None:
                raise InstanceError(f"instance {slot.spec.id!r} is already running", field="id")
            try:
                slot.session = self.launch(slot.spec)
            except InstanceError as exc:
                slot.error = exc.message
                raise
            slot.error = ""
            slot.last_run = None
            self.mark_start(slot)
            state.persist()
            return state.view(slot)

    def stop(self, id: str) -> Instance:
        """Stop a running instance (its usage records the stop)."""
        state = self._state
        with state.lock:
            slot = state.slot(id)
            if slot.session is None:
                raise InstanceError(f"instance {slot.spec.id!r} is not running", field="id")
            self.halt(slot, keep_run=True)
            state.persist()
            return state.view(slot)

    def remove(self, id: str) -> Instance:
        """Stop the instance if it runs and forget it; returns its last state. Its usage entry stays."""
        state = self._state
        with state.lock:
            slot = state.slot(id)
            was_running = slot.session is not None
            self.halt(slot)
            del state.slots[slot.spec.id]
            if was_running:
                state.persist()
            return state.view(slot)

    def update(self, id: str, config: Mapping[str, Any] | None) -> Instance:
        """Replace the instance's config. The selector is never re-resolved: the instance stays on its
        hash; a running instance is relaunched on that same hash (the old session keeps running if the
        new one cannot start, and the config is then left unchanged)."""
        state = self._state
        with state.lock:
            slot = state.slot(id)
            frozen = frozen_config(config, slot.spec.id)
            state.checked_config(state.loader.revision(slot.spec.hash), frozen, slot.spec.id)
            spec = replace(slot.spec, config=frozen)
            if slot.session is not None:
                session = self.launch(spec)
                self.halt(slot)
                slot.spec, slot.session = spec, session
                self.mark_start(slot)
                state.persist()
            else:
                slot.spec = spec
            return state.view(slot)

    # -- reading -----------------------------------------------------------------------------------
    def instance(self, id: str) -> Instance:
        """One instance's current state."""
        with self._state.lock:
            return self._state.view(self._state.slot(id))

    def instances(self) -> list[Instance]:
        """Every instance, sorted by id."""
        with self._state.lock:
            return [self._state.view(slot) for slot in self._state.sorted_slots()]

    def snapshot(self, id: str) -> SessionSnapshot:
        """The results so far of a running instance: fills, orders, equity, logs and counters."""
        with self._state.lock:
            slot = self._state.slot(id)
            if slot.session is None:
                raise InstanceError(f"instance {slot.spec.id!r} is not running: no session to read", field="id")
            return slot.session.snapshot()

    def traded(self, id: str) -> SessionSnapshot | None:
        """What the instance traded: its running session's results, else those of its last session
        (kept when it was stopped), else ``None`` (it never ran, or a failure stopped it)."""
        with self._state.lock:
            slot = self._state.slot(id)
            return slot.session.snapshot() if slot.session is not None else slot.last_run

    # -- events ------------------------------------------------------------------------------------
    def feed(self, events: EventsInput, *, provider: str = "backtest") -> FeedResult:
        """Deliver market events to every running instance subscribed to their provider and symbol.

        ``events``: a DataFrame (columns as for backtests), :class:`MarketData`, :class:`MarketEvents`
        or an iterable of event mappings; rows without a provider come from ``provider``. Batches must
        not go back in time. An instance whose strategy fails (time or heap limit, host failure) is
        stopped, its usage records the stop and the reason is its ``lastError``; the others go on.
        """
        state = self._state
        batch = market_events(events, provider=provider)
        with state.lock:
            if len(batch) and batch.start_ns < state.clock_ns:
                raise UsageError(
                    f"events: the first event ({batch.start_ns} ns) is earlier than the last one delivered "
                    f"({state.clock_ns} ns); batches must not go back in time",
                    field="timestamp",
                )
            delivered: dict[str, int] = {}
            failed: dict[str, str] = {}
            for slot in state.sorted_slots():
                if slot.session is None:
                    continue
                share = share_of(batch, slot.spec.providers, slot.spec.symbols)
                try:
                    slot.session.feed(share)
                except MelticaLabError as exc:
                    slot.error = exc.message
                    failed[slot.spec.id] = exc.message
                    self.halt(slot)
                    continue
                delivered[slot.spec.id] = len(share)
            if len(batch):
                state.clock_ns = int(batch.ts[-1])
            if failed:
                state.persist()
            return FeedResult(delivered, failed)

    def stop_all(self) -> None:
        """Stop every running instance (recorded in the usage); they stay registered."""
        state = self._state
        with state.lock:
            running = [slot for slot in state.slots.values() if slot.session is not None]
            for slot in running:
                self.halt(slot, keep_run=True)
            if running:
                state.persist()
