"""The fan-out rules (chalicelib/engine/fanout.py): a group's verdict from its instances,
fail_fast, the aggregate outputs, each instance's plan and context, re-runs and the queue."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.fanout import expand
from chalicelib.domain.models import Job, Workflow
from chalicelib.domain.states import JobState
from chalicelib.engine.engine import RunContext, Skip
from chalicelib.engine.fanout import (
    InstanceTally,
    decide_ready_group,
    decide_ready_instance,
    fail_fast_stop,
    group_end,
    group_parallelism,
    instance_outputs_lookup,
    instances_to_start,
    may_start_more,
    output_keys,
    resume_index,
    reused_instances,
)
from chalicelib.engine.records import FROM_FAILURE, JobRecord, RerunKind, RerunScope
from chalicelib.engine.rules import FAN_OUT_AS_ONE_JOB, FailJob, Launch, Reuse, decide_ready_job
from tests.builders import action, catalog, component, job, stage, workflow

TESTER = "demo/tester@1.0.0"
CATALOG = catalog(component(TESTER, outputs=["COUNT"]))
CONTEXT = RunContext("run-1", params={"ref": "main"})


def fan_out(**fields: Any) -> tuple[Workflow, Job]:
    flow = workflow(stage("test", action("run", job("test", component=TESTER, **fields))),
                    stage("sum", action("run", job("sum"))))
    return flow, flow.jobs()[0]


def instance_record(index: int, state: JobState, **fields: Any) -> JobRecord:
    return JobRecord("r1", f"test.{index}", 0, 0, 0, status=state, group="test", instance=index, **fields)


def tally(count: int, **states: int) -> InstanceTally:
    return InstanceTally(count, **states)


# --- the group's verdict --------------------------------------------------------------

def test_a_group_succeeds_when_every_instance_did() -> None:
    _, test = fan_out(shards=4)
    end = group_end(test, tally(4, succeeded=3, reused=1))
    assert end is not None and (end.state, end.reason) == (JobState.SUCCEEDED, "")


def test_a_group_succeeds_with_failures_within_what_is_allowed_and_says_so() -> None:
    _, test = fan_out(shards=1_000, allowed_failures=5)
    end = group_end(test, tally(1_000, succeeded=997, failed=3))
    assert end is not None
    assert (end.state, end.reason) == (JobState.SUCCEEDED, "3 of 1,000 instances failed (allowed: 5)")


def test_a_group_fails_when_more_failed_than_allowed() -> None:
    _, test = fan_out(shards=1_000, allowed_failures="0.5%", fail_fast=False)
    end = group_end(test, tally(1_000, succeeded=988, failed=12))
    assert end is not None
    assert (end.state, end.reason) == (JobState.FAILED, "12 of 1,000 instances failed (allowed: 5)")


def test_a_group_goes_on_while_instances_run_or_wait() -> None:
    _, test = fan_out(shards=4)
    assert group_end(test, tally(4, succeeded=3, running=1)) is None
    assert group_end(test, tally(4, succeeded=3)) is None


def test_without_fail_fast_a_failing_group_waits_for_the_rest_before_it_fails() -> None:
    _, test = fan_out(shards=4, fail_fast=False)
    assert group_end(test, tally(4, failed=2)) is None
    end = group_end(test, tally(4, failed=2, succeeded=2))
    assert end is not None and end.state is JobState.FAILED


def test_with_fail_fast_a_failing_group_ends_once_nothing_runs_though_some_never_started() -> None:
    _, test = fan_out(shards=9_000)
    assert group_end(test, tally(9_000, failed=1, running=3)) is None
    end = group_end(test, tally(9_000, failed=1, cancelled=3, succeeded=10))
    assert end is not None
    assert (end.state, end.reason) == (JobState.FAILED, "1 of 9,000 instances failed (allowed: 0)")


def test_a_group_is_cancelled_with_the_run_stop_reason() -> None:
    _, test = fan_out(shards=9_000)
    end = group_end(test, tally(9_000, succeeded=4, cancelled=4), stop_reason="cancelled")
    assert end is not None and (end.state, end.reason) == (JobState.CANCELLED, "cancelled")


def test_a_group_whose_every_instance_was_skipped_is_skipped() -> None:
    _, test = fan_out(shards=3)
    end = group_end(test, tally(3, skipped=3))
    assert end is not None and (end.state, end.reason) == (JobState.SKIPPED, "every instance was skipped")


def test_a_group_with_some_instances_skipped_succeeds() -> None:
    _, test = fan_out(shards=3)
    end = group_end(test, tally(3, skipped=2, succeeded=1))
    assert end is not None and end.state is JobState.SUCCEEDED


def test_a_store_counts_make_the_tally_and_the_missing_ones_have_not_started() -> None:
    counted = InstanceTally.of(10, {JobState.SUCCEEDED: 2, JobState.RUNNING: 3, JobState.FAILED: 1})
    assert (counted.finished, counted.running, counted.not_started) == (3, 3, 4)
    assert counted.with_end(JobState.FAILED).failed == 2
    assert counted.with_end(JobState.FAILED).running == 2
    assert counted.with_end(JobState.SKIPPED, was_running=False).running == 3


# --- fail_fast -------------------------------------------------------------------------

def test_fail_fast_stops_the_rest_at_the_first_failure_past_what_is_allowed() -> None:
    _, test = fan_out(shards=10, allowed_failures=1)
    assert fail_fast_stop(test, tally(10, failed=1, running=4), failed_index=2) is None
    assert may_start_more(test, tally(10, failed=1))
    stop = fail_fast_stop(test, tally(10, failed=2, running=4), failed_index=7)
    assert stop == "stopped: instance 7 failed"
    assert not may_start_more(test, tally(10, failed=2))


def test_without_fail_fast_the_others_go_on() -> None:
    _, test = fan_out(shards=10, fail_fast=False)
    assert fail_fast_stop(test, tally(10, failed=5), failed_index=7) is None
    assert may_start_more(test, tally(10, failed=5))


# --- the queue -------------------------------------------------------------------------

def test_the_parallelism_is_max_parallel_within_the_drivers_bound() -> None:
    _, limited = fan_out(shards=100, max_parallel=4)
    _, unlimited = fan_out(shards=100)
    assert group_parallelism(limited, 100, bound=8) == 4
    assert group_parallelism(limited, 100, bound=2) == 2
    assert group_parallelism(unlimited, 100, bound=8) == 8
    assert group_parallelism(unlimited, 3, bound=8) == 3


def test_the_queue_starts_the_next_indexes_in_order_up_to_the_free_slots() -> None:
    assert instances_to_start(10_000, next_index=0, running=0, parallel=4) == range(0, 4)
    assert instances_to_start(10_000, next_index=4, running=3, parallel=4) == range(4, 5)
    assert instances_to_start(10_000, next_index=5, running=4, parallel=4) == range(5, 5)
    assert instances_to_start(6, next_index=5, running=0, parallel=4) == range(5, 6)
    assert len(instances_to_start(10_000, next_index=9, running=0, parallel=4, stopped=True)) == 0


def test_a_restarted_queue_goes_on_from_the_lowest_index_without_a_record() -> None:
    assert resume_index([]) == 0
    assert resume_index([0, 1, 2, 4]) == 3


# --- deciding the group and its instances -----------------------------------------------

def test_a_group_fans_out_unless_reused_or_its_own_condition_is_false() -> None:
    flow, test = fan_out(shards=2, if_="${{ params.ref == 'release' }}")
    assert decide_ready_group(flow, test, CATALOG, CONTEXT, {}) == Skip(
        "test", "condition is false: ${{ params.ref == 'release' }}")
    reuse = {"test": {"COUNT": "[]"}}
    assert decide_ready_group(flow, test, CATALOG, CONTEXT, reuse) == Reuse({"COUNT": "[]"})
    flow, test = fan_out(matrix={"os": ["linux"]}, if_="${{ matrix.os == 'mac' }}")
    assert decide_ready_group(flow, test, CATALOG, CONTEXT, {}) is None


def test_a_group_with_an_unknown_component_fails() -> None:
    flow, test = fan_out(shards=2)
    assert isinstance(decide_ready_group(flow, test, catalog(), CONTEXT, {}), FailJob)


def test_an_instance_launches_as_its_key_with_its_variables_and_matrix_values() -> None:
    flow, test = fan_out(matrix={"python": ["3.11", "3.12"]}, shards=2,
                         env={"PY": "python${{ matrix.python }}"}, retries={"limit": 2}, timeout="5m")
    instance = expand(test)[3]
    decision = decide_ready_instance(flow, test, instance, 4, CATALOG, CONTEXT)
    assert isinstance(decision, Launch)
    plan = decision.plan
    assert (plan.job, plan.retry_limit, plan.timeout) == ("test.3", 2, 300.0)
    environment = plan.environment("run-1", 1)
    assert environment["PY"] == "python3.12"
    assert {key: environment[key] for key in
            ("CO_INSTANCE_INDEX", "CO_INSTANCE_COUNT", "CO_SHARD_INDEX", "CO_SHARD_COUNT", "CO_JOB")} == {
        "CO_INSTANCE_INDEX": "3", "CO_INSTANCE_COUNT": "4", "CO_SHARD_INDEX": "1", "CO_SHARD_COUNT": "2",
        "CO_JOB": "test.3"}


def test_an_instance_without_shards_gets_no_shard_variables() -> None:
    flow, test = fan_out(matrix={"python": ["3.11"]})
    decision = decide_ready_instance(flow, test, expand(test)[0], 1, CATALOG, CONTEXT)
    assert isinstance(decision, Launch)
    assert "CO_SHARD_INDEX" not in decision.plan.environment("run-1", 1)


def test_an_instance_whose_condition_is_false_is_skipped_under_its_key() -> None:
    flow, test = fan_out(matrix={"os": ["linux", "mac"]}, if_="${{ matrix.os == 'linux' }}")
    assert isinstance(decide_ready_instance(flow, test, expand(test)[0], 2, CATALOG, CONTEXT), Launch)
    skipped = decide_ready_instance(flow, test, expand(test)[1], 2, CATALOG, CONTEXT)
    assert skipped == Skip("test.1", "condition is false: ${{ matrix.os == 'linux' }}")


def test_a_reused_instance_is_not_planned() -> None:
    flow, test = fan_out(shards=2)
    assert decide_ready_instance(flow, test, expand(test)[1], 2, catalog(), CONTEXT,
                                 reused={"COUNT": "7"}) == Reuse({"COUNT": "7"})


def test_a_fan_out_job_asked_of_as_one_job_fails_rather_than_run_as_one_container() -> None:
    flow, test = fan_out(shards=3)
    assert decide_ready_job(flow, test, CATALOG, CONTEXT, {}) == FailJob(FAN_OUT_AS_ONE_JOB)
    flow, test = fan_out(shards=3, if_="${{ params.ref == 'nowhere' }}")
    assert isinstance(decide_ready_job(flow, test, CATALOG, CONTEXT, {}), Skip)


def test_a_plain_job_is_decided_as_before() -> None:
    flow = workflow(stage("only", action("a", job("build", env={"M": "${{ matrix.x }}"}))))
    decision = decide_ready_job(flow, flow.jobs()[0], CATALOG, CONTEXT, {})
    assert isinstance(decision, Launch)
    assert decision.plan.job == "build"
    environment = decision.plan.environment("run-1", 1)
    assert environment["M"] == ""
    assert not any(key.startswith(("CO_INSTANCE", "CO_SHARD")) for key in environment)


# --- outputs for later jobs ---------------------------------------------------------------

def test_the_aggregated_keys_are_the_components_then_the_jobs_own() -> None:
    _, test = fan_out(shards=2, outputs=["EXTRA", "COUNT"])
    assert output_keys(test, component(TESTER, outputs=["COUNT"])) == ["COUNT", "EXTRA"]


def test_later_jobs_read_one_instance_through_a_lookup_and_the_list_from_the_group() -> None:
    records = {"test.3": instance_record(3, JobState.SUCCEEDED, outputs={"COUNT": "9"}),
               "test.4": instance_record(4, JobState.FAILED, outputs={"COUNT": "1"})}
    asked: list[str] = []

    def get_job(name: str) -> JobRecord | None:
        asked.append(name)
        return records.get(name)

    context = RunContext("run-1", outputs={"test": {"COUNT": '["9"]'}},
                         instance_outputs=instance_outputs_lookup(get_job))
    flow = workflow(stage("only", action("a", job("sum", env={
        "THREE": "${{ jobs.test.instances[3].outputs.COUNT }}",
        "FOUR": "${{ jobs.test.instances[4].outputs.COUNT }}",
        "ALL": "${{ jobs.test.outputs.COUNT }}"}))))
    decision = decide_ready_job(flow, flow.jobs()[0], CATALOG, context, {})
    assert isinstance(decision, Launch)
    assert {key: decision.plan.env[key] for key in ("THREE", "FOUR", "ALL")} == {
        "THREE": "9", "FOUR": "", "ALL": '["9"]'}
    assert sorted(asked) == ["test.3", "test.4"]


# --- re-runs -----------------------------------------------------------------------------

PREVIOUS_INSTANCES = [
    instance_record(0, JobState.SUCCEEDED, outputs={"COUNT": "3"}),
    instance_record(1, JobState.FAILED),
    instance_record(2, JobState.REUSED, outputs={"COUNT": "4"}),
    instance_record(3, JobState.CANCELLED),
]


def test_a_rerun_from_failure_reuses_the_instances_that_succeeded() -> None:
    flow, _ = fan_out(shards=5)
    assert reused_instances(flow, "test", PREVIOUS_INSTANCES, FROM_FAILURE, workspace_kept=True) == {
        0: {"COUNT": "3"}, 2: {"COUNT": "4"}}


@pytest.mark.parametrize("scope", [RerunScope(RerunKind.ALL), RerunScope(RerunKind.JOBS, ("test",)), None])
def test_a_rerun_of_everything_or_of_the_group_runs_every_instance(scope: RerunScope | None) -> None:
    flow, _ = fan_out(shards=5)
    assert reused_instances(flow, "test", PREVIOUS_INSTANCES, scope, workspace_kept=True) == {}


def test_a_rerun_of_other_jobs_keeps_the_instances_that_succeeded() -> None:
    flow, _ = fan_out(shards=5)
    scope = RerunScope(RerunKind.JOBS, ("sum",))
    reused = reused_instances(flow, "test", PREVIOUS_INSTANCES, scope, workspace_kept=True)
    assert sorted(reused) == [0, 2]


def test_an_instances_mount_source_reads_its_matrix_values() -> None:
    flow, test = fan_out(matrix={"suite": ["unit", "db"]},
                         mounts=[{"source": "/srv/data/${{ matrix.suite }}", "target": "/data"}])
    decision = decide_ready_instance(flow, test, expand(test)[1], 2, CATALOG, CONTEXT)
    assert isinstance(decision, Launch)
    assert decision.plan.mounts[0].source == "/srv/data/db"
