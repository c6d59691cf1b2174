"""Giving the C allocator's free memory back to the system, after work that freed much of it.

glibc's malloc keeps what is freed in the arenas of the threads that used it, for their next
allocations; after a large file read through the kit's pool (:mod:`meltica_lab.buffers`, whose
reader threads each have an arena) or a long V8 run, that is hundreds of MiB the process holds
for nothing (a 10M-row CSV read: 901 MiB resident after it, 333 MiB once given back, in 17 ms).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS, Windows). Looked up
    among the symbols the process already has: ``ctypes.util.find_library`` runs ldconfig, 3 ms
    of every import of the kit."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except (OSError, TypeError):  # Windows has no handle for the process's own symbols
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Hand the memory malloc holds free, in every thread's arena, back to the system (nothing where
    the C library has no ``malloc_trim``). Costs a walk over the arenas: a millisecond or two per
    100 MiB they hold, so call it after work that freed that much, not after every small one."""
    if _TRIM is not None:
        _TRIM(0)
