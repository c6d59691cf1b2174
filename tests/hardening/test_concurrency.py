"""Concurrent writers: 4 processes x 100 mixed uploads and tag edits against one registry.

While they run, a fifth process parses the registry in a loop and checks that every registered file
exists with its hash. Afterwards every upload and tag the workers report is in the registry, and
the tag history holds every change: the moves of the tag all workers share form one unbroken chain
(each change starts where the one before it ended), which a lost update would break.

Then races whose outcome must equal some sequential order of the two sides: ``prune --apply``
against uploads of the very bytes it prunes, ``migrate --write`` against ``prune --apply``, and two
uploads of different bytes under the same new tag.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from pathlib import Path

from meltica_lab.registry import content_hash, edit_registry, load_registry, read_tag_history
from tests.hardening import workers
from tests.hardening.conftest import CLEAN, CLEAN_SOURCE, register, strategy_source

WORKERS = 4
STEPS = 100


def test_four_processes_editing_one_registry_lose_nothing(tmp_path: Path):
    root = tmp_path / "strategies"
    root.mkdir()
    first = register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    with edit_registry(root, "the tag every worker moves") as draft:
        draft.assign_tag(CLEAN, "shared", first)
    setup_lines = len(read_tag_history(root))
    context = multiprocessing.get_context("spawn")
    stop = tmp_path / "stop"
    reader = context.Process(target=workers.poll_registry, args=(str(root), str(stop), str(tmp_path / "reader.json")))
    reader.start()
    writers = [
        context.Process(
            target=workers.mixed_edits,
            args=(str(root), str(tmp_path / "cache"), w, STEPS, 1000 + w, str(tmp_path / f"worker{w}.json")),
        )
        for w in range(WORKERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    stop.touch()
    reader.join(timeout=60)
    assert [p.exitcode for p in writers] == [0] * WORKERS
    assert reader.exitcode == 0

    polled = json.loads((tmp_path / "reader.json").read_text())
    assert polled["failures"] == []
    assert polled["reads"] > 20

    done = [op for w in range(WORKERS) for op in json.loads((tmp_path / f"worker{w}.json").read_text())]
    assert len(done) == WORKERS * STEPS
    entry = load_registry(root).strategies[CLEAN]
    for op in done:
        if op["op"] == "upload":
            assert entry.hashes[op["hash"]].tag == op["tag"]
        if op["op"] != "shared":
            assert entry.tag_target(op["tag"]) == op["hash"], op

    history = read_tag_history(root, CLEAN)[setup_lines:]
    created = {(c.tag, c.to_hash) for c in history if c.from_hash is None}
    assert all((op["tag"], op["hash"]) in created for op in done if op["op"] != "shared")
    shared = [c for c in history if c.tag == "shared"]
    assert [c.from_hash for c in shared] == [first, *(c.to_hash for c in shared[:-1])]
    assert shared[-1].to_hash == entry.tag_target("shared")
    moved = [op for op in done if op["op"] == "shared" and op["previous"] != op["hash"]]
    moves = Counter((op["previous"], op["hash"]) for op in moved)
    assert Counter((c.from_hash, c.to_hash) for c in shared) == moves
    assert len(history) == sum(op["op"] != "shared" for op in done) + len(shared)


# -- races whose every outcome must equal some sequential order ------------------------------------------
def _race_context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.hardening.workers", "meltica_lab.runtime", "meltica_lab.analysis"])
    return context


def race(tmp: Path, *racers: tuple[object, tuple[object, ...]]) -> list[Path]:
    """Start each racer ``target(*args, go, out)``, release them together once all are ready, wait for
    all; returns their ``out`` files."""
    context = _race_context()
    go = tmp / "go"
    outs = [tmp / f"racer{n}.json" for n in range(len(racers))]
    processes = [
        context.Process(target=target, args=(*args, str(go), str(out)))
        for (target, args), out in zip(racers, outs, strict=True)
    ]
    for process in processes:
        process.start()
    for process, out in zip(processes, outs, strict=True):
        while not Path(f"{out}.ready").exists() and process.is_alive():
            time.sleep(0.002)
    go.touch()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return outs


def assert_files_match(root: Path) -> None:
    """Every registered revision has its file, with its hash."""
    for entry in load_registry(root).strategies.values():
        for digest, location in entry.hashes.items():
            path = root / location.path
            assert path.is_file(), f"{location.path} is registered but its file is gone"
            assert content_hash(path.read_bytes()) == digest


def untagged_root(root: Path, count: int) -> list[str]:
    """``alpha`` tagged plus ``count`` revisions no tag points at; returns their sources."""
    root.mkdir(parents=True)
    register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    sources = [workers.untagged_source(step) for step in range(count)]
    for step, source in enumerate(sources):
        register(root, source, CLEAN, f"old{step}", latest=False)
        with edit_registry(root, "untag") as draft:
            draft.remove_tag(CLEAN, f"old{step}", allow_orphan=True)
    return sources


ROUNDS = 4
REVISIONS = 12


def test_prune_apply_racing_uploads_of_the_same_bytes_never_loses_a_confirmed_revision(tmp_path: Path):
    for number in range(ROUNDS):
        base = tmp_path / f"round{number}"
        root = base / "strategies"
        sources = untagged_root(root, REVISIONS)
        pruned, uploaded = race(
            base,
            (workers.prune_once, (str(root),)),
            (workers.upload_all, (str(root), str(tmp_path / "cache"), sources)),
        )
        assert_files_match(root)
        entry = load_registry(root).strategies[CLEAN]
        # whichever came first, an upload that returned is a registered revision with its file
        for done in json.loads(uploaded.read_text()):
            assert done["hash"] in entry.hashes, f"round {number}: upload of {done['tag']} returned but is gone"
            assert entry.tag_target(done["tag"]) == done["hash"]
        assert {row["outcome"] for row in json.loads(pruned.read_text())} <= {"deleted", "skipped"}


def test_migrate_write_racing_prune_apply_loses_no_flat_revision(tmp_path: Path):
    for number in range(ROUNDS):
        base = tmp_path / f"round{number}"
        root = base / "strategies"
        sources = untagged_root(root, REVISIONS)
        # the flat legacy files hold the very bytes of registered, untagged revisions (as after a copy
        # that was registered, and its tags lost): migrating keeps them, pruning alone would not
        for step, source in enumerate(sources[:4]):
            (root / f"alpha-old{step}.js").write_text(source, encoding="utf-8")
        race(base, (workers.prune_once, (str(root),)), (workers.migrate_once, (str(root),)))
        assert_files_match(root)
        entry = load_registry(root).strategies[CLEAN]
        for step, source in enumerate(sources[:4]):
            digest = content_hash(source.encode())
            kept = digest in entry.hashes or (root / f"alpha-old{step}.js").exists()
            assert kept, f"round {number}: alpha:old{step} is neither registered nor on disk"


def test_two_uploads_of_different_bytes_under_one_new_tag_both_succeed(tmp_path: Path):
    root = tmp_path / "strategies"
    root.mkdir()
    register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    tags = [f"fresh{step}" for step in range(REVISIONS)]
    mine = [strategy_source(CLEAN, tag, create="/* first */") for tag in tags]
    theirs = [strategy_source(CLEAN, tag, create="/* second */") for tag in tags]
    first, second = race(
        tmp_path,
        (workers.upload_all, (str(root), str(tmp_path / "cache1"), mine)),
        (workers.upload_all, (str(root), str(tmp_path / "cache2"), theirs)),
    )
    assert_files_match(root)
    entry = load_registry(root).strategies[CLEAN]
    results = json.loads(first.read_text()) + json.loads(second.read_text())
    assert len(results) == 2 * REVISIONS
    for tag in tags:
        both = [r for r in results if r["tag"] == tag]
        # as one after the other: the first takes the tag layout, the second the hash layout
        assert sorted(r["path"].split("/")[1] == tag for r in both) == [False, True], both
        assert entry.tag_target(tag) in {r["hash"] for r in both}
        assert all(r["hash"] in entry.hashes for r in both)
