"""What a market data format is: its published column layouts and how they become events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from meltica_lab.data.events import KIND_NAMES

TIME_UNITS: Mapping[str, int] = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
"""Epoch units a time column may be written in, as nanoseconds per unit."""

CANONICAL = (
    "timestamp",
    "open_time",
    "price",
    "quantity",
    "side",
    "symbol",
    "provider",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "confirm",
)
"""The kit's names for the columns it reads; every format maps its own names onto these
(``confirm``: 1 when a bar has closed, anything else is a bar still forming)."""


@dataclass(frozen=True)
class Layout:
    """One published column layout: ``names`` in file order, and the type of each as one letter:
    ``i`` integer (an id), ``n`` number, ``t`` integer epoch time, ``b`` boolean, ``s`` text,
    ``x`` anything (not read)."""

    names: tuple[str, ...]
    types: str

    def __post_init__(self) -> None:
        if len(self.names) != len(self.types):
            raise ValueError(f"layout {self.names}: {len(self.types)} types for {len(self.names)} names")


@dataclass(frozen=True)
class Format:
    """A market data format with a fixed published layout (or several: spot and futures, with or
    without the header line).

    ``columns`` maps each kit name (see :data:`CANONICAL`) to the names it has in the layouts (the
    first one a layout has is read). ``side`` says where the aggressor comes from: ``text`` (a
    buy/sell column), ``buyer_maker`` (a boolean that is true when the buyer was the maker, i.e. the
    aggressor sold) or ``none``. ``time_units`` are the units the format's times are written in;
    which one a file uses is decided from its values. ``headerless`` says whether files of the
    format may come without a header line, ``named`` whether they may come with one.
    ``bar_close_inclusive`` marks bars whose close time is the bar's last instant (Binance: open +
    interval - 1 unit); ``bar_from_open`` marks bars that carry only their open time (the bar's
    time is then open + interval).
    """

    name: str
    kind: int
    title: str
    layouts: tuple[Layout, ...]
    columns: Mapping[str, tuple[str, ...]]
    time_units: tuple[str, ...]
    side: str = "none"
    headerless: bool = False
    named: bool = True
    bar_close_inclusive: bool = False
    bar_from_open: bool = False
    example: str = ""
    notes: str = field(default="", compare=False)

    @property
    def kind_name(self) -> str:
        """The event kind the rows become: ``Trade``, ``Ticker`` or ``KlineSummary``."""
        return KIND_NAMES[self.kind]

    def mapping(self, layout: Layout) -> dict[str, str]:
        """Kit name -> the column's name in ``layout``, for the columns the layout has."""
        present = set(layout.names)
        out: dict[str, str] = {}
        for canonical, names in self.columns.items():
            for name in names:
                if name in present:
                    out[canonical] = name
                    break
        return out

    def header_layout(self, names: tuple[str, ...]) -> Layout | None:
        """The layout whose names are exactly ``names`` (in any order), if any."""
        wanted = sorted(names)
        for layout in self.layouts:
            if sorted(layout.names) == wanted:
                return layout
        return None
