"""What every meltica-lab widget shares: a live ipywidgets view, a static HTML twin, guarded callbacks.

A widget renders its results as HTML parts and shows the same parts in two places: its ``Output``
widget (live, in JupyterLab) and :meth:`LabWidget.to_html` (executed notebooks and HTML exports,
where no widget state is kept). Callbacks run through :meth:`LabWidget.guarded`: an exception
never disappears into the kernel log, it replaces the results with a readable error block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from meltica_lab.widgets._html import error_html, section


def html_output(part: str) -> dict[str, Any]:
    """One HTML part as an Output-widget display item (built directly, so no IPython shell is needed)."""
    return {
        "output_type": "display_data",
        "data": {"text/html": part, "text/plain": "[HTML output: open in JupyterLab or the HTML report]"},
        "metadata": {},
    }


def blank_tooltips(widget: widgets.Widget) -> None:
    """Give every control under ``widget`` without a tooltip an empty one: ipywidgets renders a tooltip
    of ``None`` as the text "null" on a control's label."""
    if getattr(widget, "tooltip", "") is None and widget.has_trait("description"):
        widget.tooltip = ""
    for child in getattr(widget, "children", ()):
        blank_tooltips(child)


class LabWidget(widgets.VBox):
    """Base of the meltica-lab widgets: ``controls`` above an ``output`` area.

    Subclasses set ``title`` and implement :meth:`state_html` (their controls' current values as
    static HTML) and :meth:`describe` (one line of text).
    """

    title = "meltica-lab"

    def __init__(self, controls: Sequence[widgets.Widget], **kwargs: Any) -> None:
        self.output = widgets.Output()
        self.error: BaseException | None = None
        self._shown: tuple[str, ...] = ()
        super().__init__(children=[*controls, self.output], **kwargs)
        blank_tooltips(self)
        # CSS hooks, so a page (and a browser test) can find a widget by kind
        self.add_class("meltica-lab-widget")
        self.add_class(f"meltica-{type(self).__name__.lower()}")

    # -- static representation ----------------------------------------------------------------------
    def state_html(self) -> str:
        """The controls' current values as HTML."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying what the widget shows."""
        raise NotImplementedError

    def to_html(self) -> str:
        """The widget as static HTML: its state and whatever its output area shows."""
        return section(self.title, [self.state_html(), *self._shown])

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # JupyterLab prefers the widget view; nbconvert falls back to text/html without widget state.
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self.to_html()
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"

    # -- output -------------------------------------------------------------------------------------
    @property
    def shown(self) -> tuple[str, ...]:
        """The HTML parts the output area shows now."""
        return self._shown

    def show(self, parts: Sequence[str]) -> None:
        """Replace the output area's content with ``parts`` (HTML)."""
        self._shown = tuple(parts)
        self.output.outputs = tuple(html_output(p) for p in self._shown)

    def show_error(self, exc: BaseException) -> None:
        """Show ``exc`` readably in the output area and keep it in :attr:`error`."""
        self.error = exc
        self.show([error_html(exc)])

    def guarded(self, action: Callable[[], object]) -> Callable[..., None]:
        """A widget callback running ``action``; any exception is shown in the output area."""

        def callback(*_: object) -> None:
            self.error = None
            try:
                action()
            except Exception as exc:  # shown to the user in the output area, never lost
                self.show_error(exc)

        return callback
