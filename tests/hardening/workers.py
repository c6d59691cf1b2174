"""Code the hardening tests run in other processes: registry writers, a polling reader, crash victims.

Every function here is a process entry point (importable by ``multiprocessing`` in a fresh
interpreter); each writes what it did to a JSON file beside the root, never inside it, so the
parent can check the root against an exact account. This module holds no tests.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

from meltica_lab.registry import REGISTRY_FILE, Registry, content_hash, edit_registry
from tests.hardening.conftest import CLEAN, strategy_source


def revision_source(worker: int, step: int) -> str:
    """The module a worker uploads at one step: valid, of strategy ``alpha``, with unique bytes."""
    return strategy_source(CLEAN, f"w{worker}-u{step}", create=f"/* worker {worker} step {step} */")


def mixed_edits(root: str, cache: str, worker: int, steps: int, seed: int, out: str) -> None:
    """Uploads, new tags and moves of the shared tag ``shared``, in random order; logs each result."""
    from meltica_lab.runtime import Manager

    rng = random.Random(seed)
    registry = Registry.from_text(Path(root, REGISTRY_FILE).read_text(encoding="utf-8"))
    known = sorted(registry.strategies[CLEAN].hashes)
    done: list[dict[str, Any]] = []
    with Manager(root, cache_dir=cache) as manager:
        for step in range(steps):
            kind = rng.choice(("upload", "upload", "tag", "shared", "shared"))
            if kind == "upload":
                result = manager.upload(revision_source(worker, step), promote_latest=False)
                known.append(result.hash)
                done.append({"op": "upload", "tag": result.tag, "hash": result.hash})
            else:
                tag = "shared" if kind == "shared" else f"w{worker}-t{step}"
                moved = manager.assign_tag(CLEAN, tag, rng.choice(known), refresh=False)
                done.append({"op": kind, "tag": tag, "hash": moved.hash, "previous": moved.previous_hash})
    Path(out).write_text(json.dumps(done), encoding="utf-8")


def poll_registry(root: str, stop_file: str, out: str) -> None:
    """Parse the registry as fast as possible until ``stop_file`` exists; every registered file must
    exist with its hash at every read. Records the number of reads and every failure."""
    reads, failures = 0, []
    path = Path(root, REGISTRY_FILE)
    while not os.path.exists(stop_file):
        try:
            registry = Registry.from_text(path.read_text(encoding="utf-8"), path=path, root=Path(root))
            for entry in registry.strategies.values():
                for digest, location in entry.hashes.items():
                    actual = content_hash(Path(root, location.path).read_bytes())
                    if actual != digest:
                        failures.append(f"{location.path}: {actual} != {digest}")
        except Exception as exc:  # any failure at all is what this reader is here to report
            failures.append(f"{type(exc).__name__}: {exc}")
        reads += 1
        time.sleep(0.002)  # leave the writers the CPU: a read every few milliseconds is plenty
    Path(out).write_text(json.dumps({"reads": reads, "failures": failures[:20]}), encoding="utf-8")


# -- crash victims: each signals readiness by creating ``ready``, then writes until it is killed ----------
def endless_tag_edits(root: str, ready: str) -> None:
    """Registry edits in a loop: new tags, moved tags, on the revisions already registered."""
    registry = Registry.from_text(Path(root, REGISTRY_FILE).read_text(encoding="utf-8"))
    hashes = sorted(registry.strategies[CLEAN].hashes)
    Path(ready).touch()
    for step in range(1_000_000):
        with edit_registry(root, f"crash trial step {step}") as draft:
            draft.assign_tag(CLEAN, f"t{step % 50}", hashes[step % len(hashes)])
            draft.assign_tag(CLEAN, "moving", hashes[(step + 1) % len(hashes)])


def endless_uploads(root: str, cache: str, ready: str) -> None:
    """Uploads of new revisions in a loop, through the runtime manager."""
    from meltica_lab.runtime import Manager

    with Manager(root, cache_dir=cache) as manager:
        Path(ready).touch()
        for step in range(1_000_000):
            manager.upload(revision_source(0, step), promote_latest=step % 2 == 0)


def write_migration(root: str, ready: str) -> None:
    """``meltica-lab migrate --write`` on the root; ``<ready>.done`` marks a migration that finished."""
    import argparse

    from meltica_lab.cli import migrate

    # the migrate command alone: the others (and what they import) play no part in this
    parser = argparse.ArgumentParser(prog="meltica-lab")
    migrate.register(parser.add_subparsers())
    args = parser.parse_args(["migrate", "--root", root, "--write"])
    Path(ready).touch()
    args.func(args)
    Path(ready + ".done").touch()
    time.sleep(60)  # wait to be killed, so that every trial ends the same way


# -- racers: each waits for ``go`` so that both sides of a race start together -----------------------------
def _wait_for(go: str, out: str) -> None:
    Path(out + ".ready").touch()
    while not os.path.exists(go):
        time.sleep(0.001)


def untagged_source(step: int) -> str:
    """A revision of ``alpha`` the race tests register without any tag pointing at it (prunable)."""
    return strategy_source(CLEAN, f"old{step}", create=f"/* untagged {step} */")


def prune_once(root: str, go: str, out: str) -> None:
    """Plan a prune of everything unused (``days=0``) and apply it, as ``prune --apply`` does."""
    from meltica_lab.analysis import apply_pruning, pruning_plan

    plan = pruning_plan(root, days=0)
    _wait_for(go, out)
    outcome = apply_pruning(plan, root)
    Path(out).write_text(json.dumps(outcome.to_dict(orient="records")), encoding="utf-8")


def upload_all(root: str, cache: str, sources: list[str], go: str, out: str) -> None:
    """Upload each source in order through the runtime manager; logs each result."""
    from meltica_lab.runtime import Manager

    done = []
    with Manager(root, cache_dir=cache) as manager:
        _wait_for(go, out)
        for source in sources:
            result = manager.upload(source, promote_latest=False)
            done.append({"hash": result.hash, "tag": result.tag, "path": result.relpath, "created": result.created})
    Path(out).write_text(json.dumps(done), encoding="utf-8")


def migrate_once(root: str, go: str, out: str) -> None:
    """``migrate --write`` once the race starts."""
    from meltica_lab.migrate import migrate

    _wait_for(go, out)
    result = migrate(root, write=True)
    Path(out).write_text(json.dumps({"registered": list(result.registered)}), encoding="utf-8")


def prune_forever(root: str, ready: str) -> None:
    """A prune of every unused revision, then waiting to be killed (a crash victim)."""
    from meltica_lab.analysis import apply_pruning, pruning_plan

    plan = pruning_plan(root, days=0)
    Path(ready).touch()
    apply_pruning(plan, root)
    Path(ready + ".done").touch()
    time.sleep(60)
