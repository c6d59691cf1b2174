"""Content hashes as the registry spells them: ``sha256:`` + 64 lower-case hex digits.

Every hash the kit writes (module files, market data, a sweep's shared columns) is built here, so the
spelling is defined once (ARCHITECTURE decision 3: the hash is the identity).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from meltica_lab.errors import UsageError

HASH_PREFIX = "sha256:"
"""What every hash starts with."""


class Hasher(Protocol):
    """What :func:`hash_text` reads from a hash object (``hashlib.sha256()``)."""

    name: str

    def hexdigest(self) -> str:
        """The digest as hex."""
        ...


def hash_text(hasher: Hasher) -> str:
    """The hash of everything fed to ``hasher`` (a ``hashlib.sha256()`` object) as ``sha256:<hex>``."""
    if hasher.name != "sha256":
        raise UsageError(f"hash_text: expected a sha256 hasher, got {hasher.name}", field="hasher")
    return HASH_PREFIX + hasher.hexdigest()


def content_hash(data: bytes) -> str:
    """The registry hash of module bytes: ``sha256:`` + lower-case hex, over the raw bytes."""
    return hash_text(hashlib.sha256(data))
