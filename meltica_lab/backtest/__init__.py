"""Backtests of pinned strategy revisions: data in, V8 event loop, results out.

``run_backtest`` runs one revision, ``compare`` several over the same data, ``sweep`` revisions x
parameter grids x datasets in worker processes; all return pandas objects. How every run trades is
one :class:`BacktestSettings` value (a workspace holds the defaults). The event loop, the
simulated exchange, the analytics and the strategy all run inside V8 (:class:`StrategySession`);
Python prepares columns and turns the results into frames.
"""

from meltica_lab.backtest.config import resolve_config
from meltica_lab.backtest.data import BadRow, MarketData, load_market_data
from meltica_lab.backtest.engine import ENGINE_VERSION, BacktestContext, backtest_revision, compare, run_backtest
from meltica_lab.backtest.events import MarketEvents
from meltica_lab.backtest.options import DEFAULT_CAPITAL, Fees, FillModel, SessionOptions
from meltica_lab.backtest.results import BacktestResult
from meltica_lab.backtest.session import SessionSnapshot, StrategySession
from meltica_lab.backtest.settings import BacktestSettings
from meltica_lab.backtest.sweep import best_first, process_pool, sweep

__all__ = [
    "DEFAULT_CAPITAL",
    "ENGINE_VERSION",
    "BacktestContext",
    "BacktestResult",
    "BacktestSettings",
    "BadRow",
    "Fees",
    "FillModel",
    "MarketData",
    "MarketEvents",
    "SessionOptions",
    "SessionSnapshot",
    "StrategySession",
    "backtest_revision",
    "best_first",
    "compare",
    "load_market_data",
    "process_pool",
    "resolve_config",
    "run_backtest",
    "sweep",
]
