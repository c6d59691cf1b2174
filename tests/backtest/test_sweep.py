"""sweep: the plan (revisions × grid × datasets), grid checks before any run, the table and its ranking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meltica_lab.backtest import run_backtest
from meltica_lab.backtest.sweep import IDENTITY_COLUMNS, PROVENANCE_COLUMNS, best_first, sweep
from meltica_lab.errors import ConfigError, IntegrityError, UsageError
from meltica_lab.loader import Loader
from meltica_lab.registry import edit_registry
from tests.backtest.conftest import module, register, trades

CONFIG = [
    {"name": "size", "type": "float", "default": 1, "required": False},
    {"name": "every", "type": "int", "default": 2, "required": False},
    {"name": "label", "type": "string", "default": "x", "required": False},
]
# a market order every `every` trades, alternating buy and sell
BODY = (
    "let n = 0; const c = env.config; return { onTrade() { n++;"
    " if (n % c.every === 0) rt.submitMarketOrder('', n % (2 * c.every) ? 'buy' : 'sell', c.size); } };"
)
STEPPER_V1 = module(BODY, name="stepper", config=CONFIG)
# v2 trades twice the size: a different hash and different results
STEPPER_V2 = module(BODY.replace("c.size)", "2 * c.size)"), name="stepper", config=CONFIG)
NARROW = module(BODY, name="narrow", config=CONFIG[:2])


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Module reports cached under this test's directory, not the user's cache."""
    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def hashes(root: Path) -> dict[str, str]:
    return {
        "v1": register(root, "stepper", "v1.0.0", STEPPER_V1),
        "v2": register(root, "stepper", "v2.0.0", STEPPER_V2),
        "narrow": register(root, "narrow", "v1.0.0", NARROW),
    }


def walk(n: int, seed: int) -> pd.DataFrame:
    """``n`` trades of a seeded random walk around 100."""
    rng = np.random.default_rng(seed)
    return trades(list(np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), 2)))


