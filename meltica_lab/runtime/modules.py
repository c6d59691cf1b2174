"""Module files on disk: storing an upload in the right layout, removing the files of deleted revisions.

A revision file goes to the tag layout (``<name>/<tag>/<name>.js``) unless that path already holds
other bytes, then to the hash layout (``<name>/<64hex>/<name>.js``); a file is never overwritten.
Removal happens only after the registry edit that dropped the revision was written, only inside the
root, and only for paths no remaining revision uses; directories left empty go with their file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from meltica_lab.errors import RegistryError
from meltica_lab.registry import Registry, content_hash, module_relpath, store_module


def store_revision_file(root: Path, source: bytes, *, name: str, tag: str) -> tuple[str, str, bool]:
    """Write ``source`` for ``name``; returns ``(hash, relative path, whether a new file was made)``."""
    digest = content_hash(source)
    tag_path = root / module_relpath(name, tag, digest, "tag")
    layout = "hash" if tag_path.exists() and tag_path.read_bytes() != source else "tag"
    existed = (root / module_relpath(name, tag, digest, layout)).exists()
    digest, rel = store_module(root, source, name=name, tag=tag, layout=layout)
    return digest, rel, not existed


def remove_revision_files(root: Path, relpaths: Iterable[str], remaining: Registry) -> list[str]:
    """Delete the given revision files (paths relative to ``root``) that ``remaining`` no longer uses.

    A path that resolves outside the root is refused with :class:`RegistryError`; a file already gone
    is skipped. Returns the paths removed.
    """
    base = root.resolve()
    used = {loc.path for entry in remaining.strategies.values() for loc in entry.hashes.values()}
    removed = []
    for rel in relpaths:
        if rel in used:
            continue
        target = (root / rel).resolve()
        if not target.is_relative_to(base) or target == base:
            raise RegistryError(f"refusing to delete {rel!r}: it resolves outside the root {base}", path=rel)
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        removed.append(rel)
        folder = target.parent
        while folder != base and folder.is_relative_to(base):
            with contextlib.suppress(OSError):  # not empty, or already gone: stop climbing
                folder.rmdir()
            if folder.exists():
                break
            folder = folder.parent
    return removed
