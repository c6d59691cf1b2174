"""The runtime manager: instance lifecycle, refresh, module operations, listing, usage and metrics.

``Manager(root, state_dir=...)`` (or ``Manager(workspace=ws)``) is the entry point. It is a
composition of collaborators, one module each, over one owner of the shared state: ``state``
(:class:`RuntimeState`: lock, instance slots, loader, usage index, metrics, clock), ``instances``
(lifecycle and events), ``refreshing``, ``operations`` (module operations), ``queries`` (listing,
usage, export) and ``local_gateway`` (the manager with the gateway client's methods and result
types). Their parts, each readable alone: ``specs`` (instance specs and summaries), ``targets``
(refresh target normalisation), ``listing`` (module listing), ``feeding`` (market events for
instances), ``metrics`` and ``results`` (the values operations return).
"""

from meltica_lab.runtime.instances import Instances
from meltica_lab.runtime.manager import Manager
from meltica_lab.runtime.operations import ModuleOperations
from meltica_lab.runtime.queries import Queries
from meltica_lab.runtime.refreshing import Refresher
from meltica_lab.runtime.results import (
    REASONS,
    Deletion,
    FeedResult,
    RefreshResult,
    Rollback,
    TagAssignment,
    TagDeletion,
    UploadResult,
)
from meltica_lab.runtime.specs import Instance, InstanceSpec
from meltica_lab.runtime.state import USAGE_FILE, RuntimeState

__all__ = [
    "REASONS",
    "USAGE_FILE",
    "Deletion",
    "FeedResult",
    "Instance",
    "InstanceSpec",
    "Instances",
    "LocalGateway",
    "Manager",
    "ModuleOperations",
    "Queries",
    "RefreshResult",
    "Refresher",
    "Rollback",
    "RuntimeState",
    "TagAssignment",
    "TagDeletion",
    "UploadResult",
]


def __getattr__(name: str) -> object:
    # LocalGateway reads the gateway's models, which load httpx: only when asked for.
    if name == "LocalGateway":
        from meltica_lab.runtime.local_gateway import LocalGateway

        return LocalGateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
