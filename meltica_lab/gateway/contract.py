"""The gateway's published control-plane contract, read from the copy the kit ships (``openapi.yaml``).

The client takes everything per endpoint from here: the HTTP method and path template, the query and
path parameters with their schemas, the success status, the media type of the answer (which becomes
the request's ``Accept``), and the JSON schemas that requests and answers are checked against.

OpenAPI's ``nullable: true`` is turned into JSON Schema's ``type: [..., "null"]`` (or an ``anyOf`` with
``null`` around a ``$ref``/``allOf``), and each schema is compiled once per :class:`Contract` by
`fastjsonschema <https://github.com/horejsek/python-fastjsonschema>`_, which checks a 10 000-order
answer in about 0.1 s (the reference ``jsonschema`` validator takes about 3 s for the same answer).

The contract is widened in a few places, each listed in :data:`RELAXATIONS`, where the compat notes
document that the real gateway writes something the contract's text does not allow (an omitted empty
description, ``null`` for an empty list, a snapshot as the answer to start/stop).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import fastjsonschema
import yaml

from meltica_lab.errors import UsageError

__all__ = ["ALTERNATIVE_ANSWERS", "CONTRACT_FILE", "RELAXATIONS", "Contract", "Operation", "Parameter", "Violation"]

CONTRACT_FILE = Path(__file__).with_name("openapi.yaml")
"""The contract this kit was built against: the gateway's ``docs/frontend-api.yaml``, byte for byte."""

_METHODS = ("get", "put", "post", "delete", "patch")
_COMPOSITES = ("$ref", "allOf", "anyOf", "oneOf")


@dataclass(frozen=True)
class Relaxation:
    """One place where the real gateway departs from the contract's text, as the compat notes record.

    ``change`` is ``optional`` (the field may be absent) or ``nullable`` (it may be ``null``).
    """

    schema: str
    field: str
    change: Literal["optional", "nullable"]
    why: str


RELAXATIONS: tuple[Relaxation, ...] = (
    Relaxation("Strategy", "description", "optional", "the gateway omits an empty description (compat §5.2)"),
    Relaxation("Strategy", "config", "nullable", "module summaries carry config: null when empty (compat §5.2)"),
    Relaxation("StrategyModuleSummary", "tags", "nullable", "gateways before 5a04ffe write tags: null (compat §9.4)"),
    Relaxation("StrategyRefreshResponse", "results", "nullable", "results is null when nothing matched (§9.11)"),
    Relaxation("StrategyRegistryExport", "usage", "nullable", "an empty usage index is written as null (§9.12)"),
    Relaxation("StrategyRegistryExport", "registry", "nullable", "without registry.json f58fcf3 writes null (§9.12)"),
)

ALTERNATIVE_ANSWERS: Mapping[str, str] = {
    "startInstance": "InstanceSnapshotResponse",
    "stopInstance": "InstanceSnapshotResponse",
}
"""Operations the gateway also answers with another component schema: start and stop return the
instance snapshot (compat §9.13), the contract says ``InstanceActionResponse``."""


@dataclass(frozen=True)
class Violation:
    """Where a JSON value breaks a schema: ``field`` is a path such as ``modules[0].size`` ("" for the
    whole value), ``expected`` what the schema asks for, ``got`` a short rendering of what is there."""

    field: str
    expected: str
    got: str

    def describe(self) -> str:
        """``modules[0].size: expected an integer, got "x"``."""
        where = f"{self.field}: " if self.field else ""
        return f"{where}expected {self.expected}, got {self.got}"


@dataclass(frozen=True)
class Parameter:
    """A path or query parameter of one operation, with its schema as the contract writes it."""

    name: str
    location: Literal["path", "query"]
    schema: Mapping[str, Any]
    required: bool
    explode: bool

    def expected(self) -> str:
        """What the parameter takes, in words: ``a non-negative integer``, ``a list of strings``."""
        return _schema_words(self.schema)

    def accepts(self, value: Any) -> bool:
        """Whether the Python ``value`` is of the parameter's type (``bool`` is not an integer here)."""
        return _python_fits(value, self.schema)

    def encode(self, value: Any) -> list[tuple[str, str]]:
        """The ``(name, text)`` query pairs of ``value``: booleans as ``true``/``false``, an exploded
        array as one pair per item (``state=a&state=b``)."""
        if isinstance(value, list | tuple):
            if self.explode:
                return [(self.name, _text(item)) for item in value]
            return [(self.name, ",".join(_text(item) for item in value))]
        return [(self.name, _text(value))]


