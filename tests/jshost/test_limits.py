"""Limits: positive values only, copies with changes."""

import math

import pytest

from meltica_lab.errors import ConfigError
from meltica_lab.jshost.limits import DEFAULT_LIMITS, Limits


def test_with_returns_a_changed_copy():
    changed = DEFAULT_LIMITS.with_(eval_seconds=0.5)
    assert changed.eval_seconds == 0.5
    assert changed.call_seconds == DEFAULT_LIMITS.call_seconds
    assert DEFAULT_LIMITS.eval_seconds == 2.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("eval_seconds", 0),
        ("eval_seconds", -1.0),
        ("call_seconds", math.nan),
        ("call_seconds", math.inf),
        ("eval_seconds", True),
        ("eval_seconds", "2"),
        ("heap_bytes", 0),
        ("heap_bytes", 1.5e9),
    ],
)
def test_a_limit_that_is_not_a_positive_number_is_refused_by_name(field, value):
    with pytest.raises(ConfigError) as caught:
        DEFAULT_LIMITS.with_(**{field: value})
    assert caught.value.field == field
    assert f"Limits.{field}" in caught.value.message


def test_limits_are_hashable_values():
    assert {Limits(): 1}[Limits(eval_seconds=2.0)] == 1


def test_the_memory_budget_is_twice_the_heap_limit_and_at_least_1_gib_more():
    assert Limits(heap_bytes=2 * 2**30).memory_bytes == 4 * 2**30
    assert DEFAULT_LIMITS.memory_bytes == 2 * 2**30
    assert Limits(heap_bytes=64 * 2**20).memory_bytes == 1088 * 2**20
