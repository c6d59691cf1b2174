"""One exception hierarchy for meltica-lab.

Every error names what is at fault (a file, a selector, a field, a row) so that an operator can act on
one line of text. The attributes are also kept on the exception so tools can render them: ``path``,
``selector``, ``field``, ``row``. Catch :class:`MelticaLabError` to catch them all.

One class per kind of mistake. Two of them are about how the kit was asked to do something:

- :class:`ConfigError`: one *value* is wrong: a setting (:class:`~meltica_lab.backtest.BacktestSettings`
  and its parts, :class:`~meltica_lab.jshost.limits.Limits`), a key of ``config/app.yaml``, or a
  strategy config key, is missing, unknown to the strategy, of the wrong type or out of range.
  ``field`` names it; the fix is to change that value.
- :class:`UsageError`: the *call* or command line cannot be carried out as written: an argument of
  the wrong kind (what to run, on what data), an unknown option name, arguments that contradict each
  other or are missing, an object used after it was closed, command-line syntax.

A :class:`ConfigError` is a kind of :class:`UsageError` (``except UsageError`` catches both), but it
keeps exit code 1 on the command line: 2 is for a command line that cannot be parsed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meltica_lab.jshost.diagnostics import Diagnostic


class MelticaLabError(Exception):
    """Root of every error meltica-lab raises on purpose.

    ``message`` is the readable text; ``path``, ``selector``, ``field`` and ``row`` name what is at
    fault when they apply.
    """

    exit_code: int = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        selector: str | None = None,
        field: str | None = None,
        row: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.selector = selector
        self.field = field
        self.row = row

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take different keyword-only arguments: rebuild from the attributes, so every
        # error crosses process boundaries (worker pools, Dask) intact.
        return (_rebuild_error, (type(self), dict(self.__dict__)))

    def with_context(self, context: str) -> MelticaLabError:
        """A copy of this error (same class and attributes) whose message starts with ``context``."""
        state = dict(self.__dict__)
        state["message"] = f"{context}: {self.message}"
        return _rebuild_error(type(self), state)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"error": <class>, "message": ..., plus the named locations}``."""
        out: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        for key in ("path", "selector", "field", "row"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def _rebuild_error(kind: type[MelticaLabError], state: dict[str, Any]) -> MelticaLabError:
    error = kind.__new__(kind)
    Exception.__init__(error, state["message"])
    error.__dict__.update(state)
    return error


class UsageError(MelticaLabError):
    """A call or command line that cannot be carried out as written (CLI exit code 2).

    Wrong kinds of arguments, unknown option names, contradicting or missing arguments, a closed
    object; a single wrong value is the narrower :class:`ConfigError`.
    """

    exit_code = 2


class ConfigError(UsageError):
    """One value is wrong: a setting, a ``config/app.yaml`` key or a strategy config key is missing,
    unknown, of the wrong type or out of range; ``field`` names it (CLI exit code 1)."""

    exit_code = 1


class RegistryError(MelticaLabError):
    """``registry.json`` is malformed, inconsistent or points outside the root."""


class IntegrityError(RegistryError):
    """A module file's bytes do not match its registry hash; such a file is never executed."""


class SelectorError(MelticaLabError):
    """A selector string cannot be parsed (empty, empty name, malformed hash)."""


class NotFoundError(MelticaLabError):
    """A selector is well-formed but names nothing: unknown strategy, tag or hash."""


class AmbiguousHashError(NotFoundError):
    """A hash prefix matches more than one revision; ``candidates`` lists them."""

    def __init__(self, message: str, *, candidates: Sequence[str], selector: str | None = None) -> None:
        super().__init__(message, selector=selector)
        self.candidates = tuple(candidates)


class ModuleError(MelticaLabError):
    """A strategy module failed to compile, execute or validate; ``diagnostics`` holds every problem."""

    def __init__(
        self,
        message: str,
        *,
        diagnostics: Sequence[Diagnostic] = (),
        path: str | None = None,
        selector: str | None = None,
    ) -> None:
        detail = "; ".join(d.describe() for d in diagnostics)
        super().__init__(f"{message}: {detail}" if detail else message, path=path, selector=selector)
        self.headline = message
        self.diagnostics = tuple(diagnostics)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["diagnostics"] = [d.to_dict() for d in self.diagnostics]
        return out


class ConflictError(MelticaLabError):
    """An operation would break an invariant: a tag collision, a revision in use, an orphaned hash."""


class InUseError(ConflictError):
    """A revision or strategy cannot be deleted while instances pin it; ``instances`` names them."""

    def __init__(self, message: str, *, instances: Sequence[str], selector: str | None = None) -> None:
        super().__init__(message, selector=selector)
        self.instances = tuple(instances)


class MigrationError(MelticaLabError):
    """A migration plan has conflicts that stop ``--write``, or a copy failed verification."""


class DataError(MelticaLabError):
    """Market data cannot be read: missing columns, bad numbers, timestamps going backwards."""


class UsageExportError(MelticaLabError):
    """A usage export (``{"registry":…, "usage":[…]}`` or a bare list) has the wrong shape."""


class StrategyRuntimeError(MelticaLabError):
    """A strategy was stopped while running: time limit, heap limit, or a failure of the host itself.

    ``strategy`` and ``handler`` name the module and the handler that was running.
    """

    def __init__(self, message: str, *, strategy: str | None = None, handler: str | None = None) -> None:
        super().__init__(message, selector=strategy)
        self.strategy = strategy
        self.handler = handler


class JSError(MelticaLabError):
    """A JavaScript exception or syntax error escaped an evaluation.

    ``stage`` is ``compile`` for syntax errors and ``execute`` for thrown values; ``js_message``
    is V8's text (``TypeError: x is not a function``); ``line``/``column`` are 1-based, 0 if unknown,
    and point where V8 places the failure (the offending token, or the ``throw``) in ``script``, the
    name V8 gives that code (``<anonymous>`` for code passed to :meth:`meltica_lab.jshost.isolate.Isolate.eval`, or a
    ``//# sourceURL=`` name). The column counts UTF-16 code units, as V8 does.
    """

    def __init__(self, js_message: str, *, stage: str, line: int = 0, column: int = 0, script: str = "") -> None:
        where = f" (line {line}, column {column})" if line else ""
        super().__init__(f"{js_message}{where}")
        self.js_message = js_message
        self.stage = stage
        self.line = line
        self.column = column
        self.script = script


class JSLimitError(StrategyRuntimeError):
    """An evaluation passed its time limit (``kind="time"``) or the heap limit (``kind="heap"``)."""

    def __init__(self, message: str, *, kind: str, strategy: str | None = None, handler: str | None = None):
        super().__init__(message, strategy=strategy, handler=handler)
        self.kind = kind


class NotebookError(MelticaLabError):
    """A report notebook failed to execute; the message names the notebook, the cell and the exception."""


class InstanceError(MelticaLabError):
    """A runtime-manager instance operation is not possible (unknown id, already running, ...)."""


class GatewayError(MelticaLabError):
    """A live gateway answered with an error; ``status`` is its HTTP status (0 when unreachable).

    ``method`` and ``url`` name the request. ``gateway_error`` is the answer's ``error`` field ("" if
    none) and ``details`` its ``details`` object (the contract's ``ApiErrorPayload``); ``diagnostics``
    holds the module diagnostics of a 422 upload answer.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        url: str | None = None,
        method: str | None = None,
        gateway_error: str = "",
        details: Mapping[str, Any] | None = None,
        diagnostics: Sequence[Diagnostic] = (),
    ) -> None:
        super().__init__(message, path=url)
        self.status = status
        self.url = url
        self.method = method
        self.gateway_error = gateway_error
        self.details = dict(details) if details else {}
        self.diagnostics = tuple(diagnostics)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["status"] = self.status
        if self.method:
            out["method"] = self.method
        if self.gateway_error:
            out["gatewayError"] = self.gateway_error
        if self.details:
            out["details"] = self.details
        if self.diagnostics:
            out["diagnostics"] = [d.to_dict() for d in self.diagnostics]
        return out


class GatewayContractError(GatewayError):
    """A gateway answer breaks the gateway's published contract: a required field is missing or a value
    has the wrong type. ``operation`` is the contract's operationId, ``field`` the path of the value at
    fault (``modules[0].size``), ``expected`` what the contract asks for there."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str,
        method: str,
        operation: str,
        field: str,
        expected: str,
    ) -> None:
        super().__init__(message, status=status, url=url, method=method)
        self.operation = operation
        self.field = field
        self.expected = expected

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["operation"] = self.operation
        out["expected"] = self.expected
        return out
