"""Registry commands: ``verify``, ``resolve``, ``list``, ``tag``, ``history``."""

from __future__ import annotations

import argparse
import sys

from meltica_lab.cli.common import add_json, add_root, print_json, root_of, short, table
from meltica_lab.loader import Loader
from meltica_lab.registry import edit_registry, read_tag_history, registry_path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the registry commands."""
    p = sub.add_parser("verify", help="check every hash, path and module under a root")
    add_root(p)
    add_json(p)
    p.set_defaults(func=verify)

    p = sub.add_parser("resolve", help="show what a selector resolves to")
    p.add_argument("selector", help="name, name:tag, name@hash, a hash or a unique hash prefix (8+ digits)")
    add_root(p)
    add_json(p)
    p.set_defaults(func=resolve)

    p = sub.add_parser("list", help="list strategies and their revisions")
    p.add_argument("--strategy", help="only this strategy")
    add_root(p)
    add_json(p)
    p.set_defaults(func=list_revisions)

    p = sub.add_parser("tag", help="point a tag at a revision (recorded in the tag history)")
    p.add_argument("name", help="strategy name")
    p.add_argument("tag", help="tag to create or move (case-sensitive)")
    p.add_argument("hash", help="the revision's hash or a unique prefix of at least 8 hex digits")
    p.add_argument("--reason", default="", help="why, for the tag history")
    add_root(p)
    add_json(p)
    p.set_defaults(func=tag)

    p = sub.add_parser("history", help="show the tag history of a strategy")
    p.add_argument("name", nargs="?", help="strategy name (default: all)")
    add_root(p)
    add_json(p)
    p.set_defaults(func=history)


def verify(args: argparse.Namespace) -> int:
    """Exit 1 listing every problem: missing files, hash mismatches, invalid modules, oddities."""
    loader = Loader(root_of(args))
    report = loader.refresh()
    problems = [p.to_dict() for p in report.problems]
    warnings = list(loader.registry.warnings)
    if loader.mode == "legacy":
        warnings.append(f"{registry_path(loader.root)} is missing: read in legacy mode (run `meltica-lab migrate`)")
    for name, entry in loader.registry.strategies.items():
        if entry.hashes and "latest" not in entry.tags:
            warnings.append(f"{name}: no 'latest' tag; the gateway's default is the smallest hash")
    if args.json:
        print_json(
            {"root": str(loader.root), "revisions": report.revisions, "problems": problems, "warnings": warnings}
        )
    else:
        for w in warnings:
            print(f"warning: {w}")
        for p in report.problems:
            print(f"problem: {p.message}")
            for d in p.diagnostics:
                print(f"    {d.describe()}")
        state = "ok" if not problems else f"{len(problems)} problem(s)"
        print(f"{loader.root}: {report.revisions} revision(s) verified, {state}")
    return 1 if problems else 0


def resolve(args: argparse.Namespace) -> int:
    """Print name, hash, tag, path and canonical selector."""
    loader = Loader(root_of(args))
    found = loader.resolution(args.selector)
    revision = loader.resolve(args.selector)
    data = {
        "selector": args.selector,
        "canonical": found.selector,
        "name": revision.name,
        "hash": revision.hash,
        "tag": found.tag,
        "alias": found.alias,
        "tags": list(revision.tags),
        "path": revision.relpath,
        "size": revision.size,
    }
    if args.json:
        print_json(data)
    else:
        for key, value in data.items():
            print(f"{key:>9}: {', '.join(value) if isinstance(value, list) else value}")
    return 0


def list_revisions(args: argparse.Namespace) -> int:
    """One row per revision; ``*`` marks the default (``latest``) revision."""
    loader = Loader(root_of(args))
    revisions = loader.revisions(args.strategy)
    if args.json:
        print_json([r.to_dict() for r in revisions])
        return 0
    defaults = {n: loader.registry.strategies[n].default_hash() for n in loader.strategies()}
    rows = [
        (
            r.name,
            "*" if defaults.get(r.name) == r.hash else "",
            r.tag,
            ", ".join(t for t in r.tags if t != r.tag),
            short(r.hash),
            r.size,
            r.relpath,
        )
        for r in revisions
    ]
    print(table(rows, ["strategy", "", "tag", "other tags", "hash", "bytes", "path"]))
    for problem in loader.problems:
        print(f"problem: {problem.message}", file=sys.stderr)
    return 1 if loader.problems else 0


def tag(args: argparse.Namespace) -> int:
    """Create or move a tag."""
    root = root_of(args)
    with edit_registry(root, args.reason or f"tag {args.name} {args.tag}", create=False) as draft:
        previous = draft.assign_tag(args.name, args.tag, args.hash)
        digest = draft.registry().resolve(f"{args.name}:{args.tag}").hash
    data = {"strategy": args.name.lower(), "tag": args.tag, "hash": digest, "previousHash": previous or ""}
    if args.json:
        print_json(data)
    else:
        moved = f"moved from {short(previous)}" if previous and previous != digest else "created"
        if previous == digest:
            moved = "unchanged"
        print(f"{data['strategy']}:{args.tag} -> {digest} ({moved})")
    return 0


def history(args: argparse.Namespace) -> int:
    """The append-only tag history, oldest first."""
    changes = read_tag_history(root_of(args), args.name)
    if args.json:
        print_json([c.to_dict() for c in changes])
        return 0
    rows = [
        (c.to_dict()["time"], c.strategy, c.tag, short(c.from_hash or ""), short(c.to_hash or ""), c.reason, c.actor)
        for c in changes
    ]
    print(table(rows, ["time", "strategy", "tag", "from", "to", "reason", "actor"]))
    return 0
