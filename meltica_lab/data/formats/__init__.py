"""Every market data format the kit reads, one module per publisher.

:data:`FORMATS` lists the formats with a fixed published layout; ``meltica`` (header-driven
columns, :mod:`meltica_lab.data.formats.meltica`) is read when none of them fits.
"""

from __future__ import annotations

from meltica_lab.data.formats import binance, meltica, okx, tardis
from meltica_lab.data.formats.base import CANONICAL, TIME_UNITS, Format, Layout

FORMATS: tuple[Format, ...] = (*binance.FORMATS, *okx.FORMATS, *tardis.FORMATS, meltica.POSITIONAL)
"""The formats with a fixed layout, in the order they are listed to users."""

FORMAT_NAMES: tuple[str, ...] = (*(f.name for f in FORMATS), meltica.NAME)
"""Every name ``format=`` accepts."""


def format_named(name: str) -> Format | None:
    """The fixed-layout format called ``name`` (None for ``meltica``, the header-driven one)."""
    for candidate in FORMATS:
        if candidate.name == name:
            return candidate
    return None


__all__ = ["CANONICAL", "FORMATS", "FORMAT_NAMES", "TIME_UNITS", "Format", "Layout", "format_named"]
