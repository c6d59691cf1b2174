"""Refresh targets: what ``refresh(hashes=…, strategies=…)`` means, normalised before anything moves.

The gateway compared targets with stored strings (compat §13.9). Here every target is parsed and
resolved first:

* a hash (full, a prefix of 8+ hex digits, ``sha256:`` or not, any case), from either list, or
  ``name@hash`` from ``strategies``: the instances pinned to that revision;
* ``name``: every instance of that strategy;
* ``name:tag``: the instances that follow that tag (``name:latest`` includes those created from
  ``name``) and the instances on the revision the tag names (as read before this reload, when
  another process moved it, and after): each is re-resolved through its own selector, so only
  followers move.

A malformed target, or a hash prefix that matches several revisions, raises before any instance is
touched. A target that matches no instance becomes one ``retired`` record whose detail says whether
the revision exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from meltica_lab.errors import AmbiguousHashError, MelticaLabError
from meltica_lab.registry import Registry
from meltica_lab.runtime.results import RefreshResult
from meltica_lab.runtime.specs import InstanceSpec
from meltica_lab.selectors import Selector, is_full_hash, normalize_hash


@dataclass(frozen=True)
class Target:
    """One normalised target. ``text`` is its canonical form; ``strategy`` is set unless it is a bare
    hash; ``tag`` for tag targets; ``hashes`` the revisions it names; ``problem`` why it names none."""

    text: str
    strategy: str | None
    tag: str | None
    hashes: frozenset[str]
    by_hash: bool
    problem: str = ""

    def matches(self, spec: InstanceSpec) -> bool:
        """Whether ``spec`` is one of the instances this target refers to."""
        if self.strategy is not None and spec.strategy != self.strategy:
            return False
        if self.by_hash:
            return spec.hash in self.hashes
        if self.tag is None:
            return True
        return spec.follows(spec.strategy, self.tag) or spec.hash in self.hashes

    def unmatched(self, registry: Registry) -> RefreshResult:
        """The record for a target no instance matched."""
        digest = next(iter(sorted(self.hashes)), "")
        if self.problem:
            why = f"no instance uses it, and {self.problem}"
        else:
            owner = registry.all_hashes().get(digest, self.strategy or "")
            what = f"revision {owner}@{digest}" if digest else f"strategy {self.strategy}"
            why = f"no instance runs or follows it; {what} exists in the registry"
        return RefreshResult(
            selector=self.text,
            strategy=self.strategy or "",
            hash=digest,
            previous_hash=digest if self.by_hash else "",
            instances=(),
            reason="retired",
            detail=why,
        )


def _hash_target(text: str, name: str | None, known: Iterable[str], raw: str) -> Target:
    """A hash target; a prefix is expanded against every hash known (registry before/after, instances)."""
    digest = normalize_hash(text)
    if is_full_hash(digest):
        matches = [digest]
    else:
        matches = sorted({h for h in known if h.startswith(digest)})
        if len(matches) > 1:
            raise AmbiguousHashError(
                f"refresh target {raw!r}: hash prefix {digest} matches {len(matches)} revisions ({', '.join(matches)})",
                candidates=matches,
                selector=raw,
            )
    label = matches[0] if matches else digest
    problem = "" if matches else f"no known revision hash starts with {digest}"
    return Target(f"{name}@{label}" if name else label, name, None, frozenset(matches), True, problem)


def _selector_target(raw: str, registries: Sequence[Registry], known: Iterable[str]) -> Target:
    parsed = Selector.parse(raw)
    if parsed.hash is not None:
        return _hash_target(parsed.hash, parsed.name, known, raw)
    name = str(parsed.name)
    if parsed.tag is None:
        return Target(name, name, None, frozenset(), False)
    hashes: set[str] = set()
    problem = ""
    for registry in registries:
        try:
            hashes.add(registry.resolve(parsed).hash)
        except MelticaLabError as exc:
            problem = exc.message
    if hashes:
        problem = ""
    return Target(f"{name}:{parsed.tag}", name, parsed.tag, frozenset(hashes), False, problem)


def parse_targets(
    hashes: Iterable[str],
    strategies: Iterable[str],
    *,
    before: Registry,
    after: Registry,
    pinned: Iterable[str],
) -> list[Target]:
    """Normalise refresh targets; blank items are skipped (as the gateway does).

    Raises :class:`SelectorError` for malformed text and :class:`AmbiguousHashError` for a prefix
    matching several revisions, naming the target.
    """
    known = set(before.all_hashes()) | set(after.all_hashes()) | set(pinned)
    targets: list[Target] = []
    for raw in hashes:
        if isinstance(raw, str) and raw.strip():
            targets.append(_hash_target(raw.strip(), None, known, raw))
    for raw in strategies:
        if isinstance(raw, str) and raw.strip():
            targets.append(_selector_target(raw.strip(), (before, after), known))
    return targets
