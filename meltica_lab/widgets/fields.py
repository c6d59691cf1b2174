"""A text field that checks what is typed, and shows what is wrong right beside it.

ipywidgets' number boxes coerce silently in the browser (an integer box showing "2.7" holds 2, "abc"
reverts, a cleared box snaps back). Every value a user types in a meltica-lab widget is therefore a
text box whose text is parsed by the same rule ``run_backtest`` applies
(:func:`meltica_lab.backtest.config.check_value`, :func:`meltica_lab.backtest.options.parse_option`),
on every change: a problem shows in red beside the field, and a widget does not start a run while
any of its fields has one.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from meltica_lab.errors import MelticaLabError

NOT_GIVEN: Any = object()
"""What an empty optional field parses to: the key is left out and its default applies."""

STYLE = {"description_width": "10em"}

# Every control gets a tooltip, "" where there is nothing to say: ipywidgets renders a tooltip of None
# as the text "null" on the control's label.


class CheckedText(widgets.HBox):
    """A labelled text box and, beside it, its problem (red) or a hint (grey).

    ``parse`` turns the text into the value or raises a :class:`~meltica_lab.errors.MelticaLabError`
    whose message is shown; an empty box is :data:`NOT_GIVEN` when ``empty_hint`` is given (shown
    beside it, e.g. "empty: default 20 applies"), else it is parsed like any text.
    """

    def __init__(
        self,
        description: str,
        text: str,
        parse: Callable[[str], Any],
        *,
        tooltip: str = "",
        placeholder: str = "",
        empty_hint: str | None = None,
    ) -> None:
        self.parse = parse
        self.empty_hint = empty_hint
        self.box = widgets.Text(
            value=text,
            description=description,
            description_allow_html=False,
            placeholder=placeholder,
            tooltip=tooltip or description,
            style=STYLE,
            layout=widgets.Layout(width="26em"),
        )
        self.message = widgets.HTML(tooltip="", layout=widgets.Layout(margin="0 0 0 1em"))
        self.problem: str | None = None
        super().__init__([self.box, self.message])
        self.box.observe(lambda _: self.check(), names="value")
        self.check()

    @property
    def text(self) -> str:
        """The text as typed."""
        return self.box.value

    @text.setter
    def text(self, value: Any) -> None:
        self.box.value = str(value)

    def parsed(self) -> Any:
        """The parsed value (:data:`NOT_GIVEN` for an empty optional field); raises the parse error."""
        if not self.text.strip() and self.empty_hint is not None:
            return NOT_GIVEN
        return self.parse(self.text)

    def check(self) -> str | None:
        """Parse the text now; show and return the problem (``None`` when it fits)."""
        try:
            parsed = self.parsed()
        except MelticaLabError as exc:
            self.problem = exc.message
            self.message.value = (
                f"<span class='meltica-field-error' style='color:#c62828'>{html.escape(exc.message)}</span>"
            )
            return self.problem
        self.problem = None
        hint = self.empty_hint if parsed is NOT_GIVEN else ""
        self.message.value = f"<span style='color:#666'>{html.escape(hint)}</span>" if hint else ""
        return None
