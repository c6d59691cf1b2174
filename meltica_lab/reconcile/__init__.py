"""Live against backtest: what an instance really traded, next to a backtest of the same hash.

``reconcile(live, data)`` reads the instance's orders and executions (from a gateway, saved
answers or frames: :class:`LiveRecords`), backtests the hash the instance runs with its config over
the same market data, and pairs the two sides' fills and orders (:mod:`.matching`: symbol and side
agree, times within the tolerance, nearest first, quantity aware). The :class:`Reconciliation` has
the summary, the fills and orders side by side, provenance, a plot and a JSON form.

The package is callable: ``meltica_lab.reconcile(live, data, ...)`` is :func:`reconcile`, whether
the name was reached through the facade or by importing the package (which binds the package itself
to ``meltica_lab.reconcile``).

Modules, by concern: :mod:`.live` (the live records, checked), :mod:`.matching` (the pairing),
:mod:`.tables` (fills, orders, PnL, summary), :mod:`.result` (:class:`Reconciliation`),
:mod:`.run` (:func:`reconcile`, :func:`reconcile_result`), :mod:`.errors`.
"""

import sys
import types
from typing import Any

from meltica_lab.reconcile.errors import LiveRecordsError, ReconcileWarning
from meltica_lab.reconcile.live import LiveRecords
from meltica_lab.reconcile.matching import Pairs, pair_nearest
from meltica_lab.reconcile.result import Reconciliation
from meltica_lab.reconcile.run import (
    LiveSource,
    as_live_records,
    duration_ns,
    market_prices,
    reconcile,
    reconcile_result,
)
from meltica_lab.reconcile.tables import FILL_COLUMNS, ORDER_COLUMNS, STATUSES

__all__ = [
    "FILL_COLUMNS",
    "ORDER_COLUMNS",
    "STATUSES",
    "LiveRecords",
    "LiveRecordsError",
    "LiveSource",
    "Pairs",
    "ReconcileWarning",
    "Reconciliation",
    "as_live_records",
    "duration_ns",
    "market_prices",
    "pair_nearest",
    "reconcile",
    "reconcile_result",
]


class _CallablePackage(types.ModuleType):
    """The package, callable as :func:`reconcile` (``import meltica_lab.reconcile`` binds the package
    to the name the facade gives the function)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Reconciliation:
        return reconcile(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
