"""Diagnostics reported for a strategy module: the gateway's ``{stage, message, line, column, hint}``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

Stage = Literal["compile", "execute", "validation"]
STAGES: tuple[str, ...] = get_args(Stage)
"""The stages a diagnostic can come from, in the order a module passes through them."""

_MAX_MESSAGE = 256
# A trailing location such as " at <eval>:3:5(7)" or " at (strategy.js:3:5)"; only one is removed.
_LOCATION_SUFFIX = re.compile(r" at \(?[^ ]*:\d+(?::\d+)?(?:\(\d+\))?\)?$")
# Go's unicode.IsSpace, which the gateway's strings.TrimSpace uses. Python's str.strip() differs: it
# also strips U+001C..U+001F, so a name such as "\x1fabc" would be trimmed here but not there.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))


def trim_space(text: str) -> str:
    """Trim leading and trailing white space exactly as the gateway does (Go ``strings.TrimSpace``)."""
    return text.strip(_GO_SPACE)


def clean_message(text: str) -> str:
    """The gateway's message rule: first line, no trailing `` at …`` suffix, at most 256 code points."""
    first = trim_space(trim_space(text or "").split("\n", 1)[0])
    first = _LOCATION_SUFFIX.sub("", first)
    return first[:_MAX_MESSAGE] or "unknown error"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a module. ``line``/``column`` are 1-based, 0 when unknown."""

    stage: Stage
    message: str
    line: int = 0
    column: int = 0
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Gateway JSON: ``line``/``column`` omitted when 0, ``hint`` omitted when empty."""
        out: dict[str, Any] = {"stage": self.stage, "message": self.message}
        if self.line:
            out["line"] = self.line
        if self.column:
            out["column"] = self.column
        if self.hint:
            out["hint"] = self.hint
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Diagnostic:
        """Inverse of :meth:`to_dict`.

        Raises ``KeyError`` for a missing ``stage`` or ``message``, ``ValueError`` for an unknown stage
        and ``TypeError`` for a field of the wrong type, each naming the field: callers that read
        diagnostics from untrusted JSON catch those three and skip the item.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"diagnostic must be an object, got {type(data).__name__}")
        stage = data["stage"]
        if stage not in STAGES:
            raise ValueError(f"diagnostic stage must be one of {', '.join(STAGES)}, got {stage!r}")
        fields: dict[str, Any] = {"message": data["message"]}
        for key, default in (("line", 0), ("column", 0), ("hint", "")):
            fields[key] = data.get(key, default)
        for key, value in fields.items():
            text = key in ("message", "hint")
            if not isinstance(value, str if text else int) or isinstance(value, bool):
                raise TypeError(f"diagnostic {key} must be {'text' if text else 'a whole number'}, got {value!r}")
        return cls(stage=stage, **fields)

    def describe(self) -> str:
        """One readable line: ``compile error at 3:7: Unexpected token (hint)``."""
        where = f" at {self.line}:{self.column}" if self.line else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.stage} error{where}: {self.message}{hint}"
