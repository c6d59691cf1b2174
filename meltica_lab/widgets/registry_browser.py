"""``RegistryBrowser``: strategies, their revisions (tags, hash, size, usage, retired), source, tag history.

The revision table is the gateway's module listing (:meth:`meltica_lab.runtime.Manager.modules`), so
the usage and ``retired`` flags mean exactly what they mean there: retired = no tag points at the
revision and no instance pins it. The tag history comes from
:func:`meltica_lab.analysis.tag_history_frame`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from meltica_lab.analysis import tag_history_frame
from meltica_lab.errors import NotFoundError
from meltica_lab.presentation import readable
from meltica_lab.runtime import Manager
from meltica_lab.widgets._html import code_block, definition_list, frame_table, heading
from meltica_lab.widgets.base import LabWidget

_STYLE = {"description_width": "8em"}
REVISION_COLUMNS = ["tag", "tags", "running", "instances", "retired", "size", "hash"]
"""Key columns first; the 71-character hash last, where it wraps instead of pushing the others off-screen."""


def revisions_table(module: dict[str, Any]) -> pd.DataFrame:
    """One row per revision of a module summary (``Manager.modules()["modules"][i]``), oldest first."""
    aliases: dict[str, str] = module.get("tagAliases") or {}
    rows = []
    for item in module.get("revisions") or ():
        running = item.get("running") or {}
        tags = sorted(t for t, h in aliases.items() if h == item["hash"])
        rows.append(
            (
                item.get("tag", ""),
                ", ".join(tags),
                running.get("count", 0),
                ", ".join(running.get("instances", ())),
                bool(item.get("retired")),
                item["size"],
                item["hash"],
            )
        )
    return pd.DataFrame(rows, columns=REVISION_COLUMNS)


class RegistryBrowser(LabWidget):
    """Pick a strategy to see its revisions; pick a revision to see its source; the strategy's tag history.

    ``source`` is a :class:`~meltica_lab.runtime.Manager` (its instances give the usage) or a
    strategies root (a Manager without instances is made for it). ``strategy`` picks the initial one
    (any case); a strategy the registry does not list is a :class:`NotFoundError` naming the known ones.
    """

    title = "Registry"

    def __init__(self, source: Manager | str | Path, *, strategy: str | None = None) -> None:
        self.manager = source if isinstance(source, Manager) else Manager(source)
        names = self.manager.loader.strategies()
        chosen = (strategy or (names[0] if names else "")).strip().lower() or None
        if chosen is not None and chosen not in names:
            raise NotFoundError(
                f"strategy {strategy!r}: not in {self.manager.root}; its strategies: {', '.join(names) or 'none'}",
                field="strategy",
            )
        self.strategy = widgets.Dropdown(
            options=names, value=chosen, description="strategy", tooltip="strategy", style=_STYLE
        )
        self.revision = widgets.Dropdown(
            description="revision", tooltip="revision", style=_STYLE, layout=widgets.Layout(width="40em")
        )
        self.table: pd.DataFrame = pd.DataFrame(columns=REVISION_COLUMNS)
        super().__init__([self.strategy, self.revision])
        self._load_strategy()
        self.strategy.observe(self.guarded(self._load_strategy), names="value")
        self.revision.observe(self.guarded(self._render), names="value")

    def _load_strategy(self) -> None:
        listing = self.manager.modules(strategy=self.strategy.value)
        modules = listing["modules"]
        self.table = revisions_table(modules[0]) if modules else pd.DataFrame(columns=REVISION_COLUMNS)
        options = [(f"{row.tag}  {row.hash[:19]}", row.hash) for row in self.table.itertuples()]
        self.revision.options = options
        self.revision.value = modules[0]["selectedRevisionHash"] if modules else None
        self._render()

    def _render(self) -> None:
        parts = [
            heading(f"Revisions of {self.strategy.value}", 5),
            frame_table(readable(self.table), rows=len(self.table), index=False),
        ]
        if self.revision.value:
            revision = self.manager.loader.resolve(f"{self.strategy.value}@{self.revision.value}")
            source = revision.read_source().decode("utf-8", errors="replace")
            parts += [heading(f"Source of {revision.name}:{revision.tag} ({revision.relpath})", 5), code_block(source)]
        history = tag_history_frame(self.manager.root, self.strategy.value)
        parts.append(heading("Tag history", 5))
        parts.append(frame_table(readable(history), rows=len(history), index=False, empty="No tag changes recorded."))
        self.show(parts)

    def state_html(self) -> str:
        """The picked strategy and revision."""
        return definition_list([("strategy", self.strategy.value), ("revision", self.revision.value)])

    def describe(self) -> str:
        """The picked strategy and how many revisions it has."""
        return f"{self.strategy.value}, {len(self.table)} revision(s)"
