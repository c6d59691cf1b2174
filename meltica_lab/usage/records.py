"""One usage row: :class:`UsageRecord`, and :func:`read_row`, the readable specification of a valid row.

A ``RevisionUsageSummary`` exactly as the gateway writes it (compat §7): sorted instance ids (``null``
when none), ``count``, ``firstSeen``/``lastSeen`` as RFC 3339 and ``running``. :func:`read_row` checks
one decoded object field by field; the bulk checks (:mod:`meltica_lab.usage.bulk`) and the JSON fast
path (:mod:`meltica_lab.usage.fast`) must accept exactly what it accepts, with the same values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meltica_lab.errors import UsageError, UsageExportError
from meltica_lab.usage.times import checked_time, format_time, parse_time

__all__ = ["UsageRecord", "describe", "export_error", "read_row"]


@dataclass(frozen=True)
class UsageRecord:
    """Usage of one revision: the gateway's ``RevisionUsageSummary``.

    ``instances`` is kept sorted and free of duplicates; ``count`` must equal its length (the gateway's
    count is the size of the running set). ``first_seen`` is the first time any instance started on
    this revision, ``last_seen`` the latest start or stop; ``None`` means never.
    """

    strategy: str
    hash: str
    instances: tuple[str, ...] = ()
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    def __post_init__(self) -> None:
        instances = tuple(sorted(set(self.instances)))
        if len(instances) != len(self.instances):
            raise UsageError(f"{self.strategy}@{self.hash}: duplicate instance ids in {self.instances}")
        if self.count != len(instances):
            raise UsageError(
                f"{self.strategy}@{self.hash}: count {self.count} does not match {len(instances)} instance(s)",
                field="count",
            )
        object.__setattr__(self, "instances", instances)
        checked_time(self.first_seen, "first_seen")
        checked_time(self.last_seen, "last_seen")

    @property
    def running(self) -> bool:
        """Whether at least one instance runs this revision now."""
        return self.count > 0

    @property
    def selector(self) -> str:
        """The pinned selector ``name@hash`` of this revision."""
        return f"{self.strategy}@{self.hash}"

    def to_dict(self) -> dict[str, Any]:
        """The gateway's JSON, key for key: ``instances`` is ``null`` when empty, unset times are the zero time."""
        return {
            "strategy": self.strategy,
            "hash": self.hash,
            "instances": list(self.instances) or None,
            "count": self.count,
            "firstSeen": format_time(self.first_seen),
            "lastSeen": format_time(self.last_seen),
            "running": self.running,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageRecord:
        """Parse a ``RevisionUsageSummary`` as the gateway writes it (or as :meth:`to_dict` does).

        Tolerant where the gateway is: ``instances`` and the times may be ``null`` or absent, ``running``
        may be absent. Strict otherwise; a bad field raises :class:`UsageExportError` naming it.
        """
        return read_row(data, source=None, row=None)


_MISSING = object()


def describe(value: Any) -> str:
    """A short readable rendering of a JSON value for error messages."""
    if value is _MISSING:
        return "nothing (the key is missing)"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def export_error(source: str | None, row: int | None, field: str | None, message: str) -> UsageExportError:
    """A :class:`UsageExportError` whose text reads ``<source>: usage[<row>].<field>: <message>``."""
    where = f"usage[{row}]" if row is not None else ""
    if field:
        where = f"{where}.{field}" if where else field
    text = f"{where}: {message}" if where else message
    return UsageExportError(f"{source}: {text}" if source else text, path=source, field=field, row=row)


def _is_text(value: Any) -> bool:
    """A non-empty ``str`` that UTF-8 can carry (JSON's ``\\ud800`` decodes to a lone surrogate)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_row(data: Any, *, source: str | None, row: int | None) -> UsageRecord:
    """Check one usage object field by field; this is the authority on what a valid row is."""

    def fail(field: str | None, expected: str, value: Any) -> UsageExportError:
        return export_error(source, row, field, f"expected {expected}, got {describe(value)}")

    if not isinstance(data, Mapping):
        raise fail(None, "an object", data)
    strategy = data.get("strategy", _MISSING)
    if not _is_text(strategy):
        raise fail("strategy", "a non-empty Unicode string", strategy)
    # An empty hash is tolerated: gateway f58fcf3 recorded relaunches under "" (compat §13.11).
    digest = data.get("hash", _MISSING)
    if not (digest == "" or _is_text(digest)):
        raise fail("hash", "a Unicode string", digest)
    raw_instances = data.get("instances")
    if raw_instances is None:
        raw_instances = []
    elif not isinstance(raw_instances, list | tuple):
        raise fail("instances", "a list of instance ids or null", raw_instances)
    for position, ident in enumerate(raw_instances):
        if not _is_text(ident):
            raise fail(f"instances[{position}]", "a non-empty Unicode string", ident)
    instances = sorted(set(raw_instances))
    if len(instances) != len(raw_instances):
        duplicate = next(i for i in instances if raw_instances.count(i) > 1)
        raise export_error(source, row, "instances", f"duplicate instance id {describe(duplicate)}")
    count = data.get("count", _MISSING)
    if not isinstance(count, int) or isinstance(count, bool):
        raise fail("count", "an integer", count)
    if count != len(instances):
        raise fail("count", f"{len(instances)} (the number of instances)", count)
    times: list[datetime | None] = []
    for key in ("firstSeen", "lastSeen"):
        text = data.get(key)
        if text is None:
            times.append(None)
            continue
        if not isinstance(text, str):
            raise fail(key, "an RFC 3339 time string", text)
        try:
            times.append(parse_time(text))
        except ValueError as exc:
            raise fail(key, str(exc), text) from None
    running = data.get("running")
    if running is not None:
        if not isinstance(running, bool):
            raise fail("running", "a boolean", running)
        if running != (count > 0):
            raise fail("running", f"{str(count > 0).lower()} (count is {count})", running)
    return UsageRecord(strategy, digest, tuple(instances), count, times[0], times[1])
