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

TABLE_ROWS = 20
"""Rows shown of a long table in a static representation."""


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
    """A two-column key/value table."""
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items
    )
    return f"<table>{rows}</table>"


def frame_table(frame: pd.DataFrame, *, rows: int = TABLE_ROWS, index: bool = True) -> str:
    """A DataFrame as an HTML table, the first ``rows`` rows, with a note of how many were left out."""
    shown = frame.head(rows)
    table = shown.to_html(index=index, border=0, na_rep="", escape=True)
    if len(frame) > rows:
        table += paragraph(f"… {len(frame) - rows} more row(s) of {len(frame)}")
    return table


def code_block(text: str) -> str:
    """Preformatted text (source code, a diff), scrollable when long."""
    return f"<pre style='max-height:32em;overflow:auto'>{escape(text)}</pre>"


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
