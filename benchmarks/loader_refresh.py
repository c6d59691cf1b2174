"""Loader at scale: 100 strategies x 100 revisions (10,000 modules).

Measures, in one process: a cold refresh (empty metadata cache: every module evaluated in V8), a
warm refresh by a new Loader over the same cache (the case of a new notebook kernel), a warm
refresh of the same Loader, the JavaScript evaluations each did (target for warm: zero), and the
warm ``resolve`` time per selector for every selector form. Targets (ARCHITECTURE): warm refresh
< 0.5 s with zero JavaScript evaluated; warm resolve < 5 microseconds.

Run: ``.venv/bin/python benchmarks/loader_refresh.py [--strategies N] [--revisions N]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, timed, verdict
from registry_scale import build_root

from meltica_lab import loader as loader_module
from meltica_lab import registry as registry_module
from meltica_lab.jshost.module import ModuleHost
from meltica_lab.loader import Loader


def forget_process_memos() -> None:
    """Drop what this process remembers (file hashes, module reports, parsed registries)."""
    loader_module._HASH_MEMO.clear()
    loader_module._REPORT_MEMO.clear()
    registry_module._PARSED.clear()


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

        host = ModuleHost()
        cold = Loader(root, cache_dir=cache, host=host).refresh()
        print(
            f"cold refresh:                {cold.seconds:8.3f} s  {cold.evaluated:6,} JS evaluations "
            f"({cold.evaluated / cold.seconds:,.0f} modules/s), problems: {len(cold.problems)}"
        )

        # A new kernel: nothing in process memory, only the on-disk metadata cache is warm.
        forget_process_memos()
        fresh_host = ModuleHost()
        new_loader = Loader(root, cache_dir=cache, host=fresh_host)
        warm_new = new_loader.refresh()
        print(
            f"warm refresh (new process):  {warm_new.seconds:8.3f} s  {warm_new.evaluated:6,} JS evaluations "
            f"(host evaluations: {fresh_host.evaluations})  "
            f"{verdict(warm_new.seconds < 0.5 and warm_new.evaluated == 0)} (< 0.5 s, zero JS)"
        )

        seconds, warm = timed(new_loader.refresh, 5)
        print(
            f"warm refresh (same Loader):  {seconds:8.3f} s  {warm.evaluated:6,} JS evaluations  "
            f"{verdict(seconds < 0.5 and warm.evaluated == 0)}"
        )

        name = "strat000"
        digest = hashes[name][-1]
        loops = 200_000
        for selector in (name, f"{name}:v1.99.0", f"{name}@{digest}", digest, f"{name}@{digest[7:19]}"):
            new_loader.resolve(selector)
            started = time.perf_counter()
            for _ in range(loops):
                new_loader.resolve(selector)
            micro = (time.perf_counter() - started) / loops * 1e6
            print(f"warm resolve {selector[:40]:<40} {micro:6.2f} us  {verdict(micro < 5)} (< 5 us)")
        print(f"peak RSS: {peak_rss_mb():.0f} MiB")
        host.close()
        fresh_host.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
