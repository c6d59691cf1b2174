"""Resource limits for JavaScript run in V8, in one place.

Strategy code is untrusted: every call into V8 has a time limit and every isolate a heap limit.
The defaults suit interactive use; pass a different :class:`Limits` where a job needs more.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Limits:
    """Time and memory limits applied to a V8 isolate.

    ``eval_seconds`` bounds one module evaluation (top-level code, ``create``);
    ``call_seconds`` bounds one call from Python into V8 (one chunk of a backtest, one handler
    dispatch); ``heap_bytes`` is the hard heap limit of the isolate.
    """

    eval_seconds: float = 2.0
    call_seconds: float = 30.0
    heap_bytes: int = 1024 * 1024 * 1024

    def with_(self, **changes: float | int) -> Limits:
        """A copy with some limits changed, e.g. ``DEFAULT_LIMITS.with_(call_seconds=5)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_LIMITS = Limits()
