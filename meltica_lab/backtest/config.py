"""Strategy config for a run: values coerced by the metadata's declared types, defaults applied.

The gateway hands ``env.config`` over untouched (compat §1.7); a backtest instead checks every value
against ``metadata.config`` so that a typo fails before the run, not silently inside the strategy.
Declared types: ``int``, ``float``/``number``, ``bool``, ``string``, ``duration`` (a number of
milliseconds, or text with a unit ``ns|us|µs|ms|s|m|h`` that is kept as text for the strategy to
parse); any other declared type passes the value through. Values given as text (``--config
key=value``) are parsed by the declared type. ``dry_run`` is always accepted and defaults to false in
a backtest, whatever the metadata default says (compat §8 W1).

Beyond its type, a number must be in a sane range, because strategies replace what they cannot use
without a word (momentum runs ``lookback=-5`` exactly like its default 20, while provenance would
record -5): an ``int`` must be exact in JavaScript (within ±(2**53 - 1)), and a number whose declared
default is >= 0 must not be negative. The same checks serve ``run_backtest``, the command line and
the widgets' forms (:func:`check_value`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from meltica_lab.errors import ConfigError

DRY_RUN = "dry_run"
MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer a JavaScript number holds exactly (``Number.MAX_SAFE_INTEGER``)."""
_DURATION = re.compile(r"^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)?$", re.IGNORECASE)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ConfigFieldLike(Protocol):
    """What a metadata config field provides (``meltica_lab.jshost.metadata.ConfigField``)."""

    name: str
    type: str
    default: Any
    required: bool


class _Mismatch(Exception):
    pass


class _OutOfRange(Exception):
    """A value of the right type outside what the type can carry; the argument says what fits."""


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Mismatch
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value)
    ):
        number = int(value)
    else:
        raise _Mismatch
    if abs(number) > MAX_SAFE_INTEGER:
        raise _OutOfRange(f"an integer within ±{MAX_SAFE_INTEGER} (exact in JavaScript)")
    return number


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Mismatch
    try:
        number = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        raise _Mismatch from None
    if not math.isfinite(number):
        raise _Mismatch
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Mismatch


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Mismatch


def _duration(value: Any) -> float | str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return float(text) if "." in text else int(text)
        if _DURATION.fullmatch(text):
            return text
    raise _Mismatch


_COERCE = {
    "int": (_int, "an integer"),
    "float": (_float, "a finite number"),
    "number": (_float, "a finite number"),
    "bool": (_bool, "true or false"),
    "string": (_string, "text"),
    "duration": (_duration, "a duration >= 0 (milliseconds, or a number with ns/us/µs/ms/s/m/h)"),
}


def coerce_value(key: str, declared: str, value: Any, *, where: str = "config") -> Any:
    """``value`` converted to the declared type; :class:`ConfigError` naming ``key`` if it does not fit."""
    rule = _COERCE.get(declared.strip().lower())
    if rule is None:
        return value
    convert, expected = rule
    try:
        return convert(value)
    except _Mismatch:
        raise ConfigError(f"{where}: {key}: expected {expected} (type {declared}), got {value!r}", field=key) from None
    except _OutOfRange as exc:
        raise ConfigError(
            f"{where}: {key}: expected {exc.args[0]} (type {declared}), got {value!r}", field=key
        ) from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_value(field: ConfigFieldLike, value: Any, *, where: str = "config") -> Any:
    """``value`` for the declared key ``field``: coerced by its type (:func:`coerce_value`), then
    checked against the sane range its declaration implies (see the module docstring)."""
    coerced = coerce_value(field.name, field.type, value, where=where)
    default = field.default
    if _number(coerced) and _number(default) and default >= 0 and coerced < 0:
        raise ConfigError(
            f"{where}: {field.name}: expected a value >= 0, as its declared default {default!r} is "
            f"(a strategy replaces values it cannot use without a word), got {value!r}",
            field=field.name,
        )
    return coerced


def resolve_config(
    fields: Iterable[ConfigFieldLike],
    values: Mapping[str, Any] | None,
    *,
    strategy: str,
    apply_defaults: bool = True,
) -> dict[str, Any]:
    """The config a backtest hands to ``create(env)``.

    Every key must be declared in ``fields`` (or be ``dry_run``); values are coerced by the declared
    type; missing keys take the declared default (when ``apply_defaults``); a required key with no
    value and no default is an error; ``dry_run`` defaults to false.
    """
    declared = {f.name: f for f in fields}
    given = dict(values or {})
    where = f"config for {strategy}"
    unknown = sorted(k for k in given if k not in declared and k != DRY_RUN)
    if unknown:
        known = ", ".join(sorted({*declared, DRY_RUN}))
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {known}", field=unknown[0])
    config: dict[str, Any] = {}
    for name, field in declared.items():
        if name in given:
            config[name] = check_value(field, given[name], where=where)
        elif name == DRY_RUN:
            continue
        elif apply_defaults and field.default is not None:
            try:
                config[name] = coerce_value(name, field.type, field.default, where=where)
            except ConfigError:
                config[name] = field.default
        elif field.required:
            raise ConfigError(f"{where}: {name} is required and has no default", field=name)
    config[DRY_RUN] = coerce_value(DRY_RUN, "bool", given.get(DRY_RUN, False), where=where)
    return config
