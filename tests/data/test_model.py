"""The values data is read into: a digest known at once, or computed on a background thread."""

from __future__ import annotations

import threading

import pytest

from meltica_lab.data import Digest


def test_a_known_digest_is_its_value():
    assert Digest("ab" * 32).value == "ab" * 32
    assert repr(Digest("00")) == "Digest('00')"


def test_a_computed_digest_runs_on_another_thread_and_waits_for_its_value():
    started, release = threading.Event(), threading.Event()
    threads: list[str] = []

    def compute() -> str:
        threads.append(threading.current_thread().name)
        started.set()
        release.wait(30)
        return "cd" * 32

    digest = Digest.computing(compute)
    assert started.wait(30)
    release.set()
    assert digest.value == "cd" * 32
    assert threads == ["meltica-digest"]


def test_a_failed_computation_raises_where_the_value_is_read():
    def compute() -> str:
        raise MemoryError("no room to hash")

    digest = Digest.computing(compute)
    with pytest.raises(MemoryError, match="no room to hash"):
        _ = digest.value
