"""The workspace: the one owner of the state a session with the kit builds up.

A :class:`Workspace` holds a strategies root and everything that makes working with it fast and
reproducible: its :class:`~meltica_lab.loader.Loader`, exactly one
:class:`~meltica_lab.jshost.module.ModuleHost` (the V8 isolate that reads module metadata), the
module cache (file hashes and module reports by content hash, in memory over the on-disk cache), the
memo of parsed registries, and the default :class:`~meltica_lab.backtest.settings.BacktestSettings`.
Nothing of it lives at module level: two workspaces never see each other's state, and a test gets a
clean one by making a new one (ARCHITECTURE decision 9)::

    import meltica_lab

    with meltica_lab.open("strategies", capital=50_000) as ws:
        result = ws.run_backtest("momentum:v1.2.0", "trades.csv")
        table = ws.compare(["momentum:v1.1.0", "momentum:v1.2.0"], "trades.csv")
        cheap = ws.with_settings(fees=Fees(0, 0)).run_backtest("momentum", "trades.csv")

The top-level ``run_backtest``, ``compare`` and ``sweep`` are the same calls without a workspace:
each makes one Loader for the whole call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Unpack

import pandas as pd

from meltica_lab.backtest.data import DataSource, MarketData
from meltica_lab.backtest.engine import compare, run_backtest
from meltica_lab.backtest.results import BacktestResult
from meltica_lab.backtest.settings import BacktestSettings, SettingsChanges
from meltica_lab.backtest.sweep import sweep
from meltica_lab.config import AppConfig
from meltica_lab.data import DataCache, DataDescription, describe_data, load_market_data
from meltica_lab.errors import UsageError
from meltica_lab.jshost.module import ModuleHost
from meltica_lab.loader import Loader, RefreshReport, Revision
from meltica_lab.module_cache import ModuleCache, default_cache_dir
from meltica_lab.registry import ParsedRegistries
from meltica_lab.selectors import Selector


class _Shared:
    """What a workspace and the workspaces derived from it (:meth:`Workspace.with_settings`) share."""

    def __init__(
        self,
        loader: Loader,
        host: ModuleHost,
        cache: ModuleCache,
        registries: ParsedRegistries,
        data_cache: DataCache,
    ) -> None:
        self.loader = loader
        self.host = host
        self.cache = cache
        self.registries = registries
        self.data_cache = data_cache
        self.closed = False
        self.lock = threading.Lock()


class Workspace:
    """A strategies root with its loader, module host, caches and default backtest settings.

    ``root`` defaults to ``strategies.directory`` of ``config`` (``config/app.yaml``), else
    ``strategies``; a root that is not a directory, or lacks the registry ``config`` requires, fails
    here. ``cache_dir`` holds the on-disk module cache and the market data conversion cache
    (``columns``; default :func:`default_cache_dir`: the user's cache, shared by every process on the
    machine): file paths given to :meth:`run_backtest` and :meth:`compare` are read through it.
    ``settings`` are the default settings of every run, with ``changes`` (any
    :class:`BacktestSettings` field by name) applied.

    The module host is made with ``settings.limits`` and starts its V8 isolate only when a module
    has to be evaluated (a warm workspace never starts one). :meth:`close` (or leaving a ``with``
    block) closes it. Thread-safe as its parts are: the loader and the host lock what they share.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        settings: BacktestSettings | None = None,
        config: AppConfig | None = None,
        cache_dir: str | Path | None = None,
        **changes: Unpack[SettingsChanges],
    ) -> None:
        if settings is not None and not isinstance(settings, BacktestSettings):
            kind = type(settings).__name__
            raise UsageError(f"settings: expected a BacktestSettings value, got {kind}", field="settings")
        self._settings = (settings if settings is not None else BacktestSettings()).with_(**changes)
        cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cache = ModuleCache(cache_root)
        registries = ParsedRegistries()
        host = ModuleHost(self._settings.limits)
        loader = Loader(
            root, config=config, host=host, limits=self._settings.limits, cache=cache, registries=registries
        )
        self._shared = _Shared(loader, host, cache, registries, DataCache(cache_root / "columns"))

    # -- what it owns -------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The strategies root."""
        return self._shared.loader.root

    @property
    def settings(self) -> BacktestSettings:
        """The default settings of every run started from this workspace."""
        return self._settings

    @property
    def loader(self) -> Loader:
        """The loader of the root (refreshed on first use; call :meth:`refresh` after files change)."""
        self._check_open()
        return self._shared.loader

    @property
    def host(self) -> ModuleHost:
        """The workspace's one module host; hand it to anything that evaluates modules (migration)."""
        self._check_open()
        return self._shared.host

    @property
    def data_cache(self) -> DataCache:
        """The market data conversion cache (``columns`` under the cache directory)."""
        return self._shared.data_cache

    @property
    def cache(self) -> ModuleCache:
        """The module cache: file hashes and module reports by content hash, memory over disk."""
        return self._shared.cache

    @property
    def registries(self) -> ParsedRegistries:
        """The memo of parsed ``registry.json`` documents."""
        return self._shared.registries

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (on this workspace or one sharing its state)."""
        return self._shared.closed

    def with_settings(self, **changes: Unpack[SettingsChanges]) -> Workspace:
        """A workspace with other default settings that shares this one's root, loader, module host
        and caches: nothing is read or evaluated again. Closing either closes the shared host, so
        close the workspace you opened (``with`` on it) and let derived ones go.

        The host keeps the limits it was made with: ``limits`` here apply to strategy runs.
        """
        derived = Workspace.__new__(Workspace)
        derived._settings = self._settings.with_(**changes)
        derived._shared = self._shared
        return derived

    def close(self) -> None:
        """Close the module host; the workspace (and every one sharing its state) is then unusable."""
        with self._shared.lock:
            self._shared.closed = True
            self._shared.host.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Workspace {self.root} ({state})>"

    def _check_open(self) -> None:
        if self._shared.closed:
            raise UsageError(f"the workspace of {self.root} is closed: open a new one")

    # -- strategies ---------------------------------------------------------------------------------
    def refresh(self) -> RefreshReport:
        """Re-read the registry and every revision (see :meth:`Loader.refresh`)."""
        return self.loader.refresh()

    def resolve(self, selector: str | Selector) -> Revision:
        """The :class:`Revision` a selector names (see :meth:`Loader.resolve`)."""
        shared = self._shared  # spelled out: a warm resolve is a few dictionary lookups, kept that way
        if shared.closed:
            self._check_open()
        return shared.loader.resolve(selector)

    # -- market data --------------------------------------------------------------------------------
    def load_market_data(
        self, data: DataSource | Sequence[str | Path], *, settings: BacktestSettings | None = None, **options: Any
    ) -> MarketData:
        """:func:`meltica_lab.data.load_market_data` through this workspace's conversion cache, with
        the defaults a run of ``settings`` (default: the workspace's) reads data with: its symbol,
        first provider, bad-row handling and progress bars; ``options`` (``format=``, ``columns=``, ...) as there."""
        chosen = settings if settings is not None else self._settings
        defaults: dict[str, Any] = {
            "drop_bad_rows": chosen.drop_bad_rows,
            "default_symbol": chosen.symbol or "",
            "default_provider": chosen.providers[0],
            "cache": self.data_cache,
            "progress": chosen.progress,
        }
        return load_market_data(data, **{**defaults, **options})

    def describe_data(self, data: DataSource | MarketData | Sequence[str | Path], **options: Any) -> DataDescription:
        """:func:`meltica_lab.describe_data` of data read as :meth:`load_market_data` reads it."""
        return describe_data(data if isinstance(data, MarketData) else self.load_market_data(data, **options))

    def _market(self, data: Any, changes: Mapping[str, Any]) -> Any:
        """Files read through the workspace's cache, as a run with ``changes`` reads them; anything
        else (a DataFrame, loaded data) as it is."""
        if isinstance(data, str | Path) or (
            isinstance(data, list | tuple) and data and all(isinstance(d, str | Path) for d in data)
        ):
            return self.load_market_data(data, settings=self._settings.with_(**changes))
        return data

    # -- backtests ----------------------------------------------------------------------------------
    def run_backtest(
        self,
        strategy: str | Revision,
        data: DataSource | MarketData,
        *,
        config: Mapping[str, Any] | None = None,
        **changes: Unpack[SettingsChanges],
    ) -> BacktestResult:
        """:func:`meltica_lab.backtest.run_backtest` with this workspace's loader and settings
        (``changes`` apply to this run only)."""
        return run_backtest(strategy, self._market(data, changes), workspace=self, config=config, **changes)

    def compare(
        self,
        strategies: Iterable[str | Revision],
        data: DataSource | MarketData,
        *,
        config: Mapping[str, Any] | None = None,
        **changes: Unpack[SettingsChanges],
    ) -> pd.DataFrame:
        """:func:`meltica_lab.backtest.compare` with this workspace's loader and settings."""
        return compare(strategies, self._market(data, changes), workspace=self, config=config, **changes)

    def sweep(
        self,
        strategy_or_list: str | Revision | Sequence[str | Revision],
        data: DataSource | MarketData | Sequence[DataSource | MarketData],
        grid: Mapping[str, Sequence[Any]] | None = None,
        *,
        executor: Executor | None = None,
        config: Mapping[str, Any] | None = None,
        scratch: str | Path | None = None,
        **changes: Unpack[SettingsChanges],
    ) -> pd.DataFrame:
        """:func:`meltica_lab.backtest.sweep` with this workspace's loader and settings (the workers
        receive the settings value; they need nothing else from the workspace)."""
        return sweep(
            strategy_or_list,
            data,
            grid,
            workspace=self,
            executor=executor,
            config=config,
            scratch=scratch,
            **changes,
        )


def open_workspace(
    root: str | Path | None = None,
    *,
    settings: BacktestSettings | None = None,
    config: AppConfig | None = None,
    cache_dir: str | Path | None = None,
    **changes: Unpack[SettingsChanges],
) -> Workspace:
    """A :class:`Workspace` of ``root`` (``meltica_lab.open``); use it in a ``with`` block."""
    return Workspace(root, settings=settings, config=config, cache_dir=cache_dir, **changes)
