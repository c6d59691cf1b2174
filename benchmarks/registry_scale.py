"""Registry at scale: 100 strategies x 100 revisions, 2,000 instances, and a 1M-row usage export.

Builds a strategies root of small valid modules (every tenth revision untagged) with a temporary
metadata cache and state directory, then measures, through a real :class:`Manager`:

* the module listing with usage (``Manager.modules()``), cold (catalog built) and warm;
* the usage drill-down of a busy revision (``Manager.usage(..., include_stopped=True)``);
* a targeted refresh of one hash after its tag moved (``Manager.refresh(hashes=[h])``), which reloads
  the registry, re-resolves the instances on that hash and restarts the running ones in V8;
* a seeded synthetic usage export of 1M rows (the registry's 10,000 revisions plus synthetic ones,
  one row in ten running) from file to ``usage_frame`` to ``drift_report``.

The 2,000 instances are all created through ``Manager.create``; a few are started for real (one V8
isolate each); the rest are marked running through the manager's own usage index
(``record_start``, the call ``Manager.start`` makes), because 2,000 isolates would not fit in memory.

Targets (ARCHITECTURE): listing with usage < 50 ms; 1M-row export to drift frame < 2 s.
Figures are medians of several runs.

Run: ``.venv/bin/python benchmarks/registry_scale.py [--strategies N] [--revisions N] [--rows N]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, timed, verdict

from meltica_lab.analysis import drift_report, usage_frame
from meltica_lab.registry import edit_registry, store_module
from meltica_lab.runtime import Manager
from meltica_lab.usage import read_usage_export

SEED = 20_251_104
INSTANCES = 2_000
REAL_STARTS = 6


def module(name: str, tag: str) -> bytes:
    """A small valid strategy module; the tag makes every revision's bytes different."""
    metadata = {
        "name": name,
        "tag": tag,
        "displayName": f"{name} {tag}",
        "events": ["Trade"],
        "config": [{"name": "size", "type": "float", "default": 1.0, "required": False}],
    }
    return (
        f"module.exports = {{ metadata: {json.dumps(metadata)},\n"
        "  create(env) { let n = 0; return { onTrade() { n += 1; } }; } };\n"
    ).encode()


def build_root(root: Path, strategies: int, revisions: int) -> dict[str, list[str]]:
    """Write the modules and one registry; returns each strategy's hashes, oldest first."""
    hashes: dict[str, list[str]] = {}
    entries = []
    for s in range(strategies):
        name = f"strat{s:03d}"
        for r in range(revisions):
            tag = f"v1.{r}.0"
            digest, rel = store_module(root, module(name, tag), name=name, tag=tag)
            hashes.setdefault(name, []).append(digest)
            entries.append((name, digest, tag, rel))
    with edit_registry(root, "benchmark setup") as draft:
        for name, digest, tag, rel in reversed(entries):  # newest first: it becomes latest
            draft.add_revision(name, digest, tag, rel)
        for name, _, tag, _ in entries[::10]:  # every tenth revision untagged, as after tag moves
            draft.remove_tag(name, tag, allow_orphan=True)
    return hashes


