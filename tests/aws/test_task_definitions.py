"""A job's task definition as data (its container, size, logs, secrets and roles, and a family
named by its content), and its registration on demand on moto."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.aws.task_definitions import TaskDefinition, TaskDefinitions, task_definition_for
from chalicelib.engine.engine import MountPlan
from chalicelib.errors import LaunchError
from tests.aws import REGION
from tests.aws.ecs_builders import (
    EXECUTION_ROLE,
    LOG_GROUP,
    TASK_ROLE,
    WORKSPACE_BUCKET,
    WORKSPACE_IMAGE,
    ScriptedEcs,
    memory,
    settings,
    task_request,
)


def registration_of(**request_fields: object) -> dict[str, Any]:
    return dict(task_definition_for(task_request(**request_fields), settings(), REGION).registration())


def family_of(**request_fields: object) -> str:
    return task_definition_for(task_request(**request_fields), settings(), REGION).family


def containers_of(**request_fields: object) -> dict[str, Any]:
    return {c["name"]: c for c in registration_of(**request_fields)["containerDefinitions"]}


def job_container(**request_fields: object) -> Any:
    return containers_of(**request_fields)["job"]


def test_the_definition_runs_the_image_and_command_in_a_container_named_job_on_fargate() -> None:
    registration = registration_of(resources=memory("3Gi"))
    assert registration["requiresCompatibilities"] == ["FARGATE"]
    assert registration["networkMode"] == "awsvpc"
    assert (registration["cpu"], registration["memory"]) == ("512", "3072")
    assert registration["executionRoleArn"] == EXECUTION_ROLE
    assert registration["taskRoleArn"] == TASK_ROLE
    container = job_container(resources=memory("3Gi"))
    assert container["image"] == "registry.invalid/tools/build:1.2.0"
    assert container["command"] == ["make", "all"]
    assert container["memoryReservation"] == 3072 - 2 * 64
    assert "memory" not in container  # no limit below the task's


def test_what_the_containers_reserve_adds_up_to_the_tasks_memory() -> None:
    registration = registration_of(resources=memory("3Gi"))
    reserved = sum(c["memoryReservation"] for c in registration["containerDefinitions"])
    assert reserved == int(registration["memory"])


def test_the_job_runs_as_an_unprivileged_user() -> None:
    assert job_container()["user"] == "1000:1000"


def test_the_job_runs_between_the_workspace_restore_and_save_sidecars() -> None:
    containers = containers_of()
    assert list(containers) == ["workspace-restore", "job", "workspace-save"]
    restore, job, save = containers.values()
    assert job["dependsOn"] == [{"containerName": "workspace-restore", "condition": "SUCCESS"}]
    assert save["dependsOn"] == [{"containerName": "job", "condition": "COMPLETE"}]
    # The save is what ends the task: the job's exit must not stop the task before it.
    assert (restore["essential"], job["essential"], save["essential"]) == (False, False, True)
    assert (restore["command"], save["command"]) == (["restore"], ["save"])
    assert restore["image"] == save["image"] == WORKSPACE_IMAGE


def test_the_job_sees_the_workspace_volume_and_only_the_sidecars_see_their_own() -> None:
    registration = registration_of()
    assert registration["volumes"] == [{"name": "workspace"}, {"name": "containerops"}]
    containers = containers_of()
    assert containers["job"]["mountPoints"] == [
        {"sourceVolume": "workspace", "containerPath": "/workspace", "readOnly": False}]
    for name in ("workspace-restore", "workspace-save"):
        assert {m["sourceVolume"]: m["containerPath"] for m in containers[name]["mountPoints"]} == {
            "workspace": "/workspace", "containerops": "/containerops"}


def test_the_sidecars_know_the_bucket_and_hand_the_workspace_to_the_jobs_user() -> None:
    restore = containers_of()["workspace-restore"]
    environment = {e["name"]: e["value"] for e in restore["environment"]}
    assert environment == {"CO_WORKSPACE_BUCKET": WORKSPACE_BUCKET, "CO_WORKSPACE_DIR": "/workspace",
                           "CO_WORKSPACE_STATE": "/containerops/workspace-snapshot.json",
                           "CO_WORKSPACE_OWNER": "1000:1000"}
    assert restore["user"] == "0"
    assert restore["logConfiguration"] == job_container()["logConfiguration"]


def test_the_container_logs_to_the_job_log_group_under_the_task_prefix() -> None:
    container = job_container()
    assert container["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": LOG_GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": "task"}}


def test_a_job_without_a_command_runs_the_images_own() -> None:
    assert "command" not in job_container(command=None)


def test_secret_variables_come_from_secrets_manager_names_under_the_prefix() -> None:
    container = job_container(secret_variables={"NPM_TOKEN": "npm", "API_KEY": "api"})
    assert container["secrets"] == [{"name": "API_KEY", "valueFrom": "containerops/api"},
                                    {"name": "NPM_TOKEN", "valueFrom": "containerops/npm"}]
    assert "environment" not in container


def test_the_family_is_named_by_a_hash_of_the_content() -> None:
    family = family_of()
    assert re.fullmatch(r"containerops-[0-9a-f]{12}", family)
    assert registration_of()["family"] == family


def test_attempts_of_the_same_component_and_resources_share_a_family() -> None:
    assert family_of(run_id="run-1", attempt=1) == family_of(run_id="run-2", attempt=3)
    assert family_of(job="a", env={"X": "1"}, data={"k": "v"}) == family_of(job="b", env={}, data={})


@pytest.mark.parametrize("different", [
    {"image": "registry.invalid/tools/build:1.3.0"},
    {"command": ["make", "test"]},
    {"command": None},
    {"resources": memory("4Gi")},
    {"secret_variables": {"NPM_TOKEN": "npm"}},
])
def test_anything_registered_that_differs_gets_its_own_family(different: dict[str, object]) -> None:
    assert family_of(**different) != family_of()


def test_the_same_size_reached_from_different_resources_shares_a_family() -> None:
    assert family_of(resources=memory("1000Mi")) == family_of(resources=memory("1Gi"))


def test_a_job_without_an_image_cannot_start() -> None:
    with pytest.raises(LaunchError, match="job 'build' has no image"):
        registration_of(image="")


def test_a_job_with_host_mounts_cannot_start_on_fargate() -> None:
    with pytest.raises(LaunchError, match="mounts host paths"):
        registration_of(mounts=(MountPlan("/src", "/work", True),))


# --- registration on moto -------------------------------------------------------------

def definition(**request_fields: object) -> TaskDefinition:
    return task_definition_for(task_request(**request_fields), settings(), REGION)


def test_a_missing_definition_is_registered_once_then_remembered(ecs: ScriptedEcs) -> None:
    definitions = TaskDefinitions(ecs)
    arn = definitions.ensure(definition())
    assert definitions.ensure(definition()) == arn
    assert ecs.operations() == ["describe_task_definition", "register_task_definition"]
    registered = ecs.client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert registered["family"] == definition().family
    assert registered["containerDefinitions"][1]["image"] == "registry.invalid/tools/build:1.2.0"


def test_a_definition_another_launcher_registered_is_found_not_registered_again(
        ecs: ScriptedEcs) -> None:
    arn = TaskDefinitions(ecs).ensure(definition())
    ecs.calls.clear()
    assert TaskDefinitions(ecs).ensure(definition()) == arn
    assert ecs.operations() == ["describe_task_definition"]


def test_a_deregistered_definition_is_registered_again(ecs: ScriptedEcs) -> None:
    first = TaskDefinitions(ecs).ensure(definition())
    ecs.client.deregister_task_definition(taskDefinition=first)
    again = TaskDefinitions(ecs).ensure(definition())
    assert again != first
    assert again.rsplit(":", 1)[0] == first.rsplit(":", 1)[0]  # a new revision of the family


def test_a_forgotten_family_is_looked_up_again(ecs: ScriptedEcs) -> None:
    definitions = TaskDefinitions(ecs)
    definitions.ensure(definition())
    definitions.forget(definition().family)
    ecs.calls.clear()
    definitions.ensure(definition())
    assert ecs.operations() == ["describe_task_definition"]


def test_the_cache_keeps_only_the_latest_families(ecs: ScriptedEcs) -> None:
    definitions = TaskDefinitions(ecs, cache_size=2)
    for size in ("1Gi", "2Gi", "3Gi"):
        definitions.ensure(definition(resources=memory(size)))
    ecs.calls.clear()
    definitions.ensure(definition(resources=memory("3Gi")))
    assert ecs.operations() == []
    definitions.ensure(definition(resources=memory("1Gi")))
    assert ecs.operations() == ["describe_task_definition"]


def test_the_job_runs_under_an_init_so_a_stop_reaches_a_shell() -> None:
    assert job_container()["linuxParameters"] == {"initProcessEnabled": True}
