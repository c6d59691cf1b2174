"""The runtime manager: instances of pinned strategy revisions, module operations, usage, metrics.

:class:`Manager` is a composition, not a hierarchy: named collaborators (the instance lifecycle,
refresh, module operations, queries) over one owner of the shared state
(:class:`~meltica_lab.runtime.state.RuntimeState`). Each collaborator can be made and tested alone
over a ``RuntimeState``; the manager wires them together and keeps every name it always had.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from meltica_lab.backtest.options import SessionOptions
from meltica_lab.backtest.session import SessionSnapshot
from meltica_lab.backtest.settings import BacktestSettings
from meltica_lab.config import AppConfig
from meltica_lab.errors import UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.loader import Loader, RefreshReport
from meltica_lab.runtime.feeding import EventsInput
from meltica_lab.runtime.instances import Instances
from meltica_lab.runtime.operations import ModuleOperations
from meltica_lab.runtime.queries import Queries
from meltica_lab.runtime.refreshing import Refresher
from meltica_lab.runtime.results import (
    Deletion,
    FeedResult,
    RefreshResult,
    Rollback,
    TagAssignment,
    TagDeletion,
    UploadResult,
)
from meltica_lab.runtime.specs import Instance
from meltica_lab.runtime.state import RuntimeState
from meltica_lab.usage import UsageIndex, UsageRecord

if TYPE_CHECKING:
    from meltica_lab.runtime.local_gateway import LocalGateway

__all__ = ["Manager", "ManagerContext"]


class ManagerContext(Protocol):
    """What a manager takes from its caller's owner of state (a
    :class:`~meltica_lab.workspace.Workspace`): the loader of the root, and the default settings."""

    @property
    def loader(self) -> Loader:
        """The loader the manager resolves with (and refreshes after module operations)."""
        ...

    @property
    def settings(self) -> BacktestSettings:
        """Default settings: their ``limits`` and simulated-exchange options apply to every instance."""
        ...


class Manager:
    """Instances, module operations and usage over one strategies root.

    Lifecycle: :meth:`create` (stopped), :meth:`start`, :meth:`stop`, :meth:`update`, :meth:`remove`,
    :meth:`feed`; refresh: :meth:`refresh`, :meth:`refresh_hash`, :meth:`reload`; modules:
    :meth:`upload`, :meth:`assign_tag`, :meth:`delete_tag`, :meth:`delete`, :meth:`rollback`; reading:
    :meth:`instances`, :meth:`modules`, :meth:`usage`, :meth:`export`, :meth:`metrics_text`.
    :attr:`gateway` offers the same operations as :class:`~meltica_lab.gateway.GatewayClient`, with
    the same names and result types, so a notebook can switch between this manager and a live gateway.

    Made of named collaborators over one owner of the shared state, each usable alone:
    :attr:`state` (:class:`~meltica_lab.runtime.state.RuntimeState`: the lock, instance slots,
    loader, usage index, metrics, clock), :attr:`lifecycle` (:class:`~meltica_lab.runtime.instances.Instances`),
    :attr:`refresher` (:class:`~meltica_lab.runtime.refreshing.Refresher`), :attr:`operations`
    (:class:`~meltica_lab.runtime.operations.ModuleOperations`) and :attr:`queries`
    (:class:`~meltica_lab.runtime.queries.Queries`).

    ``workspace`` (a :class:`~meltica_lab.workspace.Workspace`, or anything with a ``loader`` and
    ``settings``) lends its loader, module host and caches, and its settings' limits and exchange
    options; the workspace keeps owning them (closing the manager leaves it open). Without one, the
    manager makes a Loader of ``root`` (``cache_dir`` is its metadata cache, ``config`` its app
    config) and closes it with :meth:`close`; ``limits`` bound every V8 call of every instance and
    ``options`` are the simulated exchange's settings (fees, fill model, capital, ...) each instance
    starts with, its id and providers filled in. An instance's ``dry_run`` config defaults to false
    here, as in backtests: orders go to the simulated exchange.

    ``state_dir`` holds the usage snapshot (``usage.json``), rewritten after every change to the
    running sets and times, so ``firstSeen``/``lastSeen`` survive a restart; a new manager starts
    with every count at 0 and the times kept.

    Events reach running instances only through :meth:`feed`; the simulation clock is the time of the
    last event fed, and a later batch may not start before it.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        workspace: ManagerContext | None = None,
        state_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        limits: Limits | None = None,
        options: SessionOptions | None = None,
        config: AppConfig | None = None,
    ) -> None:
        if workspace is not None:
            loader = workspace.loader
            if root is not None and Path(root).resolve() != loader.root.resolve():
                raise UsageError(f"root {root} is not the workspace's root {loader.root}: give one of them")
            if cache_dir is not None or config is not None:
                raise UsageError("cache_dir and config belong to the workspace: give them to meltica_lab.open()")
            settings = workspace.settings
            limits = settings.limits if limits is None else limits
            if options is None:
                options = settings.session_options(dry_run=False)
            owns_loader = False
        else:
            if root is None:
                raise UsageError("Manager: give the strategies root, or workspace=")
            limits = DEFAULT_LIMITS if limits is None else limits
            cache = Path(cache_dir) if cache_dir is not None else None
            loader = Loader(root, config=config, cache_dir=cache, limits=limits)
            owns_loader = True
        self.state = RuntimeState(loader, owns_loader=owns_loader, state_dir=state_dir)
        self.lifecycle = Instances(self.state, limits=limits, options=options or SessionOptions())
        self.refresher = Refresher(self.state, self.lifecycle)
        self.operations = ModuleOperations(self.state, self.refresher)
        self.queries = Queries(self.state)
        self._gateway: LocalGateway | None = None
        loader.refresh()

    # -- what it holds ------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The strategies root."""
        return self.state.root

    @property
    def loader(self) -> Loader:
        """The loader the manager resolves with (refreshed after every module operation)."""
        return self.state.loader

    @property
    def usage_index(self) -> UsageIndex:
        """The live usage index (read it; the manager writes it)."""
        return self.state.index

    @property
    def gateway(self) -> LocalGateway:
        """This manager with :class:`~meltica_lab.gateway.GatewayClient`'s methods and result types."""
        if self._gateway is None:
            from meltica_lab.runtime.local_gateway import LocalGateway  # the gateway models load httpx

            self._gateway = LocalGateway(self)
        return self._gateway

    # -- instances ----------------------------------------------------------------------------------
    def create(
        self,
        id: str,
        strategy: str,
        config: Mapping[str, Any] | None = None,
        providers: Iterable[str] = ("backtest",),
        symbols: Iterable[str] = (),
    ) -> Instance:
        """Register a stopped instance of the revision ``strategy`` resolves to; see
        :meth:`.Instances.create`."""
        return self.lifecycle.create(id, strategy, config, providers, symbols)

    def start(self, id: str) -> Instance:
        """Launch a stopped instance on its pinned hash; see :meth:`.Instances.start`."""
        return self.lifecycle.start(id)

    def stop(self, id: str) -> Instance:
        """Stop a running instance (its usage records the stop)."""
        return self.lifecycle.stop(id)

    def remove(self, id: str) -> Instance:
        """Stop the instance if it runs and forget it; returns its last state. Its usage entry stays."""
        return self.lifecycle.remove(id)

    def update(self, id: str, config: Mapping[str, Any] | None) -> Instance:
        """Replace the instance's config, relaunching it on the same hash; see :meth:`.Instances.update`."""
        return self.lifecycle.update(id, config)

    def instance(self, id: str) -> Instance:
        """One instance's current state."""
        return self.lifecycle.instance(id)

    def instances(self) -> list[Instance]:
        """Every instance, sorted by id."""
        return self.lifecycle.instances()

    def snapshot(self, id: str) -> SessionSnapshot:
        """The results so far of a running instance: fills, orders, equity, logs and counters."""
        return self.lifecycle.snapshot(id)

    def feed(self, events: EventsInput, *, provider: str = "backtest") -> FeedResult:
        """Deliver market events to the running instances; see :meth:`.Instances.feed`."""
        return self.lifecycle.feed(events, provider=provider)

    # -- refresh ------------------------------------------------------------------------------------
    def reload(self) -> RefreshReport:
        """Re-read the registry and modules without touching any instance; what the loader did."""
        return self.refresher.reload()

    def refresh(self, hashes: Iterable[str] = (), strategies: Iterable[str] = ()) -> list[RefreshResult]:
        """Reload modules, re-resolve instances, restart the running ones whose hash changed; see
        :meth:`.Refresher.refresh`."""
        return self.refresher.refresh(hashes, strategies)

    def refresh_hash(self, hash: str) -> list[RefreshResult]:
        """Restart every running instance pinned to ``hash``; see :meth:`.Refresher.refresh_hash`."""
        return self.refresher.refresh_hash(hash)

    # -- module operations --------------------------------------------------------------------------
    def upload(
        self,
        source: str | bytes,
        tag: str | None = None,
        aliases: Iterable[str] = (),
        promote_latest: bool = True,
    ) -> UploadResult:
        """Validate and store a new revision; see :meth:`.ModuleOperations.upload`."""
        return self.operations.upload(source, tag, aliases, promote_latest)

    def assign_tag(self, name: str, tag: str, hash: str, refresh: bool = True) -> TagAssignment:
        """Point ``tag`` of ``name`` at ``hash``; see :meth:`.ModuleOperations.assign_tag`."""
        return self.operations.assign_tag(name, tag, hash, refresh)

    def delete_tag(self, name: str, tag: str, allow_orphan: bool = False) -> TagDeletion:
        """Remove a tag; see :meth:`.ModuleOperations.delete_tag`."""
        return self.operations.delete_tag(name, tag, allow_orphan)

    def delete(self, selector: str) -> Deletion:
        """Delete revisions (refused while an instance pins one); see :meth:`.ModuleOperations.delete`."""
        return self.operations.delete(selector)

    def rollback(self, name: str, to: str) -> Rollback:
        """Move ``latest`` of ``name`` back to ``to``; see :meth:`.ModuleOperations.rollback`."""
        return self.operations.rollback(name, to)

    # -- reading ------------------------------------------------------------------------------------
    def modules(
        self,
        strategy: str | None = None,
        hash: str | None = None,
        running_only: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> dict[str, Any]:
        """The gateway's module listing JSON; see :meth:`.Queries.modules`."""
        return self.queries.modules(strategy, hash, running_only, limit, offset)

    def usage(
        self, selector: str, limit: int | None = None, offset: int = 0, include_stopped: bool = False
    ) -> dict[str, Any]:
        """The gateway's usage drill-down JSON; see :meth:`.Queries.usage`."""
        return self.queries.usage(selector, limit, offset, include_stopped)

    def export(self) -> dict[str, Any]:
        """The gateway's ``GET /strategies/registry`` document; see :meth:`.Queries.export`."""
        return self.queries.export()

    def prune_usage(self, older_than: timedelta) -> list[UsageRecord]:
        """Drop usage entries idle for longer than ``older_than`` (never running ones); persisted."""
        return self.queries.prune_usage(older_than)

    def metrics_text(self) -> str:
        """The manager's metrics in the Prometheus text format."""
        return self.state.metrics.text()

    # -- closing ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every running instance (recorded in the usage) and release every isolate, and the
        loader if the manager made it. The instances stay registered; starting one again is allowed."""
        with self.state.lock:
            self.lifecycle.stop_all()
            self.state.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
