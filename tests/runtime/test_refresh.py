"""Refresh: full and targeted, every reason code, normalised targets, retirement without stopping,
failed restarts reported as failures, and ``refresh_hash``."""

from __future__ import annotations

import pytest

from meltica_lab.errors import AmbiguousHashError, SelectorError
from meltica_lab.registry import Registry, edit_registry
from meltica_lab.runtime import REASONS, Manager
from meltica_lab.runtime.targets import parse_targets
from tests.runtime.support import cache, events_seen, register, strategy_source, trades

__all__ = ["cache"]

SIZE = [{"name": "size", "type": "float", "default": 1.0, "required": False}]


@pytest.fixture
def fleet(root, cache):
    """demo v1.0.0 (h1: latest, prod, beta) and v1.1.0 (h2); five instances, four running on h1."""
    h1 = register(root, strategy_source("demo", "v1.0.0", config=SIZE), "demo", "v1.0.0")
    h2 = register(root, strategy_source("demo", "v1.1.0", config=SIZE, create="let v = 2;"), "demo", "v1.1.0")
    with edit_registry(root, "fixture") as draft:
        draft.assign_tag("demo", "prod", h1)
        draft.assign_tag("demo", "beta", h1)
    manager = Manager(root, cache_dir=cache)
    for ident, selector in [("follow", "demo"), ("prod", "demo:prod"), ("pinned", f"demo@{h1}"),
                            ("beta", "demo:beta"), ("idle", "demo")]:  # fmt: skip
        manager.create(ident, selector, symbols=["BTC-USDT"])
        if ident != "idle":
            manager.start(ident)
    manager.feed(trades(2))
    yield manager, h1, h2
    manager.close()


def by_instance(results):
    return {r.instances[0]: r for r in results if r.instances}


def test_full_refresh_reports_every_reason_and_moves_only_what_moved(fleet):
    manager, h1, h2 = fleet
    manager.assign_tag("demo", "latest", h2, refresh=False)
    manager.assign_tag("demo", "prod", h2, refresh=False)
    manager.delete_tag("demo", "beta")
    results = manager.refresh()
    got = by_instance(results)
    assert {k: r.reason for k, r in got.items()} == {
        "beta": "retired", "follow": "refreshed", "idle": "refreshed", "pinned": "alreadyPinned", "prod": "refreshed",
    }  # fmt: skip
    assert {r.reason for r in results} == set(REASONS)
    assert [r.selector for r in results] == sorted(r.selector for r in results)
    assert "tag 'beta' not found" in got["beta"].detail and f"keeps running {h1}" in got["beta"].detail
    assert got["pinned"].detail.startswith("pinned by hash")
    assert got["idle"].detail.endswith("not running: it will start on the new hash") and not got["idle"].restarted
    assert got["follow"].restarted and (got["follow"].previous_hash, got["follow"].hash) == (h1, h2)
    # retired instances keep running their pinned hash; moved ones run a fresh session on the new hash
    views = {v.id: v for v in manager.instances()}
    assert views["beta"].running and views["beta"].spec.hash == h1 and events_seen(manager, "beta") == 2
    assert views["follow"].spec.hash == h2 and events_seen(manager, "follow") == 0
    assert not views["idle"].running and views["idle"].spec.hash == h2
    assert manager.usage_index.get("demo", h1).instances == ("beta", "pinned")
    assert manager.usage_index.get("demo", h2).instances == ("follow", "prod")


def test_refresh_records_use_the_gateway_field_names(fleet):
    manager, h1, h2 = fleet
    manager.assign_tag("demo", "latest", h2, refresh=False)
    record = by_instance(manager.refresh(strategies=["demo"]))["follow"].to_dict()
    assert record == {
        "selector": "demo", "strategy": "demo", "hash": h2, "previousHash": h1, "instances": ["follow"],
        "reason": "refreshed", "detail": f"demo now resolves to {h2} (was {h1}); restarted on the new hash",
        "restarted": True,
    }  # fmt: skip


def test_targeted_refresh_normalises_hash_prefixes_of_any_case(fleet):
    manager, h1, h2 = fleet
    manager.assign_tag("demo", "latest", h2, refresh=False)
    prefix = h1.removeprefix("sha256:")[:10].upper()
    results = manager.refresh(hashes=[f"  SHA256:{prefix} "])
    assert sorted(by_instance(results)) == ["beta", "follow", "idle", "pinned", "prod"]  # all pinned to h1
    assert by_instance(results)["follow"].reason == "refreshed"


def test_targeted_refresh_matches_name_tag_by_resolution(fleet):
    manager, h1, h2 = fleet
    manager.create("on-h2", f"demo@{h2}", symbols=["BTC-USDT"])
    manager.assign_tag("demo", "prod", h2, refresh=False)
    manager.assign_tag("demo", "latest", h2, refresh=False)
    results = by_instance(manager.refresh(strategies=["DEMO:prod"]))
    # the followers of prod, and the instances that run the revision prod names: not raw string equality
    assert {k: r.reason for k, r in results.items()} == {"prod": "refreshed", "on-h2": "alreadyPinned"}
    assert manager.instance("prod").spec.hash == h2
    assert manager.instance("follow").spec.hash == h1  # latest moved too, but it was not a target


