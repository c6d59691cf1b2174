"""Diagnostics reported for a strategy module: the gateway's ``{stage, message, line, column, hint}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from meltica_lab.errors import ModuleError

Stage = Literal["compile", "execute", "validation"]

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
        """Inverse of :meth:`to_dict`; raises :class:`ModuleError` naming the field that does not fit."""
        if not isinstance(data, dict):
            raise ModuleError(f"diagnostic must be an object, got {type(data).__name__}")
        stage = data.get("stage")
        if stage not in get_args(Stage):
            raise ModuleError(f"diagnostic stage must be one of {get_args(Stage)}, got {stage!r}")
        fields: dict[str, Any] = {}
        for key, kind, default in (("message", str, ""), ("line", int, 0), ("column", int, 0), ("hint", str, "")):
            value = data.get(key, default)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ModuleError(f"diagnostic {key} must be {kind.__name__}, got {value!r}")
            fields[key] = value
        return cls(stage=stage, **fields)

    def describe(self) -> str:
        """One readable line: ``compile error at 3:7: Unexpected token (hint)``."""
        where = f" at {self.line}:{self.column}" if self.line else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.stage} error{where}: {self.message}{hint}"
