"""The machine's shape: stages, actions and jobs as states, retries, timeouts, continue_on_error."""

from __future__ import annotations

from chalicelib.asl import Target, compile_workflow
from chalicelib.asl.plan import DEFAULT_LAUNCH_ALLOWANCE_SECONDS
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.engine.engine import DEFAULT_JOB_TIMEOUT, MAX_RETRY_DELAY
from tests.asl.conftest import QUEUE_URL, TARGET, all_states, chain, compile_stages
from tests.builders import action, catalog, component, job, stage, workflow

ALLOWANCE = int(DEFAULT_LAUNCH_ALLOWANCE_SECONDS)


def test_stages_run_one_after_another_in_definition_order() -> None:
    machine = compile_stages(stage("build", action("a", job("compile"))),
                             stage("ship", action("a", job("upload")))).definition

    assert chain(machine) == ["job compile", "job upload"]


def test_a_parallel_stage_of_several_actions_is_one_parallel_state_with_a_branch_per_action() -> None:
    machine = compile_stages(stage("verify", action("lint", job("flake8")),
                                   action("test", job("unit"), job("integration")))).definition

    [name] = machine["States"]
    parallel = machine["States"][name]
    assert (name, parallel["Type"], parallel["End"]) == ("stage verify", "Parallel", True)
    assert [chain(branch) for branch in parallel["Branches"]] == [
        ["job flake8"], ["job unit", "job integration"]]


def test_a_parallel_state_keeps_the_run_input_for_the_next_stage() -> None:
    machine = compile_stages(stage("verify", action("a", job("x")), action("b", job("y"))),
                             stage("ship", action("a", job("z")))).definition

    assert machine["States"]["stage verify"]["ResultPath"] is None
    assert machine["States"]["stage verify"]["Next"] == "job z"


def test_a_sequence_stage_chains_its_actions_jobs_one_after_another() -> None:
    machine = compile_stages(stage("ship", action("staging", job("upload-staging"), job("smoke")),
                                   action("production", job("upload-production")),
                                   sequencing="sequence")).definition

    assert chain(machine) == ["job upload-staging", "job smoke", "job upload-production"]
    assert all(state["Type"] == "Task" for state in machine["States"].values())


def test_a_one_action_parallel_stage_is_a_plain_chain_without_a_parallel_state() -> None:
    machine = compile_stages(stage("build", action("only", job("compile"), job("pack")))).definition

    assert chain(machine) == ["job compile", "job pack"]
    assert {state["Type"] for state in machine["States"].values()} == {"Task"}


def test_a_job_state_sends_run_id_job_attempt_and_token_to_the_launch_queue_and_waits() -> None:
    state = compile_stages(stage("s", action("a", job("build")))).definition["States"]["job build"]

    assert state["Type"] == "Task"
    assert state["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert state["Parameters"] == {"QueueUrl": QUEUE_URL, "MessageBody": {
        "run_id.$": "$.run_id", "job": "build",
        "attempt.$": "States.MathAdd($$.State.RetryCount, 1)", "token.$": "$$.Task.Token"}}
    assert state["ResultPath"] is None


def test_no_job_output_or_result_ever_enters_the_state_payload() -> None:
    machine = compile_stages(stage("s", action("a", job("x", outputs=["OUT"], continue_on_error=True)),
                                   action("b", job("y")))).definition

    for state in all_states(machine).values():
        if state["Type"] in ("Task", "Parallel"):
            assert state["ResultPath"] is None
        for catcher in state.get("Catch", []):
            assert catcher["ResultPath"] is None
        assert "ResultSelector" not in state and "OutputPath" not in state


def test_retries_become_a_retry_on_job_failed_with_interval_doubling_and_max_attempts() -> None:
    state = compile_stages(stage("s", action("a", job("flaky", retries={"limit": 3, "backoff": "30s"}))))\
        .definition["States"]["job flaky"]

    assert state["Retry"] == [{"ErrorEquals": ["Job.Failed"], "IntervalSeconds": 30, "MaxAttempts": 3,
                               "BackoffRate": 2.0, "MaxDelaySeconds": int(MAX_RETRY_DELAY)}]


def test_a_backoff_below_a_second_or_fractional_is_rounded_up_to_whole_seconds() -> None:
    zero = job("zero", retries={"limit": 1, "backoff": 0})
    half = job("half", retries={"limit": 1, "backoff": "1.5s"})
    machine = compile_stages(stage("s", action("a", zero), action("b", half))).definition
    states = all_states(machine)

    assert states["job zero"]["Retry"][0]["IntervalSeconds"] == 1
    assert states["job half"]["Retry"][0]["IntervalSeconds"] == 2


