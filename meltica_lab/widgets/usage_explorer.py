"""``UsageExplorer``: which revisions run where, filtered, a page at a time, with a drill-down.

The rows are :func:`meltica_lab.analysis.usage_frame` of the source (a usage export from a file, a
gateway URL or a dict, a :class:`~meltica_lab.usage.UsageExport`, or a
:class:`~meltica_lab.runtime.Manager`). Drilling into a row shows the revision's usage record and its
instances: with a Manager, the instance summaries of ``Manager.usage(selector)`` (stopped ones too);
with an export, the instance ids the export lists.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from meltica_lab.analysis import usage_frame
from meltica_lab.errors import UsageError
from meltica_lab.presentation import readable
from meltica_lab.runtime import Manager
from meltica_lab.widgets._html import definition_list, frame_table, heading, paragraph
from meltica_lab.widgets.base import LabWidget

ALL = "(all)"
_STYLE = {"description_width": "6em"}
SHOWN_COLUMNS = ("strategy", "count", "running", "first_seen", "last_seen", "instances", "hash")
"""What a page shows, key columns first; the hash last, where it wraps."""


def filter_usage(frame: pd.DataFrame, *, strategy: str | None, hash_prefix: str, running_only: bool) -> pd.DataFrame:
    """The rows of one strategy (``None``: all) whose hash starts with ``hash_prefix`` (with or without
    ``sha256:``, any case), only running ones when ``running_only``; the index is reset."""
    keep = pd.Series(True, index=frame.index)
    if strategy is not None:
        keep &= frame["strategy"].astype(str) == strategy
    prefix = hash_prefix.strip().lower().removeprefix("sha256:")
    if prefix:
        keep &= frame["hash"].astype(str).str.lower().str.removeprefix("sha256:").str.startswith(prefix)
    if running_only:
        keep &= frame["running"]
    return frame[keep.to_numpy()].reset_index(drop=True)


def _when(value: Any) -> str:
    return "never" if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()


class UsageExplorer(LabWidget):
    """Filters (strategy, hash prefix, running only), pages of ``page_size`` rows, and a drill-down."""

    title = "Usage"

    def __init__(self, source: Any, *, page_size: int = 10) -> None:
        if not isinstance(page_size, int) or page_size < 1:
            raise UsageError(f"page_size: expected a positive integer, got {page_size!r}", field="page_size")
        self.source = source
        self.frame = usage_frame(source)
        self.page_size = page_size
        self.page = 0
        self.rows = self.frame
        names = sorted(set(self.frame["strategy"].astype(str)))
        self.strategy = widgets.Dropdown(
            options=[ALL, *names], value=ALL, description="strategy", tooltip="only this strategy", style=_STYLE
        )
        self.hash = widgets.Text(description="hash", placeholder="prefix", tooltip="hash prefix", style=_STYLE)
        self.running_only = widgets.Checkbox(description="running only", tooltip="only running revisions", indent=False)
        auto = widgets.Layout(width="auto")
        self.previous = widgets.Button(description="previous", tooltip="previous page", icon="arrow-left", layout=auto)
        self.next = widgets.Button(description="next", tooltip="next page", icon="arrow-right", layout=auto)
        self.position = widgets.Label(tooltip="")
        self.detail = widgets.Dropdown(
            description="drill into", tooltip="a row to look into", style=_STYLE, layout=widgets.Layout(width="40em")
        )
        super().__init__(
            [
                widgets.HBox([self.strategy, self.hash, self.running_only]),
                widgets.HBox([self.previous, self.next, self.position]),
                self.detail,
            ]
        )
        self.apply_filters()
        for control in (self.strategy, self.hash, self.running_only):
            control.observe(self.guarded(self.apply_filters), names="value")
        self.previous.on_click(self.guarded(lambda: self.turn(-1)))
        self.next.on_click(self.guarded(lambda: self.turn(1)))
        self.detail.observe(self.guarded(self._render), names="value")

    @property
    def pages(self) -> int:
        """How many pages the filtered rows fill (at least one)."""
        return max(1, math.ceil(len(self.rows) / self.page_size))

    def current(self) -> pd.DataFrame:
        """The rows of the current page."""
        start = self.page * self.page_size
        return self.rows.iloc[start : start + self.page_size]

    def apply_filters(self) -> None:
        """Filter with the current control values and go back to the first page."""
        chosen = None if self.strategy.value == ALL else self.strategy.value
        self.rows = filter_usage(
            self.frame, strategy=chosen, hash_prefix=self.hash.value, running_only=self.running_only.value
        )
        self.page = 0
        self._paged()

    def turn(self, step: int) -> None:
        """Move ``step`` pages (clamped to the first and last page)."""
        self.page = min(max(self.page + step, 0), self.pages - 1)
        self._paged()

    def _paged(self) -> None:
        page = self.current()
        first = self.page * self.page_size
        self.position.value = (
            f"rows {first + 1 if len(page) else 0}-{first + len(page)} of {len(self.rows)}, "
            f"page {self.page + 1} of {self.pages}"
        )
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1
        options = [
            (f"{row.strategy}@{row.hash[:19]}  ({row.count} running)", index)
            for index, row in zip(page.index, page.itertuples(), strict=True)
        ]
        with self.detail.hold_trait_notifications():
            self.detail.options = [("(none)", None), *options]
            self.detail.value = None
        self._render()

    def drill_down(self, index: int) -> list[str]:
        """HTML parts describing filtered row ``index``: its usage record and its instances."""
        row = self.rows.loc[index]
        selector = f"{row['strategy']}@{row['hash']}"
        parts = [
            heading(f"Usage of {selector}", 5),
            definition_list(
                [
                    ("running instances", row["count"]),
                    ("first seen", _when(row["first_seen"])),
                    ("last seen", _when(row["last_seen"])),
                ]
            ),
        ]
        if isinstance(self.source, Manager):
            answer = self.source.usage(selector, include_stopped=True)
            instances = pd.DataFrame(answer["instances"])
            parts += [
                heading(f"Instances ({answer['total']}, stopped ones included)", 5),
                frame_table(instances, index=False) if len(instances) else paragraph("No instances."),
            ]
        else:
            found = row["instances"]
            ids = [str(i) for i in found] if isinstance(found, list | tuple | np.ndarray) else []
            parts += [heading("Running instance ids", 5), paragraph(", ".join(ids) or "none")]
        return parts

    def _render(self) -> None:
        page = self.current()
        shown = readable(page[[c for c in SHOWN_COLUMNS if c in page.columns]])
        parts = [frame_table(shown, rows=self.page_size, empty=self._empty_message())]
        if self.detail.value is not None:
            parts += self.drill_down(self.detail.value)
        self.show(parts)

    def _empty_message(self) -> str:
        if not len(self.frame):
            return "The usage source has no rows."
        return (
            f"No usage rows match these filters (strategy {self.strategy.value}, hash prefix "
            f"{self.hash.value.strip() or 'any'}, running only {'yes' if self.running_only.value else 'no'}); "
            f"{len(self.frame)} row(s) in all."
        )

    def state_html(self) -> str:
        """The filters and the page."""
        return definition_list(
            [
                ("strategy", self.strategy.value),
                ("hash prefix", self.hash.value or "any"),
                ("running only", self.running_only.value),
                ("page", self.position.value),
            ]
        )

    def describe(self) -> str:
        """How many rows pass the filters."""
        return f"{len(self.rows)} of {len(self.frame)} revision usage row(s)"
