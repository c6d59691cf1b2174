"""Resource limits for JavaScript run in V8, in one place.

Strategy code is untrusted: every call into V8 has a time limit and every isolate a heap limit.
The defaults suit interactive use; pass a different :class:`Limits` where a job needs more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from meltica_lab.errors import ConfigError

_MIN_ALLOWANCE_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Time and memory limits applied to a V8 isolate.

    ``eval_seconds`` bounds one module evaluation (top-level code, ``create``);
    ``call_seconds`` bounds one call from Python into V8 (one chunk of a backtest, one handler
    dispatch); ``heap_bytes`` is the hard heap limit of the isolate, and it also sets
    :attr:`memory_bytes`, the bound on all the memory the strategy holds (heap plus the typed-array
    and ArrayBuffer storage V8 keeps outside its heap). Every limit must be positive; anything else
    raises :class:`ConfigError` naming the limit.
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

    @property
    def memory_bytes(self) -> int:
        """How much the calls into one isolate may grow the process's resident memory: twice
        ``heap_bytes``, and at least ``heap_bytes`` + 1 GiB (2 GiB by default).

        V8's heap limit does not count typed-array backing stores, so without this bound a strategy
        holding large ``Float64Array`` s could take all of a notebook kernel's memory. The allowance
        is generous because resident memory also holds what V8 has not handed back yet: dropped
        typed arrays pile up to about 200 MiB before V8 frees them, and a strategy logging 500 MB
        of short-lived strings per event grew it by 560 MiB under a 128 MiB heap limit; neither may
        be stopped. Derived from ``heap_bytes`` rather than a limit of its own, so the one knob
        already recorded in every result's provenance sizes all of it.
        """
        return self.heap_bytes + max(self.heap_bytes, _MIN_ALLOWANCE_BYTES)

    def with_(self, **changes: float | int) -> Limits:
        """A copy with some limits changed, e.g. ``DEFAULT_LIMITS.with_(call_seconds=5)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_LIMITS = Limits()
