"""sweep on real executors: same bytes whatever the workers, data loaded once per worker, errors, Dask."""

from __future__ import annotations

import os
import random
from collections import Counter
from concurrent.futures import Executor, Future
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meltica_lab.backtest.sweep import process_pool, sweep
from meltica_lab.errors import StrategyRuntimeError, UsageError
from meltica_lab.jshost.isolate import JSLimitError
from meltica_lab.jshost.limits import Limits
from tests.backtest.conftest import module, register, trades

CONFIG = [
    {"name": "size", "type": "float", "default": 1, "required": False},
    {"name": "every", "type": "int", "default": 2, "required": False},
]
BODY = (
    "let n = 0; const c = env.config; return { onTrade() { n++;"
    " if (n % c.every === 0) rt.submitMarketOrder('', n % (2 * c.every) ? 'buy' : 'sell', c.size); } };"
)
STEPPER = module(BODY, name="stepper", config=CONFIG)
# random sizes: results depend on the seed, so a run that lost its seed would show
JITTER = module(BODY.replace("c.size)", "c.size * (1 + Math.random()))"), name="jitter", config=CONFIG)
# runs forever on the first trade when size > 1
STUCK = module("const c = env.config; return { onTrade() { while (c.size > 1) {} } };", name="stuck", config=CONFIG)
GRID = {"every": [2, 3, 5], "size": [0.5, 1.5]}


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Module reports cached under this test's directory, not the user's cache."""
    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def strategies(root: Path) -> Path:
    register(root, "stepper", "v1.0.0", STEPPER)
    register(root, "jitter", "v1.0.0", JITTER)
    register(root, "stuck", "v1.0.0", STUCK)
    return root


def walk(n: int, seed: int) -> pd.DataFrame:
    """``n`` trades of a seeded random walk around 100."""
    rng = np.random.default_rng(seed)
    return trades(list(np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), 2)))


class ShuffledExecutor(Executor):
    """Holds submissions until ``expected`` have arrived, then hands them to ``inner`` shuffled."""

    def __init__(self, inner: Executor, expected: int, seed: int) -> None:
        self.inner = inner
        self.expected = expected
        self.rng = random.Random(seed)
        self.held: list[tuple[Future, object, tuple, dict]] = []
        self.order: list[int] = []

    def submit(self, fn, /, *args, **kwargs):
        outer: Future = Future()
        self.held.append((outer, fn, args, kwargs))
        if len(self.held) == self.expected:
            order = list(range(self.expected))
            self.rng.shuffle(order)
            self.order = order
            for k in order:
                target, call, call_args, call_kwargs = self.held[k]
                self.inner.submit(call, *call_args, **call_kwargs).add_done_callback(
                    lambda done, target=target: _settle(target, done)
                )
        return outer


def _settle(target: Future, done: Future) -> None:
    if target.set_running_or_notify_cancel():
        if done.exception() is not None:
            target.set_exception(done.exception())
        else:
            target.set_result(done.result())


def csv(table: pd.DataFrame) -> bytes:
    return table.to_csv().encode()


def test_the_table_is_the_same_bytes_for_one_worker_two_workers_and_a_shuffled_order(strategies):
    data = walk(2_000, 11)
    names = ["stepper:v1.0.0", "jitter:v1.0.0"]
    with process_pool(1) as one:
        single = sweep(names, data, GRID, root=strategies, executor=one, seed=5, progress=False)
    with process_pool(2) as two:
        double = sweep(names, data, GRID, root=strategies, executor=two, seed=5, progress=False)
        shuffler = ShuffledExecutor(two, expected=12, seed=3)
        shuffled = sweep(names, data, GRID, root=strategies, executor=shuffler, seed=5, progress=False)
    assert shuffler.order != sorted(shuffler.order)
    assert len({t["worker"] for t in double.attrs["execution"]["tasks"]}) == 2
    assert csv(single) == csv(double) == csv(shuffled)
    assert len(single) == 12 and single["Orders"].min() > 0
    # the seed reaches every run: another seed changes the jitter rows only
    with process_pool(2) as two:
        reseeded = sweep(names, data, GRID, root=strategies, executor=two, seed=6, progress=False)
    changed = (reseeded["Turnover"] != single["Turnover"]).groupby(single["strategy"]).all()
    assert changed.to_dict() == {"jitter": True, "stepper": False}


def test_each_worker_loads_each_dataset_once_per_sweep_and_a_reused_pool_not_again(strategies):
    datasets = [walk(1_500, 12), walk(1_000, 13)]
    with process_pool(2) as pool:
        table = sweep(
            ["stepper:v1.0.0", "jitter:v1.0.0"], datasets, GRID, root=strategies, executor=pool, progress=False
        )
        again = sweep("stepper:v1.0.0", datasets, GRID, root=strategies, executor=pool, progress=False)
    tasks = table.attrs["execution"]["tasks"]
    assert len(tasks) == 24 and all(t["worker"].split(":")[-1] != str(os.getpid()) for t in tasks)
    loads = Counter((t["worker"], table.loc[t["run"], "data_sha256"]) for t in tasks if t["data_loaded"])
    seen = {(t["worker"], table.loc[t["run"], "data_sha256"]) for t in tasks}
    assert loads == dict.fromkeys(seen, 1)
    assert sum(loads.values()) < len(tasks)
    assert not any(t["data_loaded"] for t in again.attrs["execution"]["tasks"])


def test_the_default_executor_is_a_process_pool_with_at_most_one_worker_per_core(strategies):
    table = sweep("stepper:v1.0.0", walk(1_000, 14), GRID, root=strategies, progress=False)
    workers = {t["worker"] for t in table.attrs["execution"]["tasks"]}
    assert str(os.getpid()) not in {w.split(":")[-1] for w in workers}
    assert 1 <= len(workers) <= len(os.sched_getaffinity(0))


def test_a_run_stopped_by_its_time_limit_raises_its_own_error_class_naming_the_run(strategies):
    with process_pool(1) as pool, pytest.raises(JSLimitError) as caught:
        sweep(
            "stuck:v1.0.0",
            walk(50, 15),
            {"size": [1, 2]},
            root=strategies,
            executor=pool,
            progress=False,
            limits=Limits(call_seconds=0.5),
        )
    error = caught.value
    assert isinstance(error, StrategyRuntimeError)
    assert (error.kind, error.strategy, error.handler) == ("time", "stuck", "onTrade")
    assert error.message.startswith("sweep run 1 (stuck@sha256:")
    assert " on <DataFrame> (sha256:" in error.message
    assert "size=2.0): strategy stuck: onTrade stopped: time limit of 0.5 s exceeded" in error.message


def test_process_pool_refuses_a_worker_count_that_is_not_positive():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(UsageError, match="workers: expected a positive whole number"):
            process_pool(bad)


def test_a_dask_local_cluster_gives_the_same_table(strategies):
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (optional extra 'dask': pip install -e '.[dask]')"
    )
    data = walk(1_500, 16)
    names = ["stepper:v1.0.0", "jitter:v1.0.0"]
    with process_pool(1) as pool:
        local = sweep(names, data, GRID, root=strategies, executor=pool, seed=2, progress=False)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = sweep(names, data, GRID, root=strategies, executor=client.get_executor(), seed=2, progress=False)
        dask_pids = {str(pid) for pid in client.run(os.getpid).values()}
    assert csv(on_dask) == csv(local)
    tasks = on_dask.attrs["execution"]["tasks"]
    assert {t["worker"].split(":")[-1] for t in tasks} <= dask_pids
    assert sum(t["data_loaded"] for t in tasks) <= 2
