"""meltica-lab: registry, V8 sandbox, backtests and usage analysis for Meltica gateway strategies.

The public API, importable from here (each name is loaded on first use, so ``import meltica_lab``
stays fast)::

    from meltica_lab import Loader, run_backtest, Manager, drift_report

- registry and selectors: ``Selector``, ``Registry``, ``load_registry``, ``edit_registry``,
  ``read_tag_history``, ``content_hash``
- loading: ``Loader``, ``Revision``
- migration: ``plan_migration``, ``apply_migration``, ``migrate``
- backtests: ``run_backtest``, ``compare``, ``sweep``, ``BacktestResult``, ``Fees``, ``FillModel``,
  ``load_market_data``
- operating revisions: ``Manager``
- usage and analysis: ``read_usage_export``, ``UsageIndex``, ``UsageRecord``, ``revisions_frame``,
  ``usage_frame``, ``instances_frame``, ``tag_history_frame``, ``drift_report``, ``pruning_plan``
- a live gateway: ``GatewayClient``
- errors: ``MelticaLabError`` and its subclasses in :mod:`meltica_lab.errors`
"""

from __future__ import annotations

import importlib
from typing import Any

from meltica_lab.errors import MelticaLabError

__version__ = "0.1.0"

_EXPORTS = {
    "Selector": "meltica_lab.selectors",
    "Registry": "meltica_lab.registry",
    "load_registry": "meltica_lab.registry",
    "edit_registry": "meltica_lab.registry",
    "read_tag_history": "meltica_lab.registry",
    "content_hash": "meltica_lab.registry",
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
    "load_market_data": "meltica_lab.backtest",
    "Manager": "meltica_lab.runtime",
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
}

__all__ = ["MelticaLabError", "__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'meltica_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
