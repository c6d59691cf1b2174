"""kill -9 at random points during registry writes, uploads and ``migrate --write``.

Each trial copies a prepared root, starts the writer in its own process, waits until it is about to
write, sleeps a random delay and SIGKILLs it. Then the root must be sound: ``registry.json`` parses
and validates (the old document or a new one), every registered file exists with its hash, every
``.js`` file under its final name holds complete bytes the writer meant to write (a temporary file,
always hidden, may be left over), the tag history reads, and the next writer carries on: another
edit, uploading an orphaned file, or migrating again, which completes the migration.

Delays are spread evenly over a window a little longer than the work (stratified sampling), so the
kills land everywhere from "before the first write" to "after the last". The normal run does a few
trials of each kind; the ``slow`` run does 35 of each (105).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from meltica_lab.journal import INTENT_FILE, TRASH_DIR
from meltica_lab.migrate import migrate, plan_migration
from meltica_lab.registry import HISTORY_FILE, LOCK_FILE, content_hash, edit_registry, load_registry, read_tag_history
from meltica_lab.runtime import Manager
from tests.hardening import workers
from tests.hardening.conftest import CLEAN, CLEAN_SOURCE, register, strategy_source

QUICK_TRIALS = 2
SLOW_TRIALS = 35
UPLOAD_STEPS = 400  # more than any trial gets through: the known bytes of every possible upload


def _context() -> multiprocessing.context.BaseContext:
    # Victims fork from a server that has imported meltica-lab once (no V8 isolate exists there), so a
    # trial costs milliseconds of start-up instead of a second of imports.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["tests.hardening.workers", "meltica_lab.runtime", "meltica_lab.cli.migrate", "meltica_lab.analysis"]
    )
    return context


@dataclass(frozen=True)
class Trial:
    """One kill: the root it ran on, the seconds from "ready" to the kill, whether the writer had finished."""

    root: Path
    elapsed: float
    finished: bool


def run_trials(
    template: Path, workdir: Path, target: Callable[..., None], extra: tuple[str, ...], delays: Iterable[float | None]
) -> list[Trial]:
    """Copy ``template`` once per delay, run ``target(root, *extra, ready)`` and SIGKILL it after the delay
    (``None``: once the writer has written ``<ready>.done``)."""
    context = _context()
    trials = []
    for number, delay in enumerate(delays):
        root = workdir / f"trial{number}" / "strategies"
        shutil.copytree(template, root, symlinks=True)
        ready = root.parent / "ready"
        process = context.Process(target=target, args=(str(root), *extra, str(ready)))
        process.start()
        deadline = time.monotonic() + 60
        while not ready.exists() and process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        assert ready.exists(), f"trial {number}: the writer never started (exit code {process.exitcode})"
        started = time.monotonic()
        done = Path(f"{ready}.done")
        if delay is None:
            while not done.exists() and process.is_alive() and time.monotonic() < deadline:
                time.sleep(0.002)
        else:
            time.sleep(delay)
        elapsed = time.monotonic() - started
        finished = done.exists()
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=30)
        assert process.exitcode == -signal.SIGKILL, f"trial {number}: the writer exited by itself ({process.exitcode})"
        trials.append(Trial(root, elapsed, finished))
    return trials


def spread(count: int, window: float, seed: int) -> list[float]:
    """``count`` delays in ``[0, window)``, one in each of ``count`` equal slices, shuffled."""
    rng = random.Random(seed)
    delays = [window * (k + rng.random()) / count for k in range(count)]
    rng.shuffle(delays)
    return delays


def assert_sound(root: Path, expected_sources: set[bytes]) -> None:
    """The registry validates, registered files match their hashes, no half-written module exists."""
    registry = load_registry(root)
    assert registry is not None
    registered = set()
    trashed = {p.relative_to(t).as_posix(): p for t in (root / TRASH_DIR).glob("*") for p in t.rglob("*")}
    for entry in registry.strategies.values():
        for digest, location in entry.hashes.items():
            # a removal killed before it committed has the file in its trash, put back by the next edit
            path = root / location.path if (root / location.path).exists() else trashed.get(location.path)
            assert path is not None, f"{location.path} is registered but neither on disk nor in the trash"
            assert content_hash(path.read_bytes()) == digest, location.path
            registered.add(location.path)
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if rel.startswith(TRASH_DIR + "/"):
            continue  # files of revisions being removed, moved aside until the removal commits
        if path.name.startswith("."):
            # the lock, the journal of the killed edit, or a temporary file it had not renamed yet
            assert path.name in (LOCK_FILE, INTENT_FILE) or path.name.endswith(".tmp"), rel
        elif path.suffix == ".js":
            assert path.read_bytes() in expected_sources, f"{rel} holds bytes nobody wrote"
    read_tag_history(root)


def assert_recovered(root: Path, *, flat: bool = False) -> None:
    """After the next transaction: nothing half-done is left, and registry, files and history agree.

    No temporary file, intent or trash remains; every module file in the layout is registered (with
    ``flat``, files directly in the root are legacy files still to migrate); and for every tag the
    tag history's last record for it ends where the registry points it (tags removed end at none).
    """
    registry = load_registry(root)
    assert registry is not None
    registered = {loc.path for e in registry.strategies.values() for loc in e.hashes.values()}
    leftovers = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert not (root / INTENT_FILE).exists()
    assert not (root / TRASH_DIR).exists()
    for path in root.rglob("*.js"):
        rel = path.relative_to(root).as_posix()
        assert rel in registered or (flat and "/" not in rel), f"{rel} is on disk but not registered"
    last: dict[tuple[str, str], str | None] = {}
    for change in read_tag_history(root):
        last[(change.strategy, change.tag)] = change.to_hash
    now = {(name, tag): e.tag_target(tag) for name, e in registry.strategies.items() for tag in e.tags}
    assert {k: v for k, v in last.items() if v is not None} == now


# -- registry edits --------------------------------------------------------------------------------------
@pytest.fixture
def edit_template(tmp_path: Path) -> Path:
    root = tmp_path / "template"
    root.mkdir()
    register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    register(root, strategy_source(create="/* two */"), CLEAN, "v2.0.0")
    return root


def kill_registry_edits(template: Path, workdir: Path, trials: int) -> None:
    sources = {p.read_bytes() for p in template.rglob("*.js")}
    for trial in run_trials(template, workdir, workers.endless_tag_edits, (), spread(trials, 0.25, trials)):
        assert_sound(trial.root, sources)
        with edit_registry(trial.root, "after the crash") as draft:  # the lock died with the writer
            draft.assign_tag(CLEAN, "after", draft.registry().resolve(CLEAN).hash)
        assert read_tag_history(trial.root)[-1].tag == "after"
        assert_recovered(trial.root)


def test_kill_9_during_registry_edits_leaves_a_valid_registry(edit_template: Path, tmp_path: Path):
    kill_registry_edits(edit_template, tmp_path, QUICK_TRIALS)


def test_a_history_record_cut_short_by_a_crash_does_not_swallow_the_next_one(edit_template: Path):
    history = edit_template / HISTORY_FILE
    lines = history.read_bytes().splitlines(keepends=True)
    history.write_bytes(b"".join(lines) + lines[0][:40])  # the crash came mid-append
    with edit_registry(edit_template, "after the crash") as draft:
        draft.assign_tag(CLEAN, "prod", draft.registry().resolve(CLEAN).hash)
    assert [c.tag for c in read_tag_history(edit_template)][-1] == "prod"
    assert history.read_bytes().startswith(b"".join(lines))
    assert history.read_bytes().count(b"\n") == len(lines) + 1


# -- uploads ---------------------------------------------------------------------------------------------
def kill_uploads(template: Path, workdir: Path, trials: int) -> None:
    sources = {p.read_bytes() for p in template.rglob("*.js")}
    sources |= {workers.revision_source(0, step).encode() for step in range(UPLOAD_STEPS)}
    cache = str(workdir / "cache")
    for trial in run_trials(template, workdir, workers.endless_uploads, (cache,), spread(trials, 0.8, trials)):
        assert_sound(trial.root, sources)
        with Manager(trial.root, cache_dir=cache) as manager:
            # the next upload first undoes the killed one (a file it stored is removed), then stores its own
            result = manager.upload(workers.revision_source(1, 0))
        assert (trial.root / result.relpath).is_file()
        assert_recovered(trial.root)


def test_kill_9_during_uploads_loses_no_file_and_leaves_none_half_written(edit_template: Path, tmp_path: Path):
    kill_uploads(edit_template, tmp_path, QUICK_TRIALS)


# -- migration -------------------------------------------------------------------------------------------
@pytest.fixture
def flat_template(tmp_path: Path) -> Path:
    """A root with a registry (alpha) and twelve flat legacy files: six strategies, two tags each."""
    root = tmp_path / "flat"
    root.mkdir()
    register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    for k in range(6):
        for tag in ("v1.0.0", "v1.1.0"):
            source = strategy_source(f"flat{k}", tag, create=f"/* {k} {tag} */")
            (root / f"flat{k}-{tag}.js").write_text(source, encoding="utf-8")
    return root


def kill_migrations(template: Path, workdir: Path, trials: int) -> None:
    sources = {p.read_bytes() for p in template.rglob("*.js")}
    flat = {p.read_bytes() for p in template.glob("*.js")}
    # one undisturbed run measures the work; the kills then spread over 1.3 times that
    (calibration,) = run_trials(template, workdir / "calibration", workers.write_migration, (), [None])
    assert calibration.finished
    window = 1.3 * calibration.elapsed
    interrupted = 0
    for trial in run_trials(template, workdir, workers.write_migration, (), spread(trials, window, trials)):
        assert_sound(trial.root, sources)
        interrupted += bool(plan_migration(trial.root).changes)
        migrate(trial.root, write=True)
        assert_sound(trial.root, sources)
        assert_recovered(trial.root)
        assert list(trial.root.glob("*.js")) == []
        registered = {d for e in load_registry(trial.root).strategies.values() for d in e.hashes}
        assert {content_hash(data) for data in flat} <= registered
        assert plan_migration(trial.root).changes == ()
    assert interrupted >= trials // 3, f"only {interrupted} of {trials} kills interrupted the migration"


def test_kill_9_during_migrate_write_is_completed_by_migrating_again(flat_template: Path, tmp_path: Path):
    kill_migrations(flat_template, tmp_path, QUICK_TRIALS)


# -- prune --apply -----------------------------------------------------------------------------------
@pytest.fixture
def prune_template(tmp_path: Path) -> Path:
    """A root with alpha tagged and 30 revisions no tag points at: all of them prunable."""
    root = tmp_path / "prune"
    root.mkdir()
    register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    for step in range(30):
        digest = register(root, workers.untagged_source(step), CLEAN, f"old{step}", latest=False)
        with edit_registry(root, "untag") as draft:
            draft.remove_tag(CLEAN, f"old{step}", allow_orphan=True)
        assert draft.registry().strategies[CLEAN].tags_of(digest) == (f"old{step}",)  # the primary tag only
    return root


def kill_prunes(template: Path, workdir: Path, trials: int) -> None:
    sources = {p.read_bytes() for p in template.rglob("*.js")}
    (calibration,) = run_trials(template, workdir / "calibration", workers.prune_forever, (), [None])
    assert calibration.finished
    window = 1.3 * calibration.elapsed
    for trial in run_trials(template, workdir, workers.prune_forever, (), spread(trials, window, trials)):
        assert_sound(trial.root, sources)
        with edit_registry(trial.root, "after the crash"):
            pass  # any transaction finishes or undoes the killed prune
        assert_recovered(trial.root)
        # a pruned revision never comes back: migrating finds nothing to register
        assert plan_migration(trial.root).changes == ()


def test_kill_9_during_prune_apply_never_resurrects_a_pruned_file(prune_template: Path, tmp_path: Path):
    kill_prunes(prune_template, tmp_path, QUICK_TRIALS + 4)


# -- the full count --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_at_105_random_points_of_edits_uploads_and_migrations(
    edit_template: Path, flat_template: Path, tmp_path: Path
):
    kill_registry_edits(edit_template, tmp_path / "edits", SLOW_TRIALS)
    kill_uploads(edit_template, tmp_path / "uploads", SLOW_TRIALS)
    kill_migrations(flat_template, tmp_path / "migrations", SLOW_TRIALS)


@pytest.mark.slow
def test_kill_9_at_50_random_points_of_prune_apply(prune_template: Path, tmp_path: Path):
    kill_prunes(prune_template, tmp_path, 50)
