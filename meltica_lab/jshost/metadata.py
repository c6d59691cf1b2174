"""A strategy module's ``metadata`` export: the model, its gateway JSON, and the validation rules.

The gateway reads ``module.exports.metadata`` into a record (compat notes §5.2), lower-cases the
name, trims text, drops blank event names, and since c853272 validates it, reporting every issue at
once (§5.3). :func:`read_metadata` is that conversion, starting from the JSON the module host extracts
in V8; :meth:`Metadata.validate` applies the rules. :meth:`Metadata.to_dict` is the gateway JSON and
:meth:`Metadata.from_dict` its exact inverse, so metadata can be cached by module hash on disk.

meltica-lab adds rules of its own, each reported as its own diagnostic: the name must work as a path
segment and in a selector, config names must be unique, and a default must fit its declared type
under the coercion the shipped strategies apply (compat host notes §1.7).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias

from meltica_lab.errors import ModuleError
from meltica_lab.jshost.diagnostics import Diagnostic, trim_space

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
TagSource = Literal["tag", "version", ""]

EVENT_TYPES: tuple[str, ...] = (
    "BookSnapshot",
    "Trade",
    "Ticker",
    "ExecReport",
    "KlineSummary",
    "InstrumentUpdate",
    "BalanceUpdate",
    "RiskControl",
    "Extension",
)
"""Event types a module may list in ``metadata.events`` (case-sensitive)."""

MAX_DISPLAY_NAME = 80
"""Longest ``displayName`` the gateway accepts, in Unicode code points after trimming."""

INVALID_HINT = "Make module.exports.metadata match the metadata schema."
"""Hint of every ``metadata export invalid`` diagnostic."""

_HASH_LIKE = re.compile(r"[0-9a-f]{64}")
# JavaScript's StringToNumber grammar; [0-9] because Python's \d also matches non-ASCII digits.
_JS_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_JS_RADIX = {"0x": 16, "0o": 8, "0b": 2}
_JS_SPACE = "\t\v\f \xa0\ufeff\n\r\u2028\u2029\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
# The shipped strategies' duration parser, applied to String(value).trim().toLowerCase().
_DURATION = re.compile(r"(-?)([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)?")
# JavaScript prints numbers in exponent form outside this range, which the duration parser rejects.
_PLAIN_NUMBER_RANGE = (1e-6, 1e21)


def go_lower(text: str) -> str:
    """Lower-case ``text`` as Go's ``strings.ToLower`` does (the gateway lower-cases names with it).

    Python's ``str.lower`` maps U+0130 to two code points and lower-cases a final sigma by context;
    Go maps every code point on its own, and U+0130 to a plain ``i``.
    """
    return "".join("i" if ch == "\u0130" else ch.lower() for ch in text)


@dataclass(frozen=True)
class ConfigField:
    """One entry of ``metadata.config``: a setting the strategy reads from ``env.config``.

    ``type`` is free text (the gateway enforces no list); ``has_default`` tells a declared
    ``default: null`` from no default at all, and is set whenever ``default`` is not ``None``.
    ``name``, ``type`` and ``description`` are trimmed.
    """

    name: str
    type: str
    description: str = ""
    default: JSONValue = None
    required: bool = False
    has_default: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", trim_space(self.name))
        object.__setattr__(self, "type", trim_space(self.type))
        object.__setattr__(self, "description", trim_space(self.description))
        if self.default is not None:
            object.__setattr__(self, "has_default", True)

    def to_dict(self) -> dict[str, JSONValue]:
        """Gateway JSON: ``name``, ``type``, ``description`` (omitted when empty), ``default``, ``required``."""
        out: dict[str, JSONValue] = {"name": self.name, "type": self.type}
        if self.description:
            out["description"] = self.description
        if self.has_default:
            out["default"] = self.default
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class Metadata:
    """What a strategy module says about itself in ``module.exports.metadata``.

    Values are normalised as the gateway does: ``name`` trimmed and lower-cased, other text
    trimmed, blank ``events`` dropped. ``tag`` is the module's ``tag``, or its older ``version`` key
    when ``tag`` is blank; ``tag_source`` records which (``""`` when there is no tag).
    """

    name: str
    tag: str = ""
    display_name: str = ""
    description: str = ""
    config: tuple[ConfigField, ...] = ()
    events: tuple[str, ...] = ()
    tag_source: TagSource = ""

    def __post_init__(self) -> None:
        tag = trim_space(self.tag)
        object.__setattr__(self, "name", go_lower(trim_space(self.name)))
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "display_name", trim_space(self.display_name))
        object.__setattr__(self, "description", trim_space(self.description))
        object.__setattr__(self, "config", tuple(self.config))
        object.__setattr__(self, "events", tuple(e for e in map(trim_space, self.events) if e))
        object.__setattr__(self, "tag_source", ("version" if self.tag_source == "version" else "tag") if tag else "")

    def config_field(self, name: str) -> ConfigField | None:
        """The config entry called ``name``, or ``None``."""
        return next((f for f in self.config if f.name == name), None)

    def to_dict(self) -> dict[str, JSONValue]:
        """The gateway's metadata JSON.

        ``name``; ``tag`` (omitted when empty); ``version`` too when the module declared its tag
        under that older key, as gateways before cfa3bda reported it; ``displayName``;
        ``description`` (omitted when empty); ``config``; ``events``.
        """
        out: dict[str, JSONValue] = {"name": self.name}
        if self.tag:
            out["tag"] = self.tag
        if self.tag_source == "version":
            out["version"] = self.tag
        out["displayName"] = self.display_name
        if self.description:
            out["description"] = self.description
        out["config"] = [f.to_dict() for f in self.config]
        out["events"] = list(self.events)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Metadata:
        """Read metadata JSON of either gateway era; the exact inverse of :meth:`to_dict`.

        Raises :class:`ModuleError` whose diagnostics name each field of the wrong type.
        """
        metadata, problems = read_metadata(data)
        if metadata is None:
            raise ModuleError("metadata invalid", diagnostics=problems)
        version = data.get("version")
        if metadata.tag_source == "tag" and isinstance(version, str) and trim_space(version) == metadata.tag:
            metadata = replace(metadata, tag_source="version")
        return metadata

    def validate(self) -> tuple[Diagnostic, ...]:
        """Every rule violation (compat §5.3 plus meltica-lab's own), each a ``validation`` diagnostic.

        The hint of each diagnostic is the path of the offending field, e.g. ``metadata.events[2]``.
        """
        issues: list[Diagnostic] = []

        def issue(message: str, path: str) -> None:
            issues.append(Diagnostic("validation", message, hint=path))

        if not self.name:
            issue("name required", "metadata.name")
        elif reasons := _name_problems(self.name):
            issue(
                f"name {_quote(self.name)} cannot be used as a path segment or in a selector: {reasons}",
                "metadata.name",
            )
        if not self.display_name:
            issue("displayName required", "metadata.displayName")
        elif len(self.display_name) > MAX_DISPLAY_NAME:
            issue(f"displayName must be {MAX_DISPLAY_NAME} characters or fewer", "metadata.displayName")
        if not self.events:
            issue("events must include at least one event type", "metadata.events")
        for index, event in enumerate(self.events):
            if event not in EVENT_TYPES:
                issue(f"unsupported event type {_quote(event)}", f"metadata.events[{index}]")
        first_index: dict[str, int] = {}
        for index, entry in enumerate(self.config):
            path = f"metadata.config[{index}]"
            if not entry.name:
                issue("name required", f"{path}.name")
            elif entry.name in first_index:
                issue(
                    f"duplicate config name {_quote(entry.name)}: already declared at "
                    f"metadata.config[{first_index[entry.name]}]",
                    f"{path}.name",
                )
            else:
                first_index[entry.name] = index
            if not entry.type:
                issue("type required", f"{path}.type")
            if entry.default is not None and (expected := _default_misfit(entry.type, entry.default)):
                issue(
                    f"default {json.dumps(entry.default, ensure_ascii=False)} does not fit type "
                    f"{_quote(entry.type)}: expected {expected}",
                    f"{path}.default",
                )
        return tuple(issues)


def read_metadata(
    raw: Any, *, opaque: Mapping[str, str] | None = None
) -> tuple[Metadata | None, tuple[Diagnostic, ...]]:
    """Convert the JSON form of ``module.exports.metadata`` into :class:`Metadata`.

    ``opaque`` maps paths (``metadata.config[0].default``) to the JavaScript kind of a value that
    JSON cannot carry (``function``, ``symbol``, ``NaN`` …); the JSON holds ``null`` there. Returns the
    metadata, or ``None`` with one ``validation`` diagnostic per field of the wrong type: the
    gateway's "metadata export invalid". Rule violations are :meth:`Metadata.validate`'s business.
    """
    reader = _Reader(opaque or {})
    if not isinstance(raw, Mapping):
        reader.fail("metadata", "an object", raw)
        return None, reader.problems()
    texts = {
        key: reader.text(raw, key, f"metadata.{key}")
        for key in ("name", "tag", "version", "displayName", "description")
    }
    config = tuple(
        entry
        for index, item in enumerate(reader.array(raw, "config", "metadata.config"))
        if (entry := reader.config_field(item, f"metadata.config[{index}]")) is not None
    )
    events = tuple(
        event
        for index, item in enumerate(reader.array(raw, "events", "metadata.events"))
        if (event := reader.item_text(item, f"metadata.events[{index}]")) is not None
    )
    if reader.problems():
        return None, reader.problems()
    tag = trim_space(texts["tag"])
    return Metadata(
        name=texts["name"],
        tag=tag or texts["version"],
        display_name=texts["displayName"],
        description=texts["description"],
        config=config,
        events=events,
        tag_source="tag" if tag else "version",
    ), ()


class _Reader:
    """Type checks of the metadata JSON, collecting every mismatch instead of stopping at the first."""

    def __init__(self, opaque: Mapping[str, str]) -> None:
        self._opaque = opaque
        self._problems: list[Diagnostic] = []

    def problems(self) -> tuple[Diagnostic, ...]:
        return tuple(self._problems)

    def fail(self, path: str, expected: str, value: Any) -> None:
        kind = self._opaque.get(path) or _json_kind(value)
        self._problems.append(Diagnostic("validation", f"{path} must be {expected}, got {kind}", hint=INVALID_HINT))

    def _absent(self, value: Any, path: str) -> bool:
        # null reads as absent, as in the gateway's JSON conversion; a function read as null is not.
        return value is None and path not in self._opaque

    def text(self, data: Mapping[str, Any], key: str, path: str) -> str:
        value = data.get(key)
        if self._absent(value, path):
            return ""
        if isinstance(value, str):
            return value
        self.fail(path, "a string", value)
        return ""

    def item_text(self, value: Any, path: str) -> str | None:
        if isinstance(value, str):
            return value
        self.fail(path, "a string", value)
        return None

    def array(self, data: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = data.get(key)
        if self._absent(value, path):
            return []
        if isinstance(value, list):
            return value
        self.fail(path, "an array", value)
        return []

    def config_field(self, entry: Any, path: str) -> ConfigField | None:
        if not isinstance(entry, Mapping):
            self.fail(path, "an object", entry)
            return None
        required = entry.get("required")
        if not (self._absent(required, f"{path}.required") or isinstance(required, bool)):
            self.fail(f"{path}.required", "true or false", required)
        default_path = f"{path}.default"
        for inner, kind in self._opaque.items():
            if inner == default_path or inner.startswith((f"{default_path}.", f"{default_path}[")):
                self._problems.append(
                    Diagnostic("validation", f"{inner} must be JSON data, got {kind}", hint=INVALID_HINT)
                )
        return ConfigField(
            name=self.text(entry, "name", f"{path}.name"),
            type=self.text(entry, "type", f"{path}.type"),
            description=self.text(entry, "description", f"{path}.description"),
            default=entry.get("default"),
            required=required is True,
            has_default="default" in entry,
        )


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, Mapping) else type(value).__name__


def _quote(text: str) -> str:
    """Double-quoted as the gateway's %q does for ordinary text."""
    return json.dumps(text, ensure_ascii=False)


def _name_problems(name: str) -> str:
    """Why ``name`` cannot name a directory and a selector, or ``""`` when it can."""
    found = [f"contains {_quote(ch)}" for ch in ("/", "\\", ":", "@") if ch in name]
    if ".." in name:
        found.append('contains ".."')
    if name == ".":
        found.append('is "."')
    if any(ch.isspace() for ch in name):
        found.append("contains white space")
    if any(unicodedata.category(ch) == "Cc" and not ch.isspace() for ch in name):
        found.append("contains control characters")
    if _HASH_LIKE.fullmatch(name):
        found.append("is 64 hex digits, which a selector reads as a bare hash")
    return ", ".join(found)


def _js_number(text: str) -> float:
    """``Number(text)`` for a string, as JavaScript computes it (NaN when it is not a number)."""
    body = text.strip(_JS_SPACE)
    if not body:
        return 0.0
    radix = _JS_RADIX.get(body[:2].lower())
    if radix is not None:
        try:
            return float(int(body[2:], radix))
        except ValueError:
            return math.nan
    return float(body) if _JS_DECIMAL.fullmatch(body) else math.nan


def _as_number(value: JSONValue) -> float | None:
    """The number a strategy's ``Number(value)`` coercion yields, if ``value`` is meant as one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip(_JS_SPACE):
        return _js_number(value)
    return None


def _fits_duration(value: JSONValue) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        low, high = _PLAIN_NUMBER_RANGE
        return value == 0 or low <= value < high
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip(_JS_SPACE).lower())
        return match is not None and not match.group(1)
    return False


def _default_misfit(kind: str, value: JSONValue) -> str:
    """What a default of type ``kind`` should have been, or ``""`` when ``value`` fits (or ``kind`` is free)."""
    if kind == "int":
        number = _as_number(value)
        fits = number is not None and math.isfinite(number) and number >= 0 and number == math.floor(number)
        return "" if fits else "a whole number >= 0, or a string holding one"
    if kind in ("float", "number"):
        number = _as_number(value)
        return "" if number is not None and math.isfinite(number) else "a finite number, or a string holding one"
    if kind == "bool":
        return "" if isinstance(value, bool) else 'true or false (the strategy reads a string such as "false" as true)'
    if kind == "string":
        return "" if isinstance(value, str | int | float) else "a string, number or boolean"
    if kind == "duration":
        return "" if _fits_duration(value) else "a duration >= 0 such as 250ms, 5s or 1.5h (a bare number is ms)"
    return ""
