"""Module operations through the manager: upload, tags, delete (and its guard), rollback, tag history."""

from __future__ import annotations

import pytest

from meltica_lab.errors import ConflictError, InUseError, ModuleError, NotFoundError
from meltica_lab.registry import load_registry, read_tag_history
from meltica_lab.runtime import Manager
from tests.conftest import snapshot_tree
from tests.runtime.support import cache, register, strategy_source

__all__ = ["cache"]


@pytest.fixture
def manager(root, cache):
    with Manager(root, cache_dir=cache) as manager:
        yield manager


def test_upload_stores_in_the_tag_layout_and_is_resolvable_at_once(manager, root):
    result = manager.upload(strategy_source("demo", "v1.0.0"), aliases=["stable", " "])
    assert (result.relpath, result.created, result.latest) == ("demo/v1.0.0/demo.js", True, True)
    assert manager.loader.resolve("demo:stable").hash == result.hash  # no stale loader state
    data = result.to_dict()
    assert data["status"] == "pending_refresh" and data["strategyDirectory"] == str(root)
    assert data["module"] == {
        "name": "demo", "hash": result.hash, "tag": "v1.0.0", "alias": "v1.0.0", "file": "demo.js",
        "path": f"{root}/demo/v1.0.0/demo.js",
    }  # fmt: skip
    assert {(c.tag, c.to_hash) for c in read_tag_history(root, "demo")} == {
        ("latest", result.hash), ("v1.0.0", result.hash), ("stable", result.hash),
    }  # fmt: skip


def test_an_invalid_upload_reports_diagnostics_counts_them_and_changes_nothing(manager, root):
    manager.upload(strategy_source("demo", "v1.0.0"))
    before = snapshot_tree(root)
    with pytest.raises(ModuleError) as info:
        manager.upload("module.exports = { metadata: { name: 'demo' ")
    assert info.value.diagnostics and info.value.diagnostics[0].stage == "compile"
    with pytest.raises(ModuleError, match="metadata tag required for registry writes"):
        manager.upload(strategy_source("demo", ""))
    assert snapshot_tree(root) == before
    metrics = manager.metrics_text()
    assert 'strategy_upload_validation_failure_total{stage="compile"} 1.0' in metrics
    assert 'strategy_upload_validation_failure_total{stage="validation"} 1.0' in metrics


def test_new_bytes_under_a_taken_tag_go_to_the_hash_layout_and_move_the_tag(manager, root):
    first = manager.upload(strategy_source("demo", "v1.0.0"))
    second = manager.upload(strategy_source("demo", "v1.0.0", create="let fixed = true;"), promote_latest=False)
    assert second.relpath == f"demo/{second.hash.removeprefix('sha256:')}/demo.js" and second.created
    registry = load_registry(root)
    entry = registry.strategies["demo"]
    assert entry.tag_target("v1.0.0") == second.hash and entry.tag_target("latest") == first.hash
    assert (root / first.relpath).read_text() == strategy_source("demo", "v1.0.0")  # never overwritten
    assert not second.latest


def test_uploading_known_bytes_reuses_the_file_and_keeps_the_primary_tag(manager, root):
    first = manager.upload(strategy_source("demo", "v1.0.0"))
    again = manager.upload(strategy_source("demo", "v1.0.0"), tag="prod")
    assert (again.hash, again.relpath, again.created) == (first.hash, first.relpath, False)
    entry = load_registry(root).strategies["demo"]
    assert entry.hashes[first.hash].tag == "v1.0.0" and entry.tag_target("prod") == first.hash
    assert sorted(p.name for p in (root / "demo").iterdir()) == ["v1.0.0"]


def test_assign_tag_moves_the_followers_and_counts_the_move(manager, root):
    h1 = manager.upload(strategy_source("demo", "v1.0.0")).hash
    h2 = manager.upload(strategy_source("demo", "v1.1.0"), promote_latest=False).hash
    manager.assign_tag("demo", "prod", h1)
    manager.create("p", "demo:prod", symbols=["BTC-USDT"])
    manager.create("l", "demo", symbols=["BTC-USDT"])
    manager.start("p")
    moved = manager.assign_tag("demo", "prod", h2[:15])
    assert (moved.previous_hash, moved.hash) == (h1, h2)
    assert {r.instances[0]: r.reason for r in moved.results} == {"l": "alreadyPinned", "p": "refreshed"}
    assert moved.to_dict()["status"] == "tag_assigned" and moved.to_dict()["refresh"] is True
    assert manager.instance("p").spec.hash == h2 and manager.instance("p").running
    unchanged = manager.assign_tag("demo", "prod", h2)
    assert unchanged.results == () and unchanged.previous_hash == h2
    assert 'strategy_tag_reassigned_total{strategy="demo",tag="prod"} 1.0' in manager.metrics_text()


