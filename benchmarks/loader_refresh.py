"""Loader at scale: 100 strategies x 100 revisions (10,000 modules).

Measures: a cold refresh (empty metadata cache: every module evaluated in V8); a warm refresh in a
new process over the same cache (the case of a new notebook kernel: nothing in memory, only the
on-disk cache is warm); the same by a new Workspace in this process (its memory is its own, so it
starts as empty as the new process); a warm refresh of the same Workspace; the JavaScript
evaluations each did (target for warm: zero); and the warm ``resolve`` time per selector for every
selector form. Targets (ARCHITECTURE): warm refresh < 0.5 s with zero JavaScript evaluated; warm
resolve < 5 microseconds.

Run: ``.venv/bin/python benchmarks/loader_refresh.py [--strategies N] [--revisions N]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, timed, verdict
from registry_scale import build_root

from meltica_lab.workspace import Workspace

# A new interpreter: its refresh is timed inside it (interpreter start and imports are not refresh).
NEW_PROCESS = """
import json, sys
from meltica_lab.workspace import Workspace
import time
with Workspace(sys.argv[1], cache_dir=sys.argv[2]) as ws:
    cpu = time.process_time()
    report = ws.refresh()
    cpu = time.process_time() - cpu
    host = ws.host.evaluations
    print(json.dumps({"seconds": report.seconds, "cpu": cpu, "evaluated": report.evaluated, "host": host}))
"""


def refresh_in_new_process(root: Path, cache: Path) -> dict[str, float]:
    """A warm refresh by a workspace in a new Python process over ``cache``."""
    done = subprocess.run(
        [sys.executable, "-c", NEW_PROCESS, str(root), str(cache)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def print_warm(label: str, seconds: float, evaluated: int, host: int, cpu: float | None = None) -> None:
    """One warm-refresh line with its verdict (target: < 0.5 s and zero JavaScript evaluated)."""
    busy = f", {cpu:.3f} s CPU" if cpu is not None else ""
    print(
        f"warm refresh ({label}):{' ' * (16 - len(label))}{seconds:8.3f} s  {evaluated:6,} JS evaluations "
        f"(host evaluations: {host}{busy})  {verdict(seconds < 0.5 and evaluated == 0)} (< 0.5 s, zero JS)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=100)
    parser.add_argument("--revisions", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, cache = Path(tmp) / "strategies", Path(tmp) / "cache"
        root.mkdir()
        started = time.perf_counter()
        hashes = build_root(root, args.strategies, args.revisions)
        total = args.strategies * args.revisions
        print(
            f"registry: {args.strategies} strategies x {args.revisions} revisions = {total:,} modules "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )

        with Workspace(root, cache_dir=cache) as cold_workspace:
            cold = cold_workspace.refresh()
        print(
            f"cold refresh:                  {cold.seconds:8.3f} s  {cold.evaluated:6,} JS evaluations "
            f"({cold.evaluated / cold.seconds:,.0f} modules/s), problems: {len(cold.problems)}"
        )

        fresh = refresh_in_new_process(root, cache)
        print_warm("new process", fresh["seconds"], fresh["evaluated"], fresh["host"], fresh["cpu"])

        with Workspace(root, cache_dir=cache) as workspace:
            warm_new = workspace.refresh()
            print_warm("new Workspace", warm_new.seconds, warm_new.evaluated, workspace.host.evaluations)
            seconds, warm = timed(workspace.refresh, 5)
            print_warm("same Workspace", seconds, warm.evaluated, workspace.host.evaluations)

            name = "strat000"
            digest = hashes[name][-1]
            loops = 200_000
            for selector in (
                name,
                f"{name}:v1.{args.revisions - 1}.0",
                f"{name}@{digest}",
                digest,
                f"{name}@{digest[7:19]}",
            ):
                workspace.resolve(selector)
                started = time.perf_counter()
                for _ in range(loops):
                    workspace.resolve(selector)
                micro = (time.perf_counter() - started) / loops * 1e6
                print(f"warm resolve {selector[:40]:<40} {micro:6.2f} us  {verdict(micro < 5)} (< 5 us)")
        print(f"peak RSS: {peak_rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
