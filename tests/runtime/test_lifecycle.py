"""Manager instance lifecycle: create/start/stop/update/remove, feeding events, usage and its persistence."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from meltica_lab.errors import ConfigError, InstanceError, NotFoundError, UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS
from meltica_lab.runtime import USAGE_FILE, Manager
from meltica_lab.usage import UsageIndex
from tests.runtime.support import cache, events_seen, register, state, strategy_source, trades

__all__ = ["cache", "state"]  # fixtures used by name below

SIZE = [{"name": "size", "type": "float", "default": 1.0, "required": False}]


@pytest.fixture
def demo(root):
    """Two revisions of ``demo`` (``latest`` on v1.0.0) and a pinned-hash pair."""
    h1 = register(root, strategy_source("demo", "v1.0.0", config=SIZE), "demo", "v1.0.0")
    h2 = register(root, strategy_source("demo", "v1.1.0", config=SIZE, create="let x = 1;"), "demo", "v1.1.0")
    return h1, h2


def test_create_resolves_and_stores_the_canonical_selector_for_each_form(root, cache, demo):
    h1, h2 = demo
    with Manager(root, cache_dir=cache) as manager:
        following = manager.create("a", "DEMO", symbols=["btc-usdt"])
        tagged = manager.create("b", "demo:v1.1.0", symbols=["BTC-USDT"])
        pinned = manager.create("c", f"demo@{h2[7:17].upper()}", symbols=["BTC-USDT"])
        bare = manager.create("d", h1.removeprefix("sha256:"), symbols=["BTC-USDT"])
    assert (following.spec.selector, following.spec.hash, following.running) == ("demo", h1, False)
    assert (tagged.spec.selector, tagged.spec.hash, tagged.spec.tag) == ("demo:v1.1.0", h2, "v1.1.0")
    assert (pinned.spec.selector, pinned.spec.hash) == (f"demo@{h2}", h2)
    assert (bare.spec.selector, bare.spec.strategy) == (f"demo@{h1}", "demo")
    assert following.spec.symbols == ("BTC-USDT",) and following.spec.providers == ("backtest",)


def test_instance_summary_is_the_gateway_shape_with_usage_linking_the_pinned_hash(root, cache, demo):
    h1, _ = demo
    with Manager(root, cache_dir=cache) as manager:
        manager.create("inst-1", "demo", symbols=["BTC-USDT"], providers=["binance", "backtest"])
        data = manager.instance("inst-1").to_dict()
    assert list(data)[:10] == [
        "id", "strategyIdentifier", "strategyTag", "strategyHash", "strategySelector",
        "providers", "aggregatedSymbols", "running", "usage", "links",
    ]  # fmt: skip
    assert data["providers"] == ["backtest", "binance"]
    assert data["links"] == {"self": "/strategy/instances/inst-1", "usage": f"/strategies/modules/demo@{h1}/usage"}
    assert data["usage"] == {
        "strategy": "demo", "hash": h1, "instances": None, "count": 0,
        "firstSeen": "0001-01-01T00:00:00Z", "lastSeen": "0001-01-01T00:00:00Z", "running": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"strategy": "nope"}, NotFoundError, "strategy 'nope' not found"),
        ({"strategy": "demo:v9"}, NotFoundError, "tag 'v9' not found for demo"),
        ({"strategy": "demo", "symbols": []}, UsageError, "at least one symbol"),
        ({"strategy": "demo", "providers": []}, UsageError, "at least one provider"),
        ({"strategy": "demo", "config": {"sise": 2}}, ConfigError, "unknown key(s) sise"),
        ({"strategy": "demo", "config": {"size": "big"}}, ConfigError, "size: expected a finite number"),
    ],
)
def test_create_refuses_what_cannot_run_and_registers_nothing(root, cache, demo, kwargs, error, needle):
    with Manager(root, cache_dir=cache) as manager:
        kwargs = {"symbols": ["BTC-USDT"], **kwargs}
        with pytest.raises(error) as info:
            manager.create("x", **kwargs)
        assert needle in info.value.message
        assert manager.instances() == []


def test_duplicate_id_and_unknown_id_are_instance_errors(root, cache, demo):
    with Manager(root, cache_dir=cache) as manager:
        manager.create("a", "demo", symbols=["BTC-USDT"])
        with pytest.raises(InstanceError, match="instance 'a' already exists"):
            manager.create("a", "demo", symbols=["BTC-USDT"])
        with pytest.raises(InstanceError, match=r"instance 'zz' not found \(instances: a\)"):
            manager.start("zz")
        with pytest.raises(InstanceError, match="is not running"):
            manager.stop("a")


def test_feed_delivers_each_running_instance_its_provider_and_symbols_only(root, cache, demo):
    with Manager(root, cache_dir=cache) as manager:
        manager.create("btc", "demo", symbols=["BTC-USDT"])
        manager.create("eth", "demo", symbols=["eth-usdt"])
        manager.create("other", "demo", symbols=["BTC-USDT"], providers=["binance"])
        manager.create("idle", "demo", symbols=["BTC-USDT"])
        for ident in ("btc", "eth", "other"):
            manager.start(ident)
        batch = [*trades(3).to_dict("records"), *trades(2, start=3, symbol="ETH-USDT").to_dict("records")]
        result = manager.feed(batch)
        assert result.delivered == {"btc": 3, "eth": 2, "other": 0} and result.failed == {}
        manager.feed(trades(4, start=10, provider="binance"))
        assert [events_seen(manager, i) for i in ("btc", "eth", "other")] == [3, 2, 4]
        assert manager.feed([]).delivered == {"btc": 0, "eth": 0, "other": 0}


def test_feed_refuses_a_batch_that_goes_back_in_time(root, cache, demo):
    with Manager(root, cache_dir=cache) as manager:
        manager.create("a", "demo", symbols=["BTC-USDT"])
        manager.start("a")
        manager.feed(trades(3, start=5))
        with pytest.raises(UsageError, match="earlier than the last one delivered"):
            manager.feed(trades(1))
        assert events_seen(manager, "a") == 3


def test_a_runaway_strategy_is_stopped_with_its_reason_and_the_others_go_on(root, cache):
    register(root, strategy_source("spin", "v1", on_trade="for (;;) {}"), "spin", "v1")
    register(root, strategy_source("calm", "v1"), "calm", "v1")
    with Manager(root, cache_dir=cache, limits=DEFAULT_LIMITS.with_(call_seconds=0.3)) as manager:
        for name in ("spin", "calm"):
            manager.create(name, name, symbols=["BTC-USDT"])
            manager.start(name)
        result = manager.feed(trades(2))
        assert result.delivered == {"calm": 2} and "time limit" in result.failed["spin"]
        spin = manager.instance("spin")
        assert not spin.running and "onTrade" in spin.error and spin.usage.count == 0
        assert spin.to_dict()["lastError"] == spin.error
        assert manager.instance("calm").running


def test_a_strategy_whose_create_throws_does_not_start(root, cache):
    register(root, strategy_source("boom", "v1", create="throw new Error('no market');"), "boom", "v1")
    with Manager(root, cache_dir=cache) as manager:
        manager.create("b", "boom", symbols=["BTC-USDT"])
        with pytest.raises(InstanceError, match=r"instance b: cannot start boom@sha256:[0-9a-f]{64}: .*no market"):
            manager.start("b")
        view = manager.instance("b")
        assert not view.running and "no market" in view.error and view.usage.count == 0


def test_update_keeps_the_hash_and_relaunches_a_running_instance(root, cache, demo):
    h1, h2 = demo
    with Manager(root, cache_dir=cache) as manager:
        manager.create("a", "demo", symbols=["BTC-USDT"])
        manager.start("a")
        manager.feed(trades(3))
        manager.assign_tag("demo", "latest", h2, refresh=False)  # latest moves; update must not follow it
        updated = manager.update("a", {"size": "2.5"})
        assert updated.running and updated.spec.hash == h1 and updated.spec.config == {"size": "2.5"}
        assert events_seen(manager, "a") == 0  # a fresh session
        with pytest.raises(ConfigError, match="size"):
            manager.update("a", {"size": "huge"})
        assert manager.instance("a").spec.config == {"size": "2.5"}
        counts = manager.metrics_text()
    assert f'strategy_revision_instances_total{{action="start",hash="{h1}",strategy="demo"}} 2.0' in counts
    assert f'strategy_revision_instances_total{{action="stop",hash="{h1}",strategy="demo"}} 1.0' in counts


def test_usage_counts_and_times_follow_start_stop_and_remove(root, cache, demo):
    h1, _ = demo
    with Manager(root, cache_dir=cache) as manager:
        manager.create("a", "demo", symbols=["BTC-USDT"])
        manager.create("b", "demo", symbols=["BTC-USDT"])
        assert manager.usage_index.get("demo", h1).count == 0
        manager.start("a")
        first = manager.usage_index.get("demo", h1)
        manager.start("b")
        both = manager.usage_index.get("demo", h1)
        manager.stop("a")
        after_stop = manager.usage_index.get("demo", h1)
        manager.remove("b")
        gone = manager.usage_index.get("demo", h1)
    assert (first.count, first.instances) == (1, ("a",)) and first.first_seen == first.last_seen
    assert both.instances == ("a", "b") and both.first_seen == first.first_seen
    assert after_stop.instances == ("b",) and after_stop.last_seen > both.last_seen
    assert gone.count == 0 and gone.first_seen == first.first_seen and gone.last_seen > after_stop.last_seen


def test_usage_survives_a_restart_with_counts_zero_and_times_kept(root, cache, state, demo):
    h1, _ = demo
    manager = Manager(root, cache_dir=cache, state_dir=state)
    manager.create("a", "demo", symbols=["BTC-USDT"])
    manager.start("a")
    before = manager.usage_index.get("demo", h1)
    saved = UsageIndex.load(state / USAGE_FILE).get("demo", h1)
    assert saved == before  # written after the change, not only at exit
    # the process dies without stopping: the next manager must not count the dead instance
    restarted = Manager(root, cache_dir=cache, state_dir=state)
    after = restarted.usage_index.get("demo", h1)
    assert (after.count, after.first_seen, after.last_seen) == (0, before.first_seen, before.last_seen)
    manager.close()


def test_prune_usage_drops_idle_entries_and_persists(root, cache, state, demo):
    h1, h2 = demo
    with Manager(root, cache_dir=cache, state_dir=state) as manager:
        manager.create("a", "demo", symbols=["BTC-USDT"])
        manager.create("b", "demo:v1.1.0", symbols=["BTC-USDT"])
        manager.start("a")
        removed = manager.prune_usage(timedelta(0))
        assert [(r.strategy, r.hash) for r in removed] == [("demo", h2)]
        assert [r.hash for r in UsageIndex.load(state / USAGE_FILE).snapshot()] == [h1]


def test_close_stops_every_instance_and_records_it(root, cache, state, demo):
    h1, _ = demo
    manager = Manager(root, cache_dir=cache, state_dir=state)
    manager.create("a", "demo", symbols=["BTC-USDT"])
    manager.start("a")
    manager.close()
    assert not manager.instance("a").running
    assert UsageIndex.load(state / USAGE_FILE).get("demo", h1).count == 0


def test_concurrent_starts_of_one_instance_launch_it_once(root, cache, demo):
    with Manager(root, cache_dir=cache) as manager:
        manager.create("a", "demo", symbols=["BTC-USDT"])
        outcomes: list[str] = []
        barrier = threading.Barrier(4)

        def start() -> None:
            barrier.wait()
            try:
                manager.start("a")
                outcomes.append("started")
            except InstanceError as exc:
                outcomes.append(exc.message)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["instance 'a' is already running"] * 3 + ["started"]
        assert manager.usage_index.snapshot()[0].instances == ("a",)
