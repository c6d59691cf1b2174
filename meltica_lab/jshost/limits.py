"""Resource limits for JavaScript run in V8, in one place.

Strategy code is untrusted: every call into V8 has a time limit and every isolate a heap limit.
The defaults suit interactive use; pass a different :class:`Limits` where a job needs more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from meltica_lab.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    """Time and memory limits applied to a V8 isolate.

    ``eval_seconds`` bounds one module evaluation (top-level code, ``create``);
    ``call_seconds`` bounds one call from Python into V8 (one chunk of a backtest, one handler
    dispatch); ``heap_bytes`` is the hard heap limit of the isolate. Every limit must be positive;
    anything else raises :class:`ConfigError` naming the limit.
    """

    eval_seconds: float = 2.0
    call_seconds: float = 30.0
    heap_bytes: int = 1024 * 1024 * 1024

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            wanted = int if spec.name == "heap_bytes" else (int, float)
            # bool is an int to Python, but True seconds is a mistake, not a limit.
            if isinstance(value, bool) or not isinstance(value, wanted) or not math.isfinite(value) or value <= 0:
                kind = "a whole number of bytes" if spec.name == "heap_bytes" else "a number of seconds"
                raise ConfigError(f"Limits.{spec.name} must be {kind} above 0, got {value!r}", field=spec.name)

    def with_(self, **changes: float | int) -> Limits:
        """A copy with some limits changed, e.g. ``DEFAULT_LIMITS.with_(call_seconds=5)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_LIMITS = Limits()
