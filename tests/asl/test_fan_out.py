"""The shapes of fan-out jobs: an inline Map while one execution's history allows it, a
Distributed Map reading its items from S3 beyond that (or for more than 40 at once, or to
tolerate failures while failing fast), the group's parallelism as MaxConcurrency, allowed
failures as the tolerated count, and the group's end after the Map."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.asl import Target, build_compiled, compile_workflow
from chalicelib.asl.limits import (
    INLINE_MAP_MAX_EVENTS,
    MAX_HISTORY_EVENTS,
    MachineFigures,
    fan_out_events,
    limit_problems,
    worst_case_events,
)
from chalicelib.asl.plan import MapMode
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.errors import InvalidDefinition
from tests.asl.conftest import ITEMS_BUCKET, QUEUE_URL, TARGET, all_states, chain, compile_stages
from tests.builders import action, job, stage, workflow


def one_job(**fields: Any) -> dict[str, Any]:
    return compile_stages(stage("s", action("a", job("test", **fields)))).definition


def the_map(definition: dict[str, Any]) -> dict[str, Any]:
    return all_states(definition)["job test"]


def test_a_small_shard_job_is_an_inline_map_after_a_pass_that_writes_its_indices() -> None:
    definition = one_job(shards=4)
    states = definition["States"]

    assert chain(definition) == ["instances of test", "job test", "end of test"]
    assert states["instances of test"]["Result"] == [0, 1, 2, 3]
    assert states["instances of test"]["ResultPath"] == "$.instances"
    fan_out = states["job test"]
    assert fan_out["ItemsPath"] == "$.instances"
    assert fan_out["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert fan_out["ItemSelector"] == {"run_id.$": "$.run_id", "instance.$": "$$.Map.Item.Value"}
    assert fan_out["MaxConcurrency"] == 4
    assert "ItemReader" not in fan_out and "ToleratedFailureCount" not in fan_out
    assert fan_out["ResultPath"] is None


def test_each_instance_is_the_plain_jobs_task_with_its_index_in_the_message() -> None:
    retried = {"limit": 2, "backoff": "5s"}
    plain = one_job(timeout="10m", retries=retried)["States"]["job test"]
    instance = the_map(one_job(shards=3, timeout="10m", retries=retried))["ItemProcessor"]["States"][
        "instance of test"]

    body = instance["Parameters"]["MessageBody"]
    assert body == {**plain["Parameters"]["MessageBody"], "instance.$": "$.instance"}
    assert {k: instance[k] for k in ("Resource", "TimeoutSeconds", "Retry", "ResultPath")} == {
        k: plain[k] for k in ("Resource", "TimeoutSeconds", "Retry", "ResultPath")}
    assert instance["OutputPath"] is None and instance["End"] is True


def test_the_map_is_caught_into_the_group_end_which_sends_group_end_and_goes_on() -> None:
    definition = compile_stages(stage("s", action("a", job("test", shards=2), job("after"))))
    states = definition.definition["States"]

    assert states["job test"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": None,
                                            "Next": "end of test"}]
    assert states["job test"]["Next"] == "end of test"
    end = states["end of test"]
    assert end["Parameters"]["MessageBody"] == {"run_id.$": "$.run_id", "job": "test", "group_end": True,
                                                "attempt": 1, "token.$": "$$.Task.Token"}
    assert "Retry" not in end and end["Next"] == "job after"


def test_max_parallel_is_the_maps_max_concurrency() -> None:
    assert the_map(one_job(shards=30, max_parallel=6))["MaxConcurrency"] == 6
    assert the_map(one_job(shards=30, max_parallel=60))["MaxConcurrency"] == 30


def test_an_inline_map_that_does_not_fail_fast_catches_each_instance_failure() -> None:
    processor = the_map(one_job(shards=10, fail_fast=False, allowed_failures=2))["ItemProcessor"]["States"]

    assert processor["instance of test"]["Catch"][0]["Next"] == "instance of test failed"
    assert processor["instance of test failed"]["Type"] == "Pass"
    assert processor["instance of test failed"]["End"] is True


def test_a_job_over_the_inline_event_budget_is_a_distributed_map_reading_its_items_from_s3() -> None:
    definition = one_job(shards=1000, max_parallel=4)
    fan_out = definition["States"]["job test"]

    assert chain(definition) == ["job test", "end of test"]  # no items Pass
    assert fan_out["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert fan_out["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": ITEMS_BUCKET,
                       "Key.$": "States.Format('runs/{}/fanout/test.json', $.run_id)"},
    }
    assert fan_out["ItemSelector"] == {"run_id.$": "$.run_id", "instance.$": "$$.Map.Item.Value.instance"}
    assert fan_out["MaxConcurrency"] == 4
    assert fan_out["ToleratedFailureCount"] == 0


def test_the_inline_line_is_the_event_budget_of_nine_events_an_instance() -> None:
    largest_inline = (INLINE_MAP_MAX_EVENTS - 2 - 4 - 7) // 9  # items Pass, Map, group end

    assert the_map(one_job(shards=largest_inline, max_parallel=40))["ItemProcessor"][
        "ProcessorConfig"]["Mode"] == "INLINE"
    assert the_map(one_job(shards=largest_inline + 1, max_parallel=40))["ItemProcessor"][
        "ProcessorConfig"]["Mode"] == "DISTRIBUTED"


def test_retries_move_the_line_down_as_each_attempt_costs_five_more_events() -> None:
    retried = {"limit": 2, "backoff": "1s"}
    plan = compile_stages(stage("s", action("a", job("test", shards=262, max_parallel=8,
                                                     retries=retried)))).plan
    over = compile_stages(stage("s", action("a", job("test", shards=263, max_parallel=8,
                                                     retries=retried)))).plan

    [inline], [distributed] = plan.fan_out_steps(), over.fan_out_steps()
    assert inline.mode is MapMode.INLINE
    assert fan_out_events(inline) == 2 + 4 + 262 * (2 + 2 + 5 * 3) + 7 <= INLINE_MAP_MAX_EVENTS
    assert distributed.mode is MapMode.DISTRIBUTED
    assert fan_out_events(distributed) == 7 + 7


def test_more_than_forty_at_once_is_a_distributed_map_as_inline_maps_run_forty_at_most() -> None:
    assert "ItemReader" in the_map(one_job(shards=41))
    assert "ItemReader" not in the_map(one_job(shards=41, max_parallel=40))


def test_failing_fast_past_allowed_failures_is_a_distributed_map_tolerating_that_many() -> None:
    assert the_map(one_job(shards=10, allowed_failures=2))["ToleratedFailureCount"] == 2
    # a percentage is counted at compile time, rounded down as the engine does: 15% of 30 is 4
    assert the_map(one_job(shards=30, allowed_failures="15%"))["ToleratedFailureCount"] == 4


def test_a_distributed_map_that_does_not_fail_fast_tolerates_every_failure() -> None:
    fan_out = the_map(one_job(shards=2000, fail_fast=False, allowed_failures=5))

    assert fan_out["ToleratedFailurePercentage"] == 100
    assert "ToleratedFailureCount" not in fan_out
    assert "Catch" not in fan_out["ItemProcessor"]["States"]["instance of test"]


def test_continue_on_error_catches_the_group_end_not_the_instances() -> None:
    definition = compile_stages(stage("s", action("a", job("test", shards=3, continue_on_error=True),
                                                  job("after"))))
    states = all_states(definition.definition)

    assert states["end of test"]["Catch"][0]["Next"] == "continue after test"
    assert states["continue after test"]["Next"] == "job after"
    assert "Catch" not in states["instance of test"]


def test_a_fan_out_job_in_a_parallel_branch_starts_its_branch_at_its_items() -> None:
    definition = compile_stages(stage("s", action("a", job("test", shards=3)), action("b", job("other"))))
    [branch, _] = definition.definition["States"]["stage s"]["Branches"]

    assert chain(branch) == ["instances of test", "job test", "end of test"]


def test_the_plan_counts_every_state_of_a_fan_out_and_lists_its_distributed_maps() -> None:
    compiled = compile_stages(stage("s", action("a", job("small", shards=3, fail_fast=False,
                                                         continue_on_error=True),
                                                job("large", shards=5000))))

    assert compiled.plan.state_count == len(all_states(compiled.definition)) == 6 + 3
    assert [step.job for step in compiled.plan.distributed_steps()] == ["large"]
    assert compiled.figures.fan_outs == (("small", 3, "inline"), ("large", 5000, "distributed"))


def test_inline_maps_that_together_pass_the_history_limit_become_distributed_largest_first() -> None:
    retried = {"limit": 10, "backoff": "1s"}
    # 25 to 39 shards of 59 events each (2 + 2 + 5 * 11): 28,517 events all inline
    jobs = [job(f"j{i}", shards=25 + i, retries=retried) for i in range(15)]
    plan = build_compiled(workflow(stage("s", action("a", *jobs))), InMemoryCatalog(), TARGET).plan

    modes = {step.job: step.mode for step in plan.fan_out_steps()}
    assert [name for name, mode in modes.items() if mode is MapMode.DISTRIBUTED] == ["j13", "j14"]
    assert worst_case_events(plan) == 28_517 - (13 + 39 * 59 - 14) - (13 + 38 * 59 - 14) <= MAX_HISTORY_EVENTS


def test_ten_thousand_instances_compile_within_every_limit() -> None:
    compiled = compile_stages(stage("s", action("a", job("test", shards=10_000,
                                                         retries={"limit": 10, "backoff": "1s"}))))

    assert compiled.figures.worst_case_events == 2 + 7 + 7
    assert compiled.figures.definition_bytes < 2_000


def test_a_fan_out_job_over_ten_thousand_instances_is_refused_saying_the_limit() -> None:
    figures = MachineFigures(states=4, definition_bytes=1_000, worst_case_events=16,
                             fan_outs=(("test", 10_001, "distributed"),))

    [problem] = limit_problems(figures)
    assert problem.message == "job 'test' expands to 10,001 instances; the limit is 10,000"


def test_a_distributed_map_without_an_items_bucket_is_refused_saying_why() -> None:
    definition = workflow(stage("s", action("a", job("test", shards=100))))

    with pytest.raises(InvalidDefinition) as refused:
        compile_workflow(definition, InMemoryCatalog(), Target(QUEUE_URL))

    [problem] = refused.value.problems
    assert problem.message.startswith(
        "job 'test' runs as a Distributed Map, which reads its instances from S3")
    assert compile_workflow(workflow(stage("s", action("a", job("test", shards=10)))), InMemoryCatalog(),
                            Target(QUEUE_URL)).plan.fan_out_steps()[0].mode is MapMode.INLINE


def test_a_fan_out_machine_over_the_size_limit_is_still_refused_by_its_size() -> None:
    target = Target(QUEUE_URL + "?" + "q" * 10_000, items_bucket=ITEMS_BUCKET)
    definition = workflow(stage("s", *(action(f"a{i}", job(f"job-{i}", shards=2)) for i in range(60))))

    with pytest.raises(InvalidDefinition) as refused:
        compile_workflow(definition, InMemoryCatalog(), target)

    assert refused.value.problems[0].message.startswith("the compiled state machine would be")
