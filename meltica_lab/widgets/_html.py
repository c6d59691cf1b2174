"""Static HTML pieces shared by the widgets' ``to_html()`` representations.

Everything here returns self-contained HTML (figures are embedded as PNG data URIs), so an executed
notebook or its HTML export stays readable without a kernel or a widget manager.
"""

from __future__ import annotations

import base64
import html
import io
import traceback
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from meltica_lab.errors import MelticaLabError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

TABLE_ROWS = 500
"""Rows a table shows at most unless told otherwise (in a scrolling box, header in view); beyond that
a note says how many more there are and where they are."""

CELL_STYLE = "overflow-wrap:anywhere;text-align:left"
"""Cells wrap (a 64-hex hash breaks across lines) instead of pushing key columns off-screen; short,
because it is repeated on every cell (a widget's HTML is saved twice in a notebook)."""

VALUE_STYLE = "font-family:monospace;white-space:pre-wrap;overflow-wrap:anywhere;text-align:left"
"""Values read whole (hashes, selectors, checksums, config): monospace, wrapped, never cut."""


def escape(value: Any) -> str:
    """``value`` as text, HTML-escaped."""
    return html.escape(str(value))


def heading(text: str, level: int = 4) -> str:
    """A heading."""
    return f"<h{level}>{escape(text)}</h{level}>"


def paragraph(text: str) -> str:
    """A paragraph of plain text."""
    return f"<p>{escape(text)}</p>"


def definition_list(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column key/value table; values whole, in monospace, wrapped (never truncated)."""
    rows = "".join(
        f"<tr><th style='text-align:left;vertical-align:top;padding-right:1em;white-space:nowrap'>{escape(k)}</th>"
        f"<td style='{VALUE_STYLE}'>{escape(v)}</td></tr>"
        for k, v in items
    )
    return f"<table style='table-layout:auto;width:100%'>{rows}</table>"


def frame_table(
    frame: pd.DataFrame,
    *,
    rows: int = TABLE_ROWS,
    index: bool = True,
    empty: str = "No rows.",
    more: str = "",
) -> str:
    """A DataFrame as an HTML table in a scrolling box, header kept in view, cells wrapping.

    At most ``rows`` rows (a note says how many more there are and ``more``: where to find them);
    an empty frame is the ``empty`` message instead of a bare header.
    """
    if len(frame) == 0:
        return paragraph(empty)
    shown = frame.head(rows)
    table = shown.to_html(index=index, border=0, na_rep="", escape=True)
    head, _, body = table.partition("</thead>")
    sticky = f"<th style='{CELL_STYLE};position:sticky;top:0;background:var(--jp-layout-color1,#fff)'>"
    head = head.replace("<th>", sticky).replace("<table ", "<table style='table-layout:auto' ", 1)
    body = body.replace("<td>", f"<td style='{CELL_STYLE}'>").replace("<th>", f"<th style='{CELL_STYLE}'>")
    table = f"{head}</thead>{body}" if body else head
    out = f"<div class='meltica-table' style='max-height:32em;overflow:auto'>{table}</div>"
    if len(frame) > rows:
        out += paragraph(f"… {len(frame) - rows} more row(s) of {len(frame)}{': ' + more if more else ''}")
    return out


_PRE = "max-height:32em;overflow:auto;white-space:pre;overflow-wrap:normal;word-break:normal"


def code_block(text: str) -> str:
    """Preformatted text (source code), scrollable when long; lines are never broken mid-word."""
    return f"<pre style='{_PRE}'>{escape(text)}</pre>"


_DIFF_COLOURS = {"+": "background:#e6ffec;color:#116329", "-": "background:#ffebe9;color:#82071e", "@": "color:#0550ae"}


def diff_block(text: str) -> str:
    """A unified diff with added lines green, removed lines red and hunk headers blue."""
    lines = []
    for line in text.splitlines():
        style = "font-weight:bold" if line.startswith(("+++", "---")) else _DIFF_COLOURS.get(line[:1], "")
        lines.append(f"<span style='{style}'>{escape(line)}</span>" if style else escape(line))
    return f"<pre class='meltica-diff' style='{_PRE}'>" + "\n".join(lines) + "</pre>"


FIGURE_DPI = 72
"""Resolution of embedded figures: readable on screen, and small, since a widget's HTML is kept twice
(its output area and its static twin) in a saved notebook."""


def figure_png(figure: Figure) -> bytes:
    """A matplotlib figure rendered to PNG bytes (Agg, no GUI backend needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_figure(buffer, format="png", dpi=FIGURE_DPI)
    return buffer.getvalue()


def image(png: bytes, *, alt: str) -> str:
    """PNG bytes as an embedded ``<img>``."""
    encoded = base64.b64encode(png).decode("ascii")
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{encoded}' style='max-width:100%'>"


def error_html(exc: BaseException) -> str:
    """An exception as a readable block: the one-line message first, the traceback folded below it.

    meltica-lab errors carry their own readable message and location, so their traceback is only
    offered for a closer look; anything else is unexpected and shows its type.
    """
    if isinstance(exc, MelticaLabError):
        headline = f"{type(exc).__name__}: {exc.message}"
    else:
        headline = f"{type(exc).__name__}: {exc}"
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        "<div class='meltica-error' style='border-left:4px solid #c62828;padding:4px 8px;background:#fdecea'>"
        f"<b>Error</b> {escape(headline)}"
        f"<details><summary>traceback</summary>{code_block(trace)}</details></div>"
    )


def section(title: str, parts: Sequence[str]) -> str:
    """A titled block of HTML parts."""
    return f"<div class='meltica-widget'>{heading(title)}{''.join(parts)}</div>"
