"""Notebook run times: each report notebook through papermill, and the pinned backtest on 1M trades.

Every figure is one ``run_report`` call (papermill, kernel start included; the HTML export is timed
apart). Runs, in one process, each in a fresh kernel:

* ``migration``, ``drift_review`` and ``pinned_backtest`` with their defaults (the example data);
* ``pinned_backtest`` on 1,000,000 seeded synthetic trades (a Parquet file written first, its
  write time not counted), once without comparison revisions and once with the notebook's default
  two, so the cost of the comparison is visible. Target (ARCHITECTURE): < 30 s including kernel start.

Run: ``.venv/bin/python benchmarks/notebook_runs.py [--events N]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, synthetic_trades, verdict

from meltica_lab.reports import export_html, run_report

SEED = 20_250_101
TARGET_SECONDS = 30.0


def timed_report(name: str, out: Path, parameters: dict[str, object], label: str, stem: str) -> float:
    """Run one notebook into ``out/<stem>.ipynb``, print its papermill and HTML export times under
    ``label``; return the papermill time."""
    report = run_report(name, parameters=parameters, out=out, name=stem, html=False)
    started = time.perf_counter()
    export_html(report.executed, out / f"{stem}.html")
    html_seconds = time.perf_counter() - started
    print(f"{label:<34} papermill {report.seconds:6.2f} s   HTML export {html_seconds:5.2f} s")
    return report.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="notebook-bench-") as scratch:
        out = Path(scratch)
        for name in ("migration", "drift_review", "pinned_backtest"):
            timed_report(name, out, {}, f"{name} (defaults)", name)

        data = out / "trades.parquet"
        synthetic_trades(args.events, seed=SEED).assign(symbol="BTC-USDT").to_parquet(data)
        alone = timed_report(
            "pinned_backtest",
            out,
            {"data": str(data), "compare_with": []},
            f"pinned_backtest {args.events:,} trades",
            "large",
        )
        compared = timed_report(
            "pinned_backtest", out, {"data": str(data)}, "  + 2 comparison revisions", "large-compared"
        )
    print(
        f"pinned backtest on {args.events:,} trades: {alone:.2f} s alone, {compared:.2f} s with the default "
        f"comparison (target < {TARGET_SECONDS:.0f} s: {verdict(alone < TARGET_SECONDS)} alone, "
        f"{verdict(compared < TARGET_SECONDS)} with comparison)"
    )
    print(f"peak RSS of this process (kernels excluded): {peak_rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
