"""EcsTasks on moto: an attempt's task is started once on Fargate with its overrides, found
again by its attempt, shares its task definition with its like, and is stopped."""

from __future__ import annotations

from typing import Any

from chalicelib.aws.ecs import EcsTasks
from chalicelib.aws.task_runs import started_by
from tests.aws.ecs_builders import CLUSTER, ScriptedEcs, client_error, memory, task_request


def described(ecs: ScriptedEcs, task_arn: str) -> dict[str, Any]:
    [task] = ecs.client.describe_tasks(cluster=CLUSTER, tasks=[task_arn], include=["TAGS"])["tasks"]
    return dict(task)


def overridden_environment(task: dict[str, Any]) -> dict[str, str]:
    (container,) = (c for c in task["overrides"]["containerOverrides"] if c["name"] == "job")
    return {pair["name"]: pair["value"] for pair in container["environment"]}


def job_container(definition: dict[str, Any]) -> dict[str, Any]:
    (container,) = (c for c in definition["containerDefinitions"] if c["name"] == "job")
    return container


def definition_of(ecs: ScriptedEcs, task: dict[str, Any]) -> dict[str, Any]:
    answer = ecs.client.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
    return dict(answer["taskDefinition"])


def families(ecs: ScriptedEcs) -> list[str]:
    arns = ecs.client.list_task_definitions()["taskDefinitionArns"]
    return sorted({arn.rsplit("/", 1)[1].split(":")[0] for arn in arns})


def test_a_run_registers_a_definition_and_starts_a_fargate_task_with_the_overrides(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    request = task_request("run-1", 2)
    task_arn = tasks.run(request)
    task = described(ecs, task_arn)
    assert task["launchType"] == "FARGATE"
    assert task["startedBy"] == started_by(request.key)
    assert task["taskDefinitionArn"].split("/")[1].startswith("containerops-")
    environment = overridden_environment(task)
    reserved = (environment["CO_RUN_ID"], environment["CO_JOB"], environment["CO_ATTEMPT"])
    assert reserved == ("run-1", "build", "2")
    assert environment["CO_TARGET"] == "release"
    assert {tag["key"]: tag["value"] for tag in task["tags"]} == {
        "containerops:run": "run-1", "containerops:job": "build", "containerops:attempt": "2"}
    assert len(families(ecs)) == 1
    assert len(ecs.named("register_task_definition")) == 1


def test_the_same_attempt_again_returns_its_task_without_a_second_run_task(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    first = tasks.run(task_request("run-1", 1))
    assert tasks.run(task_request("run-1", 1)) == first
    assert len(ecs.named("run_task")) == 1
    assert len(ecs.client.list_tasks(cluster=CLUSTER)["taskArns"]) == 1


def test_a_launcher_that_died_after_run_task_finds_the_task_when_retried(
        ecs: ScriptedEcs, tasks: EcsTasks, deployment: Any, pauses: Any) -> None:
    first = tasks.run(task_request())
    retried = EcsTasks(ecs, deployment, sleep=pauses, clock=pauses.clock)  # a fresh Lambda
    assert retried.run(task_request()) == first
    assert len(ecs.named("run_task")) == 1


def test_another_attempt_of_the_same_job_gets_its_own_task(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    first = tasks.run(task_request("run-1", 1))
    second = tasks.run(task_request("run-1", 2))
    assert first != second
    assert described(ecs, first)["taskDefinitionArn"] == described(ecs, second)["taskDefinitionArn"]


def test_jobs_with_the_same_image_and_resources_share_a_definition_and_other_memory_gets_another(
        tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    tasks.run(task_request("run-1", job="lint", resources=memory("1Gi")))
    tasks.run(task_request("run-2", job="test", resources=memory("1Gi")))
    assert len(families(ecs)) == 1
    big = tasks.run(task_request("run-3", job="test", resources=memory("6Gi")))
    assert len(families(ecs)) == 2
    definition = definition_of(ecs, described(ecs, big))
    assert (definition["cpu"], definition["memory"]) == ("1024", "6144")
    assert len(ecs.named("register_task_definition")) == 2


def test_secrets_are_in_the_definition_and_never_in_the_overrides(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    request = task_request(env={"LEVEL": "debug", "NPM_TOKEN": ""}, secret_variables={"NPM_TOKEN": "npm"})
    task = described(ecs, tasks.run(request))
    definition = definition_of(ecs, task)
    assert job_container(definition)["secrets"] == [
        {"name": "NPM_TOKEN", "valueFrom": "containerops/npm"}]
    assert "NPM_TOKEN" not in overridden_environment(task)
    assert all("NPM_TOKEN" not in str(call) for call in ecs.named("run_task"))


def test_find_gives_the_task_of_an_attempt_and_nothing_for_an_attempt_never_started(
        tasks: EcsTasks) -> None:
    task_arn = tasks.run(task_request("run-1", 1))
    assert tasks.find(task_request("run-1", 1).key) == task_arn
    assert tasks.find(task_request("run-1", 2).key) is None


def test_stop_stops_the_task_with_the_reason_and_it_is_still_found(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    task_arn = tasks.run(task_request())
    tasks.stop(task_arn, "run cancelled")
    task = described(ecs, task_arn)
    assert (task["desiredStatus"], task["lastStatus"]) == ("STOPPED", "STOPPED")
    assert task["stoppedReason"] == "run cancelled"
    assert tasks.find(task_request().key) == task_arn


def test_an_attempt_whose_task_stopped_is_not_started_again(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    task_arn = tasks.run(task_request())
    tasks.stop(task_arn, "timeout")
    assert tasks.run(task_request()) == task_arn
    assert len(ecs.named("run_task")) == 1


def test_stopping_a_task_already_stopped_is_fine(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    task_arn = tasks.run(task_request())
    tasks.stop(task_arn, "first")
    tasks.stop(task_arn, "second")
    assert described(ecs, task_arn)["desiredStatus"] == "STOPPED"


def test_stopping_a_task_ecs_does_not_know_is_fine(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    # What ECS answers for an unknown task (moto raises a bare Exception instead).
    ecs.script("stop_task", client_error("InvalidParameterException", "The referenced task was not found.",
                                         "StopTask"))
    tasks.stop(f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/0123456789abcdef", "cleanup")
    assert len(ecs.named("stop_task")) == 1


def test_a_long_stop_reason_is_cut_to_what_ecs_keeps(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    task_arn = tasks.run(task_request())
    tasks.stop(task_arn, "why " * 100)
    assert len(ecs.named("stop_task")[0]["reason"]) == 255


def test_a_stopped_tasks_end_is_told_as_its_event_would_tell_it(tasks: EcsTasks, ecs: ScriptedEcs) -> None:
    task_arn = tasks.run(task_request("run-1", 2))
    assert tasks.end_of(task_arn) is None  # still running
    tasks.stop(task_arn, "containerops: cancelled")
    ended = tasks.end_of(task_arn)
    assert ended is not None
    assert (ended.task_arn, ended.stopped_reason, ended.attempt_key) == (
        task_arn, "containerops: cancelled", ("run-1", "build", 2))
