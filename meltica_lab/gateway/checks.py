"""Inconsistencies in answers that the contract allows: kept as sent, and reported.

The contract fixes field names and types, not how fields relate: a usage ``count`` that disagrees
with its instance list, ``running`` true at count 0, an empty strategy name, a time in 1914, an order
of another instance, a quantity that is no number. The client keeps such values exactly as the
gateway sent them and reports each problem once, as an :class:`InconsistentAnswerWarning` (through
:func:`warnings.warn`) and in the result's ``warnings`` (a frame's ``attrs["warnings"]``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from meltica_lab.gateway.frames import decimal_value
from meltica_lab.usage import ZERO_TIME, parse_time

__all__ = ["MAX_FINDINGS", "Findings", "InconsistentAnswerWarning"]

MAX_FINDINGS = 20
"""At most this many problems are spelled out per answer; the rest are counted in one last line."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Unix seconds from 1e11 on are after the year 5138: almost surely milliseconds.
_SECONDS_LIMIT = 10**11
_REFRESH_STATUSES = ("refreshed", "partial_refresh")
_REASONS = ("refreshed", "alreadyPinned", "retired")


class InconsistentAnswerWarning(UserWarning):
    """A gateway answer that conforms to the contract but disagrees with itself or with the request
    (the message says where: ``usage.count is 2 but 1 instance(s) are listed``). The values are kept
    as the gateway sent them."""


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


