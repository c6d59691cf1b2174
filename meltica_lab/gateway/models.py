"""Typed values for the gateway's answers: one frozen dataclass per schema of the contract.

Field names are the contract's, in snake case (``selectedRevisionHash`` -> ``selected_revision_hash``).
Values are kept exactly as the gateway sent them: decimals stay strings, Unix times stay integers,
an optional field the answer left out is ``None``. ``to_dict()`` gives the answer's JSON back as it
arrived (unknown extra keys included), ``warnings`` the inconsistencies found in it
(:class:`~meltica_lab.gateway.checks.InconsistentAnswerWarning`), and the frames
(:meth:`OrderHistory.to_frame`, ...) turn times into UTC datetimes and decimals into floats beside
the exact strings.

Each ``from_json`` reads an answer that already passed the contract's schema check, so it only
reads fields; it never has to guess.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from meltica_lab.gateway import frames
from meltica_lab.usage import UsageExport, UsageRecord, parse_time, parse_usage_export

__all__ = [
    "ConfigField",
    "ExecutionHistory",
    "ExecutionRecord",
    "InstanceAction",
    "InstanceRemoval",
    "InstanceSnapshot",
    "InstanceStrategy",
    "InstanceSummary",
    "ModuleList",
    "ModuleOperation",
    "ModuleResolution",
    "ModuleRevision",
    "ModuleSummary",
    "OrderHistory",
    "OrderRecord",
    "RefreshOutcome",
    "RefreshRecord",
    "RegistryEntry",
    "RegistryExport",
    "RegistryLocation",
    "RevisionUsage",
    "Strategy",
    "TagMutation",
    "UsageSummary",
    "gateway_time",
]


def gateway_time(text: str | None) -> datetime | None:
    """An RFC 3339 time as the gateway writes it, or ``None`` for ``null``, the zero time
    ``0001-01-01T00:00:00Z`` ("never") and any text that is not such a time in the years 1678-2261
    (the checks report those as warnings; the text stays in ``to_dict()``)."""
    if text is None:
        return None
    try:
        return parse_time(text.upper())  # RFC 3339 allows a lower-case "t" and "z"
    except ValueError:
        return None


@dataclass(frozen=True)
class _Value:
    """What every answer value has: the JSON as sent and the warnings found in it."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """The gateway's JSON for this value, exactly as it arrived (a copy)."""
        return copy.deepcopy(dict(self.raw))


def _texts(values: Any) -> tuple[str, ...]:
    return tuple(values or ())


# -- strategies -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigField(_Value):
    """One entry of a strategy's ``config`` metadata (``StrategyConfig``); ``default`` is ``None`` when
    absent or ``null``."""

    name: str
    type: str
    required: bool
    description: str = ""
    default: Any = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConfigField:
        """Read a ``StrategyConfig`` object."""
        return cls(
            data["name"],
            data["type"],
            data["required"],
            data.get("description") or "",
            data.get("default"),
            raw=data,
        )


@dataclass(frozen=True)
class Strategy(_Value):
    """A strategy's metadata (``Strategy``): ``GET /strategies`` items, ``GET /strategies/{name}`` and
    a module summary's ``metadata``. ``tag`` is ``None`` when the gateway omitted it."""

    name: str
    display_name: str
    description: str
    config: tuple[ConfigField, ...]
    events: tuple[str, ...]
    tag: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Strategy:
        """Read a ``Strategy`` object (``description`` may be left out, ``config`` may be ``null``)."""
        return cls(
            data["name"],
            data["displayName"],
            data.get("description") or "",
            tuple(ConfigField.from_json(item) for item in data.get("config") or ()),
            _texts(data["events"]),
            data.get("tag"),
            raw=data,
        )


# -- modules ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleRevision(_Value):
    """One revision in a module summary (``StrategyModuleRevision``)."""

    hash: str
    path: str
    size: int
    tag: str | None = None
    retired: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleRevision:
        """Read a ``StrategyModuleRevision`` (``retired`` is false when absent, as the gateway omits it)."""
        return cls(data["hash"], data["path"], data["size"], data.get("tag"), bool(data.get("retired")), raw=data)


