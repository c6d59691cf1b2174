"""Handing malloc's free memory back to the system."""

from __future__ import annotations

import ctypes

import pytest

from meltica_lab.malloc import _TRIM, release_free_memory

BLOCK = 32 << 10  # below malloc's mmap threshold: these come from an arena, and stay there once freed


def _anon_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon"))


@pytest.mark.skipif(_TRIM is None, reason="the C library has no malloc_trim")
def test_memory_malloc_holds_free_goes_back_to_the_system():
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(BLOCK) for _ in range(2_048)]  # 64 MiB
    for block in blocks:
        ctypes.memset(block, 1, BLOCK)
    pinned = libc.malloc(BLOCK)  # above them all: freeing them cannot shrink the arena from its top
    for block in blocks:
        libc.free(block)
    held = _anon_kib()
    release_free_memory()
    assert held - _anon_kib() > 32 << 10  # KiB: at least half of the 64 MiB freed
    libc.free(pinned)


def test_without_malloc_trim_handing_memory_back_does_nothing_and_raises_nothing(monkeypatch):
    import meltica_lab.malloc as malloc

    monkeypatch.setattr(malloc, "_TRIM", None)
    assert malloc.release_free_memory() is None
