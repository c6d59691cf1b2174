"""A strategy config form generated from a module's ``metadata.config`` declarations.

One input per declared key: a checkbox for ``bool``, a checked text field
(:class:`~meltica_lab.widgets.fields.CheckedText`) for everything else, so what is typed is what
runs: the text is checked on every change by the rule ``run_backtest`` applies to the key
(:func:`meltica_lab.backtest.config.check_value`: its declared type and sane range), and a problem
shows beside the field instead of being rounded, truncated or reverted. An empty field means "not
given": the declared default applies (the hint beside it says which), or, for a required key without
one, it is a problem. ``dry_run`` starts unticked because a backtest ignores the metadata default for
it (see :mod:`meltica_lab.backtest.config`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipywidgets as widgets

from meltica_lab.backtest.config import DRY_RUN, ConfigFieldLike, check_value
from meltica_lab.errors import ConfigError
from meltica_lab.widgets.fields import NOT_GIVEN, STYLE, CheckedText


def _initial(field: ConfigFieldLike, given: Mapping[str, Any]) -> Any:
    if field.name in given:
        return given[field.name]
    if field.name == DRY_RUN:
        return False
    return field.default


def as_text(value: Any) -> str:
    """A config value as the text a field shows (``None``: empty; floats in their shortest exact form)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def _parser(field: ConfigFieldLike, where: str) -> Callable[[str], Any]:
    return lambda text: check_value(field, text, where=where)


def field_widget(field: ConfigFieldLike, value: Any, *, where: str = "config") -> widgets.Widget:
    """The input for one declared key, holding ``value`` (``None``: empty)."""
    description = getattr(field, "description", "") or ""
    if field.type.strip().lower() == "bool":
        return widgets.Checkbox(
            value=bool(value), indent=False, description=field.name, tooltip=description or field.name, style=STYLE
        )
    if field.default is not None:
        hint = f"empty: the default {as_text(field.default) or '(empty text)'} applies"
    elif field.required:
        hint = None
    else:
        hint = "empty: not given"
    return CheckedText(
        field.name,
        as_text(value),
        _parser(field, where),
        tooltip=description,
        placeholder=field.type.strip() or "value",
        empty_hint=hint,
    )


class ConfigForm(widgets.VBox):
    """Inputs for a strategy's declared config; :meth:`values` is what the user set, checked.

    ``strategy`` names the strategy in messages (``config for <strategy>: <key>: expected ...``).
    """

    def __init__(
        self, fields: Iterable[ConfigFieldLike], values: Mapping[str, Any] | None = None, *, strategy: str = ""
    ) -> None:
        given = dict(values or {})
        self.fields = tuple(fields)
        where = f"config for {strategy}" if strategy else "config"
        self.inputs: dict[str, widgets.Widget] = {
            f.name: field_widget(f, _initial(f, given), where=where) for f in self.fields
        }
        children = list(self.inputs.values()) or [widgets.HTML("<i>this strategy declares no config</i>", tooltip="")]
        super().__init__(children=children)

    def problems(self) -> dict[str, str]:
        """Every field whose text does not fit, with the message shown beside it."""
        return {
            name: box.problem
            for name, box in self.inputs.items()
            if isinstance(box, CheckedText) and box.check() is not None
        }

    def values(self) -> dict[str, Any]:
        """Every key with a value, parsed and checked; empty fields are left out (their default applies).

        A field that does not fit is a :class:`ConfigError` naming it (and every other one that does not).
        """
        problems = self.problems()
        if problems:
            first = next(iter(problems))
            raise ConfigError("; ".join(problems.values()), field=first)
        out: dict[str, Any] = {}
        for name, box in self.inputs.items():
            value = box.parsed() if isinstance(box, CheckedText) else box.value
            if value is not NOT_GIVEN:
                out[name] = value
        return out

    def observe_values(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever any field changes."""
        for box in self.inputs.values():
            target = box.box if isinstance(box, CheckedText) else box
            target.observe(lambda _: callback(), names="value")
