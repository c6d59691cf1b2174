"""pandas frames over registries, usage exports and instances; drift states; a pruning plan.

Sources are taken in whatever form is at hand:

* a registry: a :class:`~meltica_lab.registry.Registry`, a strategies root (or its ``registry.json``),
  a registry dict, a usage export that carries one, or a :class:`~meltica_lab.runtime.Manager`;
* usage: a usage export (file, URL, JSON, dict, list, :class:`~meltica_lab.usage.UsageExport`), a
  :class:`~meltica_lab.usage.UsageIndex` or a Manager; exports from meltica-lab and from a live gateway
  are interchangeable;
* instances: a Manager, the gateway's instance summaries (``GatewayClient.instances()``, or their
  JSON), or, lacking those, the running instance ids of a usage export (their selectors are unknown);
* backtests: a folder of ``meltica-lab backtest --out`` results (every ``*.json`` with a
  ``provenance``), :class:`~meltica_lab.backtest.BacktestResult` objects, or their dicts.

Large usage exports stay columnar: instance rows are exploded with Arrow and every comparison is a
vectorised Arrow or numpy operation, so the drift frame of a million-row export takes a fraction of
a second once the export is read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from meltica_lab.errors import MelticaLabError, UsageError
from meltica_lab.files import loads_json, read_json, read_text
from meltica_lab.gateway import InstanceSummary, RegistryExport
from meltica_lab.registry import Registry, edit_registry, load_registry, read_tag_history, registry_path
from meltica_lab.runtime import Manager
from meltica_lab.usage import UsageExport, UsageIndex, read_usage_export
from meltica_lab.versions import version_key

__all__ = [
    "DriftState",
    "PruningPlan",
    "apply_pruning",
    "backtest_runs",
    "drift_report",
    "instances_frame",
    "pruning_plan",
    "revisions_frame",
    "tag_history_frame",
    "usage_frame",
]


class DriftState(StrEnum):
    """Where an instance stands. Precedence when several apply, first wins:

    1. ``running-unregistered-hash``: it runs a hash the registry does not list for its strategy;
    2. ``tag-moved-not-rolled``: its selector (``latest`` when the selector is unknown) now resolves
       to another hash, or no longer resolves: a refresh would move it or retire it;
    3. ``never-backtested``: backtests were given and none is of any revision of its strategy;
    4. ``backtest-stale``: the strategy has backtests, but none of the hash it runs;
    5. ``in-sync``: it runs what its selector resolves to (and, with backtests, that hash was tested).
    """

    RUNNING_UNREGISTERED_HASH = "running-unregistered-hash"
    TAG_MOVED_NOT_ROLLED = "tag-moved-not-rolled"
    NEVER_BACKTESTED = "never-backtested"
    BACKTEST_STALE = "backtest-stale"
    IN_SYNC = "in-sync"


_INSTANCE_COLUMNS = [
    "instance",
    "strategy",
    "selector",
    "selector_known",
    "hash",
    "tag",
    "running",
    "providers",
    "symbols",
    "source",
]


# -- registries -------------------------------------------------------------------------------------
def _registry_of(source: Any) -> Registry:
    """A :class:`Registry` from any accepted registry source."""
    if isinstance(source, Registry):
        return source
    if isinstance(source, Manager):
        return source.loader.registry
    if isinstance(source, UsageExport):
        return Registry.from_dict(source.registry or {})
    if isinstance(source, RegistryExport):
        return Registry.from_dict(source.to_dict().get("registry") or {})
    if isinstance(source, Mapping):
        document = source.get("registry") if "usage" in source else source
        return Registry.from_dict(document or {})
    if isinstance(source, str | PathLike):
        path = Path(source)
        if path.is_dir():
            found = load_registry(path)
            if found is None:
                raise MelticaLabError(f"{registry_path(path)} does not exist", path=str(registry_path(path)))
            return found
        if path.is_file():
            document = loads_json(read_text(path, what="registry file") or "{}", path, what="registry file")
            if isinstance(document, dict) and "usage" in document:
                return Registry.from_dict(document.get("registry") or {}, path=path)
            return Registry.from_dict(document or {}, path=path, root=path.parent)
        raise MelticaLabError(f"{path}: no such strategies root or registry file", path=str(path))
    raise UsageError(
        f"registry: expected a Registry, a root, a registry dict, a usage export or a Manager, "
        f"got {type(source).__name__}",
        field="registry",
    )


def revisions_frame(source: Any) -> pd.DataFrame:
    """One row per revision: ``strategy``, ``hash``, ``tag`` (primary), ``tags`` (every tag on it, a
    tuple), ``latest`` (whether ``latest`` points at it), ``path``; by strategy, version, hash."""
    registry = _registry_of(source)
    rows = []
    for name in registry.names():
        entry = registry.strategies[name]
        default = entry.default_hash()
        on: dict[str, list[str]] = {}
        for tag in entry.tags:
            on.setdefault(entry.tag_target(tag) or "", []).append(tag)
        for digest, location in entry.hashes.items():
            tags = tuple(sorted(on.get(digest, [])))
            rows.append((name, digest, location.tag, tags, digest == default, location.path))
    rows.sort(key=lambda r: (r[0], version_key(r[2]), r[1]))
    frame = pd.DataFrame(rows, columns=["strategy", "hash", "tag", "tags", "latest", "path"])
    return frame.astype({"latest": bool})


def tag_history_frame(root: str | PathLike[str] | Manager, strategy: str | None = None) -> pd.DataFrame:
    """The tag history of a strategies root (or a Manager's), oldest first: ``time`` (UTC),
    ``strategy``, ``tag``, ``from``, ``to``, ``reason``, ``actor``; ``from`` is empty for a new tag,
    ``to`` for a removed one."""
    if isinstance(root, Manager):
        root = root.root
    changes = read_tag_history(root, strategy)
    return pd.DataFrame(
        {
            "time": pd.to_datetime([c.time for c in changes], utc=True),
            "strategy": [c.strategy for c in changes],
            "tag": [c.tag for c in changes],
            "from": [c.from_hash or "" for c in changes],
            "to": [c.to_hash or "" for c in changes],
            "reason": [c.reason for c in changes],
            "actor": [c.actor for c in changes],
        }
    )


# -- usage ------------------------------------------------------------------------------------------
def _export_of(source: Any) -> UsageExport:
    if isinstance(source, UsageExport):
        return source
    if isinstance(source, RegistryExport):
        return source.to_usage_export()
    if isinstance(source, UsageIndex):
        return source.export()
    if isinstance(source, Manager):
        return source.usage_index.export()
    return read_usage_export(source)


def usage_frame(source: Any) -> pd.DataFrame:
    """One row per revision in the usage: ``strategy``, ``hash``, ``instances``, ``count``, ``running``,
    ``first_seen``, ``last_seen`` (see :meth:`meltica_lab.usage.UsageRows.to_frame`)."""
    if isinstance(source, pd.DataFrame):
        return source
    return _export_of(source).to_frame()


_INSTANCES = pa.schema(
    [
        ("instance", pa.string()),
        ("strategy", pa.string()),
        ("selector", pa.string()),  # null when unknown
        ("selector_known", pa.bool_()),
        ("hash", pa.string()),
        ("tag", pa.string()),
        ("running", pa.bool_()),
        ("providers", pa.list_(pa.string())),
        ("symbols", pa.list_(pa.string())),
        ("source", pa.string()),
    ]
)


def _text(values: Any) -> pa.Array:
    """A pandas or Arrow text column as a plain Arrow string array (categoricals decoded)."""
    array = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array.cast(pa.string())


def _from_usage(frame: pd.DataFrame) -> pa.Table:
    """Instance rows from a usage frame: one per running instance id, selector unknown."""
    rows = np.flatnonzero(frame["count"].to_numpy() > 0)
    lists = pa.array(frame["instances"].array)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    lists = lists.take(pa.array(rows))
    parents = pa.array(rows[pc.list_parent_indices(lists).to_numpy()])
    n = len(parents)
    nothing = pa.nulls(n, pa.string())
    return pa.table(
        [
            _text(pc.list_flatten(lists)),
            _text(frame["strategy"]).take(parents),
            nothing,
            pa.array(np.zeros(n, dtype=bool)),
            _text(frame["hash"]).take(parents),
            nothing,
            pa.array(np.ones(n, dtype=bool)),
            pa.nulls(n, pa.list_(pa.string())),
            pa.nulls(n, pa.list_(pa.string())),
            pa.array(["usage-export"] * n if n else [], pa.string()),
        ],
        schema=_INSTANCES,
    )


def _from_rows(rows: list[tuple[Any, ...]]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in _INSTANCES]
    return pa.table([pa.array(list(c), f.type) for c, f in zip(columns, _INSTANCES, strict=True)], schema=_INSTANCES)


def _from_summaries(items: Sequence[Mapping[str, Any]]) -> pa.Table:
    rows = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping) or "id" not in item:
            raise UsageError(f"instances[{position}]: expected an instance summary with an 'id'", row=position)
        selector = item.get("strategySelector") or None
        rows.append(
            (
                str(item["id"]),
                str(item.get("strategyIdentifier") or "").lower(),
                selector,
                selector is not None,
                str(item.get("strategyHash") or ""),
                item.get("strategyTag") or None,
                bool(item.get("running")),
                list(item.get("providers") or ()),
                list(item.get("aggregatedSymbols") or ()),
                "gateway",
            )
        )
    return _from_rows(rows)


def _instances_table(source: Any) -> pa.Table:
    if isinstance(source, Manager):
        return _from_rows(
            [
                (
                    v.id,
                    v.spec.strategy,
                    v.spec.selector,
                    True,
                    v.spec.hash,
                    v.spec.tag,
                    v.running,
                    list(v.spec.providers),
                    list(v.spec.symbols),
                    "manager",
                )
                for v in source.instances()
            ]
        )
    if isinstance(source, Sequence) and source and isinstance(source[0], InstanceSummary):
        return _from_summaries([item.to_dict() for item in source])
    if (
        isinstance(source, Sequence)
        and not isinstance(source, str | bytes)
        and (not source or (isinstance(source[0], Mapping) and "id" in source[0]))
    ):
        return _from_summaries(source)
    return _from_usage(usage_frame(source))


def instances_frame(source: Any) -> pd.DataFrame:
    """One row per instance: ``instance``, ``strategy``, ``selector`` (``<NA>`` when unknown),
    ``selector_known``, ``hash`` (what it runs, or is pinned to when stopped), ``tag``, ``running``,
    ``providers``, ``symbols``, ``source`` (``manager``, ``gateway`` or ``usage-export``).

    ``source``: a Manager, a list of gateway instance summaries, or a usage source (then one row per
    running instance id).
    """
    return _instances_table(source).to_pandas()


# -- backtests --------------------------------------------------------------------------------------
def _provenance(item: Any) -> Mapping[str, Any] | None:
    data = getattr(item, "provenance", item)
    if isinstance(data, Mapping) and isinstance(data.get("provenance"), Mapping):
        data = data["provenance"]
    if isinstance(data, Mapping) and isinstance(data.get("hash"), str) and isinstance(data.get("strategy"), str):
        return data
    return None


def _backtest_file(path: Path) -> Mapping[str, Any] | None:
    """A result file's provenance; other JSON files are skipped, but a ``result.json`` must be one."""
    try:
        data = read_json(path, what="backtest result")  # a FIFO or an oversized file: refused, not read
    except MelticaLabError as exc:
        if path.name == "result.json":
            detail = exc.message.removeprefix(f"{path}: ")
            raise MelticaLabError(f"{path}: cannot read backtest result: {detail}", path=str(path)) from None
        return None
    except OSError as exc:
        if path.name == "result.json":
            raise MelticaLabError(f"{path}: cannot read backtest result: {exc.strerror}", path=str(path)) from None
        return None
    found = _provenance(data)
    if found is None and path.name == "result.json":
        raise MelticaLabError(
            f"{path}: expected a backtest result with provenance.strategy and provenance.hash", path=str(path)
        )
    return found


def backtest_runs(backtests: Any) -> pd.DataFrame:
    """The backtests given, oldest first: ``strategy``, ``hash``, ``source``. A folder is searched
    recursively for ``*.json`` results, ordered by modification time; objects keep their order."""
    found: list[tuple[str, str, str]] = []
    single = isinstance(backtests, str | PathLike | Mapping) or hasattr(backtests, "provenance")
    for position, item in enumerate([backtests] if single else backtests):
        if isinstance(item, str | PathLike):
            path = Path(item)
            if not path.exists():
                raise MelticaLabError(f"{path}: no such backtest results folder or file", path=str(path))
            files = [path]
            if path.is_dir():
                files = sorted(path.rglob("*.json"), key=lambda p: (p.stat().st_mtime_ns, str(p)))
            for file in files:
                data = _backtest_file(file)
                if data is not None:
                    found.append((str(data["strategy"]).lower(), str(data["hash"]), str(file)))
            continue
        data = _provenance(item)
        if data is None:
            raise UsageError(
                f"backtests[{position}]: expected a BacktestResult, its dict or a path, got {type(item).__name__}",
                row=position,
            )
        found.append((str(data["strategy"]).lower(), str(data["hash"]), f"backtests[{position}]"))
    return pd.DataFrame(found, columns=["strategy", "hash", "source"])


# -- drift ------------------------------------------------------------------------------------------
_STATES = [state.value for state in DriftState]
_MESSAGES = {
    DriftState.RUNNING_UNREGISTERED_HASH: "runs a hash the registry does not list for this strategy",
    DriftState.TAG_MOVED_NOT_ROLLED: "its selector now resolves to another hash; a refresh would move it",
    DriftState.NEVER_BACKTESTED: "no backtest of any revision of this strategy",
    DriftState.BACKTEST_STALE: "the running hash has no backtest; the backtests are of other revisions",
}


def _lookup(keys: pa.Array, mapping: Mapping[str, str | None]) -> pa.Array:
    """``mapping[key]`` for every key, null where a key is missing (vectorised)."""
    known = pa.array(list(mapping), pa.string())
    values = pa.array(list(mapping.values()), pa.string())
    return values.take(pc.index_in(keys, value_set=known))


def _flags(values: pa.Array, *, null: bool) -> np.ndarray:
    return np.asarray(values.fill_null(null).to_numpy(zero_copy_only=False), dtype=bool)


def drift_report(
    registry_or_root: Any,
    *,
    instances: Any = None,
    usage: Any = None,
    backtests: Any = None,
) -> pd.DataFrame:
    """One row per instance: what it runs against what it should run (see :class:`DriftState`).

    Columns: ``instance``, ``strategy``, ``selector``, ``selector_known``, ``running``,
    ``running_hash``, ``resolved_hash`` (what the selector resolves to now; ``latest`` when the
    selector is unknown), ``latest_hash``, ``compared_with`` (``selector`` or ``latest (selector
    unknown)``), ``registered``, ``last_backtested_hash`` (the strategy's most recent backtest),
    ``backtested`` (whether the running hash has one; ``<NA>`` without backtests), ``state``, ``detail``;
    sorted by instance.

    ``instances``: a Manager, gateway instance summaries, or ``None`` to use the running instances of
    ``usage`` (a Manager given as the registry provides its own instances). Without ``backtests`` the
    backtest states are not judged.
    """
    registry = _registry_of(registry_or_root)
    if instances is None:
        instances = usage if usage is not None else registry_or_root
        if usage is None and not isinstance(instances, Manager):
            raise UsageError("drift_report: give instances (a Manager or instance summaries) or a usage export")
    table = _instances_table(instances)
    table = table.take(pc.sort_indices(table, sort_keys=[("instance", "ascending"), ("strategy", "ascending")]))
    strategy, running_hash = table["strategy"].combine_chunks(), table["hash"].combine_chunks()
    known = _flags(table["selector_known"].combine_chunks(), null=False)
    defaults = {name: entry.default_hash() for name, entry in registry.strategies.items()}
    latest = _lookup(strategy, defaults)
    owner = _lookup(running_hash, registry.all_hashes())
    resolved, problem = latest, pa.nulls(len(table), pa.string())
    if known.any():
        selectors = table["selector"].combine_chunks()
        answers: dict[str, str | None] = {}
        problems: dict[str, str | None] = {}
        for selector in pc.unique(selectors.filter(pa.array(known))).to_pylist():
            try:
                answers[selector], problems[selector] = registry.resolve(selector).hash, None
            except MelticaLabError as exc:
                answers[selector], problems[selector] = None, exc.message
        resolved = pc.if_else(pa.array(known), _lookup(selectors, answers), latest)
        problem = _lookup(selectors, problems)
    registered = _flags(pc.equal(owner, strategy), null=False)
    moved = _flags(pc.not_equal(resolved, running_hash), null=True)
    conditions = [~registered, moved]
    columns: dict[str, Any] = {}
    if backtests is not None:
        runs = backtest_runs(backtests)
        last = dict(zip(runs["strategy"], runs["hash"], strict=True))  # later runs overwrite earlier ones
        tested = _flags(pc.is_in(running_hash, value_set=pa.array(sorted(set(runs["hash"])), pa.string())), null=False)
        any_tested = _flags(pc.is_in(strategy, value_set=pa.array(sorted(last), pa.string())), null=False)
        conditions += [~any_tested, ~tested]
        columns["last_backtested_hash"] = _lookup(strategy, last)
        columns["backtested"] = pa.array(tested)
    else:
        columns["last_backtested_hash"] = pa.nulls(len(table), pa.string())
        columns["backtested"] = pa.nulls(len(table), pa.bool_())
    codes = np.select(conditions, range(len(conditions)), default=len(_STATES) - 1).astype(np.int8)
    out = pa.table(
        {
            "instance": table["instance"],
            "strategy": strategy,
            "selector": table["selector"],
            "selector_known": table["selector_known"],
            "running": table["running"],
            "running_hash": running_hash,
            "resolved_hash": resolved,
            "latest_hash": latest,
            "compared_with": pc.if_else(pa.array(known), "selector", "latest (selector unknown)"),
            "registered": pa.array(registered),
            **columns,
        }
    ).to_pandas()
    out["backtested"] = out["backtested"].astype("boolean")
    out["state"] = pd.Categorical.from_codes(codes, categories=_STATES)
    out["detail"] = _details(codes, known, problem, backtests is not None)
    return out


def _details(codes: np.ndarray, known: np.ndarray, problem: pa.Array, judged: bool) -> np.ndarray:
    """The ``detail`` text per row: one sentence per state, refined where the row says more."""
    in_sync = "runs what its selector resolves to" + (", and that hash was backtested" if judged else "")
    texts = np.array([*_MESSAGES.values(), in_sync], dtype=object)
    detail = texts[codes]
    moved = codes == _STATES.index(DriftState.TAG_MOVED_NOT_ROLLED)
    detail[moved & ~known] = "latest points at another hash (selector unknown, so compared with latest)"
    broken = moved & _flags(pc.is_valid(problem), null=False)
    if broken.any():
        reasons = np.asarray(problem.filter(pa.array(broken)).to_pylist(), dtype=object)
        detail[broken] = "its selector no longer resolves: " + reasons
    in_sync_unknown = (codes == _STATES.index(DriftState.IN_SYNC)) & ~known
    detail[in_sync_unknown] = "runs what latest points at (selector unknown, so compared with latest)"
    return detail


# -- pruning ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PruningPlan:
    """A dry run: every revision with ``action`` ``keep`` or ``prune`` and its ``reasons``.

    A revision is kept when any of these holds: a tag points at it; an instance uses it (a Manager's
    instances count even when stopped); usage saw it running within ``days``; a backtest pinned it.
    ``frame`` columns: ``strategy``, ``hash``, ``tag``, ``tags``, ``path``, ``instances``,
    ``last_seen``, ``backtested``, ``action``, ``reasons``.
    """

    frame: pd.DataFrame
    days: float
    now: datetime

    @property
    def to_prune(self) -> pd.DataFrame:
        """The rows :func:`apply_pruning` would delete."""
        return self.frame[self.frame["action"] == "prune"]

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-ready rows."""
        rows = []
        for row in self.frame.itertuples(index=False):
            seen = row.last_seen
            rows.append(
                {
                    "strategy": row.strategy,
                    "hash": row.hash,
                    "tag": row.tag,
                    "tags": list(row.tags),
                    "path": row.path,
                    "instances": list(row.instances),
                    "lastSeen": None if pd.isna(seen) else seen.isoformat(),
                    "backtested": bool(row.backtested),
                    "action": row.action,
                    "reasons": list(row.reasons),
                }
            )
        return rows

    def __repr__(self) -> str:
        pruned = int((self.frame["action"] == "prune").sum())
        return f"PruningPlan({len(self.frame)} revisions: {pruned} to prune, {len(self.frame) - pruned} to keep)"


def pruning_plan(
    registry_or_root: Any,
    *,
    usage: Any = None,
    instances: Any = None,
    backtests: Any = None,
    days: float = 30,
    now: datetime | None = None,
) -> PruningPlan:
    """Decide, for every revision, keep or prune, and say why (nothing is changed).

    ``usage`` gives ``lastSeen`` and the running instances; ``instances`` (a Manager or gateway
    summaries) the instances that pin revisions; a Manager as ``registry_or_root`` provides all three.
    """
    if not math.isfinite(days) or days < 0:  # nan compares false to everything: it would keep or prune all
        raise UsageError(f"days: expected a finite number >= 0, got {days}", field="days")
    moment = now if now is not None else datetime.now(UTC)
    revisions = revisions_frame(registry_or_root)
    if isinstance(registry_or_root, Manager):
        usage = registry_or_root if usage is None else usage
        instances = registry_or_root if instances is None else instances
    users: dict[str, list[str]] = {}
    for source in (instances, usage):
        if source is not None:
            table = _instances_table(source)
            for ident, digest in zip(table["instance"].to_pylist(), table["hash"].to_pylist(), strict=True):
                users.setdefault(digest, []).append(ident)
    seen = pd.Series(dtype="datetime64[ns, UTC]")
    if usage is not None:
        table = usage_frame(usage)
        mine = table[table["hash"].isin(set(revisions["hash"]))]
        seen = mine.groupby("hash")["last_seen"].max()
    tested = set(backtest_runs(backtests)["hash"]) if backtests is not None else set()
    cutoff = pd.Timestamp(moment - timedelta(days=days))
    actions, reasons, last_seen, in_use = [], [], [], []
    for digest, tags in zip(revisions["hash"], revisions["tags"], strict=True):
        ids = tuple(sorted(set(users.get(digest, ()))))
        when = seen.get(digest, pd.NaT)
        keep = []
        if tags:
            keep.append(f"tagged ({', '.join(tags)})")
        if ids:
            keep.append(f"in use by {len(ids)} instance(s): {', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}")
        if not pd.isna(when) and when >= cutoff:
            keep.append(f"seen within {days:g} days (last seen {when.isoformat()})")
        if digest in tested:
            keep.append("pinned by a backtest")
        if keep:
            actions.append("keep")
            reasons.append(tuple(keep))
        else:
            last = "never seen running" if pd.isna(when) else f"last seen {when.isoformat()}, over {days:g} days ago"
            actions.append("prune")
            reasons.append(("untagged", "no instance uses it", last, "no backtest pins it"))
        last_seen.append(when)
        in_use.append(ids)
    frame = revisions.drop(columns=["latest"]).assign(
        instances=in_use,
        last_seen=pd.to_datetime(pd.Series(last_seen, dtype=object), utc=True),
        backtested=revisions["hash"].isin(tested).to_numpy(),
        action=actions,
        reasons=reasons,
    )
    return PruningPlan(frame, float(days), moment)


def apply_pruning(plan: PruningPlan, root: str | PathLike[str], *, manager: Manager | None = None) -> pd.DataFrame:
    """Delete the revisions the plan marks ``prune`` and their files, in one registry transaction.

    Each is checked again at apply time and skipped if it is no longer in the registry, if a tag points
    at it now, or if an instance of ``manager`` (running or stopped) pins it; the manager's loader is
    reloaded afterwards. Returns one row per planned deletion: ``strategy``, ``hash``, ``path``,
    ``outcome`` (``deleted`` or ``skipped``), ``why``.
    """
    base = Path(root)
    pins = {view.spec.hash for view in manager.instances()} if manager is not None else set()
    rows: list[tuple[str, str, str, str, str]] = []
    with edit_registry(base, f"prune {len(plan.to_prune)} revision(s)", create=False) as draft:
        current = draft.registry()
        tagged = {entry.tag_target(tag) for entry in current.strategies.values() for tag in entry.tags}
        planned = plan.to_prune
        for strategy, digest, path in zip(planned["strategy"], planned["hash"], planned["path"], strict=True):
            entry = current.strategies.get(strategy)
            why = ""
            if entry is None or digest not in entry.hashes:
                why = "no longer in the registry"
            elif digest in tagged:
                why = "a tag points at it now"
            elif digest in pins:
                why = "an instance pins it now"
            if why:
                rows.append((strategy, digest, path, "skipped", why))
                continue
            draft.remove_revision(strategy, digest)  # its file goes to the trash in the same transaction
            rows.append((strategy, digest, path, "deleted", "untagged, unused and unseen, as planned"))
    if manager is not None:
        manager.reload()
    return pd.DataFrame(rows, columns=["strategy", "hash", "path", "outcome", "why"])
