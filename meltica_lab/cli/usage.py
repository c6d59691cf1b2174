"""Usage commands: ``usage`` (who runs what), ``drift`` (instances against the registry), ``prune``.

``--export`` takes a usage export file or a gateway's ``http(s)://…/strategies/registry`` URL; exports
written by meltica-lab and by a live gateway are read the same way. ``drift`` exits 1 when any
instance is not in sync. ``prune`` is a dry run unless ``--apply`` is given.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd

from meltica_lab.analysis import DriftState, apply_pruning, drift_report, pruning_plan, usage_frame
from meltica_lab.cli.common import add_json, add_root, print_json, root_of, short, table
from meltica_lab.usage import format_time, read_usage_export

_SHOWN_ROWS = 50


def _add_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--export",
        required=True,
        metavar="FILE_OR_URL",
        help="usage export: a file, or a gateway's http(s)://HOST/strategies/registry",
    )


def _time(value: Any) -> str:
    return "" if pd.isna(value) else format_time(value)


def _capped(rows: list[tuple[Any, ...]], headers: list[str]) -> str:
    text = table(rows[:_SHOWN_ROWS], headers)
    if len(rows) > _SHOWN_ROWS:
        text += f"\n... {len(rows) - _SHOWN_ROWS} more (see --json)"
    return text


def usage(args: argparse.Namespace) -> int:
    """Per strategy: revisions in the export, running revisions, running instances, last seen."""
    export = read_usage_export(args.export)
    frame = usage_frame(export)
    grouped = frame.groupby("strategy", observed=True, sort=True).agg(
        revisions=("hash", "size"),
        running=("running", "sum"),
        instances=("count", "sum"),
        last_seen=("last_seen", "max"),
    )
    strategies = [
        {
            "strategy": str(name),
            "revisions": int(row.revisions),
            "runningRevisions": int(row.running),
            "instances": int(row.instances),
            "lastSeen": _time(row.last_seen) or None,
        }
        for name, row in grouped.iterrows()
    ]
    totals = {
        "source": export.source,
        "revisions": len(frame),
        "runningRevisions": int(frame["running"].sum()),
        "instances": int(frame["count"].sum()),
    }
    if args.json:
        print_json({**totals, "strategies": strategies})
        return 0
    rows = [
        (s["strategy"], s["revisions"], s["runningRevisions"], s["instances"], s["lastSeen"] or "never")
        for s in strategies
    ]
    print(_capped(rows, ["strategy", "revisions", "running", "instances", "last seen"]))
    print(
        f"{totals['source']}: {totals['revisions']} revision(s), {totals['runningRevisions']} running, "
        f"{totals['instances']} instance(s)"
    )
    return 0


def drift(args: argparse.Namespace) -> int:
    """Each running instance of the export against the registry under ``--root`` (and backtests)."""
    report = drift_report(root_of(args), usage=read_usage_export(args.export), backtests=args.backtests)
    counts = report["state"].value_counts(sort=False)
    if args.json:
        records = report.astype(object).where(report.notna(), None).to_dict(orient="records")
        print_json({"states": {str(k): int(v) for k, v in counts.items()}, "instances": records})
    else:
        off = report[report["state"] != DriftState.IN_SYNC.value]
        rows = [
            (r.instance, r.strategy, short(r.running_hash), short(r.resolved_hash or ""), r.state, r.detail)
            for r in off.itertuples(index=False)
        ]
        if rows:
            print(_capped(rows, ["instance", "strategy", "runs", "should run", "state", "detail"]))
        print(", ".join(f"{state}: {int(n)}" for state, n in counts.items()))
    return 0 if (report["state"] == DriftState.IN_SYNC.value).all() else 1


def prune(args: argparse.Namespace) -> int:
    """The pruning plan (dry run); with ``--apply`` delete what it marks ``prune``."""
    root = root_of(args)
    plan = pruning_plan(root, usage=read_usage_export(args.export), backtests=args.backtests, days=args.days)
    outcome = apply_pruning(plan, root) if args.apply else None
    if args.json:
        data: dict[str, Any] = {"days": plan.days, "applied": args.apply, "revisions": plan.to_dict()}
        if outcome is not None:
            data["outcome"] = outcome.to_dict(orient="records")
        print_json(data)
        return 0
    doomed = plan.to_prune
    rows = [(r.strategy, short(r.hash), r.tag, "; ".join(r.reasons)) for r in doomed.itertuples(index=False)]
    if rows:
        print(_capped(rows, ["strategy", "hash", "tag", "why prune"]))
    print(
        f"{len(plan.frame)} revision(s): {len(doomed)} to prune, {len(plan.frame) - len(doomed)} to keep "
        f"(kept when tagged, in use, seen within {args.days:g} days or pinned by a backtest)"
    )
    if outcome is None:
        print("dry run: nothing deleted (pass --apply to delete)")
    else:
        done = outcome[outcome["outcome"] == "deleted"]
        for r in outcome[outcome["outcome"] == "skipped"].itertuples(index=False):
            print(f"skipped {r.strategy}@{r.hash}: {r.why}")
        print(f"deleted {len(done)} revision(s)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``usage``, ``drift`` and ``prune`` commands."""
    p = sub.add_parser("usage", help="summarise a usage export per strategy")
    _add_export(p)
    add_json(p)
    p.set_defaults(func=usage)

    p = sub.add_parser("drift", help="compare running instances with the registry (exit 1 on drift)")
    add_root(p)
    _add_export(p)
    p.add_argument("--backtests", help="folder of `meltica-lab backtest --out` results to compare with")
    add_json(p)
    p.set_defaults(func=drift)

    p = sub.add_parser("prune", help="plan (and with --apply, carry out) deleting unused revisions")
    add_root(p)
    _add_export(p)
    p.add_argument("--days", type=float, default=30.0, help="keep revisions seen running within N days (default 30)")
    p.add_argument("--backtests", help="folder of backtest results; revisions they pinned are kept")
    p.add_argument("--apply", action="store_true", help="delete the revisions marked prune (default: dry run)")
    add_json(p)
    p.set_defaults(func=prune)