def test_unmatched_targets_are_retired_with_a_reason(fleet):
    manager, _, h2 = fleet
    results = manager.refresh(hashes=[h2], strategies=["demo:nosuch"])
    unmatched = [r for r in results if not r.instances]
    assert [(r.selector, r.reason) for r in unmatched] == [("demo:nosuch", "retired"), (h2, "retired")]
    assert "tag 'nosuch' not found" in unmatched[0].detail
    assert "no instance runs or follows it; revision demo@" in unmatched[1].detail
    assert unmatched[1].to_dict()["previousHash"] == h2


def test_a_malformed_target_fails_before_anything_moves(fleet):
    manager, h1, h2 = fleet
    manager.assign_tag("demo", "latest", h2, refresh=False)
    with pytest.raises(SelectorError, match="not a sha256 hash"):
        manager.refresh(hashes=["sha256:xyz"], strategies=["demo"])
    assert manager.instance("follow").spec.hash == h1


def test_a_failed_restart_is_reported_and_the_old_session_keeps_running(fleet, root):
    manager, h1, _ = fleet
    broken = register(root, strategy_source("demo", "v2.0.0", create="throw new Error('bad deploy');"), "demo",
                      "v2.0.0", latest=True)  # fmt: skip
    got = by_instance(manager.refresh(strategies=["demo:latest"]))
    follow = got["follow"]
    assert (follow.reason, follow.ok, follow.restarted, follow.hash) == ("alreadyPinned", False, False, h1)
    assert "bad deploy" in follow.error and f"now resolves to {broken}" in follow.detail
    assert follow.to_dict()["error"] == follow.error
    view = manager.instance("follow")
    assert view.running and view.spec.hash == h1 and events_seen(manager, "follow") == 2
    assert "follow" in manager.usage_index.get("demo", h1).instances


def test_a_stopped_instance_does_not_move_to_a_revision_its_config_does_not_fit(fleet, root):
    manager, h1, _ = fleet
    manager.update("idle", {"size": 3})
    register(root, strategy_source("demo", "v3.0.0"), "demo", "v3.0.0", latest=True)  # no "size" any more
    idle = by_instance(manager.refresh())["idle"]
    assert idle.reason == "alreadyPinned" and "unknown key(s) size" in idle.error
    assert manager.instance("idle").spec.hash == h1


def test_an_instance_whose_pinned_revision_vanished_keeps_running_and_is_retired(fleet, root):
    manager, h1, _ = fleet
    manager.remove("follow")
    manager.remove("prod")
    manager.remove("beta")
    manager.remove("idle")
    with edit_registry(root, "external edit") as draft:  # another process removed the revision
        draft.remove_revision("demo", h1)
    (pinned,) = manager.refresh()
    assert pinned.reason == "retired" and f"hash '{h1}' not found" in pinned.detail
    assert manager.instance("pinned").running and events_seen(manager, "pinned") == 2
    assert manager.usage(f"demo@{h1}")["instances"][0]["id"] == "pinned"


def test_refresh_hash_restarts_every_running_instance_pinned_to_it(fleet):
    manager, h1, h2 = fleet
    manager.assign_tag("demo", "prod", h2, refresh=False)
    results = by_instance(manager.refresh_hash(h1[:20]))
    assert {k: (r.reason, r.restarted) for k, r in results.items()} == {
        "beta": ("alreadyPinned", True), "follow": ("alreadyPinned", True), "idle": ("alreadyPinned", False),
        "pinned": ("alreadyPinned", True), "prod": ("refreshed", True),
    }  # fmt: skip
    assert results["pinned"].detail.endswith("restarted on the same hash")
    assert [events_seen(manager, i) for i in ("beta", "follow", "pinned", "prod")] == [0, 0, 0, 0]
    assert manager.instance("prod").spec.hash == h2
    (prod,) = manager.refresh_hash(h2)
    assert prod.instances == ("prod",) and prod.restarted


def test_a_hash_prefix_naming_two_revisions_is_refused_with_the_candidates():
    first, second = "sha256:aaaaaaaa" + "0" * 56, "sha256:aaaaaaaa" + "1" * 56
    hashes = {first: {"tag": "v1", "path": "demo/v1/demo.js"}, second: {"tag": "v2", "path": "demo/v2/demo.js"}}
    registry = Registry.from_dict({"demo": {"tags": {"latest": first}, "hashes": hashes}})
    with pytest.raises(AmbiguousHashError, match="matches 2 revisions") as info:
        parse_targets(["AAAAAAAA"], [], before=registry, after=registry, pinned=())
    assert info.value.candidates == (first, second)
    (target,) = parse_targets([], [f"demo@{second[:20]}"], before=registry, after=registry, pinned=())
    assert (target.text, target.hashes) == (f"demo@{second}", frozenset({second}))
