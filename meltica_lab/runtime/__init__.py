"""The runtime manager: instance lifecycle, refresh, module operations, listing, usage and metrics.

``Manager(root, state_dir=...)`` is the entry point. It is built in layers, one module each: ``core``
(state, instance lifecycle, events), ``refreshing``, ``operations`` (module operations) and
``manager`` (listing, usage, export, metrics). Their parts, each readable alone: ``specs`` (instance
specs and summaries), ``targets`` (refresh target normalisation), ``listing`` (module listing),
``modules`` (module files on disk), ``feeding`` (market events for instances), ``metrics`` and
``results`` (the values operations return).
"""

from meltica_lab.runtime.core import USAGE_FILE
from meltica_lab.runtime.manager import Manager
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

__all__ = [
    "REASONS",
    "USAGE_FILE",
    "Deletion",
    "FeedResult",
    "Instance",
    "InstanceSpec",
    "Manager",
    "RefreshResult",
    "Rollback",
    "TagAssignment",
    "TagDeletion",
    "UploadResult",
]
