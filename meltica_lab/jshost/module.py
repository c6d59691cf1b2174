"""Evaluate strategy modules in V8 and report their metadata and problems, as the gateway does.

A module is evaluated in strict mode with ``module``, ``exports`` (the same object) and a no-op
``console``, and nothing else from the host (compat notes §5.1, host notes §1.1). The outcome is a
:class:`ModuleReport` with the gateway's headlines and diagnostics (§5.4): ``compile module "<file>"
failed``, ``execute module failed``, ``metadata export missing``, ``metadata export invalid`` or
``metadata validation failed``, with 1-based line and column in the user's file.

Speed: one isolate is shared by every module a :class:`ModuleHost` inspects, and each module costs
one call into V8. The host script installed in the isolate (``js/module_host.js`` over the one CommonJS
evaluator, ``js/commonjs.js``) compiles the module as its own function
(``new Function``, so the source cannot reach outside the function body), runs it, and extracts the
metadata to JSON with intrinsics it captured before any module ran. A module that changes the globals
or the built-in prototypes cannot mislead the next one: each call first checks those objects against
the state recorded at install, and a changed isolate is replaced before the module runs. The check
happens at the start of the next call rather than at the end of the module's own because promise
jobs a module queues run after its call has returned.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from meltica_lab.errors import ModuleError, StrategyRuntimeError, UsageError
from meltica_lab.jshost.diagnostics import Diagnostic, clean_message
from meltica_lab.jshost.isolate import Isolate, JSError, JSLimitError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits
from meltica_lab.jshost.metadata import INVALID_HINT, Metadata, read_metadata
from meltica_lab.jshost.schema import MODULE_SOURCE_URL
from meltica_lab.jshost.scripts import host_script

COMPILE_HINT = "Fix the JavaScript syntax near the reported location."
"""Hint of a ``compile`` diagnostic (the gateway's text)."""
EXECUTE_HINT = "Fix the module's top-level code: it runs every time the module is loaded."
"""Hint of an ``execute`` diagnostic."""
MISSING_HINT = "Expose module.exports.metadata with required fields."
"""Hint of the ``metadata export missing`` diagnostic (the gateway's text)."""
ENCODING_HINT = "Save the module as UTF-8."
"""Hint of the diagnostic for a source that is not UTF-8."""

EXECUTE_HEADLINE = "execute module failed"
MISSING_HEADLINE = "metadata export missing"
INVALID_HEADLINE = "metadata export invalid"
VALIDATION_HEADLINE = "metadata validation failed"

_SOURCE_URL = MODULE_SOURCE_URL
MODULE_HOST_FILES = ("commonjs.js", "module_host.js")
"""The module host's script, in load order (see :func:`meltica_lab.jshost.scripts.host_script`)."""
# V8 line of the module's first line: new Function puts "(function anonymous(module,exports,console"
# and ") {" before the body (ECMAScript CreateDynamicFunction), and the body starts with a line of
# our own holding "use strict", so that no column on the module's first line moves.
_FIRST_LINE = 4
_LINE_BREAK = re.compile("\r\n|[\n\r\u2028\u2029]")
_FRAME = re.compile(re.escape(_SOURCE_URL) + r":(\d+):(\d+)")
_HOST_SCRIPT_NAME = "<anonymous>"
_PROBE_SECONDS = 0.25
_BOM = "\ufeff"


@dataclass(frozen=True)
class ModuleReport:
    """What evaluating a module found: its metadata and every problem, as the gateway reports them.

    ``headline`` is the gateway's message (empty when there is no problem); ``metadata`` is set
    whenever the export could be read, even when rules are violated. ``stopped_by_limit`` marks an
    evaluation stopped by a time or heap limit: that outcome depends on the machine and the limits,
    so unlike every other it is not a fact about the module's bytes (see :attr:`cacheable`).
    """

    metadata: Metadata | None
    diagnostics: tuple[Diagnostic, ...]
    headline: str
    stopped_by_limit: bool = False

    @property
    def ok(self) -> bool:
        """True when the module compiled, ran, and its metadata passed every rule."""
        return not self.diagnostics

    @property
    def cacheable(self) -> bool:
        """True when the report is a function of the module's bytes alone (may be cached by hash)."""
        return not self.stopped_by_limit

    def raise_for_problems(self, path: str | None = None, selector: str | None = None) -> None:
        """Raise :class:`ModuleError` (headline and diagnostics, naming ``path``/``selector``) unless ok."""
        if not self.ok:
            raise ModuleError(self.headline, diagnostics=self.diagnostics, path=path, selector=selector)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``message`` (the headline, as in the gateway's error body), ``diagnostics``,
        ``metadata`` (or ``null``), and ``stoppedByLimit`` when true."""
        out: dict[str, Any] = {
            "message": self.headline,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "metadata": None if self.metadata is None else self.metadata.to_dict(),
        }
        if self.stopped_by_limit:
            out["stoppedByLimit"] = True
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ModuleReport:
        """Exact inverse of :meth:`to_dict`; raises :class:`ModuleError` naming the field that does not fit."""
        if not isinstance(data, dict):
            raise ModuleError(f"module report must be an object, got {type(data).__name__}")
        headline, diagnostics, metadata = data.get("message"), data.get("diagnostics"), data.get("metadata")
        stopped = data.get("stoppedByLimit", False)
        for key, value, wanted, expected in (
            ("message", headline, str, "text"),
            ("diagnostics", diagnostics, list, "a list"),
            ("metadata", metadata, dict | None, "an object or null"),
            ("stoppedByLimit", stopped, bool, "true or false"),
        ):
            if not isinstance(value, wanted):
                raise ModuleError(f"module report {key} must be {expected}, got {value!r}")
        try:
            found = tuple(Diagnostic.from_dict(d) for d in diagnostics)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModuleError(f"module report diagnostics: {exc}") from None
        return cls(
            metadata=None if metadata is None else Metadata.from_dict(metadata),
            diagnostics=found,
            headline=headline,
            stopped_by_limit=stopped,
        )


class ModuleHost:
    """Evaluates modules one after another in a shared, sandboxed V8 isolate.

    ``evaluations`` counts modules actually handed to V8 (a source that is not UTF-8 is not);
    ``replacements`` counts isolates discarded because a module changed the built-ins, reached the
    heap limit, or left promise jobs running. Thread-safe; use as a context manager or :meth:`close`.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.evaluations = 0
        self.replacements = 0
        self._sandbox: _Sandbox | None = None
        self._closed = False
        self._lock = threading.Lock()

    def inspect(self, source: bytes | str, *, filename: str) -> ModuleReport:
        """Evaluate ``source`` (bytes are decoded as strict UTF-8) and report on it.

        ``filename`` names the module in the compile headline (its base name, as the gateway does).
        """
        basename = re.split(r"[/\\]", filename)[-1]
        text, problem = _decode(source)
        if problem is not None:
            return ModuleReport(None, (problem,), _compile_headline(basename))
        with self._lock:
            if self._closed:
                raise UsageError("this ModuleHost is closed: create a new one")
            return self._evaluate(text, basename)

    def close(self) -> None:
        """Release the isolate; the host cannot be used afterwards."""
        with self._lock:
            self._closed = True
            if self._sandbox is not None:
                self._sandbox.isolate.close()
                self._sandbox = None

    def __enter__(self) -> ModuleHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _evaluate(self, text: str, basename: str) -> ModuleReport:
        # A second attempt only ever runs on a fresh isolate, which cannot be dirty or busy.
        for _attempt in range(2):
            if self._sandbox is None:
                self._sandbox = _Sandbox(self.limits)
            sandbox = self._sandbox
            try:
                result = sandbox.run(text)
            except JSLimitError as exc:
                if exc.kind == "time" and sandbox.evaluated and not sandbox.responsive():
                    # Promise jobs an earlier module queued are still running: this one never started.
                    self._discard()
                    continue
                report = _limit_report(exc.kind, self.limits)
                if exc.kind == "heap":
                    self._discard()
            except JSError as exc:
                report = _compile_report(exc, text, basename)
            else:
                if result["outcome"] == "dirty":
                    self._discard()
                    continue
                report = _result_report(result, text)
            self.evaluations += 1
            sandbox.evaluated += 1
            return report
        raise StrategyRuntimeError("module host: a freshly created V8 isolate failed its integrity check")

    def _discard(self) -> None:
        """Replace the isolate: the next module gets a fresh one."""
        if self._sandbox is not None:
            self._sandbox.isolate.close()
            self._sandbox = None
            self.replacements += 1


class _Sandbox:
    """One isolate with the host script installed, and how many modules it has evaluated."""

    def __init__(self, limits: Limits) -> None:
        self.isolate = Isolate(limits)
        self.evaluated = 0
        # The entry point is a script-level const: no property of the global object, and under a
        # random name, so module code can neither see nor replace it.
        self._entry = f"__mlh_{secrets.token_hex(8)}"
        try:
            self.isolate.eval(host_script(MODULE_HOST_FILES, self._entry))
        except BaseException:
            self.isolate.close()
            raise

    def run(self, text: str) -> dict[str, Any]:
        """Evaluate one module; raises :class:`JSError` for a syntax error, :class:`JSLimitError`."""
        call = f"{self._entry}({json.dumps(text)})"
        return json.loads(self.isolate.eval(call, seconds=self.isolate.limits.eval_seconds))

    def responsive(self) -> bool:
        """True when the isolate answers at once (no leftover promise jobs keep it busy)."""
        try:
            self.isolate.eval("0", seconds=min(_PROBE_SECONDS, self.isolate.limits.eval_seconds))
        except JSLimitError:
            return False
        return True


def _decode(source: bytes | str) -> tuple[str, Diagnostic | None]:
    """The text V8 evaluates: strict UTF-8, without a leading byte order mark."""
    if isinstance(source, str):
        return source.removeprefix(_BOM), None
    try:
        return source.decode("utf-8").removeprefix(_BOM), None
    except UnicodeDecodeError as exc:
        before = _LINE_BREAK.split(source[: exc.start].decode("utf-8").removeprefix(_BOM))
        message = f"source is not valid UTF-8: byte 0x{source[exc.start]:02x} at offset {exc.start} ({exc.reason})"
        return "", Diagnostic("compile", message, len(before), len(before[-1]) + 1, ENCODING_HINT)


def _compile_headline(basename: str) -> str:
    return f'compile module "{basename}" failed'


def _user_position(text: str, v8_line: int, v8_column: int) -> tuple[int, int] | None:
    """Line and column in the user's file (column in code points) of a V8 position in the function.

    ``(0, 0)`` when V8 gave no usable position; ``None`` when it lies after the module's last line.
    """
    lines = _LINE_BREAK.split(text)
    line = v8_line - _FIRST_LINE + 1
    if line < 1:
        return 0, 0
    if line > len(lines):
        return None
    if v8_column <= 0:
        return line, 0
    units = 0
    for index, ch in enumerate(lines[line - 1]):
        if units >= v8_column - 1:
            return line, index + 1
        units += 2 if ord(ch) > 0xFFFF else 1
    return line, len(lines[line - 1]) + 1


def _compile_report(exc: JSError, text: str, basename: str) -> ModuleReport:
    # Only compilation happens outside the host's own error handling, so this is a syntax error;
    # V8 names the module's code after its sourceURL, or "undefined" before it has read that far.
    message = clean_message(exc.js_message)
    position = (0, 0) if exc.script == _HOST_SCRIPT_NAME else _user_position(text, exc.line, exc.column)
    if position is None:
        # V8 stumbled on the lines that close the function around the module: the module ended
        # inside an open block, so report what a parser of the module alone reports, at its end.
        lines = _LINE_BREAK.split(text)
        message, position = "SyntaxError: Unexpected end of input", (len(lines), len(lines[-1]) + 1)
    diagnostic = Diagnostic("compile", message, *position, COMPILE_HINT)
    return ModuleReport(None, (diagnostic,), _compile_headline(basename))


def _limit_report(kind: str, limits: Limits) -> ModuleReport:
    if kind == "heap":
        message = f"top-level code passed the heap limit of {limits.heap_bytes / 2**20:g} MiB (limits.heap_bytes)"
    else:
        message = f"top-level code passed the time limit of {limits.eval_seconds:g} s (limits.eval_seconds)"
    diagnostic = Diagnostic("execute", message, hint=EXECUTE_HINT)
    return ModuleReport(None, (diagnostic,), EXECUTE_HEADLINE, stopped_by_limit=True)


def _result_report(result: dict[str, Any], text: str) -> ModuleReport:
    outcome = result["outcome"]
    if outcome == "threw":
        frame = _FRAME.search(result["stack"])
        position = _user_position(text, int(frame[1]), int(frame[2])) if frame else None
        diagnostic = Diagnostic("execute", clean_message(result["message"]), *(position or (0, 0)), EXECUTE_HINT)
        return ModuleReport(None, (diagnostic,), EXECUTE_HEADLINE)
    if outcome == "unreadable":
        message = f"reading module.exports failed: {clean_message(result['message'])}"
        return ModuleReport(None, (Diagnostic("validation", message, hint=INVALID_HINT),), INVALID_HEADLINE)
    if "metadataKind" not in result:
        message = f"module.exports is {result['exports']}: expected an object with metadata and create"
        return ModuleReport(None, (Diagnostic("validation", message, hint=MISSING_HINT),), MISSING_HEADLINE)
    kind = result["metadataKind"]
    if kind in ("undefined", "null"):
        message = f"module.exports.metadata is {kind}: expected an object"
        return ModuleReport(None, (Diagnostic("validation", message, hint=MISSING_HINT),), MISSING_HEADLINE)
    # A metadata export that is no object arrives without JSON; read_metadata names its kind.
    metadata, problems = read_metadata(result.get("metadata"), opaque={"metadata": kind, **result["opaque"]})
    if metadata is None:
        return ModuleReport(None, problems, INVALID_HEADLINE)
    issues = metadata.validate()
    if result["create"] != "function":
        issues += (Diagnostic("validation", f"create must be a function, got {result['create']}", hint="create"),)
    return ModuleReport(metadata, issues, VALIDATION_HEADLINE if issues else "")
