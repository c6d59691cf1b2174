"""What the manager's operations return: frozen values with the gateway's JSON field names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Reason = Literal["refreshed", "alreadyPinned", "retired"]
REASONS: tuple[Reason, ...] = ("refreshed", "alreadyPinned", "retired")
"""The gateway's refresh reason codes (compat §8.6), exactly."""


@dataclass(frozen=True)
class RefreshResult:
    """One refresh record: one per instance, plus one per target that matched no instance.

    ``reason`` is the gateway's code: ``refreshed`` (the instance now runs another hash),
    ``alreadyPinned`` (it runs the hash it ran before) or ``retired`` (its selector no longer
    resolves, so it stays on its pinned hash; or a target that no instance uses). ``detail`` says in
    words why, for every outcome; ``error`` is set when a move was wanted but failed (the instance
    then keeps running its previous hash and ``reason`` stays ``alreadyPinned``); ``restarted`` tells
    whether a running instance got a fresh session.
    """

    selector: str
    strategy: str
    hash: str
    previous_hash: str
    instances: tuple[str, ...]
    reason: Reason
    detail: str
    error: str = ""
    restarted: bool = False

    @property
    def ok(self) -> bool:
        """False when a wanted move or restart failed."""
        return not self.error

    def to_dict(self) -> dict[str, Any]:
        """The gateway's ``RefreshResult`` JSON (``previousHash``/``instances`` omitted when empty)
        plus ``detail``, ``restarted`` and, on failure, ``error``."""
        out: dict[str, Any] = {"selector": self.selector, "strategy": self.strategy, "hash": self.hash}
        if self.previous_hash:
            out["previousHash"] = self.previous_hash
        if self.instances:
            out["instances"] = list(self.instances)
        out["reason"] = self.reason
        out["detail"] = self.detail
        out["restarted"] = self.restarted
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class FeedResult:
    """Events delivered per running instance, and the instances a failure stopped (id -> reason)."""

    delivered: Mapping[str, int]
    failed: Mapping[str, str]


@dataclass(frozen=True)
class UploadResult:
    """A stored revision: ``created`` is false when those bytes were already registered."""

    strategy: str
    hash: str
    tag: str
    aliases: tuple[str, ...]
    relpath: str
    root: str
    created: bool
    latest: bool

    def to_dict(self) -> dict[str, Any]:
        """The gateway's upload answer. ``pending_refresh`` means what it means there: the revision
        resolves now, and instances move to it on the next refresh."""
        return {
            "status": "pending_refresh",
            "strategyDirectory": self.root,
            "module": {
                "name": self.strategy,
                "hash": self.hash,
                "tag": self.tag,
                "alias": self.tag,
                "file": f"{self.strategy}.js",
                "path": f"{self.root}/{self.relpath}",
            },
            "created": self.created,
            "aliases": list(self.aliases),
            "latest": self.latest,
        }


@dataclass(frozen=True)
class TagAssignment:
    """``tag`` of ``strategy`` now points at ``hash`` (``previous_hash`` is "" for a new tag)."""

    strategy: str
    tag: str
    hash: str
    previous_hash: str
    results: tuple[RefreshResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The gateway's ``tag_assigned`` answer, plus the refresh records."""
        return {
            "status": "tag_assigned",
            "strategy": self.strategy,
            "tag": self.tag,
            "hash": self.hash,
            "previousHash": self.previous_hash,
            "refresh": bool(self.results),
            "results": [r.to_dict() for r in self.results],
        }


@dataclass(frozen=True)
class TagDeletion:
    """``tag`` of ``strategy`` was removed; it pointed at ``hash``."""

    strategy: str
    tag: str
    hash: str
    allow_orphan: bool

    def to_dict(self) -> dict[str, Any]:
        """The gateway's ``tag_deleted`` answer."""
        return {
            "status": "tag_deleted",
            "strategy": self.strategy,
            "tag": self.tag,
            "hash": self.hash,
            "allowOrphan": self.allow_orphan,
        }


@dataclass(frozen=True)
class Deletion:
    """Revisions removed by :meth:`Manager.delete`: their hashes, the tags that went with them, the
    files removed, where ``latest`` points now (``None`` when the strategy is gone), and ``message``,
    which says in words what was deleted (``name:tag`` deletes the revision the tag points at)."""

    selector: str
    strategy: str
    hashes: tuple[str, ...]
    tags: tuple[str, ...]
    files: tuple[str, ...]
    latest: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "status": "deleted",
            "selector": self.selector,
            "strategy": self.strategy,
            "hashes": list(self.hashes),
            "tags": list(self.tags),
            "files": list(self.files),
            "latest": self.latest,
            "message": self.message,
        }


@dataclass(frozen=True)
class Rollback:
    """``latest`` of ``strategy`` moved from ``previous_hash`` to ``hash``; ``results`` are the refresh
    records of the instances that follow ``latest``."""

    strategy: str
    hash: str
    previous_hash: str
    results: tuple[RefreshResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "status": "rolled_back",
            "strategy": self.strategy,
            "hash": self.hash,
            "previousHash": self.previous_hash,
            "results": [r.to_dict() for r in self.results],
        }
