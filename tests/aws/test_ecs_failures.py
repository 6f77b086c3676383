"""What EcsTasks does when ECS does not simply start the task: failures[] and throttling are
tried again with growing pauses (never waited here), refusals fail at once, and every
LaunchError says in words what AWS said. moto never answers so; the client is scripted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib.aws.ecs import EcsTasks
from chalicelib.aws.ecs_retry import RetryPolicy
from chalicelib.aws.task_runs import client_token
from chalicelib.config import AwsSettings
from chalicelib.errors import LaunchError, ServiceUnavailable
from tests.aws.ecs_builders import CLUSTER, Pauses, ScriptedEcs, client_error, memory, task_request

INSTANCE = "arn:aws:ecs:us-east-1:123456789012:container-instance/containerops/1f2e3d"
NO_CPU = {"tasks": [], "failures": [{"arn": INSTANCE, "reason": "RESOURCE:CPU"}]}
NO_CAPACITY = {"tasks": [], "failures": [{"reason": "Capacity is unavailable at this time.",
                                          "detail": "Please try again later"}]}
THROTTLED = client_error("ThrottlingException", "Rate exceeded")
SERVER = client_error("ServerException", "Service unavailable. Please try again later.")


def applied_then(error: Exception) -> Callable[[Callable[..., Any], dict[str, Any]], Any]:
    """A scripted answer: moto carries the call out, then the answer is lost in `error`."""
    def answer(target: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        target(**kwargs)
        raise error
    return answer


def test_failures_in_the_answer_are_tried_again_with_growing_pauses(
        tasks: EcsTasks, ecs: ScriptedEcs, pauses: Pauses) -> None:
    ecs.script("run_task", NO_CPU, NO_CAPACITY)
    task_arn = tasks.run(task_request())
    assert ecs.client.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0]["taskArn"] == task_arn
    assert len(ecs.named("run_task")) == 3
    assert len(pauses.taken) == 2
    assert 0.5 <= pauses.taken[0] <= 1.0
    assert 1.0 <= pauses.taken[1] <= 2.0


def test_each_try_looks_for_the_task_first_and_has_its_own_client_token(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", NO_CPU)
    request = task_request()
    tasks.run(request)
    tries = [name for name in ecs.operations() if name in ("list_tasks", "run_task")]
    assert tries == ["list_tasks", "list_tasks", "run_task"] * 2
    assert [call["clientToken"] for call in ecs.named("run_task")] == [
        client_token(request.key, 0), client_token(request.key, 1)]
    assert {call["desiredStatus"] for call in ecs.named("list_tasks")} == {"RUNNING", "STOPPED"}


def test_failures_that_do_not_go_away_are_a_launch_error_with_the_reason_and_arn(
        tasks: EcsTasks, ecs: ScriptedEcs, pauses: Pauses) -> None:
    ecs.script("run_task", *[NO_CPU] * 5)
    with pytest.raises(LaunchError) as raised:
        tasks.run(task_request("run-1", 1))
    assert str(raised.value) == (
        "could not start job 'build' of run run-1 (attempt 1) on ECS: ECS could not place the task:"
        f" RESOURCE:CPU (arn {INSTANCE}); still so after 5 attempts")
    assert len(ecs.named("run_task")) == 5
    assert len(pauses.taken) == 4


def test_a_failures_detail_is_in_the_launch_error(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", *[NO_CAPACITY] * 5)
    with pytest.raises(LaunchError, match=r"Capacity is unavailable at this time\.: Please try again later"):
        tasks.run(task_request())


def test_an_answer_with_neither_task_nor_failure_is_tried_again_then_said(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", *[{"tasks": [], "failures": []}] * 5)
    with pytest.raises(LaunchError, match="ECS started no task and reported no failure; still so after 5"):
        tasks.run(task_request())


def test_throttling_is_tried_again(tasks: EcsTasks, ecs: ScriptedEcs, pauses: Pauses) -> None:
    ecs.script("run_task", THROTTLED, THROTTLED)
    assert tasks.run(task_request()).startswith("arn:aws:ecs:")
    assert len(ecs.named("run_task")) == 3
    assert len(pauses.taken) == 2


def test_throttling_that_lasts_is_a_launch_error_saying_so(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", *[THROTTLED] * 5)
    with pytest.raises(LaunchError, match=r"ECS throttled the request \(ThrottlingException: Rate exceeded\);"
                                          r" still so after 5 attempts"):
        tasks.run(task_request())


def test_throttled_lookups_and_registrations_are_tried_again_too(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("list_tasks", THROTTLED)
    ecs.script("register_task_definition", THROTTLED)
    assert tasks.run(task_request()).startswith("arn:aws:ecs:")
    assert len(ecs.named("register_task_definition")) == 2
    assert len(ecs.named("run_task")) == 1


def test_server_errors_that_last_are_a_launch_error_saying_so(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", *[SERVER] * 5)
    with pytest.raises(LaunchError, match=r"ECS failed on its side \(ServerException: Service unavailable"):
        tasks.run(task_request())
    assert len(ecs.named("run_task")) == 5


def test_an_unreachable_endpoint_is_tried_again(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", EndpointConnectionError(endpoint_url="https://ecs.invalid"))
    assert tasks.run(task_request()).startswith("arn:aws:ecs:")
    assert len(ecs.named("run_task")) == 2


def test_a_server_error_after_the_task_started_finds_that_task_instead_of_a_second(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", applied_then(SERVER))
    task_arn = tasks.run(task_request())
    assert ecs.client.list_tasks(cluster=CLUSTER)["taskArns"] == [task_arn]
    assert len(ecs.named("run_task")) == 1


@pytest.mark.parametrize(("code", "message"), [
    ("ClientException", "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/nope'"),
    ("InvalidParameterException", "Container.image repository should not be null or empty."),
    ("AccessDeniedException", "User is not authorized to perform: ecs:RunTask"),
])
def test_a_refused_request_is_a_launch_error_at_once(
        tasks: EcsTasks, ecs: ScriptedEcs, pauses: Pauses, code: str, message: str) -> None:
    ecs.script("run_task", client_error(code, message))
    with pytest.raises(LaunchError) as raised:
        tasks.run(task_request())
    assert f"ECS refused the request ({code}: {message})" in str(raised.value)
    assert len(ecs.named("run_task")) == 1
    assert pauses.taken == []


def test_a_refused_definition_is_looked_up_again_by_the_next_launch(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("run_task", client_error("ClientException", "TaskDefinition is inactive"))
    with pytest.raises(LaunchError):
        tasks.run(task_request("run-1"))
    ecs.calls.clear()
    tasks.run(task_request("run-2"))
    assert "describe_task_definition" in ecs.operations()


def test_a_token_already_used_returns_the_task_it_started(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    first = tasks.run(task_request())
    ecs.calls.clear()
    # ListTasks does not show the task yet; RunTask says the token started one.
    ecs.script("list_tasks", {"taskArns": []}, {"taskArns": []})
    ecs.script("run_task", client_error("ConflictException", "The client token was already used."))
    assert tasks.run(task_request()) == first
    assert len(ecs.named("run_task")) == 1


def test_the_pauses_stop_when_the_time_budget_is_spent(
        ecs: ScriptedEcs, deployment: AwsSettings, pauses: Pauses) -> None:
    policy = RetryPolicy(attempts=10, base_delay=1.0, max_delay=8.0, budget=10.0)
    tasks = EcsTasks(ecs, deployment, sleep=pauses, clock=pauses.clock,  # type: ignore[arg-type]
                     policy=policy, jitter=lambda ceiling: ceiling)
    ecs.script("run_task", *[NO_CPU] * 10)
    with pytest.raises(LaunchError, match="still so after 4 attempts"):
        tasks.run(task_request())
    assert pauses.taken == [1.0, 2.0, 4.0]  # a pause of 8 more would pass the 10 s budget


def test_a_job_too_big_for_fargate_fails_before_asking_ecs(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    with pytest.raises(LaunchError, match="largest Fargate size"):
        tasks.run(task_request(resources=memory("200Gi")))
    assert ecs.calls == []


def test_an_environment_too_big_for_overrides_fails_before_asking_ecs(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    with pytest.raises(LaunchError, match="more than the 8192 ECS accepts"):
        tasks.run(task_request(data={"blob": "x" * 9000}))
    assert ecs.calls == []


def test_a_secret_value_in_the_environment_fails_before_asking_ecs(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    with pytest.raises(LaunchError, match="holds a secret's value"):
        tasks.run(task_request(env={"URL": "https://me:hunter2@git.invalid"}, secret_values=("hunter2",)))
    assert ecs.calls == []


# --- find and stop ------------------------------------------------------------------------

def test_a_throttled_lookup_is_tried_again(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    task_arn = tasks.run(task_request())
    ecs.script("list_tasks", THROTTLED)
    assert tasks.find(task_request().key) == task_arn


def test_a_lookup_that_stays_throttled_is_engine_unavailable(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    ecs.script("list_tasks", *[THROTTLED] * 5)
    with pytest.raises(ServiceUnavailable, match="could not look for the task of run-1/build/1 on ECS: ECS"
                                                " throttled the request"):
        tasks.find(task_request().key)


def test_a_throttled_stop_is_tried_again(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    task_arn = tasks.run(task_request())
    ecs.script("stop_task", THROTTLED)
    tasks.stop(task_arn, "run cancelled")
    [task] = ecs.client.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"]
    assert task["desiredStatus"] == "STOPPED"


def test_a_stop_ecs_refuses_is_engine_unavailable_at_once(
        tasks: EcsTasks, ecs: ScriptedEcs, pauses: Pauses) -> None:
    ecs.script("stop_task", client_error("AccessDeniedException", "not authorized", "StopTask"))
    said = r"could not stop task .* on ECS: ECS refused the request \(AccessDeniedException: not authorized\)"
    with pytest.raises(ServiceUnavailable, match=said):
        tasks.stop(f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/abc", "cancel")
    assert pauses.taken == []
