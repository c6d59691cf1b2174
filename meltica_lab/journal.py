"""The write-ahead journal of one registry transaction: what it creates, what it trashes, and how far
it got, so that a crash at any point leaves the registry, its module files and its tag history
consistent once the next transaction opens.

A transaction (held under the registry lock by :func:`meltica_lab.registry.edit_registry`) goes:

1. before a module file is created, its path is written to the intent file ``.registry.intent.json``;
2. files of removed revisions are *moved* into the trash ``.registry.trash/<id>/`` (listed first);
3. the intent is marked ``commit`` with the registry's new digest and the tag history's length;
4. the tag-history lines are appended, then ``registry.json`` is replaced;
5. the trash and the intent are deleted.

:func:`recover` runs first in every transaction. An intent whose new registry is on disk was committed:
its trash is emptied. Any other intent is rolled back: created files removed, trashed files put back,
the history cut to its recorded length. Either way the temporary files a crash left are removed. So a
crash never leaves a registered revision without its file, a pruned file outside the trash (where a
later migration would register it again), or a tag move without its history line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meltica_lab.errors import RegistryError
from meltica_lab.files import fsync_dir, read_json, remove_stale_temps, resolve_link, write_atomic

INTENT_FILE = ".registry.intent.json"
TRASH_DIR = ".registry.trash"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


@dataclass
class Journal:
    """The journal of the transaction in progress (one per :func:`edit_registry` block, under the lock)."""

    root: Path
    registry: Path
    history: Path
    ident: str = field(default_factory=lambda: secrets.token_hex(8))
    created: list[str] = field(default_factory=list)
    trashed: list[str] = field(default_factory=list)

    @property
    def intent(self) -> Path:
        return self.root / INTENT_FILE

    @property
    def trash(self) -> Path:
        return self.root / TRASH_DIR / self.ident

    def _write(self, state: str, **extra: Any) -> None:
        document = {"id": self.ident, "state": state, "created": self.created, "trashed": self.trashed, **extra}
        write_atomic(self.intent, (json.dumps(document, indent=1) + "\n").encode("utf-8"))

    def will_create(self, rel: str) -> None:
        """Record, before it is written, that the transaction creates the module file ``rel``."""
        self.created.append(rel)
        self._write("prepare")

    def move_to_trash(self, rels: list[str]) -> None:
        """Move the files of removed revisions into this transaction's trash (recorded first)."""
        if not rels:
            return
        self.trashed.extend(rels)
        self._write("prepare")
        for rel in rels:
            source = self.root / rel
            if not source.exists() and not source.is_symlink():
                continue
            target = self.trash / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            _remove_empty_parents(source.parent, self.root)
        fsync_dir(self.root)

    def commit(self, registry_text: bytes, history_text: bytes, append_history: Any) -> None:
        """Mark the commit, append the history, replace the registry, then empty the trash."""
        offset = _size(self.history)
        self._write("commit", registry_sha256=_digest(registry_text), history_length=offset)
        if history_text:
            append_history(history_text)
        write_atomic(self.registry, registry_text)
        self.finish()

    def finish(self) -> None:
        """Drop the trash and the intent: the transaction is complete."""
        shutil.rmtree(self.trash, ignore_errors=True)
        _remove_empty_parents(self.trash.parent, self.root)
        with contextlib.suppress(FileNotFoundError):
            self.intent.unlink()

    def roll_back(self, history_length: int | None = None) -> None:
        """Undo a transaction that did not commit: created files go, trashed files come back."""
        _roll_back(self.root, self.ident, self.created, self.trashed, self.history, history_length)
        with contextlib.suppress(FileNotFoundError):
            self.intent.unlink()


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _remove_empty_parents(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents while they are empty, never ``root`` itself."""
    base = root.resolve()
    current = folder
    while current.resolve() != base and current.resolve().is_relative_to(base):
        try:
            current.rmdir()
        except OSError:  # not empty, or gone: stop climbing
            return
        current = current.parent


def _roll_back(
    root: Path, ident: str, created: list[str], trashed: list[str], history: Path, history_length: int | None
) -> None:
    trash = root / TRASH_DIR / ident
    for rel in created:
        path = root / rel
        remove_stale_temps(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        _remove_empty_parents(path.parent, root)
    for rel in trashed:
        kept = trash / rel
        if kept.exists() or kept.is_symlink():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(kept, root / rel)
    shutil.rmtree(trash, ignore_errors=True)
    _remove_empty_parents(trash.parent, root)
    if history_length is not None and _size(history) > history_length:
        with open(resolve_link(history), "r+b") as handle:
            handle.truncate(history_length)
            os.fsync(handle.fileno())


def recover(root: Path, registry: Path, history: Path) -> str | None:
    """Finish or undo what a crashed transaction left (see the module docs); call under the lock.

    Returns ``"committed"`` or ``"rolled back"`` when there was an intent, else ``None``.
    """
    remove_stale_temps(registry)
    intent = root / INTENT_FILE
    remove_stale_temps(intent)
    outcome = None
    try:
        document = read_json(intent, what="registry intent", error=RegistryError)
    except FileNotFoundError:
        document = None
    if document is not None:
        if not isinstance(document, dict) or not isinstance(document.get("id"), str):
            raise RegistryError(
                f"{intent}: not a registry intent; move it away if no crashed edit is to be undone", path=str(intent)
            )
        ident = document["id"]
        created = [str(p) for p in document.get("created", [])]
        trashed = [str(p) for p in document.get("trashed", [])]
        for rel in created:
            remove_stale_temps(root / rel)
        if document.get("state") == "commit" and _file_digest(registry) == document.get("registry_sha256"):
            Journal(root, registry, history, ident).finish()
            outcome = "committed"
        else:
            length = document.get("history_length") if document.get("state") == "commit" else None
            _roll_back(root, ident, created, trashed, history, length if isinstance(length, int) else None)
            intent.unlink()
            outcome = "rolled back"
    # A trash left without an intent (a crash after the intent was removed) holds nothing registered.
    shutil.rmtree(root / TRASH_DIR, ignore_errors=True)
    return outcome