def test_a_backoff_longer_than_the_engines_cap_waits_the_cap_like_the_engine() -> None:
    state = compile_stages(stage("s", action("a", job("slow", retries={"limit": 2, "backoff": "1h"}))))\
        .definition["States"]["job slow"]

    assert state["Retry"][0]["IntervalSeconds"] == state["Retry"][0]["MaxDelaySeconds"] == 600


def test_a_job_without_retries_has_no_retry() -> None:
    state = compile_stages(stage("s", action("a", job("once", retries={"limit": 0, "backoff": "5s"}))))\
        .definition["States"]["job once"]

    assert "Retry" not in state


def test_the_timeout_backstop_is_the_jobs_timeout_plus_the_launch_allowance() -> None:
    state = compile_stages(stage("s", action("a", job("build", timeout="10m"))))\
        .definition["States"]["job build"]

    assert state["TimeoutSeconds"] == 600 + ALLOWANCE


def test_the_backstop_falls_back_to_the_components_timeout_then_the_engines_default() -> None:
    tool = component("demo/tool@1.0.0", timeout="15m")
    definition = workflow(stage("s", action("a", job("own", component="demo/tool@1.0.0", timeout="2m")),
                                action("b", job("inherited", component="demo/tool@1.0.0")),
                                action("c", job("plain"))))
    states = all_states(compile_workflow(definition, catalog(tool), TARGET).definition)

    assert states["job own"]["TimeoutSeconds"] == 120 + ALLOWANCE
    assert states["job inherited"]["TimeoutSeconds"] == 900 + ALLOWANCE
    assert states["job plain"]["TimeoutSeconds"] == int(DEFAULT_JOB_TIMEOUT) + ALLOWANCE


def test_the_launch_allowance_is_a_setting_of_the_target_rounded_up_with_the_timeout() -> None:
    target = Target(QUEUE_URL, launch_allowance_seconds=30.5)
    state = compile_stages(stage("s", action("a", job("build", timeout="0.2s"))), target=target)\
        .definition["States"]["job build"]

    assert state["TimeoutSeconds"] == 31


def test_continue_on_error_catches_every_error_into_a_pass_that_continues_the_chain() -> None:
    lint_then_test = action("a", job("lint", continue_on_error=True), job("test"))
    machine = compile_stages(stage("s", lint_then_test)).definition
    lint, passed = machine["States"]["job lint"], machine["States"]["continue after lint"]

    assert lint["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "continue after lint"}]
    assert lint["Next"] == passed["Next"] == "job test"
    assert passed["Type"] == "Pass"


def test_continue_on_error_on_the_last_job_ends_the_machine_from_the_pass_too() -> None:
    machine = compile_stages(stage("s", action("a", job("report", continue_on_error=True)))).definition

    assert machine["States"]["job report"]["End"] is True
    assert machine["States"]["continue after report"]["End"] is True


def test_continue_on_error_in_a_branch_continues_that_branch() -> None:
    machine = compile_stages(stage("s", action("a", job("x", continue_on_error=True), job("y")),
                                   action("b", job("z")))).definition
    [first, _] = machine["States"]["stage s"]["Branches"]

    assert first["States"]["continue after x"]["Next"] == "job y"


def test_retries_come_before_the_catch_so_continue_on_error_waits_for_the_last_attempt() -> None:
    state = compile_stages(stage("s", action("a", job("x", continue_on_error=True,
                                                     retries={"limit": 2, "backoff": "1s"}))))\
        .definition["States"]["job x"]

    assert state["Retry"][0]["ErrorEquals"] == ["Job.Failed"]
    assert state["Catch"][0]["ErrorEquals"] == ["States.ALL"]


def test_the_workflow_timeout_is_the_machines_timeout_and_none_is_no_timeout() -> None:
    timed = compile_stages(stage("s", action("a", job("x"))), timeout="1h30m").definition
    untimed = compile_stages(stage("s", action("a", job("x")))).definition

    assert timed["TimeoutSeconds"] == 5400
    assert "TimeoutSeconds" not in untimed


def test_the_machine_says_which_workflow_it_runs() -> None:
    machine = compile_stages(stage("s", action("a", job("x")))).definition

    assert machine["Comment"] == "ContainerOps workflow demo/ci"


def test_the_plan_is_data_the_state_count_includes_nested_and_pass_states() -> None:
    compiled = compile_workflow(workflow(
        stage("s", action("a", job("x", continue_on_error=True)), action("b", job("y"))),
        stage("t", action("a", job("z")))), InMemoryCatalog(), TARGET)

    assert compiled.plan.state_count == len(all_states(compiled.definition)) == 5
    assert [step.job for step in compiled.plan.job_steps()] == ["x", "y", "z"]
