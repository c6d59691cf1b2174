"""Parameter sweeps: every revision × parameter set (× dataset) backtested in parallel, one table out.

:func:`sweep` resolves every selector once, up front, to a pinned hash, and checks every grid value
against each revision's ``metadata.config`` types before any run starts. Each run is one task for a
``concurrent.futures.Executor``: by default a process pool with one worker per core
(:func:`process_pool`); ``dask.distributed`` works through ``client.get_executor()``.

Data goes to the workers once per sweep, not once per task: the parent writes the loaded event
columns to ``.npy`` files in a scratch directory, and each worker process memory-maps them the first
time a task needs them and keeps them in a per-process cache keyed by the digest of those columns.
Every worker must be able to read the scratch directory (true of a local pool and of a
``LocalCluster``; a cluster on other machines needs ``scratch=`` on shared storage).

Each run is :func:`meltica_lab.backtest.run_backtest` in a fresh strategy session (a V8 isolate of
its own), so no strategy state can leak from one run into the next and the table does not depend on
how many workers there are or in which order they pick up tasks. Rows are in plan order (revisions
as given, then datasets as given, then the grid's combinations with the last key varying fastest),
indexed by ``run``. Wall-clock figures stay out of the table: ``table.attrs["execution"]`` holds
them, with the worker that ran each task and whether that task had to load the data.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

import numpy as np
import pandas as pd
from cachetools import LRUCache

from meltica_lab.backtest.config import DRY_RUN, coerce_value, resolve_config
from meltica_lab.backtest.data import DataSource, MarketData
from meltica_lab.backtest.engine import BacktestContext, StrategyResolver, backtest_revision, market_for, settings_for
from meltica_lab.backtest.settings import BacktestSettings, SettingsChanges
from meltica_lab.data.cache import open_columns, stored_market_data
from meltica_lab.errors import ConfigError, DataError, MelticaLabError, UsageError
from meltica_lab.hashing import hash_text
from meltica_lab.loader import Revision
from meltica_lab.progress import progress_bar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

IDENTITY_COLUMNS = ("strategy", "tag", "hash", "selector", "data_source")
"""The first columns of a sweep table: what ran (``selector``: as given) and on which data."""

PROVENANCE_COLUMNS = (
    "data_sha256",
    "rows",
    "rows_dropped",
    "events",
    "events_skipped",
    "timestamp_unit",
    "seed",
    "config",
    "options",
    "engine_version",
    "mini_racer_version",
    "v8_version",
)
"""The last columns: each run's provenance (``config`` and ``options`` as JSON text, keys sorted)."""

RANK_BY = ("Return [%]", "Max. Drawdown [%]")
""":func:`best_first` order: highest return net of fees, then smallest drawdown, then run number."""

_DATASETS_PER_WORKER = 4
_RESERVED = frozenset((*IDENTITY_COLUMNS, *PROVENANCE_COLUMNS))


def _items(value: Any, single: tuple[type, ...]) -> list[Any]:
    """``value`` as a list: itself when it is one item (a path is a str, and a str a Sequence)."""
    return [value] if isinstance(value, single) or not isinstance(value, Iterable) else list(value)


# -- plan: revisions, grid, run options ----------------------------------------------------------


@dataclass(frozen=True)
class _Pinned:
    revision: Revision
    selectors: tuple[str, ...]


def _revisions(strategies: str | Revision | Sequence[str | Revision], resolver: StrategyResolver) -> list[_Pinned]:
    """Each revision once, first mention first, with the selectors that named it."""
    pinned: dict[str, _Pinned] = {}
    for item in _items(strategies, (str, Revision)):
        revision = resolver.resolve(item)
        text = item if isinstance(item, str) else revision.selector
        known = pinned.get(revision.hash)
        if known is None:
            pinned[revision.hash] = _Pinned(revision, (text,))
        elif text not in known.selectors:
            pinned[revision.hash] = _Pinned(revision, (*known.selectors, text))
    if not pinned:
        raise UsageError("sweep: no strategy given", field="strategy")
    return list(pinned.values())


def _grid_axes(grid: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """The grid as lists of values, its shape checked: text keys, each with at least one value."""
    if grid is None:
        return {}
    if not isinstance(grid, Mapping):
        raise ConfigError(f"grid: expected a mapping of config keys to lists of values, got {type(grid).__name__}")
    axes: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"grid: keys must be config key names, got {key!r}", field=str(key))
        if key in _RESERVED:
            raise ConfigError(
                f"grid: {key} is the name of a sweep table column ({', '.join(sorted(_RESERVED))})", field=key
            )
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise ConfigError(f"grid: {key}: expected a list of values, got {values!r}", field=key)
        axes[key] = list(values)
        if not axes[key]:
            raise ConfigError(f"grid: {key}: expected at least one value, got an empty list", field=key)
    return axes