class CountingExecutor(ThreadPoolExecutor):
    """A thread pool that counts the tasks submitted to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def run(root: Path, strategies, data, grid=None, **options) -> pd.DataFrame:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return sweep(strategies, data, grid, root=root, executor=pool, progress=False, **options)


def test_every_revision_and_grid_combination_runs_once_in_plan_order(root, hashes):
    table = run(root, ["stepper:v1.0.0", "stepper:v2.0.0"], walk(40, 1), {"every": [2, "3"], "size": [1, 0.5]})
    assert list(table.index) == list(range(8)) and table.index.name == "run"
    assert list(zip(table["tag"], table["every"], table["size"], strict=True)) == [
        (tag, every, size) for tag in ("v1.0.0", "v2.0.0") for every in (2, 3) for size in (1.0, 0.5)
    ]
    assert list(table["hash"]) == [hashes["v1"]] * 4 + [hashes["v2"]] * 4
    assert list(table["selector"]) == ["stepper:v1.0.0"] * 4 + ["stepper:v2.0.0"] * 4
    assert table["every"].dtype == np.int64
    assert list(table.columns[:7]) == [*IDENTITY_COLUMNS, "every", "size"]
    assert list(table.columns[-len(PROVENANCE_COLUMNS) :]) == list(PROVENANCE_COLUMNS)
    assert table["Orders"].tolist() == [20, 20, 13, 13] * 2
    # each run had its own config: v2 doubles the size, so its turnover doubles exactly
    turnover = table["Turnover"].to_numpy()
    assert list(turnover[4:]) == list(2 * turnover[:4]) and turnover[0] == 2 * turnover[1]


def test_a_row_is_what_run_backtest_gives_for_the_same_config(root, hashes):
    data = walk(40, 2)
    table = run(root, "stepper:v2.0.0", data, {"every": [3]}, config={"size": 0.25}, seed=7, capital=5_000)
    direct = run_backtest(
        "stepper:v2.0.0", data, root=root, config={"size": 0.25, "every": 3}, seed=7, capital=5_000, progress=False
    )
    row = table.iloc[0]
    for label, value in direct.summary.items():
        assert row[label] == value or (pd.isna(row[label]) and pd.isna(value)), label
    assert row["config"] == '{"dry_run": false, "every": 3, "label": "x", "size": 0.25}'
    assert row["data_sha256"] == direct.provenance["data_sha256"] and row["seed"] == 7
    assert '"capital": 5000' in row["options"]


def test_without_a_grid_each_revision_runs_once_with_its_defaults(root, hashes):
    table = run(root, ["stepper:v1.0.0", "narrow"], walk(20, 3))
    assert list(table["strategy"]) == ["stepper", "narrow"]
    assert list(table["config"]) == [
        '{"dry_run": false, "every": 2, "label": "x", "size": 1.0}',
        '{"dry_run": false, "every": 2, "size": 1.0}',
    ]


def test_several_datasets_multiply_the_runs_and_each_row_names_its_data(root, hashes):
    first, second = walk(30, 4), walk(50, 5)
    table = run(root, "stepper:v1.0.0", [first, second], {"every": [2, 5]})
    assert list(table["events"]) == [30, 30, 50, 50]
    assert table["data_sha256"].nunique() == 2
    assert list(table["every"]) == [2, 5, 2, 5]


def test_the_same_dataset_given_twice_runs_once(root, hashes):
    data = walk(30, 4)
    assert len(run(root, "stepper:v1.0.0", [data, data.copy()], {"every": [2, 5]})) == 2


def test_a_hash_named_twice_runs_once_and_lists_the_selectors_that_named_it(root, hashes):
    revision = Loader(root).resolve("stepper:v1.0.0")
    prefix = f"stepper@{hashes['v1'][:19]}"
    table = run(root, ["stepper:v1.0.0", prefix, revision, "stepper:v1.0.0"], walk(20, 6))
    assert len(table) == 1
    assert table.loc[0, "selector"] == f"stepper:v1.0.0, {prefix}, stepper@{hashes['v1']}"


class FirstSubmitExecutor(ThreadPoolExecutor):
    """A one-thread pool that calls ``hook`` once, when the first task is submitted."""

    def __init__(self, hook) -> None:
        super().__init__(max_workers=1)
        self.hook = hook
        self.hooked = False

    def submit(self, fn, /, *args, **kwargs):
        if not self.hooked:
            self.hooked = True
            self.hook()
        return super().submit(fn, *args, **kwargs)


def test_selectors_are_pinned_before_any_run_starts(root, hashes):
    def move_latest() -> None:
        with edit_registry(root, "move latest") as draft:
            draft.assign_tag("stepper", "latest", hashes["v2"])

    assert Loader(root).resolve("stepper:latest").hash == hashes["v1"]
    with FirstSubmitExecutor(move_latest) as pool:
        table = sweep("stepper:latest", walk(20, 7), {"every": [2, 3]}, root=root, executor=pool, progress=False)
    assert pool.hooked and Loader(root).resolve("stepper:latest").hash == hashes["v2"]
    assert list(table["hash"]) == [hashes["v1"]] * 2


def test_a_module_file_changed_after_planning_never_runs(root, hashes):
    revision = Loader(root).resolve("stepper:v1.0.0")

    def tamper() -> None:
        revision.path.write_bytes(revision.path.read_bytes() + b"\n// changed\n")

    with FirstSubmitExecutor(tamper) as pool, pytest.raises(IntegrityError) as caught:
        sweep(revision, walk(20, 7), {"every": [2, 3]}, executor=pool, progress=False)
    assert caught.value.message.startswith(f"sweep run 0 ({revision.selector} on <DataFrame> (sha256:")
    assert "module hash mismatch" in caught.value.message and caught.value.path == str(revision.path)


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            {"evry": [1, 2]},
            "grid for stepper@sha256:[0-9a-f]+: unknown key evry; known keys: dry_run, every, label, size",
        ),
        ({"every": [2, "two"]}, r"grid for stepper@.*: every: expected an integer \(type int\), got 'two'"),
        ({"every": [2, 2.5]}, r"every: expected an integer \(type int\), got 2.5"),
        ({"size": [1, "1.0"]}, r"size: 1 and '1.0' are the same float value 1.0"),
        ({"every": 3}, "grid: every: expected a list of values, got 3"),
        ({"every": "2,3"}, "grid: every: expected a list of values, got '2,3'"),
        ({"every": []}, "grid: every: expected at least one value"),
        ({"hash": [1]}, "grid: hash is the name of a sweep table column"),
    ],
)
def test_a_bad_grid_fails_naming_the_key_before_any_run(root, hashes, grid, message):
    with CountingExecutor() as pool, pytest.raises(ConfigError, match=message) as caught:
        sweep("stepper:v1.0.0", walk(10, 8), grid, root=root, executor=pool, progress=False)
    assert pool.submitted == 0
    assert caught.value.field == next(iter(grid))


def test_a_grid_key_that_one_revision_does_not_declare_names_that_revision(root, hashes):
    with CountingExecutor() as pool, pytest.raises(ConfigError) as caught:
        sweep(["stepper:v1.0.0", "narrow"], walk(10, 8), {"label": ["a"]}, root=root, executor=pool, progress=False)
    assert pool.submitted == 0
    assert caught.value.selector == f"narrow@{hashes['narrow']}" and caught.value.field == "label"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"config": {"every": 4}}, UsageError, "config: every also in the grid"),
        ({"slipage_bps": 1.0}, UsageError, "unknown run option.s. slipage_bps"),
        ({"capital": -1}, UsageError, "capital: expected a finite number > 0, got -1"),
        ({"limits": 5}, UsageError, "limits: expected a Limits value"),
        ({"config": {"size": "big"}}, ConfigError, r"size: expected a finite number \(type float\), got 'big'"),
    ],
)
def test_bad_run_options_fail_before_any_run(root, hashes, options, error, message):
    with CountingExecutor() as pool, pytest.raises(error, match=message):
        sweep("stepper:v1.0.0", walk(10, 8), {"every": [2]}, root=root, executor=pool, progress=False, **options)
    assert pool.submitted == 0


def test_a_strategy_that_is_not_a_selector_or_revision_is_a_usage_error(root, hashes):
    with pytest.raises(UsageError, match="strategy: expected a selector or a Revision, got int"):
        sweep([3], walk(10, 8), root=root, executor=CountingExecutor(), progress=False)


def test_wall_clock_figures_stay_out_of_the_table(root, hashes):
    table = run(root, "stepper:v1.0.0", walk(20, 9), {"every": [2, 3]})
    assert not [c for c in table.columns if "wall" in c or "seconds" in c]
    execution = table.attrs["execution"]
    assert execution["wall_seconds"] > 0
    assert [t["run"] for t in execution["tasks"]] == [0, 1] and all(t["seconds"] > 0 for t in execution["tasks"])


def test_best_first_ranks_by_return_then_drawdown_then_run():
    table = pd.DataFrame(
        {"Return [%]": [1.0, 3.0, 3.0, 3.0, -2.0], "Max. Drawdown [%]": [0.5, 2.0, 1.0, 1.0, 0.1]},
        index=pd.RangeIndex(5, name="run"),
    )
    ranked = best_first(table)
    assert list(ranked.index) == [2, 3, 1, 0, 4] and ranked.index.name == "run"
    assert ranked.loc[2].tolist() == [3.0, 1.0]


def test_a_sweep_on_a_thread_pool_keeps_no_data_in_the_planning_process(root, hashes):
    data = walk(20, 11)
    for _ in range(2):  # a second sweep finds nothing left behind by the first either
        with ThreadPoolExecutor(max_workers=2) as pool:
            table = sweep("stepper:v1.0.0", data, {"every": [2, 3, 4]}, root=root, executor=pool, progress=False)
        assert all(task["data_loaded"] for task in table.attrs["execution"]["tasks"])
