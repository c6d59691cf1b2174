"""The manager's collaborators, each made and used alone over one RuntimeState, and Manager(workspace=)."""

from __future__ import annotations

from pathlib import Path

import pytest

import meltica_lab
from meltica_lab.backtest.options import SessionOptions
from meltica_lab.errors import InUseError, UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS
from meltica_lab.jshost.module import ModuleHost
from meltica_lab.loader import Loader
from meltica_lab.registry import edit_registry
from meltica_lab.runtime import Instances, Manager, ModuleOperations, Queries, Refresher, RuntimeState
from tests.runtime.support import cache, register, strategy_source, trades

__all__ = ["cache"]  # fixtures used by name below


@pytest.fixture
def state(root: Path, cache: Path):
    """A RuntimeState over a root with demo v1.0.0 (``latest``) and v1.1.0."""
    register(root, strategy_source("demo", "v1.0.0"), "demo", "v1.0.0", latest=True)
    register(root, strategy_source("demo", "v1.1.0", create="let x = 1;"), "demo", "v1.1.0")
    loader = Loader(root, cache_dir=cache)
    loader.refresh()
    state = RuntimeState(loader, owns_loader=True)
    yield state
    state.close()


def _instances(state: RuntimeState) -> Instances:
    return Instances(state, limits=DEFAULT_LIMITS, options=SessionOptions())


def test_instances_alone_run_the_lifecycle_on_the_shared_state(state):
    instances = _instances(state)
    instances.create("a", "demo", symbols=["BTC-USDT"])
    assert instances.start("a").running and state.index.get("demo", state.slots["a"].spec.hash).count == 1
    assert instances.feed(trades(2)).delivered == {"a": 2}
    assert state.clock_ns == int(trades(2)["timestamp"].iloc[-1])
    instances.stop_all()
    assert not instances.instance("a").running and state.slots["a"].last_run is not None


def test_a_refresher_alone_moves_instances_through_the_instances_it_is_given(state, root):
    instances = _instances(state)
    refresher = Refresher(state, instances)
    instances.create("a", "demo", symbols=["BTC-USDT"])
    instances.start("a")
    v11 = state.loader.resolve("demo:v1.1.0").hash
    with edit_registry(root, "move latest") as draft:
        draft.assign_tag("demo", "latest", v11)
    (result,) = refresher.refresh(strategies=["demo"])
    assert (result.reason, result.hash, result.restarted) == ("refreshed", v11, True)
    assert state.slots["a"].spec.hash == v11 and state.slots["a"].session is not None
    instances.stop_all()


def test_module_operations_alone_evaluate_uploads_in_the_loaders_host(state, monkeypatch):
    operations = ModuleOperations(state, Refresher(state, _instances(state)))
    made = []
    original = ModuleHost.__init__

    def counted(self, *args, **kwargs):  # any other host would be a second owner of an isolate
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ModuleHost, "__init__", counted)
    before = state.loader.host.evaluations
    stored = operations.upload(strategy_source("demo", "v2.0.0"))
    assert stored.created and made == []
    assert state.loader.host.evaluations == before + 1  # validated once; the refresh reuses that report
    assert state.loader.resolve("demo").hash == stored.hash  # the loader was refreshed at once


def test_queries_alone_read_the_listing_usage_and_export_of_the_state(state):
    queries = Queries(state)
    _instances(state).create("a", "demo", symbols=["BTC-USDT"])
    listing = queries.modules()
    assert [m["name"] for m in listing["modules"]] == ["demo"]
    assert queries.usage("demo", include_stopped=True)["total"] == 1
    assert queries.module("demo:v1.1.0")["selectedRevisionTag"] == "v1.1.0"
    assert [u["strategy"] for u in queries.export()["usage"]] == ["demo"]


def test_the_collaborators_of_a_manager_see_one_state(root, cache):
    register(root, strategy_source("demo", "v1.0.0"), "demo", "v1.0.0", latest=True)
    with Manager(root, cache_dir=cache) as manager:
        manager.lifecycle.create("a", "demo", symbols=["BTC-USDT"])
        assert manager.queries.usage("demo", include_stopped=True)["total"] == 1
        with pytest.raises(InUseError, match="in use by instance"):
            manager.operations.delete("demo")
        assert [r.instances for r in manager.refresher.refresh()] == [("a",)]
        assert manager.state.slots["a"].spec.strategy == "demo"


def test_a_manager_on_a_workspace_uses_its_loader_host_and_settings_and_leaves_it_open(root, cache):
    register(root, strategy_source("demo", "v1.0.0"), "demo", "v1.0.0", latest=True)
    with meltica_lab.open(root, cache_dir=cache, capital=5_000.0) as ws:
        manager = Manager(workspace=ws)
        assert manager.loader is ws.loader and manager.root == ws.root
        assert manager.lifecycle.options.capital == 5_000.0 and manager.lifecycle.limits == ws.settings.limits
        before = ws.host.evaluations
        manager.upload(strategy_source("demo", "v1.1.0"))
        assert ws.host.evaluations == before + 1  # uploads are evaluated in the workspace's one host, once
        manager.create("a", "demo", symbols=["BTC-USDT"])
        manager.start("a")
        manager.close()
        assert not manager.instance("a").running
        assert not ws.closed and ws.resolve("demo:v1.1.0").tag == "v1.1.0"


def test_a_manager_refuses_a_workspace_with_another_root_or_its_own_cache(root, cache, tmp_path):
    with meltica_lab.open(root, cache_dir=cache) as ws:
        with pytest.raises(UsageError, match="is not the workspace's root"):
            Manager(tmp_path, workspace=ws)
        with pytest.raises(UsageError, match="belong to the workspace"):
            Manager(workspace=ws, cache_dir=cache)
    with pytest.raises(UsageError, match="give the strategies root, or workspace="):
        Manager()
