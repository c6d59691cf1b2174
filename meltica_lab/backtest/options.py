"""How the simulated exchange and the host behave: fees, fill model, and the session options.

A value that does not fit is a :class:`~meltica_lab.errors.ConfigError` naming the field; each rule is
written once here, and :class:`SessionOptions` and
:class:`~meltica_lab.backtest.settings.BacktestSettings` both check their fields by it.

The rules are sane ranges, not only types: a value no exchange or run could mean (a taker fee of
-0.5, which pays 50 % of notional back on every fill; a slippage above 100 %) is refused with the
range that fits, rather than producing numbers nobody can use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from meltica_lab.errors import ConfigError

DEFAULT_CAPITAL = 100_000.0
"""Starting capital, in the quote currency, when a run does not name one."""

FEE_RANGES = {"maker": (-0.01, 0.1), "taker": (0.0, 0.1)}
"""Sane fee rates, inclusive: a maker rebate of up to 1 % (negative), fees of up to 10 % of notional;
a taker fee is never a rebate."""

MAX_SLIPPAGE_BPS = 10_000.0
"""100 %: slippage beyond the whole price is not a market."""

MAX_LATENCY_MS = 86_400_000.0
"""One day of order latency."""


def _check(condition: bool, field_name: str, expected: str, value: object) -> None:
    if not condition:
        raise ConfigError(f"{field_name}: expected {expected}, got {value!r}", field=field_name)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# What each run option must be; SessionOptions and BacktestSettings check their shared fields here.
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "providers": (
        lambda v: isinstance(v, tuple) and len(v) > 0 and all(isinstance(p, str) and p.strip() for p in v),
        "a non-empty tuple of provider names",
    ),
    "fees": (lambda v: isinstance(v, Fees), "a Fees value"),
    "fill_model": (lambda v: isinstance(v, FillModel), "a FillModel value"),
    "slippage_bps": (lambda v: _finite(v) and 0 <= v <= MAX_SLIPPAGE_BPS, f"a number from 0 to {MAX_SLIPPAGE_BPS:g}"),
    "latency_ms": (
        lambda v: _finite(v) and 0 <= v <= MAX_LATENCY_MS,
        f"a number from 0 to {MAX_LATENCY_MS:.0f} (a day)",
    ),
    "capital": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "max_log_lines": (_positive_int, "a positive integer"),
    "max_log_line_length": (_positive_int, "a positive integer"),
    "max_error_kinds": (_positive_int, "a positive integer"),
    "chunk_size": (_positive_int, "a positive integer"),
}


def check_fields(value: object, names: Iterable[str]) -> None:
    """Check the named run options of ``value`` by their one rule; :class:`ConfigError` naming the first
    that does not fit."""
    for name in names:
        rule, expected = _RULES[name]
        _check(rule(getattr(value, name)), name, expected, getattr(value, name))


_TEXT_OPTIONS: dict[str, tuple[str, Callable[[float], bool], str]] = {
    "seed": ("int", lambda v: True, "an integer"),
    "fees.maker": (
        "float",
        lambda v: FEE_RANGES["maker"][0] <= v <= FEE_RANGES["maker"][1],
        "a rate from -0.01 to 0.1",
    ),
    "fees.taker": ("float", lambda v: FEE_RANGES["taker"][0] <= v <= FEE_RANGES["taker"][1], "a rate from 0 to 0.1"),
    "slippage_bps": ("float", lambda v: _RULES["slippage_bps"][0](v), _RULES["slippage_bps"][1]),
    "latency_ms": ("float", lambda v: _RULES["latency_ms"][0](v), _RULES["latency_ms"][1]),
    "capital": ("float", lambda v: _RULES["capital"][0](v), _RULES["capital"][1]),
}


def parse_option(name: str, text: str) -> int | float:
    """A run option typed as text (a form field: ``seed``, ``fees.maker``, ``fees.taker``,
    ``slippage_bps``, ``latency_ms``, ``capital``), parsed strictly and checked by the same range as
    the option itself: ``"2.7"`` is not a seed, ``"12abc"`` not a number, and nothing is rounded."""
    kind, fits, expected = _TEXT_OPTIONS[name]
    raw = text.strip() if isinstance(text, str) else text
    value: int | float | None = None
    if isinstance(raw, str) and raw:
        try:
            value = int(raw) if kind == "int" else float(raw)
        except ValueError:
            value = None
    elif _finite(raw) and (kind == "float" or isinstance(raw, int)):
        value = raw
    if value is None or not _finite(value) or not fits(value):
        raise ConfigError(f"{name}: expected {expected}, got {text!r}", field=name)
    return value


@dataclass(frozen=True)
class Fees:
    """Fee rates as fractions of notional, charged in the quote currency.

    ``maker`` applies to limit-order fills, ``taker`` to market-order fills. The default is the
    reference gateway's flat 0.2 % for both. A negative maker rate is a rebate; the sane ranges are
    :data:`FEE_RANGES`.
    """

    maker: float = 0.002
    taker: float = 0.002

    def __post_init__(self) -> None:
        for name, (low, high) in FEE_RANGES.items():
            value = getattr(self, name)
            _check(
                _finite(value) and low <= value <= high,
                f"fees.{name}",
                f"a rate from {low:g} to {high:g} (0.002 = 0.2 %)",
                value,
            )


@dataclass(frozen=True)
class FillModel:
    """When a resting limit order fills and at what price.

    ``trigger``: ``"through"`` (default) fills a buy limit only when the market trades strictly
    below it (a sell strictly above), the conservative choice, since the queue ahead of an order
    resting at a price may absorb every trade at that price; ``"touch"`` also fills at equality.
    ``price_improvement``: fill at the better of the limit and the market price instead of the limit.
    ``partial``: bound each fill by the quantity the market traded (trade quantity, quote size,
    bar volume), shared by the orders filled on that event, so large orders fill over several events.
    """

    trigger: Literal["through", "touch"] = "through"
    price_improvement: bool = False
    partial: bool = False

    def __post_init__(self) -> None:
        _check(self.trigger in ("through", "touch"), "fill_model.trigger", '"through" or "touch"', self.trigger)


@dataclass(frozen=True)
class SessionOptions:
    """Everything a strategy session needs besides the strategy and its config.

    ``latency_ms`` delays every order: it becomes eligible to fill, and its ACK or REJECTED report
    is delivered, ``latency_ms`` after submission. ``slippage_bps`` moves market-order fills against
    the order. ``capital`` is the starting cash in the quote currency. ``dry_run`` is the host's
    dry-run flag (``isDryRun()``). ``bare`` turns the exchange and the results off: payloads and
    handler calls only, the ceiling a benchmark compares against.
    """

    instance_id: str = "backtest"
    providers: tuple[str, ...] = ("backtest",)
    fees: Fees = field(default_factory=Fees)
    slippage_bps: float = 0.0
    latency_ms: float = 0.0
    fill_model: FillModel = field(default_factory=FillModel)
    capital: float = DEFAULT_CAPITAL
    seed: int = 0
    dry_run: bool = False
    max_log_lines: int = 10_000
    max_log_line_length: int = 4096
    max_error_kinds: int = 1000
    chunk_size: int = 65_536
    bare: bool = False

    def __post_init__(self) -> None:
        check_fields(self, _RULES)
