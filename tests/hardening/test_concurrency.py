"""Concurrent writers: 4 processes x 100 mixed uploads and tag edits against one registry.

While they run, a fifth process parses the registry in a loop and checks that every registered file
exists with its hash. Afterwards every upload and tag the workers report is in the registry, and
the tag history holds every change: the moves of the tag all workers share form one unbroken chain
(each change starts where the one before it ended), which a lost update would break.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from pathlib import Path

from meltica_lab.registry import edit_registry, load_registry, read_tag_history
from tests.hardening import workers
from tests.hardening.conftest import CLEAN, CLEAN_SOURCE, register

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
