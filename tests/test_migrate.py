"""Migration: the dry run writes nothing, --write copies/verifies/merges/removes, reruns change nothing."""

from __future__ import annotations

import json

import pytest

from meltica_lab.errors import MigrationError
from meltica_lab.loader import Loader
from meltica_lab.migrate import apply_migration, plan_migration
from meltica_lab.registry import content_hash, edit_registry, load_registry, read_tag_history
from tests.conftest import add_revision, module_source, snapshot_tree


def legacy_root(root):
    (root / "momentum.js").write_text(module_source("momentum", "1.2.0", key="version"))
    (root / "mom_new.js").write_text(module_source("momentum", "v1.10.0", body="const x = 1;"))
    (root / "mom_old.js").write_text(module_source("momentum", "v1.9.0", body="const y = 2;"))
    (root / "noop.js").write_text(module_source("noop", None))
    return root


def actions(plan):
    return {i.file: i.action for i in plan.items}


def test_dry_run_plans_everything_and_writes_nothing(root):
    legacy_root(root)
    before = snapshot_tree(root)
    plan = plan_migration(root)
    assert snapshot_tree(root) == before
    assert set(actions(plan).values()) == {"move"}
    by_file = {i.file: i for i in plan.items}
    assert by_file["momentum.js"].tag == "1.2.0" and by_file["momentum.js"].tag_source == "version"
    assert by_file["noop.js"].tag == "v1.0.0" and by_file["noop.js"].tag_source == "default"
    assert by_file["noop.js"].target == "noop/v1.0.0/noop.js"
    kinds = {c.kind for c in plan.conflicts}
    assert {"missing-tag", "version-key", "duplicate-name"} <= kinds and not plan.blocking


def test_latest_is_the_highest_version_in_semver_order(root):
    legacy_root(root)
    plan = plan_migration(root)
    newest = next(i for i in plan.items if i.tag == "v1.10.0")
    assert plan.latest["momentum"] == newest.hash


def test_write_copies_verifies_registers_and_removes_sources(root, tmp_path):
    legacy_root(root)
    sources = {p.name: p.read_bytes() for p in root.glob("*.js")}
    result = apply_migration(plan_migration(root))
    assert sorted(result.removed) == sorted(sources)
    assert not list(root.glob("*.js"))
    loader = Loader(root, cache_dir=tmp_path / "c")
    assert loader.refresh().problems == ()
    assert loader.resolve("momentum").tag == "v1.10.0"
    assert loader.resolve("momentum:1.2.0").read_source() == sources["momentum.js"]
    assert loader.resolve("noop").read_source() == sources["noop.js"]
    assert {c.reason for c in read_tag_history(root)} == {"migrate"}


def test_second_run_changes_nothing(root):
    legacy_root(root)
    apply_migration(plan_migration(root))
    before = snapshot_tree(root)
    again = plan_migration(root)
    assert again.changes == () and set(actions(again).values()) == {"skip"}
    apply_migration(again)
    assert snapshot_tree(root) == before


def test_hash_layout_puts_each_revision_under_its_digest(root):
    (root / "noop.js").write_text(module_source("noop", "v1"))
    digest = content_hash((root / "noop.js").read_bytes())
    apply_migration(plan_migration(root, layout="hash"))
    assert (root / "noop" / digest[7:] / "noop.js").exists()


def test_same_name_and_tag_with_different_bytes_blocks_the_write(root):
    (root / "a.js").write_text(module_source("demo", "v1"))
    (root / "b.js").write_text(module_source("demo", "v1", body="let z;"))
    plan = plan_migration(root)
    assert [c.kind for c in plan.blocking] == ["tag-conflict"]
    assert set(actions(plan).values()) == {"conflict"}
    before = snapshot_tree(root)
    with pytest.raises(MigrationError, match="blocking conflict"):
        apply_migration(plan)
    assert snapshot_tree(root) == before


