"""The sortable strings in the store's keys: history order and its cursor."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.store.dynamodb import keys

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_sortable_times_sort_as_the_times_do(a: float, b: float) -> None:
    if a == b:  # 0.0 and -0.0 are one instant
        return
    assert (keys.sortable_time(a) < keys.sortable_time(b)) == (a < b)


@given(finite)
def test_a_sortable_time_is_sixteen_hex_digits(t: float) -> None:
    text = keys.sortable_time(t)
    assert len(text) == 16 and int(text, 16) >= 0


@given(st.floats(min_value=0, max_value=4e9), st.text(min_size=1, max_size=20),
       st.text(min_size=1, max_size=20))
def test_created_order_sorts_by_time_then_run_id(t: float, a: str, b: str) -> None:
    later = math.nextafter(t, math.inf)
    assert keys.created_order(t, a) < keys.created_order(later, b)
    assert (keys.created_order(t, a) < keys.created_order(t, b)) == (a.encode() < b.encode())


def test_a_bare_time_bounds_the_runs_of_that_instant_from_below() -> None:
    bound = keys.sortable_time(10.0)
    assert keys.created_order(9.999999, "zzz") < bound < keys.created_order(10.0, "0")


@given(st.floats(min_value=0, max_value=4e9), st.text(min_size=1, max_size=40))
def test_a_cursor_gives_back_the_order_it_was_made_from(t: float, run_id: str) -> None:
    order = keys.created_order(t, run_id)
    assert keys.decode_cursor(keys.encode_cursor(order)) == order


@pytest.mark.parametrize("cursor", ["", "!!", "aGVsbG8", "\u00e9t\u00e9"])
def test_anything_else_is_not_a_cursor(cursor: str) -> None:
    with pytest.raises(ValueError, match="not a run history cursor"):
        keys.decode_cursor(cursor)


def test_a_run_keeps_its_shard_and_runs_use_every_shard() -> None:
    assert keys.run_shard("r1") == keys.run_shard("r1")
    assert {keys.run_shard(f"run-{i}") for i in range(100)} == set(keys.all_run_shards())
