"""The workspace owns the loader, one module host, the caches and the default settings; nothing is shared
between workspaces but the disk cache they are pointed at."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import meltica_lab
from meltica_lab.backtest import BacktestSettings, Fees, compare, run_backtest, sweep
from meltica_lab.backtest import engine as engine_module
from meltica_lab.errors import ConfigError, UsageError
from meltica_lab.loader import Loader
from meltica_lab.workspace import Workspace
from tests.backtest.conftest import module, register, trades
from tests.conftest import add_revision

# buys one unit on the second trade and sells it on the fourth: a fee-paying round trip
STEPPER = module(
    "let n = 0; return { onTrade() { n++; if (n === 2) rt.submitMarketOrder('', 'buy', 1);"
    " if (n === 4) rt.submitMarketOrder('', 'sell', 1); } };",
    name="stepper",
    config=[{"name": "size", "type": "float", "default": 1, "required": False}],
)
PRICES = [100.0, 101.0, 102.0, 103.0, 104.0, 105.0]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def stepper(root: Path) -> tuple[str, str]:
    """Two revisions of the stepper (latest stays on the first); their hashes."""
    return register(root, "stepper", "v1.0.0", STEPPER), register(root, "stepper", "v2.0.0", STEPPER + b"\n// v2\n")


def fresh_modules(root: Path, count: int) -> None:
    for i in range(count):  # bytes unique to this test: nothing evaluated earlier can be reused
        add_revision(root, f"s{i}", "v1.0.0", body=f"/* {uuid.uuid4()} */")


def test_open_returns_a_workspace_of_the_root_with_default_settings(root, cache, stepper):
    with meltica_lab.open(root, cache_dir=cache) as ws:
        assert isinstance(ws, Workspace) and ws.root == root
        assert ws.settings == BacktestSettings()
        assert ws.resolve("stepper").hash == stepper[0] and ws.loader.resolve("stepper:v2.0.0").hash == stepper[1]
    assert ws.closed


def test_two_workspaces_share_no_memory_only_the_disk_cache_they_name(root, tmp_path):
    fresh_modules(root, 3)
    with Workspace(root, cache_dir=tmp_path / "a") as first:
        assert (first.refresh().evaluated, first.host.evaluations) == (3, 3)
    with Workspace(root, cache_dir=tmp_path / "b") as other_cache:
        assert other_cache.refresh().evaluated == 3  # nothing leaked through the process
    with Workspace(root, cache_dir=tmp_path / "a") as same_cache:
        report = same_cache.refresh()
        assert (report.evaluated, report.cached, same_cache.host.evaluations) == (0, 3, 0)


def test_a_warm_workspace_never_evaluates_javascript_again(root, cache):
    fresh_modules(root, 2)
    with Workspace(root, cache_dir=cache) as ws:
        ws.refresh()
        again = ws.refresh()
        assert (again.evaluated, again.cached) == (0, 2)
        assert ws.host.evaluations == 2


def test_the_loader_host_and_caches_are_the_workspaces_own(root, cache):
    with Workspace(root, cache_dir=cache) as ws:
        assert ws.loader.host is ws.host and ws.loader.cache is ws.cache
        assert ws.loader.registries is ws.registries and ws.cache.directory == cache


def test_settings_given_when_opening_are_the_default_of_every_run(root, cache, stepper):
    with meltica_lab.open(root, cache_dir=cache, capital=5_000, fees=Fees(0.0, 0.0)) as ws:
        result = ws.run_backtest("stepper", trades(PRICES), progress=False)
        once = ws.run_backtest("stepper", trades(PRICES), capital=7_000, progress=False)
        assert ws.settings.capital == 5_000  # a change for one run stays with that run
    assert result.summary["Capital"] == 5_000 and result.summary["Fees"] == 0
    assert result.provenance["options"]["capital"] == 5_000
    assert once.summary["Capital"] == 7_000


def test_with_settings_shares_the_state_and_keeps_the_original_settings(root, cache, stepper):
    with Workspace(root, cache_dir=cache) as ws:
        cheap = ws.with_settings(fees=Fees(0.0, 0.0), seed=3)
        assert cheap.loader is ws.loader and cheap.host is ws.host and cheap.cache is ws.cache
        assert cheap.settings == BacktestSettings(fees=Fees(0.0, 0.0), seed=3)
        assert ws.settings == BacktestSettings()
        paid = ws.run_backtest("stepper", trades(PRICES), progress=False)
        free = cheap.run_backtest("stepper", trades(PRICES), progress=False)
    assert paid.summary["Fees"] > 0 and free.summary["Fees"] == 0 and free.provenance["seed"] == 3
    assert cheap.closed


def test_a_closed_workspace_refuses_work_naming_its_root(root, cache, stepper):
    ws = Workspace(root, cache_dir=cache)
    ws.close()
    with pytest.raises(UsageError, match=f"the workspace of {root} is closed"):
        ws.resolve("stepper")
    with pytest.raises(UsageError):
        ws.host.inspect(b"module.exports = {}", filename="x.js")


def test_the_workspace_compare_and_sweep_match_the_top_level_calls(root, cache, stepper):
    data = trades(PRICES)
    with Workspace(root, cache_dir=cache, capital=2_000) as ws:
        table = ws.compare(["stepper:v1.0.0", "stepper:v2.0.0"], data, progress=False)
        with ThreadPoolExecutor(2) as pool:
            swept = ws.sweep("stepper:v2.0.0", data, {"size": [1, 2]}, executor=pool, progress=False)
    direct = compare(["stepper:v1.0.0", "stepper:v2.0.0"], data, root=root, capital=2_000, progress=False)
    assert table.equals(direct) and (table["Capital"] == 2_000).all()
    with ThreadPoolExecutor(2) as pool:
        top = sweep("stepper:v2.0.0", data, {"size": [1, 2]}, root=root, executor=pool, capital=2_000, progress=False)
    assert swept.to_csv() == top.to_csv()


class CountingLoader(Loader):
    """A real Loader that counts how many are made."""

    made = 0

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)


def test_compare_without_a_workspace_makes_one_loader_for_all_its_runs(root, stepper, monkeypatch):
    monkeypatch.setattr(engine_module, "Loader", CountingLoader)
    CountingLoader.made = 0
    compare(["stepper:v1.0.0", "stepper:v2.0.0", "stepper"], trades(PRICES), root=root, progress=False)
    assert CountingLoader.made == 1
    run_backtest("stepper", trades(PRICES), root=root, progress=False)
    assert CountingLoader.made == 2


def test_a_workspace_and_a_root_together_are_a_usage_error(root, cache, stepper):
    with (
        Workspace(root, cache_dir=cache) as ws,
        pytest.raises(UsageError, match="give root or workspace, not both"),
    ):
        run_backtest("stepper", trades(PRICES), root=root, workspace=ws)


def test_bad_settings_fail_when_the_workspace_is_opened(root, cache):
    with pytest.raises(ConfigError, match="capital: expected a finite number > 0, got 0"):
        Workspace(root, cache_dir=cache, capital=0)
    with pytest.raises(UsageError, match=r"unknown run option.s. slipage_bps"):
        Workspace(root, cache_dir=cache, slipage_bps=1)
    with pytest.raises(UsageError, match="settings: expected a BacktestSettings value, got dict"):
        Workspace(root, cache_dir=cache, settings={"capital": 1})


def test_a_root_that_is_not_a_directory_fails_when_opened(tmp_path):
    with pytest.raises(meltica_lab.errors.RegistryError, match="is not a directory"):
        meltica_lab.open(tmp_path / "missing")
