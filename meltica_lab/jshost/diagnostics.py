"""Diagnostics reported for a strategy module: the gateway's ``{stage, message, line, column, hint}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Stage = Literal["compile", "execute", "validation"]

_MAX_MESSAGE = 256
_LOCATION_SUFFIX = re.compile(r" at \(?[^ ]*:\d+(?::\d+)?\)?$")


def clean_message(text: str) -> str:
    """The gateway's message rule: first line, no trailing `` at …`` suffix, at most 256 code points."""
    stripped = (text or "").strip()
    first = stripped.splitlines()[0].strip() if stripped else ""
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
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        """Inverse of :meth:`to_dict`."""
        return cls(
            stage=data["stage"],
            message=data["message"],
            line=int(data.get("line", 0)),
            column=int(data.get("column", 0)),
            hint=data.get("hint", ""),
        )

    def describe(self) -> str:
        """One readable line: ``compile error at 3:7: Unexpected token (hint)``."""
        where = f" at {self.line}:{self.column}" if self.line else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.stage} error{where}: {self.message}{hint}"
