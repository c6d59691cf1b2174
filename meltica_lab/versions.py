"""Semantic-version order for tags, so that ``v1.10.0`` is newer than ``v1.9.0``.

The reference bootstrap picked ``latest`` by plain string order; meltica-lab uses semver precedence
(semver.org §11): ``v``/``V`` prefix optional, missing minor/patch count as 0, a pre-release sorts before
its release, build metadata is ignored. Tags that are not versions sort before every version, by text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEMVER = re.compile(
    r"[vV]?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)

VersionKey = tuple[int, tuple[int, int, int], int, tuple[tuple[int, int | str], ...], str]


def is_version(tag: str) -> bool:
    """True when ``tag`` reads as a (possibly ``v``-prefixed) semantic version."""
    return _SEMVER.fullmatch(tag.strip()) is not None


def version_key(tag: str) -> VersionKey:
    """A sort key giving semantic-version precedence; non-versions sort first, by text."""
    text = tag.strip()
    match = _SEMVER.fullmatch(text)
    if match is None:
        return (0, (0, 0, 0), 0, (), text)
    core = (int(match["major"]), int(match["minor"] or 0), int(match["patch"] or 0))
    pre = match["pre"]
    if pre is None:
        return (1, core, 1, (), text)
    # Numeric identifiers sort below alphanumeric ones (semver §11.4.3).
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (1, core, 0, ids, text)  # type: ignore[return-value]


def newest(tags: Iterable[str]) -> str | None:
    """The highest tag in semantic-version order (``latest`` itself is skipped), or ``None``."""
    candidates = [t for t in tags if t != "latest"]
    return max(candidates, key=version_key) if candidates else None
