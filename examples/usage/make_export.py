"""Write the example usage export and backtest results that the drift-review notebook reads by default.

Run ``python examples/usage/make_export.py`` after the example strategies (``strategies/``) change;
it rewrites (for the same strategies, the same bytes every time, apart from the backtests' measured
``wall_seconds``):

* ``export.json``: the gateway's ``GET /strategies/registry`` document for ``strategies/``: the
  registry plus a usage summary per revision. The scenario, early March 2024: momentum's ``latest``
  moved to the newest revision while two production instances still run the previous one and a
  canary runs the new one; a third momentum instance runs the flat legacy file's hash, never
  registered; mean reversion runs an older revision than ``latest``; market making and logging run
  ``latest``; grid and an old momentum revision ran once and stopped.
* ``registry.history.jsonl``: the gateway's tag history up to the export, in the registry's own
  history format: every release created its version tag and moved ``latest`` to it, so each
  ``tag-moved-not-rolled`` instance of the drift review has the move that explains it (momentum's
  ``latest`` left v1.1.0 at the v1.2.0 release on 1 March, after the production instances started;
  mean reversion's left v1.9.0 on 26 February). Replaying it gives exactly the export's tags.
* ``backtests/<strategy>-<tag>/result.json``: ``meltica-lab backtest`` results over
  ``examples/data/btc_trades_small.csv`` for the revisions that were backtested (momentum's newest two
  and market making's ``latest``), so some instances are in sync and others lack a backtest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from meltica_lab.backtest import run_backtest
from meltica_lab.loader import Loader
from meltica_lab.registry import HISTORY_FILE, LATEST, Registry, TagChange, content_hash, load_registry
from meltica_lab.usage import UsageIndex

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
ROOT = PROJECT / "strategies"
DATA = PROJECT / "examples" / "data" / "btc_trades_small.csv"

# (instance id, strategy, selector or legacy file, started, stopped or None while running)
SCENARIO: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("mom-prod-1", "momentum", "momentum:v1.1.0", "2024-02-20T09:00:00Z", None),
    ("mom-prod-2", "momentum", "momentum:v1.1.0", "2024-02-20T09:05:00Z", None),
    ("mom-canary", "momentum", "momentum:latest", "2024-03-01T10:00:00Z", None),
    ("mom-legacy", "momentum", "legacy:momentum.js", "2024-01-05T08:00:00Z", None),
    ("mom-old", "momentum", "momentum:v1.0.0", "2024-01-02T08:00:00Z", "2024-01-15T17:30:00Z"),
    ("mr-eu", "meanreversion", "meanreversion:v1.9.0", "2024-02-12T07:00:00Z", None),
    ("mm-1", "marketmaking", "marketmaking:latest", "2024-02-28T12:00:00Z", None),
    ("log-1", "logging", "logging:latest", "2024-02-01T00:00:00Z", None),
    ("grid-1", "grid", "grid:v1.0.0", "2024-01-20T06:00:00Z", "2024-02-10T18:00:00Z"),
)
BACKTESTED = ("momentum:latest", "momentum:v1.1.0", "marketmaking:latest")

# (time, strategy, tag released, who): each release creates the tag and moves latest to it
RELEASES: tuple[tuple[str, str, str, str], ...] = (
    ("2024-01-01T09:00:00Z", "noop", "v1.0.0", "ops"),
    ("2024-01-02T07:00:00Z", "momentum", "v1.0.0", "alice"),
    ("2024-01-03T09:00:00Z", "noop", "v1.0.1", "ops"),
    ("2024-01-10T08:00:00Z", "marketmaking", "v1.0.0", "bob"),
    ("2024-01-15T08:00:00Z", "grid", "v1.0.0", "carol"),
    ("2024-01-25T08:00:00Z", "logging", "v1.0.0", "ops"),
    ("2024-02-05T08:00:00Z", "meanreversion", "v1.9.0", "dave"),
    ("2024-02-19T16:00:00Z", "momentum", "v1.1.0", "alice"),
    ("2024-02-22T08:00:00Z", "grid", "v1.1.0", "carol"),
    ("2024-02-26T08:00:00Z", "meanreversion", "v1.10.0", "dave"),
    ("2024-02-27T08:00:00Z", "marketmaking", "v1.1.0", "bob"),
    ("2024-03-01T09:30:00Z", "momentum", "v1.2.0", "alice"),
)


def when(text: str) -> datetime:
    """An ISO time as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def scenario_hash(registry: Registry, selector: str) -> str:
    """The hash a scenario selector names; ``legacy:<file>`` is the hash of an unregistered legacy file."""
    if selector.startswith("legacy:"):
        return content_hash((PROJECT / "examples" / "legacy" / selector.removeprefix("legacy:")).read_bytes())
    return registry.resolve(selector).hash


def write_export(registry: Registry) -> Path:
    """Replay the scenario into a usage index and write its export next to this script."""
    index = UsageIndex()
    for name, entry in registry.strategies.items():
        for digest in entry.hashes:
            index.ensure(name, digest)
    for instance, strategy, selector, started, stopped in SCENARIO:
        digest = scenario_hash(registry, selector)
        index.record_start(strategy, digest, instance, at=when(started))
        if stopped is not None:
            index.record_stop(strategy, digest, instance, at=when(stopped))
    target = HERE / "export.json"
    document = json.loads(index.export(registry.to_dict()).to_json())
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return target


def tag_history(registry: Registry) -> list[TagChange]:
    """The scenario's tag changes, oldest first; replaying them gives ``registry``'s tags exactly."""
    changes: list[TagChange] = []
    tags: dict[tuple[str, str], str] = {}
    for time, strategy, tag, actor in RELEASES:
        digest = registry.strategies[strategy].tag_target(tag)
        if digest is None:
            raise SystemExit(f"release {strategy}:{tag} is not in the registry")
        for name in (tag, LATEST):
            before = tags.get((strategy, name))
            tags[(strategy, name)] = digest
            changes.append(TagChange(when(time), strategy, name, before, digest, f"release {strategy} {tag}", actor))
    final = {(name, tag): entry.tag_target(tag) for name, entry in registry.strategies.items() for tag in entry.tags}
    if tags != final:
        raise SystemExit(f"the releases do not end at the registry's tags: {sorted(set(final) ^ set(tags))}")
    return changes


def write_history(registry: Registry) -> Path:
    """The tag history next to this script, one JSON line per change (the registry's history format)."""
    target = HERE / HISTORY_FILE
    lines = [json.dumps(change.to_dict()) for change in tag_history(registry)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def write_backtests() -> list[Path]:
    """One ``result.json`` per backtested revision, as ``meltica-lab backtest --out`` writes it."""
    loader = Loader(ROOT)
    written = []
    for selector in BACKTESTED:
        revision = loader.resolve(selector)
        result = run_backtest(revision, DATA, progress=False)
        folder = HERE / "backtests" / f"{revision.name}-{revision.tag}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "result.json"
        target.write_text(result.to_json() + "\n", encoding="utf-8")
        written.append(target)
    return written


def main() -> None:
    """Write the export and the backtest results and say where they are."""
    registry = load_registry(ROOT)
    if registry is None:
        raise SystemExit(f"{ROOT}/registry.json is missing: the example strategies are not registered")
    print(f"wrote {write_export(registry)}")
    print(f"wrote {write_history(registry)}")
    for path in write_backtests():
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
