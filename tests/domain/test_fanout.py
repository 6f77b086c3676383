"""Fan-out expansion: the instances of a matrix and/or shards, in order, cheaply."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from chalicelib.domain.fanout import (
    MAX_INSTANCES,
    Instance,
    allowed_failure_count,
    expand,
    fails_fast,
    instance_count,
    is_fan_out,
)
from chalicelib.domain.models import Job


def fan_out_job(**fields: Any) -> Job:
    return Job.model_validate({"name": "test", "image": "busybox", **fields})


def values_of(job: Job) -> list[dict[str, str]]:
    return [dict(instance.values) for instance in expand(job)]


def test_a_plain_job_does_not_fan_out_and_counts_as_one_instance() -> None:
    job = fan_out_job()
    assert not is_fan_out(job)
    assert instance_count(job) == 1
    assert list(expand(job)) == []


def test_the_product_runs_the_first_axis_slowest_and_the_last_fastest() -> None:
    job = fan_out_job(matrix={"python": ["3.11", "3.12"], "os": ["linux", "mac"]})
    assert values_of(job) == [
        {"python": "3.11", "os": "linux"}, {"python": "3.11", "os": "mac"},
        {"python": "3.12", "os": "linux"}, {"python": "3.12", "os": "mac"},
    ]
    assert is_fan_out(job)
    assert instance_count(job) == 4


def test_values_are_kept_as_text() -> None:
    job = fan_out_job(matrix={"n": [1, 2.5, True]})
    assert values_of(job) == [{"n": "1"}, {"n": "2.5"}, {"n": "true"}]


def test_exclude_drops_every_combination_a_partial_entry_matches() -> None:
    job = fan_out_job(matrix={"python": ["3.11", "3.12"], "os": ["linux", "mac"],
                              "exclude": [{"python": "3.11"}, {"os": "mac", "python": "3.12"}]})
    assert values_of(job) == [{"python": "3.12", "os": "linux"}]


def test_include_entries_come_after_the_product_with_missing_axes_empty_and_own_keys_kept() -> None:
    job = fan_out_job(matrix={"python": ["3.12"], "os": ["linux"],
                              "include": [{"python": "3.13", "experimental": "yes"}]})
    assert values_of(job) == [
        {"python": "3.12", "os": "linux"},
        {"python": "3.13", "os": "", "experimental": "yes"},
    ]


def test_a_matrix_of_includes_only_has_one_instance_per_entry() -> None:
    job = fan_out_job(matrix={"include": [{"a": "1"}, {"a": "2"}]})
    assert values_of(job) == [{"a": "1"}, {"a": "2"}]


def test_shards_alone_number_the_instances_by_shard() -> None:
    instances = list(expand(fan_out_job(shards=3)))
    assert instances == [Instance(i, {}, i, 3) for i in range(3)]


def test_with_a_matrix_each_combination_is_split_into_its_shards() -> None:
    job = fan_out_job(matrix={"os": ["linux", "mac"]}, shards=2)
    assert [(i.index, i.values["os"], i.shard, i.shard_count) for i in expand(job)] == [
        (0, "linux", 0, 2), (1, "linux", 1, 2), (2, "mac", 0, 2), (3, "mac", 1, 2),
    ]
    assert instance_count(job) == 4


def test_an_instance_is_computed_from_its_index_and_negative_and_out_of_range_indexes_behave() -> None:
    instances = expand(fan_out_job(matrix={"a": ["x", "y", "z"]}, shards=2))
    assert instances[5] == Instance(5, {"a": "z"}, 1, 2)
    assert instances[-1] == instances[5]
    assert [i.index for i in instances[1:3]] == [1, 2]
    with pytest.raises(IndexError):
        instances[6]


def test_ten_thousand_instances_cost_little_memory() -> None:
    job = fan_out_job(matrix={"a": [str(i) for i in range(100)], "b": [str(i) for i in range(10)]},
                      shards=10)
    tracemalloc.start()
    try:
        instances = expand(job)
        count = len(instances)
        last = instances[count - 1]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == MAX_INSTANCES
    assert last == Instance(9_999, {"a": "99", "b": "9"}, 9, 10)
    assert peak < 64 * 1024


def test_ten_thousand_instances_with_an_exclude_keep_only_a_compact_index() -> None:
    job = fan_out_job(matrix={"a": [str(i) for i in range(101)], "b": [str(i) for i in range(100)],
                              "exclude": [{"a": "100"}]})
    tracemalloc.start()
    try:
        count = len(expand(job))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == MAX_INSTANCES
    assert peak < 256 * 1024


def test_fail_fast_is_on_unless_turned_off() -> None:
    assert fails_fast(fan_out_job(shards=2))
    assert not fails_fast(fan_out_job(shards=2, fail_fast=False))


@pytest.mark.parametrize(("allowed", "count", "expected"), [
    (None, 10, 0), (3, 10, 3), ("10%", 1_000, 100), ("10%", 15, 1), ("33.3%", 1_000, 333),
    ("0%", 5, 0), ("100%", 7, 7),
])
def test_allowed_failures_as_a_count_or_a_percentage_rounded_down(
    allowed: int | str | None, count: int, expected: int
) -> None:
    assert allowed_failure_count(allowed, count) == expected

