"""The shared engine (DESIGN §3): params, job plans, environments, verdicts, retries, reuse."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.protocol import OutputCollector, decode_pairs
from chalicelib.domain.states import JobState
from chalicelib.engine.engine import (
    DEFAULT_JOB_TIMEOUT,
    MAX_RETRY_DELAY,
    AttemptEnd,
    JobPlan,
    RunContext,
    SecretMasker,
    Skip,
    component_of,
    judge_attempt,
    plan_job,
    resolve_params,
    retry_delay,
    succeeded_outputs,
)
from chalicelib.engine.records import JobRecord
from chalicelib.errors import InvalidDefinition, NotFound, Problem
from tests.builders import (
    catalog,
    component,
    optional_input,
    required_input,
    single_job_workflow,
)

TOOL = "demo/tool@1.0.0"


def plan(
    workflow: Workflow,
    component_: Component | None = None,
    context: RunContext | None = None,
) -> JobPlan:
    result = plan_job(workflow, workflow.jobs()[0], component_, context or RunContext("run-1"))
    assert isinstance(result, JobPlan)
    return result


def image_plan(**job_fields: Any) -> JobPlan:
    return plan(single_job_workflow(**job_fields))


def tool(**spec: Any) -> Component:
    return component(TOOL, **spec)


def tool_plan(component_spec: dict[str, Any] | None = None, **job_fields: Any) -> JobPlan:
    return plan(single_job_workflow(component=TOOL, **job_fields), tool(**(component_spec or {})))


# --- params -----------------------------------------------------------------------------


def params_workflow() -> Workflow:
    return single_job_workflow(
        spec__params=[
            {"name": "branch", "default": "master"},
            {"name": "count", "default": 3},
            {"name": "debug", "default": False},
            {"name": "token", "required": True},
            {"name": "note"},
        ]
    )


def test_params_take_given_values_over_defaults() -> None:
    resolved = resolve_params(params_workflow(), {"branch": "dev", "token": "t"})
    assert resolved == {"branch": "dev", "count": "3", "debug": "false", "token": "t", "note": ""}


def test_missing_required_and_unknown_params_are_all_reported() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        resolve_params(params_workflow(), {"colour": "red", "size": "xl"})
    assert caught.value.problems == [
        Problem(
            "params.colour", "unknown param 'colour' (declared: branch, count, debug, token, note)"
        ),
        Problem(
            "params.size", "unknown param 'size' (declared: branch, count, debug, token, note)"
        ),
        Problem("params.token", "param 'token' is required"),
    ]


def test_unknown_param_of_a_workflow_without_params_says_none_are_declared() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        resolve_params(single_job_workflow(), {"x": "1"})
    assert caught.value.problems == [Problem("params.x", "unknown param 'x' (declared: none)")]


def test_required_param_with_a_default_need_not_be_given() -> None:
    workflow = single_job_workflow(spec__params=[{"name": "a", "required": True, "default": "d"}])
    assert resolve_params(workflow, {}) == {"a": "d"}


# --- data -------------------------------------------------------------------------------


def test_component_input_defaults_fill_data_the_job_leaves_out() -> None:
    job_plan = tool_plan(
        {
            "inputs": [
                required_input("url"),
                optional_input("version", "py3k"),
                optional_input("n", 2),
            ]
        },
        data={"url": "https://x.org/y.git"},
    )
    assert job_plan.data == {"version": "py3k", "n": "2", "url": "https://x.org/y.git"}


def test_job_data_overrides_component_defaults() -> None:
    job_plan = tool_plan({"inputs": [optional_input("version", "py3k")]}, data={"version": "py2"})
    assert job_plan.data == {"version": "py2"}


def test_input_without_default_left_out_is_not_in_data() -> None:
    assert tool_plan({"inputs": [optional_input("extra")]}).data == {}


def test_data_templates_are_rendered_from_params_trigger_run_and_upstream_outputs() -> None:
    context = RunContext(
        "run-7",
        params={"branch": "main"},
        trigger={"repository": {"url": "https://x.org/y.git"}, "commits": [{"id": "abc"}]},
        outputs={"build": {"IMAGE": "demo/app:1"}},
    )
    job_plan = plan(
        single_job_workflow(
            data={
                "ref": "refs/heads/${{ params.branch }}",
                "repo": "${{ trigger.repository.url }}",
                "commit": "${{ trigger.commits.0.id }}",
                "tag": "${{ run.id }}-${{ jobs.build.outputs.IMAGE }}",
            }
        ),
        context=context,
    )
    assert job_plan.data == {
        "ref": "refs/heads/main",
        "repo": "https://x.org/y.git",
        "commit": "abc",
        "tag": "run-7-demo/app:1",
    }


def test_missing_values_render_as_empty_text() -> None:
    job_plan = image_plan(
        data={
            "a": "[${{ params.nope }}]",
            "b": "[${{ jobs.x.outputs.Y }}]",
            "c": "[${{ trigger.a.b.c }}]",
        }
    )
    assert job_plan.data == {"a": "[]", "b": "[]", "c": "[]"}


def test_non_text_data_becomes_text() -> None:
    job_plan = image_plan(data={"n": 3, "f": 1.5, "yes": True, "no": False})
    assert job_plan.data == {"n": "3", "f": "1.5", "yes": "true", "no": "false"}


def test_structured_trigger_value_reaches_the_component_as_json() -> None:
    context = RunContext("r", trigger={"head": {"id": "abc", "files": ["a.py"]}})
    job_plan = plan(single_job_workflow(data={"head": "${{ trigger.head }}"}), context=context)
    assert json.loads(job_plan.data["head"]) == {"id": "abc", "files": ["a.py"]}


# --- env and secrets --------------------------------------------------------------------


def test_env_is_workflow_env_with_job_env_over_it() -> None:
    job_plan = image_plan(env={"B": "job", "C": "job"}, spec__env={"A": "wf", "B": "wf"})
    assert job_plan.env == {"A": "wf", "B": "job", "C": "job"}


def test_env_templates_are_rendered_and_may_use_secrets() -> None:
    context = RunContext("r", params={"branch": "main"}, secrets={"token": "s3cr3t"})
    job_plan = plan(
        single_job_workflow(
            env={"TOKEN": "${{ secrets.token }}"}, spec__env={"BRANCH": "${{ params.branch }}"}
        ),
        context=context,
    )
    assert job_plan.env == {"BRANCH": "main", "TOKEN": "s3cr3t"}
    assert job_plan.secret_values == ("s3cr3t",)


def test_empty_secrets_are_not_listed_for_masking() -> None:
    context = RunContext("r", secrets={"a": "", "b": "value"})
    assert plan(single_job_workflow(), context=context).secret_values == ("value",)


# --- image, command, format -------------------------------------------------------------


def test_component_job_runs_the_component_image_and_command() -> None:
    job_plan = tool_plan(
        {"image": "demo/tool:1", "command": ["run", "--fast"], "data_format": "json"}
    )
    assert (job_plan.image, job_plan.command, job_plan.data_format) == (
        "demo/tool:1",
        ["run", "--fast"],
        "json",
    )


def test_job_command_overrides_the_component_command() -> None:
    assert tool_plan({"command": ["a"]}, command=["b"]).command == ["b"]


def test_image_job_runs_its_image_with_pairs_data() -> None:
    job_plan = image_plan(image="alpine:3", command=["sh", "-c", "true"])
    assert (job_plan.image, job_plan.command, job_plan.data_format) == (
        "alpine:3",
        ["sh", "-c", "true"],
        "pairs",
    )
    assert not job_plan.strict_result


def test_strict_result_comes_from_the_component() -> None:
    assert tool_plan({"strict_result": True}).strict_result


def test_mount_sources_are_rendered() -> None:
    context = RunContext("r", params={"dir": "/srv/repo"})
    job_plan = plan(
        single_job_workflow(
            mounts=[{"source": "${{ params.dir }}/src", "target": "/src", "read_only": False}]
        ),
        context=context,
    )
    [mount] = job_plan.mounts
    assert (mount.source, mount.target, mount.read_only) == ("/srv/repo/src", "/src", False)


# --- resources and timeout --------------------------------------------------------------


def test_job_resources_are_merged_over_the_component_resources() -> None:
    job_plan = tool_plan(
        {"resources": {"cpu_request": 0.25, "cpu_limit": 1, "memory_limit": "1Gi"}},
        resources={"cpu_limit": 2, "memory_request": "256Mi"},
    )
    assert job_plan.resources.model_dump(exclude_none=True) == {
        "cpu_request": 0.25,
        "cpu_limit": 2.0,
        "memory_request": "256Mi",
        "memory_limit": "1Gi",
    }
    assert job_plan.memory_request_bytes == 256 * 1024**2
    assert job_plan.memory_limit_bytes == 1024**3


def test_job_without_resources_has_no_memory_figures() -> None:
    job_plan = image_plan()
    assert job_plan.memory_request_bytes is None
    assert job_plan.memory_limit_bytes is None


@pytest.mark.parametrize(
    ("job_timeout", "component_timeout", "workflow_timeout", "seconds"),
    [
        ("30m", "10m", "2h", 1800.0),
        (None, "10m", "2h", 600.0),
        (None, None, "2h", DEFAULT_JOB_TIMEOUT),
        (None, None, None, DEFAULT_JOB_TIMEOUT),
        (90, None, None, 90.0),
    ],
)
def test_timeout_is_the_job_then_component_then_default_never_the_workflows(
    job_timeout: str | int | None,
    component_timeout: str | None,
    workflow_timeout: str | None,
    seconds: float,
) -> None:
    job_fields: dict[str, Any] = {"component": TOOL}
    if job_timeout is not None:
        job_fields["timeout"] = job_timeout
    if workflow_timeout is not None:
        job_fields["spec__timeout"] = workflow_timeout
    spec = {"timeout": component_timeout} if component_timeout is not None else {}
    assert plan(single_job_workflow(**job_fields), tool(**spec)).timeout == seconds


def test_retries_and_continue_on_error_come_from_the_job() -> None:
    job_plan = image_plan(retries={"limit": 2, "backoff": "1m"}, continue_on_error=True)
    assert (job_plan.retry_limit, job_plan.retry_backoff, job_plan.continue_on_error) == (
        2,
        60.0,
        True,
    )


def test_default_retries_are_none_with_a_ten_second_backoff() -> None:
    job_plan = image_plan()
    assert (job_plan.retry_limit, job_plan.retry_backoff) == (0, 10.0)


# --- if ---------------------------------------------------------------------------------


def test_false_condition_skips_the_job_with_a_reason() -> None:
    workflow = single_job_workflow(
        name="deploy", if_="${{ jobs.detect.outputs.CHANGED == 'true' }}"
    )
    context = RunContext("r", outputs={"detect": {"CHANGED": "false"}})
    assert plan_job(workflow, workflow.jobs()[0], None, context) == Skip(
        "deploy", "condition is false: ${{ jobs.detect.outputs.CHANGED == 'true' }}"
    )


def test_true_condition_plans_the_job() -> None:
    workflow = single_job_workflow(if_="jobs.detect.outputs.CHANGED")
    context = RunContext("r", outputs={"detect": {"CHANGED": "TRUE"}})
    assert isinstance(plan_job(workflow, workflow.jobs()[0], None, context), JobPlan)


def test_condition_on_a_missing_output_skips() -> None:
    workflow = single_job_workflow(if_="jobs.detect.outputs.CHANGED")
    assert isinstance(plan_job(workflow, workflow.jobs()[0], None, RunContext("r")), Skip)


def test_condition_on_params_is_loose() -> None:
    workflow = single_job_workflow(if_="params.release == true", spec__params=[{"name": "release"}])
    job = workflow.jobs()[0]
    assert isinstance(
        plan_job(workflow, job, None, RunContext("r", params={"release": "TRUE"})), JobPlan
    )
    assert isinstance(plan_job(workflow, job, None, RunContext("r", params={"release": "0"})), Skip)


# --- components -------------------------------------------------------------------------


def test_component_of_finds_the_job_component() -> None:
    found = tool()
    workflow = single_job_workflow(component=TOOL)
    assert component_of(workflow.jobs()[0], catalog(found)) is found


def test_component_of_an_image_job_is_none() -> None:
    assert component_of(single_job_workflow().jobs()[0], InMemoryCatalog()) is None


def test_component_of_an_unregistered_component_is_not_found() -> None:
    workflow = single_job_workflow(name="build", component="demo/ghost@1.0.0")
    with pytest.raises(
        NotFound, match=r"component demo/ghost@1\.0\.0 of job 'build' is not registered"
    ):
        component_of(workflow.jobs()[0], InMemoryCatalog())


# --- environment ------------------------------------------------------------------------


def test_environment_carries_data_ids_and_user_env() -> None:
    job_plan = image_plan(
        name="unit",
        data={"git-url": "https://x.org/y.git", "message": "all green"},
        env={"LANG": "C"},
    )
    environment = job_plan.environment("run-9", 2)
    assert environment == {
        "LANG": "C",
        "CO_GIT_URL": "https://x.org/y.git",
        "CO_MESSAGE": "all green",
        "CO_DATA": "git-url=https://x.org/y.git message='all green'",
        "CO_RUN_ID": "run-9",
        "CO_JOB": "unit",
        "CO_ATTEMPT": "2",
    }
    assert decode_pairs(environment["CO_DATA"]) == job_plan.data


def test_environment_uses_json_data_when_the_component_asks() -> None:
    job_plan = tool_plan({"data_format": "json"}, data={"b": "2", "a": "x y"})
    assert json.loads(job_plan.environment("r", 1)["CO_DATA"]) == {"a": "x y", "b": "2"}


def test_reserved_names_are_never_overwritten_by_data_or_env() -> None:
    # Validation rejects such definitions; the plan must still never let them through.
    job_plan = JobPlan(
        job="unit",
        image="busybox:1",
        command=None,
        data={"run-id": "evil", "job": "evil", "attempt": "evil", "data": "evil", "result": "evil"},
        data_format="pairs",
        env={"CO_RUN_ID": "evil", "CO_JOB": "evil", "CO_ATTEMPT": "evil", "CO_DATA": "evil"},
        mounts=(),
        resources=image_plan().resources,
        timeout=60.0,
        strict_result=False,
        retry_limit=0,
        retry_backoff=10.0,
        continue_on_error=False,
    )
    environment = job_plan.environment("run-1", 1)
    assert environment["CO_RUN_ID"] == "run-1"
    assert environment["CO_JOB"] == "unit"
    assert environment["CO_ATTEMPT"] == "1"
    assert decode_pairs(environment["CO_DATA"]) == job_plan.data
    assert "CO_RESULT" not in environment


def test_data_variable_wins_over_a_user_env_of_the_same_name() -> None:
    environment = image_plan(data={"git-url": "data"}, env={"CO_GIT_URL": "env"}).environment(
        "r", 1
    )
    assert environment["CO_GIT_URL"] == "data"


# --- judging an attempt -----------------------------------------------------------------


def collected(*lines: str) -> OutputCollector:
    collector = OutputCollector()
    for line in lines:
        collector.add_line(line)
    return collector


def test_launch_error_fails_with_its_message() -> None:
    verdict = judge_attempt(
        image_plan(), AttemptEnd(None, launch_error="image not found: x"), collected()
    )
    assert (verdict.succeeded, verdict.reason) == (False, "image not found: x")


def test_cancelled_attempt_fails_as_cancelled_even_after_success_was_printed() -> None:
    verdict = judge_attempt(
        image_plan(), AttemptEnd(0, cancelled=True), collected("[COUT] CO_RESULT=true")
    )
    assert (verdict.succeeded, verdict.reason) == (False, "cancelled")


def test_timed_out_attempt_fails_with_reason_timeout() -> None:
    verdict = judge_attempt(image_plan(), AttemptEnd(137, timed_out=True), collected())
    assert (verdict.succeeded, verdict.reason) == (False, "timeout")


def test_out_of_memory_names_the_limit() -> None:
    job_plan = image_plan(resources={"memory_limit": "64Mi"})
    verdict = judge_attempt(job_plan, AttemptEnd(137, oom_killed=True), collected())
    assert (verdict.succeeded, verdict.reason) == (False, "out of memory (limit 64Mi)")


def test_out_of_memory_without_a_limit_says_so_plainly() -> None:
    verdict = judge_attempt(image_plan(), AttemptEnd(137, oom_killed=True), collected())
    assert verdict.reason == "out of memory"


@pytest.mark.parametrize(
    ("exit_code", "lines", "succeeded", "reason"),
    [
        (0, (), True, ""),
        (0, ("[COUT] CO_RESULT = true",), True, ""),
        (0, ("[COUT] CO_RESULT = false",), False, "component reported CO_RESULT = false"),
        (2, (), False, "container exited with code 2"),
        (
            1,
            ("[COUT] CO_RESULT=true",),
            False,
            "container exited with code 1 after reporting CO_RESULT = true",
        ),
        (None, (), False, "container exited with code -1"),
    ],
)
def test_exit_code_and_result_line_decide(
    exit_code: int | None, lines: tuple[str, ...], succeeded: bool, reason: str
) -> None:
    verdict = judge_attempt(image_plan(), AttemptEnd(exit_code), collected(*lines))
    assert (verdict.succeeded, verdict.reason) == (succeeded, reason)


def test_strict_component_without_result_line_fails() -> None:
    verdict = judge_attempt(
        tool_plan({"strict_result": True}), AttemptEnd(0), collected("[COUT] X=1")
    )
    assert not verdict.succeeded
    assert "strict_result" in verdict.reason


def test_output_over_the_limit_fails_the_attempt() -> None:
    collector = collected("[COUT] CO_RESULT=true", "[COUT] BIG=" + "x" * (40 * 1024))
    verdict = judge_attempt(image_plan(), AttemptEnd(0), collector)
    assert not verdict.succeeded
    assert "BIG" in verdict.reason


# --- retries ----------------------------------------------------------------------------


def test_retry_backoff_doubles_with_each_attempt() -> None:
    job_plan = image_plan(retries={"limit": 3, "backoff": "10s"})
    assert [retry_delay(job_plan, attempt, cancelled=False) for attempt in (1, 2, 3)] == [
        10.0,
        20.0,
        40.0,
    ]


def test_no_retry_past_the_limit() -> None:
    job_plan = image_plan(retries={"limit": 2, "backoff": "10s"})
    assert retry_delay(job_plan, 2, cancelled=False) == 20.0
    assert retry_delay(job_plan, 3, cancelled=False) is None


def test_job_without_retries_is_not_retried() -> None:
    assert retry_delay(image_plan(), 1, cancelled=False) is None


def test_cancelled_attempt_is_never_retried() -> None:
    assert retry_delay(image_plan(retries={"limit": 5}), 1, cancelled=True) is None


def test_retry_delay_is_capped() -> None:
    job_plan = image_plan(retries={"limit": 10, "backoff": "5m"})
    delays = [retry_delay(job_plan, attempt, cancelled=False) for attempt in range(1, 11)]
    assert delays[0] == 300.0
    assert delays[1:] == [MAX_RETRY_DELAY] * 9


def test_zero_backoff_retries_at_once() -> None:
    job_plan = image_plan(retries={"limit": 2, "backoff": 0})
    assert retry_delay(job_plan, 2, cancelled=False) == 0.0


# --- re-run from failure ----------------------------------------------------------------


def record(name: str, status: JobState, **outputs: str) -> JobRecord:
    return JobRecord("old-run", name, 0, 0, 0, status=status, outputs=dict(outputs))


def test_rerun_reuses_succeeded_and_reused_jobs_with_their_outputs() -> None:
    previous = [
        record("build", JobState.SUCCEEDED, IMAGE="demo/app:1"),
        record("lint", JobState.REUSED, SCORE="10"),
        record("test", JobState.FAILED, COVERAGE="50"),
        record("deploy", JobState.SKIPPED),
        record("scan", JobState.CANCELLED),
        record("docs", JobState.PENDING),
    ]
    assert succeeded_outputs(previous) == {"build": {"IMAGE": "demo/app:1"}, "lint": {"SCORE": "10"}}


def test_reused_outputs_are_copies() -> None:
    previous = [record("build", JobState.SUCCEEDED, IMAGE="a")]
    succeeded_outputs(previous)["build"]["IMAGE"] = "changed"
    assert previous[0].outputs == {"IMAGE": "a"}


# --- secret masking ---------------------------------------------------------------------


def test_every_secret_value_is_masked() -> None:
    masker = SecretMasker(("s3cr3t", "hunter2"))
    assert masker.mask("token=s3cr3t pass=hunter2 again s3cr3t") == "token=*** pass=*** again ***"


def test_longer_secret_is_masked_before_a_shorter_one_inside_it() -> None:
    assert SecretMasker(("abc", "abcdef")).mask("x abcdef y abc") == "x *** y ***"


def test_very_short_secrets_are_not_masked_to_keep_logs_readable() -> None:
    assert SecretMasker(("a", "ab", "")).mask("a cab") == "a cab"


def test_text_without_secrets_is_unchanged() -> None:
    assert SecretMasker(()).mask("plain") == "plain"