@dataclass(frozen=True)
class ModuleSummary(_Value):
    """A module with one revision selected (``StrategyModuleSummary``): ``GET /strategies/modules/{selector}``
    and the items of the module listing. ``tag_aliases`` maps every tag of the strategy to its hash."""

    name: str
    file: str
    path: str
    selected_revision_hash: str
    selected_revision_tag: str | None
    tags: tuple[str, ...]
    tag_aliases: Mapping[str, str]
    revisions: tuple[ModuleRevision, ...]
    size: int
    metadata: Strategy

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleSummary:
        """Read a ``StrategyModuleSummary``."""
        return cls(
            data["name"],
            data["file"],
            data["path"],
            data["selectedRevisionHash"],
            data.get("selectedRevisionTag"),
            _texts(data.get("tags")),
            dict(data.get("tagAliases") or {}),
            tuple(ModuleRevision.from_json(item) for item in data.get("revisions") or ()),
            data["size"],
            Strategy.from_json(data["metadata"]),
            raw=data,
        )


@dataclass(frozen=True)
class ModuleList(_Value):
    """``GET /strategies/modules``: the page of ``modules`` and the paging the gateway reported
    (``None`` where it left a field out; ``limit`` is ``None`` when unlimited)."""

    modules: tuple[ModuleSummary, ...]
    total: int | None
    offset: int | None
    limit: int | None
    strategy_directory: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], warnings: tuple[str, ...] = ()) -> ModuleList:
        """Read a ``StrategyModulesResponse``."""
        return cls(
            tuple(ModuleSummary.from_json(item) for item in data["modules"]),
            data.get("total"),
            data.get("offset"),
            data.get("limit"),
            data.get("strategyDirectory"),
            raw=data,
            warnings=warnings,
        )


@dataclass(frozen=True)
class ModuleResolution(_Value):
    """The revision an upload stored (``StrategyModuleResolution``); every field is optional."""

    name: str | None
    hash: str | None
    tag: str | None
    alias: str | None
    file: str | None
    path: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleResolution:
        """Read a ``StrategyModuleResolution``."""
        keys = ("name", "hash", "tag", "alias", "file", "path")
        return cls(*(data.get(key) for key in keys), raw=data)


@dataclass(frozen=True)
class ModuleOperation(_Value):
    """The answer to an upload or module update (``StrategyModuleOperationResponse``): ``status`` is
    ``pending_refresh`` on the reference gateway (the code is live after a refresh)."""

    status: str
    strategy_directory: str
    module: ModuleResolution | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleOperation:
        """Read a ``StrategyModuleOperationResponse``."""
        module = data.get("module")
        return cls(
            data["status"],
            data["strategyDirectory"],
            None if module is None else ModuleResolution.from_json(module),
            raw=data,
        )


@dataclass(frozen=True)
class TagMutation(_Value):
    """The answer to a tag assignment or removal (``StrategyTagMutationResponse``): ``status`` is
    ``tag_assigned`` or ``tag_deleted`` on the reference gateway; ``previous_hash`` is "" for a new tag."""

    status: str
    strategy: str
    tag: str
    hash: str | None
    previous_hash: str | None
    allow_orphan: bool | None
    refresh: bool | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TagMutation:
        """Read a ``StrategyTagMutationResponse``."""
        return cls(
            data["status"],
            data["strategy"],
            data["tag"],
            data.get("hash"),
            data.get("previousHash"),
            data.get("allowOrphan"),
            data.get("refresh"),
            raw=data,
        )


# -- refresh ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshRecord(_Value):
    """One record of a targeted refresh (``StrategyRefreshResult``): one per instance, plus one per
    target no instance uses. ``reason`` is ``refreshed``, ``alreadyPinned`` or ``retired`` on the
    reference gateway."""

    selector: str
    strategy: str | None
    hash: str | None
    previous_hash: str | None
    instances: tuple[str, ...]
    reason: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefreshRecord:
        """Read a ``StrategyRefreshResult``."""
        return cls(
            data["selector"],
            data.get("strategy"),
            data.get("hash"),
            data.get("previousHash"),
            _texts(data.get("instances")),
            data.get("reason"),
            raw=data,
        )


