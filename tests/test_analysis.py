"""Analysis: frames from every kind of source, drift states and their precedence, backtest
provenance from objects and folders, the pruning plan and applying it safely."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from meltica_lab.analysis import (
    DriftState,
    apply_pruning,
    drift_report,
    instances_frame,
    pruning_plan,
    revisions_frame,
    tag_history_frame,
    usage_frame,
)
from meltica_lab.backtest import run_backtest
from meltica_lab.errors import MelticaLabError
from meltica_lab.registry import edit_registry, load_registry, read_tag_history
from meltica_lab.runtime import Manager
from meltica_lab.usage import UsageExport, read_usage_export
from tests.conftest import snapshot_tree
from tests.runtime.support import cache, register, strategy_source, trades

__all__ = ["cache"]

UNKNOWN = "sha256:" + "e" * 64


@pytest.fixture
def lab(root, cache):
    """demo h1 (v1.0.0), h2 (v1.1.0, latest); other o1. Instances: ``a`` follows latest on h2,
    ``b`` follows v1.0.0 on h1, ``c`` followed latest before it moved (still h1), ``o`` runs other."""
    h1 = register(root, strategy_source("demo", "v1.0.0"), "demo", "v1.0.0")
    h2 = register(root, strategy_source("demo", "v1.1.0"), "demo", "v1.1.0")
    o1 = register(root, strategy_source("other", "v1"), "other", "v1")
    manager = Manager(root, cache_dir=cache)
    manager.create("c", "demo", symbols=["BTC-USDT"])
    manager.assign_tag("demo", "latest", h2, refresh=False)
    manager.create("a", "demo", symbols=["BTC-USDT"])
    manager.create("b", "demo:v1.0.0", symbols=["BTC-USDT"])
    manager.create("o", "other", symbols=["BTC-USDT"])
    for ident in ("a", "b", "c", "o"):
        manager.start(ident)
    yield manager, h1, h2, o1
    manager.close()


def backtest_of(manager: Manager, selector: str):
    return run_backtest(manager.loader.resolve(selector), trades(5), progress=False)


def test_revisions_frame_is_the_same_from_every_registry_source(lab, root):
    manager, h1, h2, o1 = lab
    frame = revisions_frame(root)
    assert list(frame.columns) == ["strategy", "hash", "tag", "tags", "latest", "path"]
    assert list(frame["hash"]) == [h1, h2, o1]
    assert list(frame["tags"]) == [("v1.0.0",), ("latest", "v1.1.0"), ("latest", "v1")]
    assert list(frame["latest"]) == [False, True, True]
    for source in (load_registry(root), manager, manager.export(), root / "registry.json",
                   load_registry(root).to_dict(), read_usage_export(manager.export())):  # fmt: skip
        pd.testing.assert_frame_equal(revisions_frame(source), frame)


def test_tag_history_frame_lists_changes_oldest_first(lab, root):
    manager, h1, h2, _ = lab
    frame = tag_history_frame(root, "demo")
    assert list(frame.columns) == ["time", "strategy", "tag", "from", "to", "reason", "actor"]
    assert str(frame["time"].dt.tz) == "UTC"
    assert frame["time"].is_monotonic_increasing
    last = frame.iloc[-1]
    assert (last["tag"], last["from"], last["to"]) == ("latest", h1, h2)
    pd.testing.assert_frame_equal(tag_history_frame(manager), tag_history_frame(root))


def test_usage_frame_reads_files_documents_and_managers_alike(lab, tmp_path):
    manager, _, h2, _ = lab
    path = tmp_path / "export.json"
    path.write_text(json.dumps(manager.export()))
    frames = [usage_frame(s) for s in (path, str(path), manager.export(), manager, manager.usage_index)]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert dict(zip(frames[0]["hash"], frames[0]["count"], strict=True))[h2] == 1


def test_instances_frame_from_a_manager_gateway_summaries_and_a_usage_export(lab):
    manager, h1, _, _ = lab
    manager.stop("o")
    from_manager = instances_frame(manager)
    assert list(from_manager["instance"]) == ["a", "b", "c", "o"]
    assert list(from_manager["selector"]) == ["demo", "demo:v1.0.0", "demo", "other"]
    assert list(from_manager["running"]) == [True, True, True, False]
    summaries = [view.to_dict() for view in manager.instances()]
    from_gateway = instances_frame(summaries)
    cols = ["instance", "strategy", "selector", "hash", "running"]
    pd.testing.assert_frame_equal(from_gateway[cols], from_manager[cols])
    assert set(from_gateway["source"]) == {"gateway"}
    from_usage = instances_frame(manager.export()).sort_values("instance", ignore_index=True)
    assert list(from_usage["instance"]) == ["a", "b", "c"]  # running ids only
    assert not from_usage["selector_known"].any() and from_usage["selector"].isna().all()
    assert list(from_usage["hash"])[1:] == [h1, h1]


def test_drift_states_with_backtests_and_their_precedence(lab):
    manager, h1, h2, _ = lab
    summaries = [view.to_dict() for view in manager.instances()]
    summaries.append({**summaries[0], "id": "ghost", "strategyHash": UNKNOWN, "strategySelector": f"demo@{UNKNOWN}"})
    report = drift_report(manager, instances=summaries, backtests=[backtest_of(manager, f"demo@{h2}")])
    states = dict(zip(report["instance"], report["state"].astype(str), strict=True))
    assert states == {
        "a": "in-sync",  # runs latest, which was backtested
        "b": "backtest-stale",  # runs v1.0.0; only v1.1.0 has a backtest
        "c": "tag-moved-not-rolled",  # latest moved after it started; wins over backtest-stale
        "ghost": "running-unregistered-hash",  # wins over everything
        "o": "never-backtested",
    }
    row = report.set_index("instance").loc["c"]
    assert (row["running_hash"], row["resolved_hash"], row["latest_hash"]) == (h1, h2, h2)
    assert row["last_backtested_hash"] == h2 and not row["backtested"]
    assert "a refresh would move it" in row["detail"]
    assert list(report["state"].cat.categories) == [s.value for s in DriftState]


def test_drift_without_backtests_judges_the_registry_only(lab, root):
    manager, *_ = lab
    manager.delete_tag("demo", "v1.0.0", allow_orphan=True)
    report = drift_report(root, instances=manager).set_index("instance")
    assert report.loc["a", "state"] == "in-sync" and report.loc["o", "state"] == "in-sync"
    assert report.loc["b", "state"] == "tag-moved-not-rolled"
    assert report.loc["b", "detail"].startswith("its selector no longer resolves: tag 'v1.0.0' not found")
    assert report["backtested"].isna().all()


def test_drift_from_a_usage_export_compares_with_latest_and_says_so(lab, root):
    manager, *_ = lab
    report = drift_report(root, usage=manager.export()).set_index("instance")
    assert set(report["compared_with"]) == {"latest (selector unknown)"}
    assert report.loc["a", "state"] == "in-sync" and report.loc["c", "state"] == "tag-moved-not-rolled"
    assert report.loc["a", "detail"] == "runs what latest points at (selector unknown, so compared with latest)"
    assert report.loc["c", "detail"].startswith("latest points at another hash")


def test_backtests_are_read_from_a_folder_of_results(lab, tmp_path):
    manager, h1, h2, _ = lab
    folder = tmp_path / "backtests"
    for name, selector in (("old", f"demo@{h1}"), ("new", f"demo@{h2}")):
        (folder / name).mkdir(parents=True)
        (folder / name / "result.json").write_text(backtest_of(manager, selector).to_json())
    os.utime(folder / "old" / "result.json", (1, 1))  # the older run, whatever the write order
    (folder / "notes.json").write_text('{"not": "a result"}')
    report = drift_report(manager, backtests=folder).set_index("instance")
    assert report.loc["b", "state"] == "in-sync" and report.loc["b", "last_backtested_hash"] == h2
    from_dicts = drift_report(manager, backtests=[json.loads((folder / "new" / "result.json").read_text())])
    assert from_dicts.set_index("instance").loc["b", "state"] == "backtest-stale"
    (folder / "broken").mkdir()
    (folder / "broken" / "result.json").write_text("{")
    with pytest.raises(MelticaLabError, match=r"broken/result\.json: cannot read backtest result"):
        drift_report(manager, backtests=folder)
    with pytest.raises(MelticaLabError, match="no such backtest results folder"):
        drift_report(manager, backtests=tmp_path / "missing")


def test_pruning_plan_keeps_what_is_tagged_used_recent_or_backtested(lab, root):
    manager, h1, h2, _ = lab
    old = register(root, strategy_source("demo", "v0.1.0"), "demo", "v0.1.0")
    recent = register(root, strategy_source("demo", "v0.2.0"), "demo", "v0.2.0")
    tested = register(root, strategy_source("demo", "v0.3.0"), "demo", "v0.3.0")
    with edit_registry(root, "untag") as draft:
        for tag in ("v0.1.0", "v0.2.0", "v0.3.0", "v1.0.0"):
            draft.remove_tag("demo", tag, allow_orphan=True)
    manager.reload()
    export = manager.export()
    now = datetime.now(UTC)
    export["usage"].append({"strategy": "demo", "hash": recent, "instances": None, "count": 0,
                            "firstSeen": "2025-01-01T00:00:00Z",
                            "lastSeen": (now - timedelta(days=2)).isoformat().replace("+00:00", "Z"),
                            "running": False})  # fmt: skip
    export["usage"].append({"strategy": "demo", "hash": old, "instances": None, "count": 0,
                            "firstSeen": "2025-01-01T00:00:00Z", "lastSeen": "2025-01-02T00:00:00Z",
                            "running": False})  # fmt: skip
    plan = pruning_plan(manager, usage=export, backtests=[backtest_of(manager, f"demo@{tested}")], days=7, now=now)
    rows = plan.frame.set_index("hash")
    assert list(plan.to_prune["hash"]) == [old]
    assert rows.loc[old, "reasons"] == (
        "untagged",
        "no instance uses it",
        "last seen 2025-01-02T00:00:00+00:00, over 7 days ago",
        "no backtest pins it",
    )
    assert rows.loc[recent, "reasons"][0].startswith("seen within 7 days")
    assert rows.loc[tested, "reasons"] == ("pinned by a backtest",)
    assert rows.loc[h1, "reasons"][0] == "in use by 2 instance(s): b, c"  # untagged, but running
    assert rows.loc[h2, "reasons"][0] == "tagged (latest, v1.1.0)"
    assert repr(plan) == "PruningPlan(6 revisions: 1 to prune, 5 to keep)"
    assert plan.to_dict()[0]["action"] in ("keep", "prune")


def test_apply_pruning_deletes_only_the_planned_revisions_through_locked_edits(lab, root):
    manager, *_ = lab
    doomed = register(root, strategy_source("demo", "v0.1.0"), "demo", "v0.1.0")
    retagged = register(root, strategy_source("demo", "v0.2.0"), "demo", "v0.2.0")
    with edit_registry(root, "untag") as draft:
        draft.remove_tag("demo", "v0.1.0", allow_orphan=True)
        draft.remove_tag("demo", "v0.2.0", allow_orphan=True)
    plan = pruning_plan(root, usage=manager.export(), days=0)
    assert set(plan.to_prune["hash"]) == {doomed, retagged}
    with edit_registry(root, "someone tags it after the plan") as draft:
        draft.assign_tag("demo", "keepme", retagged)
    outcome = apply_pruning(plan, root, manager=manager).set_index("hash")
    assert outcome.loc[doomed, "outcome"] == "deleted" and outcome.loc[retagged, "outcome"] == "skipped"
    assert outcome.loc[retagged, "why"] == "a tag points at it now"
    assert not (root / "demo" / "v0.1.0").exists() and (root / "demo" / "v0.2.0" / "demo.js").exists()
    assert doomed not in load_registry(root).all_hashes()
    assert [c.reason for c in read_tag_history(root)][-1] == "someone tags it after the plan"  # no tag moved
    assert doomed not in {r.hash for r in manager.loader.revisions()}  # the manager reloaded


def test_apply_pruning_never_deletes_what_an_instance_pins_at_apply_time(lab, root):
    manager, *_ = lab
    doomed = register(root, strategy_source("demo", "v0.1.0"), "demo", "v0.1.0")
    with edit_registry(root, "untag") as draft:
        draft.remove_tag("demo", "v0.1.0", allow_orphan=True)
    plan = pruning_plan(root, usage=manager.export(), days=0)
    manager.reload()
    manager.create("late", f"demo@{doomed}", symbols=["BTC-USDT"])
    before = snapshot_tree(root)
    outcome = apply_pruning(plan, root, manager=manager)
    assert list(outcome["outcome"]) == ["skipped"] and list(outcome["why"]) == ["an instance pins it now"]
    assert snapshot_tree(root) == before


def test_usage_export_objects_are_accepted_everywhere(lab):
    manager, *_ = lab
    export = read_usage_export(manager.export())
    assert isinstance(export, UsageExport)
    pd.testing.assert_frame_equal(usage_frame(export), usage_frame(manager))
    assert len(drift_report(export, usage=export)) == 4


@pytest.mark.timeout(120)
def test_a_fifo_among_backtest_results_is_skipped_and_a_fifo_result_json_named(tmp_path):
    import os

    from meltica_lab.analysis import backtest_runs

    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    os.mkfifo(runs / "a" / "notes.json")
    assert len(backtest_runs(runs)) == 0
    os.mkfifo(runs / "a" / "result.json")
    with pytest.raises(MelticaLabError, match=r"a/result\.json: cannot read backtest result: .*FIFO"):
        backtest_runs(runs)
