"""A strategy config form generated from a module's ``metadata.config`` declarations.

One input per declared key, chosen by its declared type: ``int`` -> an integer box, ``float`` /
``number`` -> a number box, ``bool`` -> a checkbox, anything else (``string``, ``duration``, types the
gateway does not know) -> a text box. A numeric key without a default gets a text box, so that
"not given" stays expressible. The values go to ``run_backtest(config=...)``, which checks and coerces
them against the same declarations; ``dry_run`` starts unticked because a backtest ignores the
metadata default for it (see :mod:`meltica_lab.backtest.config`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets as widgets

from meltica_lab.backtest.config import DRY_RUN, ConfigFieldLike

_NUMBER_BOXES: dict[str, type[widgets.ValueWidget]] = {
    "int": widgets.IntText,
    "float": widgets.FloatText,
    "number": widgets.FloatText,
}
_LAYOUT = {"description_width": "10em"}


def _initial(field: ConfigFieldLike, given: Mapping[str, Any]) -> Any:
    if field.name in given:
        return given[field.name]
    if field.name == DRY_RUN:
        return False
    return field.default


def field_widget(field: ConfigFieldLike, value: Any) -> widgets.ValueWidget:
    """The input for one declared key, holding ``value`` (``None``: empty)."""
    declared = field.type.strip().lower()
    description = getattr(field, "description", "") or ""
    common = {"description": field.name, "tooltip": description, "style": _LAYOUT}
    box = _NUMBER_BOXES.get(declared)
    if box is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return box(value=value, **common)
    if declared == "bool":
        return widgets.Checkbox(value=bool(value), indent=False, **common)
    return widgets.Text(value="" if value is None else str(value), placeholder=declared, **common)


class ConfigForm(widgets.VBox):
    """Inputs for a strategy's declared config; :meth:`values` is what the user set."""

    def __init__(self, fields: Iterable[ConfigFieldLike], values: Mapping[str, Any] | None = None) -> None:
        given = dict(values or {})
        self.fields = tuple(fields)
        self.inputs: dict[str, widgets.ValueWidget] = {f.name: field_widget(f, _initial(f, given)) for f in self.fields}
        children = list(self.inputs.values()) or [widgets.HTML("<i>this strategy declares no config</i>")]
        super().__init__(children=children)

    def values(self) -> dict[str, Any]:
        """Every key with a value; an empty text box means "not given" and is left out."""
        out: dict[str, Any] = {}
        for name, box in self.inputs.items():
            value = box.value
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            out[name] = value
        return out
