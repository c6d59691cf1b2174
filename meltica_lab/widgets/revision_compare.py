"""``RevisionCompare``: two or more revisions side by side: what changed in the source, how they trade.

The source diff is a unified diff between each picked revision and the next (in the picker's
order: by strategy, then semantic-version order of the tag), in colour. The backtest comparison runs
every picked revision over the same data (read once) with :func:`meltica_lab.backtest.compare`, one
at a time so the progress bar follows, and shows every summary row: one column per revision, named
``name:tag`` (:func:`meltica_lab.presentation.comparison_table`), the full pinned selector in the
first row. Changing the picks or the data clears a shown comparison.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from meltica_lab.backtest import compare, load_market_data
from meltica_lab.errors import UsageError
from meltica_lab.loader import Loader, Revision
from meltica_lab.presentation import comparison_table
from meltica_lab.widgets._html import definition_list, diff_block, frame_table, heading, paragraph
from meltica_lab.widgets.backtest_panel import data_picker, revision_label
from meltica_lab.widgets.base import LabWidget

_WIDE = widgets.Layout(width="40em")
_STYLE = {"description_width": "8em"}


def source_diff(old: Revision, new: Revision) -> str:
    """A unified diff of two revisions' sources (bytes verified against their hashes)."""
    before = old.read_source().decode("utf-8", errors="replace").splitlines(keepends=True)
    after = new.read_source().decode("utf-8", errors="replace").splitlines(keepends=True)
    diff = "".join(difflib.unified_diff(before, after, fromfile=revision_label(old), tofile=revision_label(new)))
    return diff or "(identical sources)\n"


class RevisionCompare(LabWidget):
    """Pick two or more revisions; :meth:`diff` shows what changed, :meth:`backtest` how they compare.

    ``selectors`` pre-selects revisions (any selector form). ``data`` (a file, files or a folder)
    feeds the comparison; ``config`` is applied to every revision; ``options`` go to
    :func:`meltica_lab.backtest.run_backtest` (seed, fees, fill model, ...).
    """

    title = "Revision comparison"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        data: str | Path | Sequence[str | Path] | None = None,
        loader: Loader | None = None,
        selectors: Sequence[str] = (),
        config: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        data_widget = data_picker(data)  # checked first: a missing file fails before anything loads
        self.loader = loader if loader is not None else Loader(root)
        self.config = dict(config or {})
        self.options = options
        self.comparison: pd.DataFrame | None = None
        revisions = self.loader.revisions()
        self.picker = widgets.SelectMultiple(
            options=[(revision_label(r), r.selector) for r in revisions],
            value=tuple(self.loader.resolve(s).selector for s in selectors),
            rows=min(10, max(len(revisions), 2)),
            description="revisions",
            layout=_WIDE,
            style=_STYLE,
        )
        self.data = data_widget
        auto = widgets.Layout(width="auto")
        self.diff_button = widgets.Button(
            description="Source diff", tooltip="what changed between the picked revisions", icon="code", layout=auto
        )
        self.run_button = widgets.Button(
            description="Compare backtests",
            tooltip="backtest every picked revision over the data",
            button_style="primary",
            icon="play",
            layout=auto,
        )
        self.progress = widgets.IntProgress(value=0, min=0, max=1, tooltip="", layout=widgets.Layout(width="16em"))
        self.stage = widgets.Label("idle", tooltip="")
        super().__init__(
            [self.picker, self.data, widgets.HBox([self.diff_button, self.run_button, self.progress, self.stage])]
        )
        self.diff_button.on_click(self.guarded(self.diff))
        self.run_button.on_click(self.guarded(self.backtest))
        for control in (self.picker, self.data):
            control.observe(lambda _: self._inputs_changed(), names="value")

    def _inputs_changed(self) -> None:
        if self.shown:
            self.comparison = None
            self.show([paragraph("The picks changed: press Source diff or Compare backtests again.")])
            self.progress.value, self.progress.bar_style, self.stage.value = 0, "", "idle"

    def picked(self) -> list[Revision]:
        """The picked revisions in picker order; :class:`UsageError` when fewer than two."""
        chosen = set(self.picker.value)
        revisions = [r for r in self.loader.revisions() if r.selector in chosen]
        if len(revisions) < 2:
            raise UsageError(f"pick two or more revisions to compare ({len(revisions)} picked)", field="revisions")
        return revisions

    def diff(self) -> list[str]:
        """Show (and return) the unified diff of each picked revision against the next."""
        revisions = self.picked()
        pairs = list(itertools.pairwise(revisions))
        diffs = [source_diff(a, b) for a, b in pairs]
        self.show(
            [
                part
                for (a, b), text in zip(pairs, diffs, strict=True)
                for part in (heading(f"{a.name}:{a.tag} -> {b.name}:{b.tag}", 5), diff_block(text))
            ]
        )
        return diffs

    def backtest(self) -> pd.DataFrame:
        """Backtest every picked revision over the chosen data; show and return the comparison table."""
        revisions = self.picked()
        self.run_button.disabled = True
        self.progress.max, self.progress.value, self.progress.bar_style = len(revisions) + 1, 0, "info"
        try:
            self.stage.value = "load the market data"
            market = load_market_data(self.data.value)
            rows = []
            for done, revision in enumerate(revisions, start=1):
                self.stage.value = f"run {revision.name}:{revision.tag} ({done} of {len(revisions)})"
                rows.append(compare([revision], market, config=self.config, progress=False, **self.options))
                self.progress.value = done
            table = pd.concat(rows)
        except Exception:
            self.progress.bar_style, self.stage.value = "danger", "failed"
            raise
        finally:
            self.run_button.disabled = False
        self.comparison = table
        readable = comparison_table(table, symbols=market.events.symbols)
        self.show([heading("Backtest comparison", 5), frame_table(readable, rows=len(readable))])
        self.progress.value, self.progress.bar_style = self.progress.max, "success"
        self.stage.value = f"done: {len(revisions)} revision(s)"
        return table

    def state_html(self) -> str:
        """The picked revisions and the data."""
        return definition_list([("revisions", ", ".join(self.picker.value) or "none"), ("data", self.data.value)])

    def describe(self) -> str:
        """How many revisions are picked, on which data."""
        return f"{len(self.picker.value)} revision(s) on {Path(self.data.value).name}"
