"""One V8 isolate (mini-racer) prepared as a sandbox, with limits on every call.

mini-racer installs ``setTimeout``/``clearTimeout`` and V8 a ``console`` that writes to stdout; the
sandbox removes them so that strategy code sees only ECMAScript built-ins plus what the host hands
it explicitly. Every evaluation has a time limit, the isolate a hard heap limit. JavaScript failures
come back as :class:`JSError` (with line and column when V8 gives them), limits as
:class:`JSLimitError`; after a heap-limit stop the isolate is marked ``broken`` and must be replaced.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from py_mini_racer import (
    JSEvalException,
    JSOOMException,
    JSParseException,
    JSTimeoutException,
    MiniRacer,
)

from meltica_lab.errors import MelticaLabError, StrategyRuntimeError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits

_PRELUDE = """
(function () {
  "use strict";
  const g = globalThis;
  // mini-racer declares its timer helpers as non-configurable globals: blank what cannot be deleted.
  for (const name of ["setTimeout", "clearTimeout", "__timer_manager", "WebAssembly"]) {
    if (!Reflect.deleteProperty(g, name)) g[name] = undefined;
  }
  const noop = function () {};
  g.console = Object.freeze({ log: noop, error: noop, warn: noop, info: noop, debug: noop });
})();
"""

_HEAD_RE = re.compile(r"^<anonymous>:(\d+): (.*)$")
_FRAME_RE = re.compile(r"<anonymous>:(\d+):(\d+)")


class JSError(MelticaLabError):
    """A JavaScript exception or syntax error escaped an evaluation.

    ``stage`` is ``compile`` for syntax errors and ``execute`` for thrown values; ``js_message``
    is V8's text (``TypeError: x is not a function``); ``line``/``column`` are 1-based, 0 if unknown.
    """

    def __init__(self, js_message: str, *, stage: str, line: int = 0, column: int = 0) -> None:
        where = f" (line {line}, column {column})" if line else ""
        super().__init__(f"{js_message}{where}")
        self.js_message = js_message
        self.stage = stage
        self.line = line
        self.column = column


class JSLimitError(StrategyRuntimeError):
    """An evaluation passed its time limit (``kind="time"``) or the heap limit (``kind="heap"``)."""

    def __init__(self, message: str, *, kind: str, strategy: str | None = None, handler: str | None = None):
        super().__init__(message, strategy=strategy, handler=handler)
        self.kind = kind


def _parse_v8_error(text: str, *, stage: str) -> JSError:
    lines = text.splitlines()
    head = _HEAD_RE.match(lines[0]) if lines else None
    line = int(head.group(1)) if head else 0
    message = head.group(2) if head else (lines[0] if lines else "unknown error")
    column = 0
    if stage == "compile":
        # V8 prints the source line, then carets under the offending token.
        for caret_line in lines[2:3]:
            stripped = caret_line.lstrip(" ")
            if stripped.startswith("^"):
                column = len(caret_line) - len(stripped) + 1
    else:
        frame = _FRAME_RE.search("\n".join(lines[1:]))
        if frame:
            line, column = int(frame.group(1)), int(frame.group(2))
    return JSError(message, stage=stage, line=line, column=column)


def runtime_file(name: str) -> str:
    """The text of a JavaScript runtime file shipped in ``meltica_lab/jshost/js``."""
    return resources.files("meltica_lab.jshost").joinpath("js", name).read_text(encoding="utf-8")


class Isolate:
    """A sandboxed V8 isolate. Use as a context manager or call :meth:`close`.

    ``eval`` runs code under ``limits.call_seconds`` unless a time is given; ``eval_json`` returns
    a JSON-decoded value (the reliable way to bring structured results back to Python).
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.broken = False
        self._racer = MiniRacer()
        self._racer.set_hard_memory_limit(limits.heap_bytes)
        self._racer.eval(_PRELUDE)

    @property
    def v8_version(self) -> str:
        """The V8 version of this isolate."""
        return str(self._racer.v8_version)

    def eval(self, code: str, *, seconds: float | None = None) -> Any:
        """Evaluate ``code``; raises :class:`JSError` or :class:`JSLimitError`."""
        if self.broken:
            raise JSLimitError("isolate unusable after reaching its heap limit", kind="heap")
        limit = self.limits.call_seconds if seconds is None else seconds
        try:
            return self._racer.eval(code, timeout_sec=limit)
        except JSTimeoutException:
            raise JSLimitError(f"time limit of {limit:g} s exceeded", kind="time") from None
        except JSOOMException:
            self.broken = True
            raise JSLimitError(
                f"heap limit of {self.limits.heap_bytes // (1024 * 1024)} MiB exceeded", kind="heap"
            ) from None
        except JSParseException as exc:
            raise _parse_v8_error(str(exc), stage="compile") from None
        except JSEvalException as exc:
            raise _parse_v8_error(str(exc), stage="execute") from None

    def eval_json(self, code: str, *, seconds: float | None = None) -> Any:
        """Evaluate an expression inside V8, ``JSON.stringify`` it there, and decode it here."""
        text = self.eval(f"JSON.stringify({code})", seconds=seconds)
        return None if text is None or not isinstance(text, str) else json.loads(text)

    def heap_used(self) -> int:
        """Bytes of V8 heap in use."""
        return int(self._racer.heap_stats().get("used_heap_size", 0))

    def close(self) -> None:
        """Release the isolate."""
        self._racer.close()

    def __enter__(self) -> Isolate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
