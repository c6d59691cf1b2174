"""Usage at scale: a 1M-row gateway usage export from file to pandas frame, and the live index.

Writes a seeded synthetic export the way the gateway does (compact JSON, registry first, local offsets,
nanosecond times, null instance lists, zero times, 10 % running) to a temporary file, then measures:

* ``read_usage_export(path)`` (the bulk Arrow path) and ``UsageExport.to_frame()``, against the
  standard library's bare ``json.loads`` of the same file as a yardstick;
* the general path (the same rows pretty-printed: ``json.loads`` first, then the bulk checks), on a slice;
* the live ``UsageIndex``: start/stop events per second, and save/load of its entries.

Target (ARCHITECTURE): a 1M-row export to a drift frame in < 2 s; this measures the part up to the
usage frame, which the drift analysis builds on. Figures are medians of three runs.

Run: ``.venv/bin/python benchmarks/usage_scale.py [--rows N]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import peak_rss_mb, timed, verdict

from meltica_lab.usage import UsageIndex, read_usage_export

SEED = 20_251_104
STRATEGIES = 100
PRETTY_ROWS = 100_000


def synthetic_export(rows: int, *, seed: int) -> str:
    """A gateway-shaped export: ``rows`` revisions over 100 strategies, one in ten running."""
    rng = random.Random(seed)
    registry = {f"strat{i:03d}": {"tags": {}, "hashes": {}} for i in range(STRATEGIES)}
    parts = []
    for row in range(rows):
        digest = "sha256:" + hashlib.sha256(row.to_bytes(8, "little")).hexdigest()
        running = row % 10 == 0
        instances = json.dumps([f"inst-{row}-{k}" for k in range(rng.randint(1, 3))]) if running else "null"
        count = instances.count('"') // 2
        nanos = rng.randrange(1_000_000_000)
        first = f"2025-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}T13:32:54.{nanos:09d}+02:00"
        last = "0001-01-01T00:00:00Z" if row % 7 == 0 else "2025-11-04T13:32:54.5-05:30"
        parts.append(
            f'{{"strategy":"strat{row % STRATEGIES:03d}","hash":"{digest}","instances":{instances},'
            f'"count":{count},"firstSeen":"{first}","lastSeen":"{last}","running":{json.dumps(running)}}}'
        )
    return f'{{"registry":{json.dumps(registry, separators=(",", ":"))},"usage":[{",".join(parts)}]}}'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "usage-export.json"
        path.write_text(synthetic_export(args.rows, seed=SEED), "utf-8")
        size_mb = path.stat().st_size / 2**20
        print(f"export: {args.rows:,} rows, {size_mb:.0f} MiB compact JSON")

        baseline, _ = timed(lambda: json.loads(path.read_bytes()), repeat=3)
        parse, export = timed(lambda: read_usage_export(path), repeat=3)
        frame_seconds, frame = timed(export.to_frame, repeat=3)
        total, _ = timed(lambda: read_usage_export(path).to_frame(), repeat=3)
        assert len(frame) == args.rows and int(frame["running"].sum()) == (args.rows + 9) // 10
        print(f"stdlib json.loads alone (yardstick): {baseline:.3f} s")
        print(f"read_usage_export (bulk path):        {parse:.3f} s  ({args.rows / parse:,.0f} rows/s)")
        print(f"UsageExport.to_frame:                 {frame_seconds:.3f} s")
        print(f"file -> usage frame:                  {total:.3f} s  ({baseline / total:.2f}x json.loads alone)")
        print(f"  target < 2 s for file -> drift frame (this part): {verdict(total < 2.0)}")

        sample = list(export.usage[:PRETTY_ROWS])
        pretty = Path(scratch) / "pretty.json"
        pretty.write_text(json.dumps({"registry": None, "usage": [r.to_dict() for r in sample]}, indent=1), "utf-8")
        slow, _ = timed(lambda: read_usage_export(pretty), repeat=3)
        print(f"general path, {len(sample):,} rows pretty-printed: {slow:.3f} s ({len(sample) / slow:,.0f} rows/s)")

        index = UsageIndex()
        events = 200_000
        at = datetime(2025, 11, 4, tzinfo=UTC)
        started = time.perf_counter()
        for n in range(events // 2):
            index.record_start(f"strat{n % STRATEGIES:03d}", sample[n % len(sample)].hash, f"i{n}", at=at)
            index.record_stop(f"strat{n % STRATEGIES:03d}", sample[n % len(sample)].hash, f"i{n}", at=at)
        rate = events / (time.perf_counter() - started)
        print(f"UsageIndex start/stop: {rate:,.0f} events/s ({len(index):,} entries)")
        store = Path(scratch) / "index.json"
        save, _ = timed(lambda: index.save(store) or store, repeat=3)
        load, loaded = timed(lambda: UsageIndex.load(store), repeat=3)
        assert loaded.snapshot() == index.snapshot()
        print(f"UsageIndex save / load of {len(index):,} entries: {save:.3f} s / {load:.3f} s")
        expired = loaded.prune(timedelta(0), now=at + timedelta(seconds=1))
        print(f"prune(0) removed {len(expired):,} idle entries")
    print(f"peak RSS: {peak_rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