@dataclass(frozen=True)
class RefreshOutcome(_Value):
    """``POST /strategies/refresh``: ``status`` is ``refreshed`` after a full refresh and
    ``partial_refresh`` after a targeted one, whose ``results`` hold one record per instance."""

    status: str
    results: tuple[RefreshRecord, ...]

    @property
    def partial(self) -> bool:
        """Whether this was a targeted refresh (``partial_refresh``)."""
        return self.status == "partial_refresh"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], warnings: tuple[str, ...] = ()) -> RefreshOutcome:
        """Read a ``StrategyRefreshResponse`` (``results`` may be ``null``)."""
        results = tuple(RefreshRecord.from_json(item) for item in data.get("results") or ())
        return cls(data["status"], results, raw=data, warnings=warnings)


# -- usage ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageSummary(_Value):
    """Usage of one revision as the gateway reports it (``ModuleRevisionUsage``), kept as sent:
    ``instances`` is ``None`` when the gateway wrote ``null``, ``running`` when it left it out, and
    ``count`` need not match the list (the checks warn when it does not).

    ``first_seen``/``last_seen`` are ``None`` for "never" (``null`` or the zero time) and for a text
    that is not a time the kit can hold (the text is in ``to_dict()``, and a warning says so).
    :meth:`to_record` gives the kit's own, consistent :class:`~meltica_lab.usage.UsageRecord`.
    """

    strategy: str
    hash: str
    instances: tuple[str, ...] | None
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    running: bool | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UsageSummary:
        """Read a ``ModuleRevisionUsage``."""
        instances = data.get("instances")
        return cls(
            data["strategy"],
            data["hash"],
            None if instances is None else tuple(instances),
            data["count"],
            gateway_time(data.get("firstSeen")),
            gateway_time(data.get("lastSeen")),
            data.get("running"),
            raw=data,
        )

    def to_record(self) -> UsageRecord:
        """The kit's :class:`~meltica_lab.usage.UsageRecord`; :class:`~meltica_lab.errors.UsageExportError`
        when the summary is not consistent (a count that does not match the instances, ...)."""
        return UsageRecord.from_dict(self.raw)


