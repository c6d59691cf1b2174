"""Progress bars on long work (a backtest, a file read, a download, a sweep): tqdm's, drawn as a
widget in a notebook and as text elsewhere.

tqdm is imported with the first bar that is shown, not with the kit: a process that shows none (a
script or report that passes ``progress=False``, a sweep's workers) never loads it (1.8 MiB and
11 ms, measured). And it is ``tqdm.autonotebook``'s bar, not ``tqdm.auto``'s: the two draw the
same, but ``tqdm.auto`` adds ``async for`` support, which the kit never uses, by importing asyncio.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, Self


class Bar(Protocol):
    """What the kit does with a bar: iterate it, move it, close it (as a context manager)."""

    def __iter__(self) -> Iterator[Any]: ...

    def update(self, n: float = 1) -> bool | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class _Hidden:
    """A bar that is not shown: what tqdm's ``disable=True`` does (the items pass through, updates
    and closing do nothing), without importing tqdm."""

    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self._iterable = iterable if iterable is not None else ()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._iterable)

    def update(self, n: float = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(iterable: Iterable[Any] | None = None, *, disable: bool = False, **options: Any) -> Bar:
    """A tqdm bar over ``iterable`` (or moved with ``update``) with tqdm's own ``options`` (``total``,
    ``desc``, ``unit``, ``delay``...), a widget under Jupyter; with ``disable``, one that is never
    shown."""
    if disable:
        return _Hidden(iterable)
    if "tqdm.autonotebook" not in sys.modules:
        from tqdm.std import TqdmExperimentalWarning

        # its import warns, once, that the notebook widget is experimental: tqdm.auto silences it so
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TqdmExperimentalWarning)
            importlib.import_module("tqdm.autonotebook")
    from tqdm.autonotebook import tqdm

    return tqdm(iterable, **options)