def _parameter_sets(
    revision: Revision, axes: Mapping[str, list[Any]], base: Mapping[str, Any]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every combination for one revision: (grid values as coerced, the config as applied)."""
    fields = {f.name: f for f in revision.metadata.config}
    where = f"grid for {revision.selector}"
    coerced_axes = []
    for key, values in axes.items():
        if key not in fields and key != DRY_RUN:
            known = ", ".join(sorted({*fields, DRY_RUN}))
            raise ConfigError(f"{where}: unknown key {key}; known keys: {known}", field=key, selector=revision.selector)
        declared = fields[key].type if key in fields else "bool"
        coerced = [coerce_value(key, declared, v, where=where) for v in values]
        for i, value in enumerate(coerced):
            # 1 == 1.0 == True in Python; only values of one type and equal are the same run
            same = next((j for j in range(i) if type(coerced[j]) is type(value) and coerced[j] == value), None)
            if same is not None:
                raise ConfigError(
                    f"{where}: {key}: {values[same]!r} and {values[i]!r} are the same {declared} value {value!r}",
                    field=key,
                    selector=revision.selector,
                )
        coerced_axes.append(coerced)
    sets = []
    for combination in itertools.product(*coerced_axes):
        params = dict(zip(axes, combination, strict=True))
        sets.append((params, resolve_config(revision.metadata.config, {**base, **params}, strategy=revision.selector)))
    return sets


def _markets(
    data: DataSource | MarketData | Sequence[DataSource | MarketData], settings: BacktestSettings
) -> list[MarketData]:
    """Every dataset loaded (as ``run_backtest`` would load it), in the order given."""
    items = _items(data, (str, Path, pd.DataFrame, MarketData))
    if not items:
        raise UsageError("sweep: no market data given", field="data")
    return [market_for(d, settings) for d in items]


# -- data shared with the workers ----------------------------------------------------------------


@dataclass(frozen=True)
class _SharedData:
    """Where loaded market data lies as ``.npy`` columns, the digest of exactly those bytes, and the
    data's name for messages (its source and ``data_sha256``)."""

    digest: str
    directory: str
    label: str


def _share(market: MarketData, scratch: Path) -> _SharedData:
    """Write ``market`` under ``scratch`` once per distinct content (a rename makes it appear whole)."""
    events = market.events
    arrays = {name: np.ascontiguousarray(array) for name, array in events.arrays().items()}
    meta = json.dumps(
        {
            "columns": list(arrays),
            "symbols": list(events.symbols),
            "providers": list(events.providers),
            "sha256": market.sha256,
            "rows": market.rows,
            "dropped": [asdict(bad) for bad in market.dropped],
            "source": market.source,
            "timestamp_unit": market.timestamp_unit,
            "format": market.format,
            "files": [asdict(f) for f in market.files],
            "duplicates": market.duplicates,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(meta.encode())
    for name, array in arrays.items():
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.data)
    directory = scratch / digest.hexdigest()
    if not directory.exists():
        staging = Path(tempfile.mkdtemp(dir=scratch, prefix=".staging-"))
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", array)
        (staging / "meta.json").write_text(meta, encoding="utf-8")
        staging.rename(directory)
    label = f"{market.source} ({market.sha256[:19]}…)"
    return _SharedData(hash_text(digest), str(directory), label)


def _open_shared(shared: _SharedData) -> MarketData:
    """The market data of ``shared``, its columns memory-mapped read-only."""
    directory = Path(shared.directory)
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        columns = open_columns(directory, meta["columns"])
    except OSError as exc:
        raise DataError(
            f"{directory}: the sweep's market data cannot be read on worker {_worker_name()} ({exc.strerror}); "
            "pass scratch= a directory that every worker can read",
            path=str(directory),
        ) from None
    return stored_market_data(meta, columns, meta["source"])


class SweepWorker:
    """What one worker process keeps between the tasks of sweeps: the datasets it has mapped (the
    last few, by digest), so each is opened once per worker, not once per task.

    A worker process has no caller that could own this, so the process holds one (see
    :func:`_worker`): :func:`process_pool` makes it in each worker's initializer, and a worker of
    another executor (a Dask worker) makes it at its first task. In the process that plans the sweep
    (a thread pool) no worker object is kept: each task maps the data itself, and the sweep leaves
    nothing behind in the caller's process.
    """

    def __init__(self, datasets: int = _DATASETS_PER_WORKER) -> None:
        self._markets: LRUCache[str, MarketData] = LRUCache(maxsize=datasets)
        self._lock = threading.Lock()

    def market(self, shared: _SharedData) -> tuple[MarketData, bool]:
        """The data for a task, and whether this task had to load it (False: this worker had it)."""
        with self._lock:
            market = self._markets.get(shared.digest)
            if market is not None:
                return market, False
            market = self._markets[shared.digest] = _open_shared(shared)
            return market, True


_worker_state: SweepWorker | None = None  # this worker process's SweepWorker; never set in a planning process


def _start_worker() -> None:
    """The initializer of every :func:`process_pool` worker: its :class:`SweepWorker`."""
    global _worker_state
    _worker_state = SweepWorker()


def _worker(planner: str) -> SweepWorker | None:
    """This process's :class:`SweepWorker`, made on first use in a worker another executor started;
    ``None`` in the process that planned the sweep (``planner``, its ``host:pid``)."""
    global _worker_state
    if _worker_name() == planner:
        return None
    if _worker_state is None:
        _worker_state = SweepWorker()
    return _worker_state


# -- the task a worker runs ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    run: int
    revision: Revision
    selector: str
    data: _SharedData
    params: Mapping[str, Any]
    config: Mapping[str, Any]
    settings: BacktestSettings
    planner: str

    def describe(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"sweep run {self.run} ({self.revision.selector} on {self.data.label}{params})"


@dataclass(frozen=True)
class _Outcome:
    run: int
    summary: Mapping[str, Any]
    provenance: Mapping[str, Any]
    worker: str
    seconds: float
    data_loaded: bool
    failure: MelticaLabError | None = None


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _run_task(task: _Task) -> _Outcome:
    """Run one task in the current (worker) process."""
    started = time.perf_counter()
    loaded = False
    try:
        worker = _worker(task.planner)
        market, loaded = worker.market(task.data) if worker is not None else (_open_shared(task.data), True)
        result = backtest_revision(task.revision, market, task.settings, config=task.config)
    except MelticaLabError as exc:
        return _Outcome(task.run, {}, {}, _worker_name(), time.perf_counter() - started, loaded, exc)
    provenance = {name: result.provenance[name] for name in ("data_source", *PROVENANCE_COLUMNS)}
    return _Outcome(
        run=task.run,
        summary=result.summary.to_dict(),
        provenance=provenance,
        worker=_worker_name(),
        seconds=time.perf_counter() - started,
        data_loaded=loaded,
    )


# -- execution -----------------------------------------------------------------------------------


def _cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool for :func:`sweep`: ``workers`` processes (default: one per core).

    Workers start from a fork server that has this module imported, never as forks of the calling
    process: a process that has run V8 cannot be forked safely (V8's threads do not survive a fork),
    and a fork server makes each worker's start cheap. As with any such pool, a script that uses
    it must keep its top-level code under ``if __name__ == "__main__":`` (workers import the main
    module; notebooks need nothing). Use it as a context manager, or call ``shutdown()``; a pool
    passed to several sweeps keeps each dataset mapped in its workers (the last few datasets).
    """
    count = _cores() if workers is None else workers
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(f"workers: expected a positive whole number, got {workers!r}", field="workers")
    # imported for a pool only: a process that makes none (one that runs backtests in a row) never
    # loads multiprocessing's pool machinery
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=_start_worker)


def _execute(tasks: list[_Task], executor: Executor, progress: bool) -> list[_Outcome]:
    """Every task's outcome, in task order; the first failure cancels what has not started."""
    outcomes: list[_Outcome | None] = [None] * len(tasks)
    futures: list[Future[_Outcome]] = []
    try:
        futures = [executor.submit(_run_task, task) for task in tasks]
        with progress_bar(total=len(tasks), disable=not progress, unit="run", desc="sweep") as bar:
            for future in as_completed(futures):
                outcome = future.result()
                if outcome.failure is not None:
                    raise outcome.failure.with_context(tasks[outcome.run].describe())
                outcomes[outcome.run] = outcome
                bar.update()
    finally:
        for future in futures:
            future.cancel()
    return [o for o in outcomes if o is not None]


def _table(tasks: list[_Task], outcomes: list[_Outcome]) -> pd.DataFrame:
    """One row per task, in task order; wall-clock figures only in ``attrs["execution"]``."""
    rows = []
    for task, outcome in zip(tasks, outcomes, strict=True):
        p = outcome.provenance
        identity = (task.revision.name, task.revision.tag, task.revision.hash, task.selector, p["data_source"])
        rows.append(
            {
                **dict(zip(IDENTITY_COLUMNS, identity, strict=True)),
                **task.params,
                **outcome.summary,
                **{name: p[name] for name in PROVENANCE_COLUMNS},
                "config": json.dumps(p["config"], sort_keys=True),
                "options": json.dumps(p["options"], sort_keys=True),
            }
        )
    table = pd.DataFrame.from_records(rows, index=pd.RangeIndex(len(rows), name="run"))
    table.attrs["execution"] = {
        "tasks": [
            {"run": o.run, "worker": o.worker, "seconds": round(o.seconds, 6), "data_loaded": o.data_loaded}
            for o in outcomes
        ]
    }
    return table


# -- the entry point -----------------------------------------------------------------------------


def sweep(
    strategy_or_list: str | Revision | Sequence[str | Revision],
    data: DataSource | MarketData | Sequence[DataSource | MarketData],
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    root: str | Path | None = None,
    workspace: BacktestContext | None = None,
    executor: Executor | None = None,
    config: Mapping[str, Any] | None = None,
    scratch: str | Path | None = None,
    settings: BacktestSettings | None = None,
    **changes: Unpack[SettingsChanges],
) -> pd.DataFrame:
    """Backtest every revision × grid combination (× dataset, when several are given); one table.

    ``strategy_or_list`` is one or several selectors or ``Revision`` objects, resolved once before
    anything runs (through ``workspace``, else one Loader of ``root``); a hash named twice runs once.
    ``data`` is one or several DataFrames, CSV/Parquet paths or :class:`MarketData`, each loaded
    once in this process. ``grid`` maps config keys to the values to try, e.g. ``{"lookback": [10,
    20], "threshold": [0.001, 0.002]}``; every value is coerced by each revision's declared type
    first, and a key a revision does not declare, a value that does not fit or two entries that
    coerce to the same value raise :class:`ConfigError` naming them before any run starts.
    ``config`` holds fixed values for the other keys (a key cannot be in both). The settings of
    every run are one :class:`BacktestSettings` value, as for :func:`run_backtest` (``settings``,
    else the workspace's, else the defaults, with ``changes``: ``seed``, ``fees``, ``capital``,
    ``limits``, ...), checked before any run starts and sent to the workers as it is; ``progress``
    is the sweep's own progress bar (counting finished runs), the runs show none.

    ``executor`` is any ``concurrent.futures.Executor`` (``dask.distributed``:
    ``client.get_executor()``); without one, :func:`process_pool` with one worker per core is used
    for this sweep. ``scratch`` is where the data is written for the workers (default: the system's
    temporary directory); it is removed afterwards.

    Returns a DataFrame indexed by ``run`` in plan order (see the module docstring): the
    :data:`IDENTITY_COLUMNS`, one column per grid key (values as coerced), every summary metric of
    :func:`run_backtest`, then the :data:`PROVENANCE_COLUMNS`. The same inputs give the same table,
    byte for byte, whatever the executor. Timings are kept apart in ``table.attrs["execution"]``:
    ``wall_seconds`` of the sweep, and per run (``tasks``) its ``worker`` (``host:pid``),
    ``seconds`` and ``data_loaded`` (whether that run had to map the data in its worker). A run
    that fails raises its error (same class) with the run named in the message, and the runs not
    yet started are cancelled.
    """
    started = time.perf_counter()
    chosen = settings_for(workspace, settings, changes)
    runs = chosen.with_(progress=False)
    with StrategyResolver(root, workspace) as resolver:
        pinned = _revisions(strategy_or_list, resolver)
    axes = _grid_axes(grid)
    base = dict(config or {})
    overlap = sorted(set(axes) & set(base))
    if overlap:
        raise UsageError(f"config: {', '.join(overlap)} also in the grid; give each key in one place", field=overlap[0])
    plans = [(p, _parameter_sets(p.revision, axes, base)) for p in pinned]
    markets = _markets(data, chosen)
    spill = Path(tempfile.mkdtemp(prefix="meltica-sweep-", dir=scratch))
    try:
        datasets = list(dict.fromkeys(_share(m, spill) for m in markets))
        tasks: list[_Task] = []
        planner = _worker_name()
        for p, sets in plans:
            for shared in datasets:
                for params, applied in sets:
                    selector = ", ".join(p.selectors)
                    tasks.append(_Task(len(tasks), p.revision, selector, shared, params, applied, runs, planner))
        pool = executor if executor is not None else process_pool()
        try:
            outcomes = _execute(tasks, pool, chosen.progress)
        finally:
            if executor is None:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        # workers of a caller's executor may still map the files; POSIX frees them on unmap
        shutil.rmtree(spill, ignore_errors=True)
    table = _table(tasks, outcomes)
    table.attrs["execution"]["wall_seconds"] = round(time.perf_counter() - started, 6)
    return table


def best_first(table: pd.DataFrame) -> pd.DataFrame:
    """A sweep table ranked by :data:`RANK_BY`: highest ``Return [%]`` (net of fees) first, then the
    smallest ``Max. Drawdown [%]``, then the lower run number; a deterministic order."""
    order = table.reset_index().sort_values(
        [*RANK_BY, table.index.name or "index"], ascending=[False, True, True], kind="mergesort"
    )
    return order.set_index(table.index.name or "index")
