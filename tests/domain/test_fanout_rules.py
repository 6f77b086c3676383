"""Validation of fan-out jobs: every problem of a matrix, shards and their settings, in words."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.validation import check_workflow
from chalicelib.errors import Problem
from tests.builders import (
    JOB_PATH,
    action,
    catalog,
    component,
    job,
    job_path,
    single_job_doc,
    stage,
    workflow_doc,
)

TESTER = "demo/tester@1.0.0"


def components() -> InMemoryCatalog:
    return catalog(component(TESTER, outputs=["COUNT"]))


def problems_of(document: dict[str, Any]) -> list[Problem]:
    return check_workflow(document, components()).problems


def messages_at(document: dict[str, Any], path: str) -> list[str]:
    return [problem.message for problem in problems_of(document) if problem.path == path]


def fan_out_then_sum(fan_out: dict[str, Any], reference: str) -> dict[str, Any]:
    return workflow_doc(
        stage("test", action("run", job("test", component=TESTER, **fan_out))),
        stage("sum", action("run", job("sum", env={"COUNTS": reference}))),
    )


SUM_ENV = f"{job_path(1)}.env.COUNTS"


def test_a_valid_fan_out_job_has_no_problems() -> None:
    document = single_job_doc(
        name="test", shards=4, max_parallel=2, fail_fast=False, allowed_failures="10%",
        matrix={"python": ["3.11", "3.12"], "include": [{"python": "3.13", "extra": "yes"}],
                "exclude": [{"python": "3.11"}]},
        env={"PY": "${{ matrix.python }}", "X": "${{ matrix.extra }}"},
        if_="${{ matrix.python != '3.12' }}",
    )
    assert problems_of(document) == []


def test_a_matrix_over_the_limit_is_refused_saying_the_limit() -> None:
    document = single_job_doc(name="test", matrix={"a": list(range(10_001))})
    assert messages_at(document, f"{JOB_PATH}.matrix") == [
        "job 'test' expands to 10,001 instances; the limit is 10,000"
    ]


def test_shards_times_combinations_over_the_limit_is_refused() -> None:
    document = single_job_doc(name="test", matrix={"a": list(range(11))}, shards=1_000)
    assert messages_at(document, f"{JOB_PATH}.matrix") == [
        "job 'test' expands to 11,000 instances; the limit is 10,000"
    ]


def test_shards_over_the_limit_are_refused() -> None:
    document = single_job_doc(name="test", shards=10_001)
    assert messages_at(document, f"{JOB_PATH}.shards") == [
        "job 'test' expands to 10,001 instances; the limit is 10,000"
    ]
    assert messages_at(single_job_doc(shards=0), f"{JOB_PATH}.shards") == ["shards must be at least 1"]


def test_an_axis_with_no_values_is_refused() -> None:
    document = single_job_doc(name="test", matrix={"python": [], "os": ["linux"]})
    assert messages_at(document, f"{JOB_PATH}.matrix.python") == ["axis 'python' has no values"]


def test_an_axis_listing_a_value_twice_is_refused() -> None:
    document = single_job_doc(name="test", matrix={"python": ["3.11", "3.12", "3.11"]})
    assert messages_at(document, f"{JOB_PATH}.matrix.python[2]") == ["axis 'python' lists '3.11' twice"]


def test_a_matrix_that_exclude_empties_is_refused() -> None:
    document = single_job_doc(name="test", matrix={"python": ["3.11"], "exclude": [{"python": "3.11"}]})
    assert messages_at(document, f"{JOB_PATH}.matrix") == [
        "job 'test' has no instances: exclude removes every combination of its matrix"
    ]


def test_an_exclude_key_that_is_no_axis_is_refused() -> None:
    document = single_job_doc(name="test", matrix={"python": ["3.11", "3.12"], "exclude": [{"os": "mac"}]})
    assert messages_at(document, f"{JOB_PATH}.matrix.exclude[0].os") == [
        "exclude key 'os' is no axis of the matrix (its axes: python)"
    ]


def test_an_axis_name_follows_the_rule_of_a_key_in_words() -> None:
    document = single_job_doc(name="test", matrix={"py version": ["3"]})
    [message] = messages_at(document, f"{JOB_PATH}.matrix.py version")
    assert message.startswith("axis name 'py version' is not allowed: use letters")


def test_matrix_references_in_a_job_without_a_matrix_are_refused() -> None:
    document = single_job_doc(name="build", data={"v": "${{ matrix.python }}"}, shards=2)
    assert messages_at(document, f"{JOB_PATH}.data.v") == ["'matrix.python': job 'build' has no matrix"]


def test_matrix_references_naming_no_axis_or_include_key_are_refused() -> None:
    document = single_job_doc(name="test", matrix={"python": ["3.12"]}, if_="matrix.os == 'linux'")
    assert messages_at(document, f"{JOB_PATH}.if") == [
        "'matrix.os' names no axis or include key of the matrix of job 'test' (it has: python)"
    ]


def test_matrix_references_are_checked_in_mount_sources_too() -> None:
    document = single_job_doc(name="test", mounts=[{"source": "/data/${{ matrix.nope }}", "target": "/d"}],
                              matrix={"python": ["3.12"]})
    assert len(messages_at(document, f"{JOB_PATH}.mounts[0].source")) == 1


def test_allowed_failures_over_the_count_is_refused() -> None:
    document = single_job_doc(name="test", shards=8, allowed_failures=9)
    assert messages_at(document, f"{JOB_PATH}.allowed_failures") == [
        "allowed_failures is 9, more than the 8 instances of job 'test'"
    ]


def test_a_bad_percentage_is_refused() -> None:
    for bad in ("101%", "ten%", "10", "-5%"):
        document = single_job_doc(name="test", shards=8, allowed_failures=bad)
        assert messages_at(document, f"{JOB_PATH}.allowed_failures") == [
            f"'{bad}' is not a percentage from 0% to 100% (write e.g. '10%'), nor a count"
        ]


def test_max_parallel_under_one_is_refused() -> None:
    document = single_job_doc(name="test", shards=8, max_parallel=0)
    assert messages_at(document, f"{JOB_PATH}.max_parallel") == [
        "max_parallel must be at least 1 (leave it out for no limit of the job's own)"
    ]


def test_fan_out_settings_on_a_job_that_does_not_fan_out_are_refused() -> None:
    document = single_job_doc(name="build", fail_fast=True, allowed_failures=1, max_parallel=2)
    for key in ("fail_fast", "allowed_failures", "max_parallel"):
        assert messages_at(document, f"{JOB_PATH}.{key}") == [
            f"{key} applies to a fan-out job only: give job 'build' a matrix or shards"
        ]


def test_a_later_job_reads_one_instance_or_the_list_of_a_fan_out_job() -> None:
    for reference in ("${{ jobs.test.instances[7].outputs.COUNT }}", "${{ jobs.test.outputs.COUNT }}",
                      "${{ jobs.test.outputs.CO_INSTANCES_FAILED }}"):
        assert problems_of(fan_out_then_sum({"shards": 8}, reference)) == []


def test_a_list_of_more_instances_than_one_output_value_holds_is_refused_inline_naming_its_file() -> None:
    document = fan_out_then_sum({"shards": 6_554}, "${{ jobs.test.outputs.COUNT }}")
    assert messages_at(document, SUM_ENV) == [
        "'jobs.test.outputs.COUNT' is the list of the 6,554 instances of job 'test', at least 32,771 "
        "bytes: more than one output value may be (32,768); read its file instead, "
        "${{ jobs.test.outputs.CO_LISTS_DIR }}/COUNT.json"
    ]


def test_a_list_that_can_fit_one_output_value_and_the_lists_folder_may_be_read_inline() -> None:
    assert problems_of(fan_out_then_sum({"shards": 6_553}, "${{ jobs.test.outputs.COUNT }}")) == []
    assert problems_of(fan_out_then_sum({"shards": 10_000},
                                        "${{ jobs.test.outputs.CO_LISTS_DIR }}/COUNT.json")) == []


def test_an_instance_index_past_the_count_is_refused() -> None:
    document = fan_out_then_sum({"shards": 8}, "${{ jobs.test.instances[8].outputs.COUNT }}")
    assert messages_at(document, SUM_ENV) == [
        "'jobs.test.instances[8].outputs.COUNT': job 'test' has 8 instances (0 to 7)"
    ]


def test_instances_of_a_job_that_does_not_fan_out_are_refused() -> None:
    document = fan_out_then_sum({}, "${{ jobs.test.instances[0].outputs.COUNT }}")
    assert messages_at(document, SUM_ENV) == [
        "'jobs.test.instances[0].outputs.COUNT': job 'test' does not fan out (no matrix or shards),"
        " so it has no instances"
    ]


def test_an_instance_output_the_job_does_not_declare_is_refused() -> None:
    document = fan_out_then_sum({"shards": 2}, "${{ jobs.test.instances[1].outputs.NOPE }}")
    assert messages_at(document, SUM_ENV) == [
        "job 'test' does not declare output 'NOPE' (it declares: COUNT)"
    ]


def test_the_counts_are_outputs_of_a_fan_out_job_only() -> None:
    document = fan_out_then_sum({}, "${{ jobs.test.outputs.CO_INSTANCES }}")
    assert len(messages_at(document, SUM_ENV)) == 1


def test_an_instance_written_without_an_index_is_refused() -> None:
    document = fan_out_then_sum({"shards": 2}, "${{ jobs.test.instances.outputs.COUNT }}")
    assert messages_at(document, SUM_ENV) == [
        "'jobs.test.instances.outputs.COUNT' should look like jobs.<job>.instances[<n>].outputs.<KEY>"
    ]


def test_sizes_no_count_could_hold_are_problems_not_errors() -> None:
    huge = single_job_doc(name="test", shards=10**30, matrix={"a": list(range(50)), "b": list(range(50))})
    assert messages_at(huge, f"{JOB_PATH}.matrix") == [
        f"job 'test' expands to {2_500 * 10**30:,} instances; the limit is 10,000"]
    assert messages_at(single_job_doc(name="test", shards=-5), f"{JOB_PATH}.shards") == [
        "shards must be at least 1"]


def test_an_exclude_over_a_product_too_large_to_look_through_is_refused() -> None:
    document = single_job_doc(name="test", matrix={"a": list(range(1_000)), "b": list(range(1_000)),
                                                   "exclude": [{"a": 1}]})
    assert messages_at(document, f"{JOB_PATH}.matrix") == [
        "job 'test' has 1,000,000 combinations before exclude; the limit is 100,000"]


def test_a_fan_out_job_cannot_set_the_instance_variables_itself() -> None:
    document = single_job_doc(name="test", shards=2, env={"CO_SHARD_INDEX": "1"},
                              data={"instance-count": "3"})
    assert messages_at(document, f"{JOB_PATH}.env.CO_SHARD_INDEX") == [
        "CO_SHARD_INDEX is set by ContainerOps for each instance of a fan-out job"]
    assert messages_at(document, f"{JOB_PATH}.data.instance-count") == [
        "data key 'instance-count' would set CO_INSTANCE_COUNT, which ContainerOps sets for each instance"
        " of a fan-out job"]
    assert problems_of(single_job_doc(name="plain", env={"CO_SHARD_INDEX": "1"})) == []