def test_invalid_metadata_is_a_blocking_conflict_naming_the_file(root):
    (root / "bad.js").write_text("module.exports = { metadata: { displayName: 'x', events: [] } };")
    plan = plan_migration(root)
    assert plan.blocking[0].kind == "invalid-metadata" and "bad.js" in plan.blocking[0].message


def test_already_versioned_file_is_registered_in_place_not_rewritten(root):
    target = root / "demo" / "v2" / "demo.js"
    target.parent.mkdir(parents=True)
    target.write_text(module_source("demo", "v2"))
    stat = target.stat()
    plan = plan_migration(root)
    assert actions(plan) == {"demo/v2/demo.js": "register"}
    apply_migration(plan)
    assert target.exists() and target.stat().st_ino == stat.st_ino
    assert load_registry(root).resolve("demo:v2").hash == content_hash(target.read_bytes())


def test_existing_registry_is_merged_never_clobbered(root):
    kept = add_revision(root, "demo", "v1.0.0")
    with edit_registry(root, "t") as draft:
        draft.assign_tag("demo", "prod", kept)
    (root / "demo_new.js").write_text(module_source("demo", "v2.0.0"))
    plan = plan_migration(root)
    assert any("latest stays" in n for n in plan.notes)
    apply_migration(plan)
    reg = load_registry(root)
    assert reg.resolve("demo:prod").hash == kept and reg.resolve("demo").hash == kept
    assert reg.resolve("demo:v2.0.0").hash != kept


def test_target_holding_other_bytes_is_never_overwritten(root):
    target = root / "demo" / "v1" / "demo.js"
    target.parent.mkdir(parents=True)
    target.write_text("// someone else's file\n")
    (root / "demo.js").write_text(module_source("demo", "v1"))
    plan = plan_migration(root)
    assert any(c.kind == "target-exists" for c in plan.blocking)


def test_interrupted_migration_completes_when_run_again(root):
    legacy_root(root)
    plan = plan_migration(root)
    # Simulate a crash after the copies, before the registry edit and the removals.
    from meltica_lab.registry import store_module

    for item in plan.items:
        store_module(root, (root / item.file).read_bytes(), name=item.name, tag=item.tag)
    again = plan_migration(root)
    # The copies are registered where they are; the flat sources only need removing.
    assert set(actions(again).values()) == {"register", "remove-source"}
    assert not [c for c in again.conflicts if c.kind == "duplicate-name" and "noop" in c.message]
    apply_migration(again)
    assert not list(root.glob("*.js")) and plan_migration(root).changes == ()


def test_source_changed_after_planning_is_refused(root):
    (root / "noop.js").write_text(module_source("noop", "v1"))
    plan = plan_migration(root)
    (root / "noop.js").write_text(module_source("noop", "v1", body="let q;"))
    with pytest.raises(MigrationError, match="changed since the plan was made"):
        apply_migration(plan)


def test_usage_export_lists_revisions_nobody_runs(root, tmp_path):
    legacy_root(root)
    plan = plan_migration(root)
    running = next(i for i in plan.items if i.file == "noop.js")
    export = {
        "registry": {},
        "usage": [
            {
                "strategy": "noop",
                "hash": running.hash,
                "instances": ["a"],
                "count": 1,
                "firstSeen": "2025-11-04T13:32:54Z",
                "lastSeen": "2025-11-04T13:32:54Z",
                "running": True,
            }
        ],
    }
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(export))
    pruning = plan_migration(root, usage=str(path)).pruning
    assert {p.name for p in pruning} == {"momentum"} and len(pruning) == 3
    assert all("no usage entry" in p.reason for p in pruning)


def test_a_migration_evaluates_with_the_host_it_is_given_and_leaves_it_open(root):
    from meltica_lab.jshost.module import ModuleHost
    from meltica_lab.migrate import migrate

    legacy_root(root)
    with ModuleHost() as host:
        plan = migrate(root, host=host)
        assert host.evaluations == len(plan.items) == 4
        assert host.inspect(module_source("again"), filename="again.js").ok  # still open: its owner closes it
