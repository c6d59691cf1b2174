"""The one owner of a manager's shared state: :class:`RuntimeState`.

Every collaborator of a :class:`~meltica_lab.runtime.Manager` (instances, refresh, module
operations, queries) is handed the same :class:`RuntimeState` and reads and writes the shared state
through it, under its one lock, so no check-then-act race exists between two threads (compat
§13.14): the instance slots, the loader, the usage index and its snapshot file, the metrics and the
simulation clock. Nothing else holds a copy.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meltica_lab.backtest.config import resolve_config
from meltica_lab.backtest.session import SessionSnapshot, StrategySession
from meltica_lab.errors import InstanceError
from meltica_lab.loader import Loader, Revision
from meltica_lab.runtime.metrics import ManagerMetrics
from meltica_lab.runtime.specs import Instance, InstanceSpec, normalise_id
from meltica_lab.usage import UsageIndex

__all__ = ["USAGE_FILE", "RuntimeState", "Slot"]

USAGE_FILE = "usage.json"
"""The usage snapshot's file name inside ``state_dir``."""


@dataclass
class Slot:
    """Mutable state of one instance; only touched under the state's lock.

    ``session`` is the running strategy session; ``launched`` the ``(strategy, hash)`` its usage was
    recorded under; ``error`` why a launch or a feed stopped it; ``last_run`` what its last session
    traded, kept when it stopped (the orders and fills of a stopped instance).
    """

    spec: InstanceSpec
    session: StrategySession | None = None
    launched: tuple[str, str] | None = None
    error: str = ""
    last_run: SessionSnapshot | None = None


class RuntimeState:
    """The shared state of one manager, and the small operations every collaborator needs on it.

    ``loader`` resolves selectors and is refreshed after every module operation; ``owns_loader``
    says whether :meth:`close` closes it (a workspace's loader belongs to the workspace).
    ``state_dir`` holds the usage snapshot (:data:`USAGE_FILE`), rewritten by :meth:`persist`; a
    snapshot found there is loaded with every running set emptied (those instances ran in another
    process), so ``firstSeen``/``lastSeen`` survive a restart.
    """

    def __init__(self, loader: Loader, *, owns_loader: bool, state_dir: str | Path | None = None) -> None:
        self.lock = threading.RLock()
        self.loader = loader
        self.owns_loader = owns_loader
        self.state_file = Path(state_dir) / USAGE_FILE if state_dir is not None else None
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.index = UsageIndex.load(self.state_file)
            self.index.reset_running()
        else:
            self.index = UsageIndex()
        self.metrics = ManagerMetrics(self.index)
        self.slots: dict[str, Slot] = {}
        self.clock_ns = 0

    @property
    def root(self) -> Path:
        """The strategies root."""
        return self.loader.root

    def slot(self, instance_id: str) -> Slot:
        """The slot of ``instance_id`` (trimmed), or :class:`InstanceError` listing the known ids."""
        ident = normalise_id(instance_id)
        slot = self.slots.get(ident)
        if slot is None:
            known = ", ".join(sorted(self.slots)[:10]) or "none"
            raise InstanceError(f"instance {ident!r} not found (instances: {known})", field="id")
        return slot

    def sorted_slots(self) -> list[Slot]:
        """Every slot, by instance id."""
        return [self.slots[key] for key in sorted(self.slots)]

    def pins(self) -> dict[str, str]:
        """Every hash an instance (running or stopped) pins, with its strategy."""
        return {slot.spec.hash: slot.spec.strategy for slot in self.slots.values()}

    def view(self, slot: Slot) -> Instance:
        """The read-only view of one instance, with its revision's usage now."""
        spec = slot.spec
        return Instance(spec, slot.session is not None, self.index.get(spec.strategy, spec.hash), slot.error)

    def persist(self) -> None:
        """Write the usage snapshot, when the manager has a ``state_dir``."""
        if self.state_file is not None:
            self.index.save(self.state_file)

    def checked_config(self, revision: Revision, config: Mapping[str, Any], instance_id: str) -> dict[str, Any]:
        """``config`` checked and coerced by ``revision``'s declared config, naming the instance."""
        return resolve_config(revision.metadata.config, config, strategy=f"{revision.name} (instance {instance_id})")

    def close(self) -> None:
        """Close the loader if this state made it."""
        if self.owns_loader:
            self.loader.close()