@dataclass(frozen=True)
class Operation:
    """One endpoint of the contract: ``id`` is its operationId, ``path`` the template
    (``/strategies/modules/{selector}``), ``success`` the documented 2xx status and ``media_type`` the
    content type of that answer (``None`` when it has no body, as for 204)."""

    id: str
    method: str
    path: str
    success: int
    media_type: str | None
    parameters: Mapping[str, Parameter]
    has_body: bool
    body_required: bool

    @property
    def reads(self) -> bool:
        """A ``GET``: safe to send again after a failure."""
        return self.method == "GET"

    def describe(self) -> str:
        """``GET /strategies/modules (listStrategyModules)``."""
        return f"{self.method} {self.path} ({self.id})"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _type_words(types: Any) -> str:
    names = types if isinstance(types, list) else [types]
    return " or ".join(_TYPE_WORDS.get(str(name), str(name)) for name in names)


def _schema_words(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if kind == "integer" and "minimum" in schema:
        low = schema["minimum"]
        return "a non-negative integer" if low == 0 else f"an integer >= {low}"
    if kind == "array":
        items = schema.get("items", {})
        return f"a list of {_type_words(items.get('type', 'value'))[2:]}s" if items.get("type") else "a list"
    return _type_words(kind) if kind else "a value"


def _python_fits(value: Any, schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and value >= schema.get("minimum", value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        items = schema.get("items", {})
        return isinstance(value, list | tuple) and all(_python_fits(item, items) for item in value)
    return True


def describe_value(value: Any) -> str:
    """A short readable rendering of a JSON value for messages."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


# -- from OpenAPI to JSON Schema --------------------------------------------------------------------


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")  # name -> schema
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains")


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3 schema -> JSON Schema draft 7: ``nullable: true`` becomes a ``null`` alternative.

    Only schema positions are rewritten (a property that happens to be called ``nullable`` stays).
    """
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "nullable":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: _json_schema(item) for name, item in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_json_schema(item) for item in value]
        elif key in _SCHEMA_VALUES:
            out[key] = _json_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    if schema.get("nullable") is not True:
        return out
    if any(key in out for key in _COMPOSITES):
        return {"anyOf": [out, {"type": "null"}]}
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out  # no type at all: null is allowed already


def _relaxed(schemas: dict[str, Any]) -> dict[str, Any]:
    """The component schemas with :data:`RELAXATIONS` applied (on a copy)."""
    out = copy.deepcopy(schemas)
    for relaxation in RELAXATIONS:
        schema = out[relaxation.schema]
        if relaxation.change == "optional":
            schema["required"] = [name for name in schema.get("required", []) if name != relaxation.field]
        else:
            schema["properties"][relaxation.field]["nullable"] = True
    return out


def _resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/components/parameters/InstanceId``) to its target."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def _operations(document: Mapping[str, Any]) -> dict[str, Operation]:
    found: dict[str, Operation] = {}
    for path, item in document["paths"].items():
        shared = [_resolve(document, p) for p in item.get("parameters", [])]
        for method in _METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            parameters: dict[str, Parameter] = {}
            for raw in [*shared, *(_resolve(document, p) for p in spec.get("parameters", []))]:
                location = raw["in"]
                style = raw.get("style", "form" if location == "query" else "simple")
                parameters[raw["name"]] = Parameter(
                    name=raw["name"],
                    location=location,
                    schema=raw.get("schema", {}),
                    required=bool(raw.get("required", location == "path")),
                    explode=bool(raw.get("explode", style == "form")),
                )
            success = min(int(code) for code in spec["responses"] if str(code).startswith("2"))
            content = spec["responses"][str(success)].get("content") or {}
            body = spec.get("requestBody")
            found[spec["operationId"]] = Operation(
                id=spec["operationId"],
                method=method.upper(),
                path=path,
                success=success,
                media_type=next(iter(content), None),
                parameters=parameters,
                has_body=body is not None,
                body_required=bool(body and body.get("required")),
            )
    return found


class Contract:
    """The contract at ``path`` (default: the copy shipped with the kit), ready to check against.

    One contract can serve many clients (pass it as ``GatewayClient(..., contract=...)``); each
    schema is compiled the first time it is needed and kept by this object.
    """

    def __init__(self, path: str | Path = CONTRACT_FILE) -> None:
        self.path = Path(path)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(self.path, encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=loader)
        self.document: Mapping[str, Any] = document
        self.version = str(document["info"]["version"])
        schemas = _relaxed(document["components"]["schemas"])
        self._components = {"schemas": {name: _json_schema(schema) for name, schema in schemas.items()}}
        self._operations = _operations(document)
        self._answers: dict[str, Any] = {}
        self._bodies: dict[str, Any] = {}
        for operation_id, spec in self._specs():
            response = spec["responses"][str(self._operations[operation_id].success)]
            content = (response.get("content") or {}).get("application/json")
            if content is not None:
                self._answers[operation_id] = _json_schema(content["schema"])
            body = (spec.get("requestBody") or {}).get("content", {}).get("application/json")
            if body is not None:
                self._bodies[operation_id] = _json_schema(body["schema"])
        self._checkers: dict[str, Callable[[Any], Any]] = {}

    def __repr__(self) -> str:
        return f"Contract({str(self.path)!r}, version={self.version!r})"

    def _specs(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [
            (spec["operationId"], spec)
            for item in self.document["paths"].values()
            for method, spec in item.items()
            if method in _METHODS
        ]

    def operation(self, operation_id: str) -> Operation:
        """The operation with that operationId; :class:`UsageError` if the contract has none."""
        try:
            return self._operations[operation_id]
        except KeyError:
            raise UsageError(f"the gateway contract has no operation {operation_id!r}") from None

    def operations(self) -> tuple[Operation, ...]:
        """Every operation of the contract, in the contract's order."""
        return tuple(self._operations.values())

    def _checker(self, key: str, schema: Mapping[str, Any]) -> Callable[[Any], Any]:
        checker = self._checkers.get(key)
        if checker is None:
            checker = self._compile(schema)
            self._checkers[key] = checker
        return checker

    def _compile(self, schema: Mapping[str, Any]) -> Callable[[Any], Any]:
        # References point into #/components/schemas: compile with the components beside the schema.
        return fastjsonschema.compile({**schema, "components": self._components}, use_formats=False)

    def _check(self, key: str, schema: Mapping[str, Any] | None, value: Any) -> Violation | None:
        if schema is None:
            return None
        try:
            self._checker(key, schema)(value)
        except fastjsonschema.JsonSchemaValueException as exc:
            return self._violation(exc, "")
        return None

    def check_answer(self, operation: Operation, body: Any) -> Violation | None:
        """Why a JSON answer to ``operation`` breaks the contract, or ``None`` when it conforms.

        An operation listed in :data:`ALTERNATIVE_ANSWERS` also conforms with that schema; the
        violation reported is the one against the contract's own schema.
        """
        violation = self._check(f"answer:{operation.id}", self._answers.get(operation.id), body)
        alternative = ALTERNATIVE_ANSWERS.get(operation.id)
        if violation is None or alternative is None:
            return violation
        if self.conforms_to(alternative, body):
            return None
        return violation

    def answer_schema(self, operation: Operation) -> dict[str, Any]:
        """The JSON Schema (draft 7, relaxations applied) that answers to ``operation`` are checked
        against, with the components it refers to beside it: usable by any JSON Schema validator."""
        schema = self._answers.get(operation.id)
        if schema is None:
            raise UsageError(f"{operation.describe()} has no JSON answer")
        return copy.deepcopy({**schema, "components": self._components})

    def conforms_to(self, component: str, value: Any) -> bool:
        """Whether ``value`` conforms to the component schema ``component`` (e.g. ``Strategy``)."""
        schema = {"$ref": f"#/components/schemas/{component}"}
        return self._check(f"component:{component}", schema, value) is None

    def check_body(self, operation: Operation, body: Any) -> Violation | None:
        """Why a request body for ``operation`` breaks the contract, or ``None``."""
        return self._check(f"body:{operation.id}", self._bodies.get(operation.id), body)

    def _violation(self, exc: fastjsonschema.JsonSchemaValueException, prefix: str) -> Violation:
        name = exc.name or "data"
        field = _join(prefix, name[len("data") :].lstrip("."))
        rule, wanted, value = exc.rule, exc.rule_definition, exc.value
        if rule == "required" and isinstance(value, Mapping):
            missing = next((key for key in wanted if key not in value), str(wanted))
            return Violation(_join(field, missing), "a value (the field is required)", "nothing (it is missing)")
        if rule == "type":
            return Violation(field, _type_words(wanted), describe_value(value))
        if rule == "enum":
            return Violation(field, "one of " + ", ".join(json.dumps(item) for item in wanted), describe_value(value))
        if rule == "anyOf" and isinstance(wanted, list):
            # A nullable $ref or allOf: say what is wrong inside the one alternative that is not null.
            for alternative in wanted:
                if alternative.get("type") == "null":
                    continue
                try:
                    self._compile(alternative)(value)
                except fastjsonschema.JsonSchemaValueException as inner:
                    return self._violation(inner, field)
        return Violation(field, f"a value that satisfies {rule!r} ({exc.message})", describe_value(value))


def _join(prefix: str, field: str) -> str:
    if not prefix:
        return field
    if not field:
        return prefix
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"