@dataclass(frozen=True)
class InstanceSummary(_Value):
    """One instance as the listing and the usage drill-down show it (``InstanceSummary``);
    ``links`` holds ``self`` and ``usage`` paths when the gateway sent them."""

    id: str
    strategy_identifier: str
    strategy_tag: str | None
    strategy_hash: str | None
    strategy_selector: str | None
    providers: tuple[str, ...]
    aggregated_symbols: tuple[str, ...]
    running: bool
    usage: UsageSummary | None
    links: Mapping[str, str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstanceSummary:
        """Read an ``InstanceSummary``."""
        usage = data.get("usage")
        return cls(
            data["id"],
            data["strategyIdentifier"],
            data.get("strategyTag"),
            data.get("strategyHash"),
            data.get("strategySelector"),
            _texts(data["providers"]),
            _texts(data["aggregatedSymbols"]),
            data["running"],
            None if usage is None else UsageSummary.from_json(usage),
            dict(data.get("links") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class RevisionUsage(_Value):
    """``GET /strategies/modules/{selector}/usage``: the gateway's canonical ``selector``, the
    revision's ``usage``, and the ``instances`` on it (running ones unless stopped ones were asked
    for), with the paging (``limit`` is ``None`` when unlimited)."""

    selector: str
    strategy: str
    hash: str
    usage: UsageSummary
    instances: tuple[InstanceSummary, ...]
    total: int
    offset: int
    limit: int | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], warnings: tuple[str, ...] = ()) -> RevisionUsage:
        """Read a ``StrategyModuleUsageResponse``."""
        return cls(
            data["selector"],
            data["strategy"],
            data["hash"],
            UsageSummary.from_json(data["usage"]),
            tuple(InstanceSummary.from_json(item) for item in data["instances"]),
            data["total"],
            data["offset"],
            data.get("limit"),
            raw=data,
            warnings=warnings,
        )

    def to_frame(self) -> pd.DataFrame:
        """The instances as a frame (the columns of :meth:`GatewayClient.instances_frame`)."""
        return frames.instances_frame(self.raw["instances"], self.warnings)


# -- the registry export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryLocation(_Value):
    """Where a revision's file is, relative to the strategies root, and its primary tag."""

    tag: str
    path: str


@dataclass(frozen=True)
class RegistryEntry(_Value):
    """One strategy of ``registry.json``: ``tags`` (tag -> hash) and ``hashes`` (hash -> location)."""

    tags: Mapping[str, str]
    hashes: Mapping[str, RegistryLocation]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegistryEntry:
        """Read one registry entry (its extra keys stay in ``to_dict()``)."""
        hashes = {
            key: RegistryLocation(value["tag"], value["path"], raw=value) for key, value in data["hashes"].items()
        }
        return cls(dict(data["tags"]), hashes, raw=data)


@dataclass(frozen=True)
class RegistryExport(_Value):
    """``GET /strategies/registry``: ``registry.json`` as the gateway reads it now (``None`` when the
    gateway wrote ``null``), and its usage index, zero-count entries included."""

    registry: Mapping[str, RegistryEntry] | None
    usage: tuple[UsageSummary, ...]
    source: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, source: str = "", warnings: tuple[str, ...] = ()) -> RegistryExport:
        """Read a ``StrategyRegistryExport`` (``usage`` and ``registry`` may be ``null``)."""
        registry = data.get("registry")
        entries = None if registry is None else {name: RegistryEntry.from_json(e) for name, e in registry.items()}
        usage = tuple(UsageSummary.from_json(item) for item in data.get("usage") or ())
        return cls(entries, usage, source, raw=data, warnings=warnings)

    def to_usage_export(self) -> UsageExport:
        """The kit's :class:`~meltica_lab.usage.UsageExport` (for ``analysis``: frames, drift, pruning).
        Strict: :class:`~meltica_lab.errors.UsageExportError` names the first usage row that is not
        consistent."""
        return parse_usage_export(dict(self.raw), source=self.source or "<gateway export>")

    def to_frame(self) -> pd.DataFrame:
        """The usage rows as a frame (see :meth:`meltica_lab.usage.UsageRows.to_frame`); strict as
        :meth:`to_usage_export` is."""
        return self.to_usage_export().to_frame()


# -- instances --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceStrategy(_Value):
    """The ``strategy`` of an instance spec (``LambdaStrategySpec``): the ``identifier`` it was created
    with, its ``config``, and the ``selector``/``tag``/``hash`` the gateway resolved it to."""

    identifier: str
    config: Mapping[str, Any]
    selector: str | None
    tag: str | None
    hash: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstanceStrategy:
        """Read a ``LambdaStrategySpec``."""
        return cls(
            data["identifier"],
            dict(data["config"]),
            data.get("selector"),
            data.get("tag"),
            data.get("hash"),
            raw=data,
        )


@dataclass(frozen=True)
class InstanceSnapshot(_Value):
    """One instance in full (``InstanceSnapshotResponse``): its spec (``strategy``, ``scope`` as
    provider -> symbols) and its state."""

    id: str
    strategy: InstanceStrategy
    scope: Mapping[str, tuple[str, ...]]
    providers: tuple[str, ...]
    aggregated_symbols: tuple[str, ...]
    running: bool
    usage: UsageSummary | None
    links: Mapping[str, str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any], warnings: tuple[str, ...] = ()) -> InstanceSnapshot:
        """Read an ``InstanceSnapshotResponse``."""
        usage = data.get("usage")
        return cls(
            data["id"],
            InstanceStrategy.from_json(data["strategy"]),
            {provider: _texts(value["symbols"]) for provider, value in data["scope"].items()},
            _texts(data["providers"]),
            _texts(data["aggregatedSymbols"]),
            data["running"],
            None if usage is None else UsageSummary.from_json(usage),
            dict(data["links"]),
            raw=data,
            warnings=warnings,
        )


@dataclass(frozen=True)
class InstanceRemoval(_Value):
    """The answer to ``DELETE /strategy/instances/{id}``: ``status`` is ``removed`` on the reference gateway."""

    status: str | None
    id: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstanceRemoval:
        """Read the removal answer."""
        return cls(data.get("status"), data.get("id"), raw=data)


