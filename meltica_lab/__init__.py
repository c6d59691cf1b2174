"""meltica-lab: registry, V8 sandbox, backtests and usage analysis for Meltica gateway strategies.

The public API, importable from here (each name is loaded on first use, so ``import meltica_lab``
stays fast)::

    import meltica_lab
    from meltica_lab import Loader, run_backtest, Manager, drift_report

    with meltica_lab.open("strategies") as ws:   # a Workspace: loader, module host, caches, settings
        ws.run_backtest("momentum:v1.2.0", "trades.csv", capital=50_000)

- workspaces: ``open``, ``Workspace``, ``BacktestSettings`` (the default settings of every run)
- registry and selectors: ``Selector``, ``Registry``, ``load_registry``, ``edit_registry``,
  ``read_tag_history``, ``content_hash``
- loading: ``Loader``, ``Revision``
- migration: ``plan_migration``, ``apply_migration``, ``migrate``
- backtests: ``run_backtest``, ``compare``, ``sweep``, ``BacktestResult``, ``Fees``, ``FillModel``,
  ``load_market_data``, ``describe_data`` (market data in: :mod:`meltica_lab.data`)
- operating revisions: ``Manager`` (``Manager.gateway``, a ``LocalGateway``, has ``GatewayClient``'s methods)
- usage and analysis: ``read_usage_export``, ``UsageIndex``, ``UsageRecord``, ``revisions_frame``,
  ``usage_frame``, ``instances_frame``, ``tag_history_frame``, ``drift_report``, ``pruning_plan``
- a live gateway: ``GatewayClient``
- live against backtest: ``reconcile``, ``Reconciliation``, ``LiveRecords``
- errors: ``MelticaLabError`` and its subclasses in :mod:`meltica_lab.errors`
"""

from __future__ import annotations

import importlib
from typing import Any

from meltica_lab.errors import MelticaLabError
from meltica_lab.version import __version__

# public name -> module, or (module, name there) when the module spells it otherwise
_EXPORTS: dict[str, str | tuple[str, str]] = {
    "open": ("meltica_lab.workspace", "open_workspace"),
    "Workspace": "meltica_lab.workspace",
    "BacktestSettings": "meltica_lab.backtest",
    "Selector": "meltica_lab.selectors",
    "Registry": "meltica_lab.registry",
    "load_registry": "meltica_lab.registry",
    "edit_registry": "meltica_lab.registry",
    "read_tag_history": "meltica_lab.registry",
    "content_hash": "meltica_lab.hashing",
    "Loader": "meltica_lab.loader",
    "Revision": "meltica_lab.loader",
    "plan_migration": "meltica_lab.migrate",
    "apply_migration": "meltica_lab.migrate",
    "migrate": "meltica_lab.migrate",
    "run_backtest": "meltica_lab.backtest",
    "compare": "meltica_lab.backtest",
    "sweep": "meltica_lab.backtest",
    "BacktestResult": "meltica_lab.backtest",
    "Fees": "meltica_lab.backtest",
    "FillModel": "meltica_lab.backtest",
    "load_market_data": "meltica_lab.data",
    "describe_data": "meltica_lab.data",
    "Manager": "meltica_lab.runtime",
    "LocalGateway": "meltica_lab.runtime",
    "read_usage_export": "meltica_lab.usage",
    "UsageIndex": "meltica_lab.usage",
    "UsageRecord": "meltica_lab.usage",
    "revisions_frame": "meltica_lab.analysis",
    "usage_frame": "meltica_lab.analysis",
    "instances_frame": "meltica_lab.analysis",
    "tag_history_frame": "meltica_lab.analysis",
    "drift_report": "meltica_lab.analysis",
    "pruning_plan": "meltica_lab.analysis",
    "GatewayClient": "meltica_lab.gateway",
    "reconcile": "meltica_lab.reconcile",
    "Reconciliation": "meltica_lab.reconcile",
    "LiveRecords": "meltica_lab.reconcile",
}

# `open` is meant as `meltica_lab.open(...)`: a star import must not shadow the builtin open.
__all__ = ["MelticaLabError", "__version__", *(name for name in _EXPORTS if name != "open")]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'meltica_lab' has no attribute {name!r}")
    module, attribute = where if isinstance(where, tuple) else (where, name)
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, "open"])