def synthetic_export(registry: dict, hashes: dict[str, list[str]], rows: int, seed: int) -> str:
    """A gateway-shaped export: every registered revision plus synthetic ones, one row in ten running."""
    rng = random.Random(seed)
    known = [(name, digest) for name, digests in hashes.items() for digest in digests]
    names = list(hashes)
    parts = []
    for row in range(rows):
        if row < len(known):
            name, digest = known[row]
        else:
            name = names[row % len(names)]
            digest = "sha256:" + hashlib.sha256(row.to_bytes(8, "little")).hexdigest()
        running = row % 10 == 0
        ids = [f"inst-{row}-{k}" for k in range(rng.randint(1, 3))] if running else []
        last = f"2025-11-{rng.randint(1, 28):02d}T13:32:54.{rng.randrange(10**9):09d}+02:00"
        parts.append(
            f'{{"strategy":"{name}","hash":"{digest}","instances":{json.dumps(ids) if ids else "null"},'
            f'"count":{len(ids)},"firstSeen":"2025-10-01T00:00:00Z","lastSeen":"{last}",'
            f'"running":{json.dumps(running)}}}'
        )
    return f'{{"registry":{json.dumps(registry, separators=(",", ":"))},"usage":[{",".join(parts)}]}}'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--revisions", type=int, default=100)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(SEED)

    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        root = base / "strategies"
        root.mkdir()
        started = time.perf_counter()
        hashes = build_root(root, args.strategies, args.revisions)
        total = args.strategies * args.revisions
        print(
            f"setup: {args.strategies} strategies x {args.revisions} revisions written in "
            f"{time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        manager = Manager(root, state_dir=base / "state", cache_dir=base / "cache")
        print(
            f"manager start, cold loader refresh ({total:,} modules evaluated once): "
            f"{time.perf_counter() - started:.1f} s"
        )
        warm, report = timed(manager.reload, repeat=3)
        print(f"warm reload of {total:,} revisions: {warm * 1000:.0f} ms ({report.evaluated} evaluated)")

        names = sorted(hashes)
        started = time.perf_counter()
        for i in range(INSTANCES):
            name = names[i % len(names)]
            kind = (i // len(names)) % 10
            if kind < 4:
                selector = name
            elif kind < 7:
                tagged = [r for r in range(args.revisions // 2, args.revisions) if r % 10]
                selector = f"{name}:v1.{rng.choice(tagged)}.0"
            else:
                selector = f"{name}@{rng.choice(hashes[name][-args.revisions // 2 :])}"
            manager.create(f"inst-{i:04d}", selector, symbols=["BTC-USDT"])
        created = time.perf_counter() - started
        print(
            f"{INSTANCES:,} instances created in {created:.1f} s ({created / INSTANCES * 1000:.2f} ms each, "
            "stopped; nothing to save until one runs)"
        )

        busy = names[0]
        real = [v.id for v in manager.instances() if v.spec.strategy == busy and v.spec.selector == busy]
        real = real[:REAL_STARTS]
        started = time.perf_counter()
        for ident in real:
            manager.start(ident)
        print(f"{len(real)} instances started in V8: {(time.perf_counter() - started) / len(real) * 1000:.1f} ms each")
        for view in manager.instances():
            if not view.running:
                manager.usage_index.record_start(view.spec.strategy, view.spec.hash, view.id)
        running = sum(r.count for r in manager.usage_index.snapshot())
        print(f"running per usage index: {running:,} instances on {len(manager.usage_index.snapshot()):,} revisions")

        cold_list = time.perf_counter()
        listing = manager.modules()
        cold_list = time.perf_counter() - cold_list
        warm_list, listing = timed(manager.modules, repeat=7)
        revisions = sum(len(m["revisions"]) for m in listing["modules"])
        print(
            f"module listing with usage ({listing['total']} modules, {revisions:,} revisions): "
            f"{warm_list * 1000:.1f} ms (first call, catalog built: {cold_list * 1000:.1f} ms)"
        )
        print(f"  target < 50 ms: {verdict(warm_list < 0.05)}")
        page, _ = timed(lambda: manager.modules(strategy=busy), repeat=7)
        print(f"module listing of one strategy: {page * 1000:.2f} ms")

        latest = manager.loader.resolve(busy).hash
        drill, answer = timed(lambda: manager.usage(f"{busy}@{latest}", include_stopped=True), repeat=7)
        print(f"usage drill-down of {busy}@{latest[:19]} ({answer['total']} instances): {drill * 1000:.2f} ms")

        manager.assign_tag(busy, "latest", hashes[busy][0], refresh=False)
        started = time.perf_counter()
        results = manager.refresh(hashes=[latest])
        refresh = time.perf_counter() - started
        moved = sum(r.reason == "refreshed" for r in results)
        restarted = sum(r.restarted for r in results)
        print(
            f"targeted refresh of one hash ({len(results)} instances on it, {moved} moved, {restarted} restarted "
            f"in V8, registry reloaded): {refresh * 1000:.0f} ms"
        )
        reload_part, _ = timed(manager.reload, repeat=3)
        print(
            f"  of which the loader's warm reload: {reload_part * 1000:.0f} ms; re-resolving and restarting: "
            f"{max(refresh - reload_part, 0.0) * 1000:.0f} ms"
        )
        hash_restart, results = timed(lambda: manager.refresh_hash(hashes[busy][0]), repeat=3)
        print(
            f"refresh_hash restarting {sum(r.restarted for r in results)} running instances: "
            f"{hash_restart * 1000:.0f} ms"
        )

        export_path = base / "usage-export.json"
        export_path.write_text(synthetic_export(manager.export()["registry"], hashes, args.rows, SEED), "utf-8")
        print(f"usage export: {args.rows:,} rows, {export_path.stat().st_size / 2**20:.0f} MiB")
        registry = manager.loader.registry

        def file_to_drift():
            frame = usage_frame(read_usage_export(export_path))
            return frame, drift_report(registry, usage=frame)

        end_to_end, (frame, drift) = timed(file_to_drift, repeat=3)
        parse, _ = timed(lambda: usage_frame(read_usage_export(export_path)), repeat=3)
        drift_only, _ = timed(lambda: drift_report(registry, usage=frame), repeat=3)
        states = drift["state"].value_counts().to_dict()
        print(
            f"file -> usage_frame: {parse:.3f} s; usage_frame -> drift_report ({len(drift):,} instances): "
            f"{drift_only:.3f} s"
        )
        print(f"file -> usage_frame -> drift_report: {end_to_end:.3f} s  states: {states}")
        print(f"  target < 2 s: {verdict(end_to_end < 2.0)}")
        manager.close()
    print(f"peak RSS: {peak_rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