@dataclass(frozen=True)
class InstanceAction(_Value):
    """The answer to start or stop (``InstanceActionResponse``): ``action`` is ``start`` or ``stop``.

    A gateway that answers with the instance snapshot instead (compat §9.13) gives ``snapshot``, with
    ``status`` ``running`` or ``stopped`` read from it and ``action`` the one asked for.
    """

    id: str
    status: str
    action: str
    snapshot: InstanceSnapshot | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], action: str, warnings: tuple[str, ...] = ()) -> InstanceAction:
        """Read an ``InstanceActionResponse``, or an ``InstanceSnapshotResponse`` given instead."""
        if "action" in data and "status" in data:
            return cls(data["id"], data["status"], data["action"], raw=data, warnings=warnings)
        snapshot = InstanceSnapshot.from_json(data)
        status = "running" if snapshot.running else "stopped"
        return cls(snapshot.id, status, action, snapshot, raw=data, warnings=warnings)


@dataclass(frozen=True)
class OrderRecord(_Value):
    """One order as the gateway stored it (``OrderRecord``): decimals as the exact strings, times as
    Unix seconds (``None`` where the gateway wrote ``null``)."""

    id: str
    provider: str
    strategy_instance: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: str
    price: str | None
    state: str
    external_reference: str | None
    placed_at: int
    acknowledged_at: int | None
    completed_at: int | None
    created_at: int
    updated_at: int
    metadata: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderRecord:
        """Read an ``OrderRecord``."""
        return cls(
            data["id"],
            data["provider"],
            data["strategyInstance"],
            data["clientOrderId"],
            data["symbol"],
            data["side"],
            data["type"],
            data["quantity"],
            data.get("price"),
            data["state"],
            data.get("externalReference"),
            data["placedAt"],
            data.get("acknowledgedAt"),
            data.get("completedAt"),
            data["createdAt"],
            data["updatedAt"],
            dict(data.get("metadata") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class OrderHistory(_Value):
    """``GET /strategy/instances/{id}/orders``: the ``orders`` and the ``count`` the gateway reported."""

    orders: tuple[OrderRecord, ...]
    count: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any], warnings: tuple[str, ...] = ()) -> OrderHistory:
        """Read an ``OrderHistoryResponse``."""
        orders = tuple(OrderRecord.from_json(item) for item in data["orders"])
        return cls(orders, data["count"], raw=data, warnings=warnings)

    def to_frame(self) -> pd.DataFrame:
        """One row per order; see :func:`meltica_lab.gateway.frames.orders_frame`."""
        return frames.orders_frame(self.raw["orders"], self.warnings)


@dataclass(frozen=True)
class ExecutionRecord(_Value):
    """One fill as the gateway stored it (``ExecutionRecord``): decimals as the exact strings, times
    as Unix seconds."""

    order_id: str
    provider: str
    strategy_instance: str
    execution_id: str
    quantity: str
    price: str
    fee: str | None
    fee_asset: str | None
    liquidity: str | None
    traded_at: int
    created_at: int
    metadata: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExecutionRecord:
        """Read an ``ExecutionRecord``."""
        return cls(
            data["orderId"],
            data["provider"],
            data["strategyInstance"],
            data["executionId"],
            data["quantity"],
            data["price"],
            data.get("fee"),
            data.get("feeAsset"),
            data.get("liquidity"),
            data["tradedAt"],
            data["createdAt"],
            dict(data.get("metadata") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class ExecutionHistory(_Value):
    """``GET /strategy/instances/{id}/executions``: the ``executions`` and the reported ``count``."""

    executions: tuple[ExecutionRecord, ...]
    count: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any], warnings: tuple[str, ...] = ()) -> ExecutionHistory:
        """Read an ``ExecutionHistoryResponse``."""
        executions = tuple(ExecutionRecord.from_json(item) for item in data["executions"])
        return cls(executions, data["count"], raw=data, warnings=warnings)

    def to_frame(self) -> pd.DataFrame:
        """One row per fill; see :func:`meltica_lab.gateway.frames.executions_frame`."""
        return frames.executions_frame(self.raw["executions"], self.warnings)