class Findings:
    """The problems found in one answer, in the order found, capped at :data:`MAX_FINDINGS`."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._more = 0

    def add(self, text: str) -> None:
        """Note one problem."""
        if len(self._items) < MAX_FINDINGS:
            self._items.append(text)
        else:
            self._more += 1

    def result(self) -> tuple[str, ...]:
        """The problems, with a last line counting those not spelled out."""
        if self._more:
            return (*self._items, f"... and {self._more} more problem(s) of the same answer")
        return tuple(self._items)

    # -- usage --------------------------------------------------------------------------------------

    def usage(self, data: Mapping[str, Any], where: str) -> None:
        """A ``ModuleRevisionUsage``: empty strategy, negative count, count against the instance list,
        duplicate ids, ``running`` against the count, times that cannot be read or lie before 1970,
        ``firstSeen`` after ``lastSeen``."""
        if data["strategy"] == "":
            self.add(f"{_join(where, 'strategy')} is empty")
        count = data["count"]
        if count < 0:
            self.add(f"{_join(where, 'count')} is {count}, a negative count")
        instances = data.get("instances")
        if instances is not None:
            if len(set(instances)) != len(instances):
                self.add(f"{_join(where, 'instances')} lists an instance id more than once")
            if count != len(instances):
                self.add(f"{_join(where, 'count')} is {count} but {len(instances)} instance(s) are listed")
        running = data.get("running")
        if running is not None and running != (count > 0):
            self.add(f"{_join(where, 'running')} is {str(running).lower()} but count is {count}")
        first = self._time(data.get("firstSeen"), _join(where, "firstSeen"))
        last = self._time(data.get("lastSeen"), _join(where, "lastSeen"))
        if first is not None and last is not None and first > last:
            self.add(f"{_join(where, 'firstSeen')} is after {_join(where, 'lastSeen')}")

    def _time(self, text: str | None, where: str) -> datetime | None:
        if text is None or text == ZERO_TIME:
            return None
        try:
            value = parse_time(text.upper())
        except ValueError as exc:
            self.add(f"{where} {text!r} is not a time the kit can hold: expected {exc}; kept as text")
            return None
        if value is not None and value < _EPOCH:
            self.add(f"{where} {text} is before 1970")
        return value

    def instance(self, data: Mapping[str, Any], where: str) -> None:
        """An ``InstanceSummary`` or snapshot: its usage."""
        usage = data.get("usage")
        if usage is not None:
            self.usage(usage, _join(where, "usage"))

    def paging(self, listed: int, data: Mapping[str, Any], what: str) -> None:
        """``total``/``offset``/``limit`` against each other and the ``listed`` items."""
        total, offset, limit = data.get("total"), data.get("offset"), data.get("limit")
        for key, value in (("total", total), ("offset", offset), ("limit", limit)):
            if value is not None and value < 0:
                self.add(f"{key} is {value}, a negative number")
        if limit is not None and 0 <= limit < listed:
            self.add(f"{listed} {what} are listed, more than limit {limit}")
        if total is not None and offset is not None and total >= 0 and offset >= 0 and offset + listed > total:
            self.add(f"offset {offset} and {listed} {what} listed go past total {total}")

    # -- answers ------------------------------------------------------------------------------------

    def modules(self, data: Mapping[str, Any]) -> None:
        """``StrategyModulesResponse``: the paging. (A selected revision missing from ``revisions`` is
        no inconsistency: the ``hash`` filter keeps only the matching revisions, compat §9.4.)"""
        self.paging(len(data["modules"]), data, "modules")

    def revision_usage(self, data: Mapping[str, Any]) -> None:
        """``StrategyModuleUsageResponse``: the usage, the instances' usage, the paging."""
        self.usage(data["usage"], "usage")
        for position, item in enumerate(data["instances"]):
            self.instance(item, f"instances[{position}]")
        self.paging(len(data["instances"]), data, "instances")

    def instances(self, items: Sequence[Mapping[str, Any]]) -> None:
        """The instance listing."""
        for position, item in enumerate(items):
            self.instance(item, f"instances[{position}]")

    def snapshot(self, data: Mapping[str, Any], asked: str | None) -> None:
        """An ``InstanceSnapshotResponse``: the id against the one asked for, and its usage."""
        if asked is not None and data["id"] != asked:
            self.add(f"id is {data['id']!r} but instance {asked!r} was asked for")
        self.instance(data, "")

    def registry_export(self, data: Mapping[str, Any]) -> None:
        """``StrategyRegistryExport``: every usage row."""
        for position, row in enumerate(data.get("usage") or ()):
            self.usage(row, f"usage[{position}]")

    def refresh(self, data: Mapping[str, Any]) -> None:
        """``StrategyRefreshResponse``: the status and reason codes the reference gateway uses."""
        if data["status"] not in _REFRESH_STATUSES:
            self.add(f"status {data['status']!r} is neither of {', '.join(_REFRESH_STATUSES)}")
        for position, result in enumerate(data.get("results") or ()):
            reason = result.get("reason")
            if reason is not None and reason not in _REASONS:
                self.add(f"results[{position}].reason {reason!r} is none of {', '.join(_REASONS)}")

    def action(self, data: Mapping[str, Any], instance: str, action: str) -> None:
        """An ``InstanceActionResponse`` against the request (or the snapshot given instead)."""
        if "action" not in data:
            self.snapshot(data, instance)
            return
        if data["id"] != instance:
            self.add(f"id is {data['id']!r} but instance {instance!r} was asked to {action}")
        if data["action"] != action:
            self.add(f"action is {data['action']!r} but {action!r} was asked for")

    def _records(
        self,
        data: Mapping[str, Any],
        key: str,
        instance: str,
        decimals: Sequence[str],
        times: Sequence[str],
    ) -> None:
        records = data[key]
        if data["count"] != len(records):
            self.add(f"count is {data['count']} but {len(records)} {key} are listed")
        for position, record in enumerate(records):
            where = f"{key}[{position}]"
            if record["strategyInstance"] != instance:
                self.add(f"{where} belongs to instance {record['strategyInstance']!r}, not {instance!r}")
            for name in decimals:
                text = record.get(name)
                if text is not None and math.isnan(decimal_value(text)):
                    self.add(f"{where}.{name} {text!r} is not a decimal number (NaN in frames)")
            for name in times:
                value = record.get(name)
                if value is not None and not 0 <= value < _SECONDS_LIMIT:
                    self.add(
                        f"{where}.{name} {value} is not Unix seconds between 1970 and 5138"
                        + (" (milliseconds?)" if value >= _SECONDS_LIMIT else "")
                    )

    def orders(self, data: Mapping[str, Any], instance: str) -> None:
        """``OrderHistoryResponse``: count, owner, decimals and times of each order."""
        self._records(
            data,
            "orders",
            instance,
            ("quantity", "price"),
            ("placedAt", "acknowledgedAt", "completedAt", "createdAt", "updatedAt"),
        )

    def executions(self, data: Mapping[str, Any], instance: str) -> None:
        """``ExecutionHistoryResponse``: count, owner, decimals and times of each fill."""
        self._records(data, "executions", instance, ("quantity", "price", "fee"), ("tradedAt", "createdAt"))
