"""``meltica-lab demo``: the main job, end to end, on the project's own examples.

Migrates a copy of ``examples/legacy`` (dry run first, then ``--write``), verifies the result,
resolves a few selectors, and shows that running the migration again changes nothing. Then runs the
four report notebooks (migration, drift review, pinned backtest, and the reconciliation of the example
live run in ``examples/live`` with its backtest) on the example strategies and data
through the report API, leaving executed notebooks and HTML reports in the output folder.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from meltica_lab.cli.common import short, table
from meltica_lab.loader import Loader
from meltica_lab.migrate import apply_migration, plan_migration
from meltica_lab.reports import run_reports

PROJECT = Path(__file__).resolve().parents[2]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo``."""
    p = sub.add_parser("demo", help="run the end-to-end demo on the example strategies")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where to leave results (default: reports)")
    p.add_argument("--no-notebooks", action="store_true", help="skip running the report notebooks")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Walk through migration, verification and resolution, printing each step."""
    out = args.out.resolve()
    work = out / "demo-migration"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(PROJECT / "examples" / "legacy", work)
    print(f"1. Copied the legacy example directory to {work}")

    plan = plan_migration(work)
    print(
        f"2. Dry run: {len(plan.changes)} change(s) planned, {len(plan.conflicts)} note(s)/conflict(s); nothing written"
    )
    print(
        table(
            [(i.file, i.name, i.tag, i.target, i.action) for i in plan.items],
            ["file", "name", "tag", "target", "action"],
        )
    )
    for conflict in plan.conflicts:
        print(f"   {'CONFLICT' if conflict.blocking else 'note'}: {conflict.message}")

    result = apply_migration(plan)
    print(
        f"3. Applied: {len(result.copied)} copied and verified, {len(result.registered)} registered, "
        f"{len(result.removed)} flat file(s) removed"
    )

    loader = Loader(work)
    report = loader.refresh()
    print(f"4. Verified: {report.revisions} revision(s), {len(report.problems)} problem(s)")

    rows = []
    for name in loader.strategies():
        for selector in (name, f"{name}:latest", f"{name}@{loader.resolve(name).hash[7:15]}"):
            revision = loader.resolve(selector)
            rows.append((selector, revision.name, revision.tag, short(revision.hash), revision.relpath))
    print("5. Resolved selectors:")
    print(table(rows, ["selector", "name", "tag", "hash", "path"]))

    again = plan_migration(work)
    print(f"6. Migration run again: {len(again.changes)} change(s) planned (idempotent)")
    if not args.no_notebooks:
        run_notebooks(out)
    return 0 if not report.problems and not again.changes else 1


def notebook_runs(out: Path) -> list[tuple[str, dict[str, object]]]:
    """The four report notebooks with parameters for the project's examples (absolute paths, since the
    kernel runs in the notebooks folder). The migration notebook writes to its own copy under ``out``."""
    scratch = out / "notebook-migration"
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(PROJECT / "examples" / "legacy", scratch)
    strategies = str(PROJECT / "strategies")
    live = PROJECT / "examples" / "live"
    return [
        ("migration", {"root": str(scratch), "write": True}),
        (
            "drift_review",
            {
                "root": strategies,
                "export": str(PROJECT / "examples" / "usage" / "export.json"),
                "backtests": str(PROJECT / "examples" / "usage" / "backtests"),
            },
        ),
        ("pinned_backtest", {"root": strategies, "data": str(PROJECT / "examples" / "data" / "btc_trades.csv")}),
        (
            "reconcile",
            {
                "root": strategies,
                "orders": str(live / "orders.json"),
                "executions": str(live / "executions.json"),
                "snapshot": str(live / "instance.json"),
                "data": str(PROJECT / "examples" / "data" / "btc_trades.csv"),
            },
        ),
    ]


def run_notebooks(out: Path) -> None:
    """Run the report notebooks into ``out`` and print where each report is."""
    print("7. Report notebooks (papermill, then HTML):")
    for report in run_reports(notebook_runs(out), out=out):
        print(f"   {report.notebook.stem}: {report.html} ({report.seconds:.1f} s; notebook {report.executed.name})")
