"""Selectors: how operators name a strategy revision.

Forms (the gateway's rules, compat notes §4): ``name`` (the default revision, normally ``latest``),
``name:tag`` (split at the last ``:``), ``name@hash`` (split at the first ``@``), and a bare hash
``sha256:<64 hex>`` or ``<64 hex>``. Names are case-insensitive and stored lower-cased; tags keep their
case. meltica-lab adds hash prefixes of at least 8 hex digits (``momentum@243dcc31``, or bare
``sha256:243dcc31``), resolved when unique.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meltica_lab.errors import SelectorError
from meltica_lab.files import shorten
from meltica_lab.hashing import HASH_PREFIX

MIN_PREFIX_DIGITS = 8
_HEX = re.compile(r"[0-9a-f]+")
_FULL_HEX = re.compile(r"[0-9a-f]{64}")


def normalize_hash(text: str, *, allow_prefix: bool = True) -> str:
    """``sha256:<hex>`` (lower-case) from ``sha256:<hex>``, ``<hex>`` or upper-case spellings.

    A hash of fewer than 64 digits is a prefix: accepted from ``MIN_PREFIX_DIGITS`` digits when
    ``allow_prefix``. Raises :class:`SelectorError` for anything else.
    """
    raw = text.strip()
    digits = raw.lower()
    if digits.startswith(HASH_PREFIX):
        digits = digits[len(HASH_PREFIX) :]
    if _FULL_HEX.fullmatch(digits):
        return HASH_PREFIX + digits
    if allow_prefix and MIN_PREFIX_DIGITS <= len(digits) < 64 and _HEX.fullmatch(digits):
        return HASH_PREFIX + digits
    wanted = f"or a prefix of at least {MIN_PREFIX_DIGITS} hex digits" if allow_prefix else "exactly"
    raise SelectorError(f"{shorten(raw)!r} is not a sha256 hash: expected 64 hex digits {wanted}", selector=raw)


def is_full_hash(text: str) -> bool:
    """True for a complete ``sha256:<64 lower-case hex>`` hash."""
    return text.startswith(HASH_PREFIX) and bool(_FULL_HEX.fullmatch(text[len(HASH_PREFIX) :]))


@dataclass(frozen=True)
class Selector:
    """A parsed selector. Exactly one of these shapes:

    - ``name`` only: the strategy's default revision;
    - ``name`` and ``tag``: the revision the tag points at;
    - ``name`` and ``hash``: that revision, which must belong to ``name``;
    - ``hash`` only (``name`` is ``None``): a bare hash, any strategy.

    ``hash`` is normalised to ``sha256:<hex>``; fewer than 64 digits make it a prefix.
    ``str(selector)`` is the canonical text and parses back to an equal selector.
    """

    name: str | None
    tag: str | None = None
    hash: str | None = None

    def __post_init__(self) -> None:
        if self.tag is not None and self.hash is not None:
            raise SelectorError("a selector names a tag or a hash, not both", selector=str(self))
        if self.name is None and self.hash is None:
            raise SelectorError("a selector without a strategy name must be a hash")

    @classmethod
    def parse(cls, text: str) -> Selector:
        """Parse selector text with the gateway's rules; raises :class:`SelectorError` when malformed."""
        if not isinstance(text, str):
            raise SelectorError(f"selector must be a string, got {type(text).__name__}")
        raw = text.strip()
        if not raw:
            raise SelectorError("selector is empty: expected name, name:tag, name@hash or a hash")
        lowered = raw.lower()
        bare = lowered[len(HASH_PREFIX) :] if lowered.startswith(HASH_PREFIX) else lowered
        if _FULL_HEX.fullmatch(bare) or (lowered.startswith(HASH_PREFIX) and _HEX.fullmatch(bare)):
            return cls(name=None, hash=_hash_part(raw, raw))
        if "@" in raw:
            name_part, _, ref = raw.partition("@")
            name = _name_part(name_part, raw)
            ref = ref.strip()
            if not ref and ":" not in name:
                # "a:b@" is how a name holding ':' is said alone; "name@" is a hash left out by mistake
                raise SelectorError(
                    f"selector {shorten(raw)!r} has an empty hash after '@': give the hash, or drop the '@' "
                    "for the default revision",
                    selector=raw,
                )
            return cls(name=name, hash=_hash_part(ref, raw) if ref else None)
        if ":" in raw:
            name_part, _, tag = raw.rpartition(":")
            name = _name_part(name_part, raw)
            tag = tag.strip()
            if name == HASH_PREFIX[:-1] and _HEX.fullmatch(tag.lower()):
                # "SHA256 : 0abc" is a hash spelled loosely, as "sha256:0abc" is: never a tag of a
                # strategy called sha256, whose text would then parse back as a hash
                return cls(name=None, hash=_hash_part(HASH_PREFIX + tag, raw))
            return cls(name=name, tag=tag or None)
        return cls(name=_name_part(raw, raw))

    @property
    def is_prefix(self) -> bool:
        """True when the hash is an abbreviation rather than a full 64-digit hash."""
        return self.hash is not None and not is_full_hash(self.hash)

    @property
    def kind(self) -> str:
        """``"name"``, ``"tag"``, ``"hash"`` (name@hash) or ``"bare-hash"``."""
        if self.name is None:
            return "bare-hash"
        if self.hash is not None:
            return "hash"
        return "tag" if self.tag is not None else "name"

    def __str__(self) -> str:
        if self.name is None:
            return str(self.hash)
        if self.hash is not None:
            return f"{self.name}@{self.hash}"
        if self.tag is not None:
            return f"{self.name}:{self.tag}"
        # "a:b" alone would read as tag b of a; the empty hash part of "a:b@" keeps the whole name
        return f"{self.name}@" if ":" in self.name else self.name


def _name_part(text: str, raw: str) -> str:
    name = text.strip().lower()
    if not name:
        raise SelectorError(f"selector {shorten(raw)!r} has no strategy name", selector=raw)
    return name


def _hash_part(text: str, raw: str) -> str:
    try:
        return normalize_hash(text)
    except SelectorError as exc:
        raise SelectorError(f"selector {shorten(raw)!r}: {exc.message}", selector=raw) from None