def test_delete_tag_refuses_latest_and_orphans_and_leaves_followers_running(manager):
    h1 = manager.upload(strategy_source("demo", "v1.0.0"), aliases=["beta"]).hash
    manager.create("b", "demo:beta", symbols=["BTC-USDT"])
    manager.start("b")
    with pytest.raises(ConflictError, match='"latest" of demo cannot be removed'):
        manager.delete_tag("demo", "latest")
    removed = manager.delete_tag("demo", "beta")
    assert removed.to_dict() == {"status": "tag_deleted", "strategy": "demo", "tag": "beta", "hash": h1,
                                 "allowOrphan": False}  # fmt: skip
    with pytest.raises(NotFoundError):
        manager.loader.resolve("demo:beta")
    assert manager.instance("b").running
    assert 'strategy_tag_deleted_total{allowOrphan="false",strategy="demo",tag="beta"} 1.0' in manager.metrics_text()


def test_delete_is_refused_while_any_instance_pins_the_revision(manager, root):
    h1 = manager.upload(strategy_source("demo", "v1.0.0")).hash
    manager.upload(strategy_source("demo", "v1.1.0"))
    manager.create("run", f"demo@{h1}", symbols=["BTC-USDT"])
    manager.create("rest", "demo:v1.0.0", symbols=["BTC-USDT"])
    manager.start("run")
    before = snapshot_tree(root)
    for selector in ("demo:v1.0.0", h1, "demo"):
        with pytest.raises(InUseError) as info:
            manager.delete(selector)
        assert info.value.instances == ("rest", "run")
        assert "rest (stopped), run (running)" in info.value.message
    assert snapshot_tree(root) == before


def test_delete_by_tag_removes_that_revision_says_so_and_moves_latest(manager, root):
    h1 = manager.upload(strategy_source("demo", "v1.0.0"), aliases=["prod"]).hash
    h2 = manager.upload(strategy_source("demo", "v1.1.0")).hash
    manager.upload(strategy_source("demo", "v1.0.5"), promote_latest=False)
    deleted = manager.delete("demo:v1.1.0")
    assert deleted.hashes == (h2,) and deleted.tags == ("latest", "v1.1.0")
    assert deleted.files == ("demo/v1.1.0/demo.js",)
    assert "which tag 'v1.1.0' pointed at (the whole revision, not just the tag)" in deleted.message
    newest = manager.loader.resolve("demo:v1.0.5").hash
    assert deleted.latest == newest and manager.loader.resolve("demo").hash == newest
    assert not (root / "demo" / "v1.1.0").exists()
    by_hash = manager.delete(h1.removeprefix("sha256:"))  # a bare hash deletes too
    assert by_hash.tags == ("prod", "v1.0.0")
    with pytest.raises(NotFoundError):
        manager.loader.resolve("demo:prod")


def test_deleting_a_whole_strategy_removes_its_folder(manager, root):
    manager.upload(strategy_source("demo", "v1.0.0"))
    manager.upload(strategy_source("demo", "v1.1.0"))
    manager.upload(strategy_source("keep", "v1"))
    deleted = manager.delete("demo")
    assert len(deleted.hashes) == 2 and deleted.latest is None and not (root / "demo").exists()
    assert "demo has no revisions left" in deleted.message
    assert manager.loader.strategies() == ["keep"]


def test_rollback_moves_latest_and_refreshes_only_its_followers(manager, root):
    h1 = manager.upload(strategy_source("demo", "v1.0.0")).hash
    h2 = manager.upload(strategy_source("demo", "v1.1.0")).hash
    manager.create("follow", "demo", symbols=["BTC-USDT"])
    manager.create("tagged", "demo:v1.1.0", symbols=["BTC-USDT"])
    manager.start("follow")
    manager.start("tagged")
    rolled = manager.rollback("demo", to="v1.0.0")
    assert (rolled.previous_hash, rolled.hash) == (h2, h1)
    assert [(r.instances, r.reason) for r in rolled.results] == [(("follow",), "refreshed")]
    assert manager.instance("follow").spec.hash == h1 and manager.instance("tagged").spec.hash == h2
    last = read_tag_history(root, "demo")[-1]
    assert (last.tag, last.from_hash, last.to_hash, last.reason) == ("latest", h2, h1, "rollback demo latest to v1.0.0")
    again = manager.rollback("demo", to=h2[:17])
    assert again.hash == h2 and manager.instance("follow").spec.hash == h2


def test_rollback_to_an_unknown_revision_changes_nothing(manager, root):
    manager.upload(strategy_source("demo", "v1.0.0"))
    before = snapshot_tree(root)
    with pytest.raises(NotFoundError, match="'v9' is neither a tag of demo"):
        manager.rollback("demo", to="v9")
    assert snapshot_tree(root) == before


def test_a_manager_over_paths_given_as_text_loads_what_is_registered(root, cache, tmp_path):
    digest = register(root, strategy_source("demo", "v1.0.0"), "demo", "v1.0.0")
    with Manager(str(root), cache_dir=str(cache), state_dir=str(tmp_path / "state")) as manager:
        assert manager.create("a", "demo", symbols=["BTC-USDT"]).spec.hash == digest
