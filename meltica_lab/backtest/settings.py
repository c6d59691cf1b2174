"""Backtest settings: how every run trades, as one frozen value, end to end.

:class:`BacktestSettings` holds what a run needs besides the strategy, its config and the data:
fees, slippage, latency, fill model, starting capital, seed, providers, symbol, bad-row handling,
V8 limits, chunk size and the progress bar. A workspace holds the defaults; ``run_backtest``,
``compare`` and ``sweep`` take changes to them as keyword arguments (:meth:`BacktestSettings.with_`);
sweep workers receive the value itself; provenance is written from :meth:`BacktestSettings.to_dict`;
and the command line's flags are generated from the field metadata (:data:`FLAGS`), so every command
that runs a backtest has the same flags. Every value is checked here, once, and a value that does
not fit is a :class:`~meltica_lab.errors.ConfigError` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, TypedDict

from meltica_lab.backtest.options import DEFAULT_CAPITAL, Fees, FillModel, SessionOptions, check_fields
from meltica_lab.errors import ConfigError, UsageError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class Flag:
    """How one setting (or one part of a nested one) is spelled on the command line.

    ``flag`` is the option (``--maker-fee``); ``help`` its text (default: the setting's); ``part``
    the field of a nested value (``maker`` of :class:`Fees`), ``None`` for the setting itself;
    ``parse`` turns the text into the value (``None``: a switch that sets ``value`` when given);
    ``repeat`` collects every occurrence into a tuple; ``choices`` limits the text.
    """

    flag: str
    help: str = ""
    part: str | None = None
    parse: Callable[[str], Any] | None = None
    value: Any = True
    repeat: bool = False
    choices: tuple[str, ...] = ()
    metavar: str | None = None


def _about(help: str, *flags: Flag, recorded: bool = True) -> dict[str, Any]:
    """A settings field's metadata: help text, command-line flags, whether provenance records it."""
    return {"help": help, "flags": flags, "recorded": recorded}


@dataclass(frozen=True)
class BacktestSettings:
    """How a backtest trades and runs; every field has the default of a plain ``run_backtest`` call.

    Make changed copies with :meth:`with_`. ``providers`` may be given as any sequence of names
    (kept as a tuple). ``seed`` is written to provenance on its own, the other recorded fields under
    ``options``; ``progress`` changes nothing about the results and is not recorded.
    """

    providers: tuple[str, ...] = field(
        default=("backtest",),
        metadata=_about(
            "configured providers (events from others are skipped; the first names rows without one)",
            Flag("--provider", "configured provider (repeatable)", parse=str, repeat=True, metavar="NAME"),
        ),
    )
    symbol: str | None = field(
        default=None,
        metadata=_about("replay only this symbol (also the symbol of rows without one)", Flag("--symbol", parse=str)),
    )
    capital: float = field(
        default=DEFAULT_CAPITAL, metadata=_about("starting capital, quote currency", Flag("--capital", parse=float))
    )
    fees: Fees = field(
        default=Fees(),
        metadata=_about(
            "fee rates as fractions of notional",
            Flag("--maker-fee", "maker fee rate (0.002 = 0.2%%)", part="maker", parse=float, metavar="RATE"),
            Flag("--taker-fee", "taker fee rate (0.002 = 0.2%%)", part="taker", parse=float, metavar="RATE"),
        ),
    )
    slippage_bps: float = field(
        default=0.0, metadata=_about("market-order slippage in basis points", Flag("--slippage-bps", parse=float))
    )
    latency_ms: float = field(
        default=0.0, metadata=_about("order latency in milliseconds", Flag("--latency-ms", parse=float))
    )
    fill_model: FillModel = field(
        default=FillModel(),
        metadata=_about(
            "when and at what price resting limit orders fill",
            Flag("--fill", "when a resting limit order fills", part="trigger", parse=str, choices=("through", "touch")),
            Flag("--price-improvement", "limit fills at the better trade price", part="price_improvement"),
            Flag("--partial-fills", "bound fills by the traded quantity", part="partial"),
        ),
    )
    seed: int = field(default=0, metadata=_about("seed for Math.random", Flag("--seed", parse=int)))
    drop_bad_rows: bool = field(
        default=False, metadata=_about("leave bad data rows out instead of failing", Flag("--drop-bad-rows"))
    )
    limits: Limits = field(
        default=DEFAULT_LIMITS,
        metadata=_about(
            "V8 time and heap limits of the strategy's isolate",
            Flag("--eval-seconds", "time limit of module evaluation and create()", part="eval_seconds", parse=float),
            Flag("--call-seconds", "time limit of one call into V8 (one chunk)", part="call_seconds", parse=float),
            Flag("--heap-bytes", "heap limit of the strategy's isolate, bytes", part="heap_bytes", parse=int),
        ),
    )
    chunk_size: int = field(
        default=65_536, metadata=_about("events per call into V8", Flag("--chunk-size", parse=int, metavar="EVENTS"))
    )
    progress: bool = field(
        default=True,
        metadata=_about(
            "a progress bar for runs longer than a second",
            Flag("--no-progress", "no progress bar", value=False),
            recorded=False,
        ),
    )

    def __post_init__(self) -> None:
        if isinstance(self.providers, Sequence) and not isinstance(self.providers, str):
            object.__setattr__(self, "providers", tuple(self.providers))
        check_fields(self, _SHARED_WITH_SESSION)
        if self.symbol is not None and (not isinstance(self.symbol, str) or not self.symbol.strip()):
            raise ConfigError(f"symbol: expected a symbol name or None, got {self.symbol!r}", field="symbol")
        for name in ("drop_bad_rows", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: expected true or false, got {getattr(self, name)!r}", field=name)
        if not isinstance(self.limits, Limits):
            raise ConfigError(f"limits: expected a Limits value, got {self.limits!r}", field="limits")

    def with_(self, **changes: Any) -> BacktestSettings:
        """A copy with some settings changed, e.g. ``settings.with_(capital=5_000, seed=3)``.

        An unknown name is a :class:`UsageError` listing the known ones; a value that does not fit a
        :class:`ConfigError` naming it.
        """
        unknown = sorted(set(changes) - set(SETTING_NAMES))
        if unknown:
            known = ", ".join(sorted(SETTING_NAMES))
            raise UsageError(f"unknown run option(s) {', '.join(unknown)}; known: {known}", field=unknown[0])
        return replace(self, **changes) if changes else self

    def session_options(self, *, dry_run: bool, instance_id: str = "backtest") -> SessionOptions:
        """The :class:`SessionOptions` of a run with these settings (the one place they are made)."""
        return SessionOptions(
            instance_id=instance_id,
            providers=self.providers,
            fees=self.fees,
            slippage_bps=self.slippage_bps,
            latency_ms=self.latency_ms,
            fill_model=self.fill_model,
            capital=self.capital,
            seed=self.seed,
            dry_run=dry_run,
            chunk_size=self.chunk_size,
        )

    def to_dict(self) -> dict[str, Any]:
        """Every setting as JSON-ready values (nested values as dicts, ``providers`` as a list)."""
        out: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, Fees | FillModel | Limits):
                value = asdict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[spec.name] = value
        return out

    def recorded(self) -> dict[str, Any]:
        """What provenance records under ``options``: every setting that shapes the results but
        ``seed`` (recorded on its own)."""
        everything = self.to_dict()
        return {name: everything[name] for name in SETTING_NAMES if _META[name]["recorded"] and name != "seed"}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BacktestSettings:
        """Settings from :meth:`to_dict`'s shape (missing names keep their defaults; nested values as
        dicts or as values). An unknown name is a :class:`UsageError`, a bad value a :class:`ConfigError`."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"settings: expected a mapping of setting names, got {type(data).__name__}")
        changes = dict(data)
        for name, kind in (("fees", Fees), ("fill_model", FillModel), ("limits", Limits)):
            value = changes.get(name)
            if isinstance(value, Mapping):
                changes[name] = _nested(kind, name, value)
        return cls().with_(**changes)


def _nested(kind: type, name: str, value: Mapping[str, Any]) -> Any:
    known = {spec.name for spec in fields(kind)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(
            f"{name}: unknown key(s) {', '.join(map(str, unknown))}; known: {', '.join(sorted(known))}",
            field=f"{name}.{unknown[0]}",
        )
    return kind(**value)


_SHARED_WITH_SESSION = (
    "providers",
    "fees",
    "fill_model",
    "slippage_bps",
    "latency_ms",
    "capital",
    "seed",
    "chunk_size",
)
_META = {spec.name: spec.metadata for spec in fields(BacktestSettings)}

SETTING_NAMES: tuple[str, ...] = tuple(_META)
"""Every field of :class:`BacktestSettings`, in order."""

FLAGS: tuple[tuple[str, Flag], ...] = tuple((name, flag) for name, meta in _META.items() for flag in meta["flags"])
"""Every command-line flag of the settings, with the field it sets (see :mod:`meltica_lab.cli.common`)."""


class SettingsChanges(TypedDict, total=False):
    """The keyword arguments ``run_backtest``, ``compare`` and ``sweep`` take: any settings field."""

    providers: Sequence[str]
    symbol: str | None
    capital: float
    fees: Fees
    slippage_bps: float
    latency_ms: float
    fill_model: FillModel
    seed: int
    drop_bad_rows: bool
    limits: Limits
    chunk_size: int
    progress: bool
