"""``meltica-lab migrate`` (alias ``bootstrap``): flat legacy directory -> versioned layout + registry."""

from __future__ import annotations

import argparse

from meltica_lab.cli.common import add_json, add_root, print_json, root_of, short, table
from meltica_lab.migrate import MigrationPlan, MigrationResult, apply_migration, plan_migration
from meltica_lab.registry import recover_edits


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``migrate`` and its alias ``bootstrap``."""
    p = sub.add_parser(
        "migrate",
        aliases=["bootstrap"],
        help="plan (default) or apply (--write) the move of flat strategies into the versioned layout",
    )
    add_root(p)
    p.add_argument("--write", action="store_true", help="apply the plan (default: dry run, writes nothing)")
    p.add_argument(
        "--layout",
        choices=("tag", "hash"),
        default="tag",
        help="tag: <name>/<tag>/<name>.js (default); hash: <name>/<64hex>/<name>.js",
    )
    p.add_argument(
        "--usage",
        metavar="FILE_OR_URL",
        help="usage export ({registry, usage} or a bare list): list revisions nobody runs",
    )
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the plan (and what was done with --write). Exit 1 when blocking conflicts remain."""
    if args.write:
        recover_edits(root_of(args))  # plan on the settled tree, not on the files of an edit killed mid-way
    plan = plan_migration(root_of(args), layout=args.layout, usage=args.usage)
    result = apply_migration(plan) if args.write and not plan.blocking else None
    if args.json:
        print_json(result.to_dict() if result else {**plan.to_dict(), "written": False})
    else:
        _print_plan(plan, result, args.write)
    return 1 if plan.blocking else 0


def _print_plan(plan: MigrationPlan, result: MigrationResult | None, write: bool) -> None:
    rows = [
        (
            i.file,
            i.name,
            i.tag + ("*" if i.tag_source in ("default", "version") else ""),
            short(i.hash),
            i.target,
            i.action,
        )
        for i in plan.items
    ]
    print(f"Migration plan for {plan.root} (layout: {plan.layout})")
    print(table(rows, ["file", "name", "tag", "hash", "target", "action"]) if rows else "(no strategy files)")
    if any(i.tag_source in ("default", "version") for i in plan.items):
        print("* tag defaulted to v1.0.0 or taken from the older 'version' key")
    for c in plan.conflicts:
        print(f"{'CONFLICT' if c.blocking else 'note'}: [{c.kind}] {c.message}")
    for name, digest in sorted(plan.latest.items()):
        print(f"latest: {name} -> {short(digest)}")
    for note in plan.notes:
        print(f"note: {note}")
    if plan.pruning:
        print("Pruning candidates (zero running instances):")
        for p in plan.pruning:
            print(f"  - {p.name} {', '.join(p.tags) or '(untagged)'} [{p.hash}]: {p.reason}")
    if result is not None:
        print(
            f"Written: {len(result.copied)} copied and verified, {len(result.registered)} registered, "
            f"{len(result.removed)} source file(s) removed."
        )
    elif write:
        print(f"Nothing written: {len(plan.blocking)} blocking conflict(s).")
    elif plan.changes:
        print(f"Dry run: nothing written. {len(plan.changes)} change(s) planned; pass --write to apply.")
    else:
        print("Nothing to do: the root is already migrated.")
