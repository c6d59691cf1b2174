"""What reconciling can go wrong with: the live records themselves, and what they imply."""

from __future__ import annotations

from meltica_lab.errors import MelticaLabError


class LiveRecordsError(MelticaLabError):
    """Live orders or executions that cannot be reconciled as given: records of several instances
    without saying which, an execution whose order is missing, times that are not Unix seconds, a
    side that is neither buy nor sell, a fill without a price. ``path`` names the file, ``field`` the
    record (``executions[3]``) where one is at fault."""


class ReconcileWarning(UserWarning):
    """Something the reconciliation did on purpose that changes what it compares, said out loud:
    records of other instances left out on request, fees in an asset that cannot be counted in the
    quote currency, a strategy given that differs from the one the instance runs."""
