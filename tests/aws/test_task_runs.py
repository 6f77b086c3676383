"""The RunTask request of an attempt, as data: where it runs, how its task is found again, and
an environment that never carries a secret."""

from __future__ import annotations

import hashlib
import re

import pytest

from chalicelib.aws.task_runs import client_token, run_task_request, started_by
from chalicelib.errors import LaunchError
from tests.aws.ecs_builders import CLUSTER, settings, task_request

FAMILY = "containerops-0123456789ab"


def environment_of(request_answer: dict[str, object], container: str = "job") -> dict[str, str]:
    overrides = {c["name"]: c for c in request_answer["overrides"]["containerOverrides"]}  # type: ignore[index]
    return {pair["name"]: pair["value"] for pair in overrides[container]["environment"]}


def test_the_task_runs_on_fargate_in_the_private_subnets_of_the_cluster() -> None:
    request = run_task_request(task_request(), settings(("subnet-a", "subnet-b"), ("sg-x",)), FAMILY)
    assert request["cluster"] == CLUSTER
    assert request["taskDefinition"] == FAMILY
    assert request["launchType"] == "FARGATE"
    assert request["count"] == 1
    assert request["networkConfiguration"] == {"awsvpcConfiguration": {
        "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-x"], "assignPublicIp": "DISABLED"}}


def test_the_task_is_started_by_a_hash_of_the_attempt_key() -> None:
    request = task_request("run-7", 2, job="deploy")
    expected = "co-" + hashlib.sha256(b"run-7/deploy/2").hexdigest()[:32]
    assert started_by(request.key) == expected
    assert run_task_request(request, settings(), FAMILY)["startedBy"] == expected
    assert len(expected) <= 36  # what ECS accepts


def test_each_try_has_its_own_client_token_and_every_launcher_the_same_ones() -> None:
    key = task_request().key
    assert client_token(key, 0) != client_token(key, 1)
    assert client_token(key, 1) == client_token(task_request().key, 1)
    assert re.fullmatch(r"co-[0-9a-f]{32}-1", client_token(key, 1))
    assert "clientToken" not in run_task_request(task_request(), settings(), FAMILY)  # set per try


def test_the_tags_name_the_run_job_and_attempt() -> None:
    request = run_task_request(task_request("run-9", 3, job="test"), settings(), FAMILY)
    assert request["tags"] == [{"key": "containerops:run", "value": "run-9"},
                               {"key": "containerops:job", "value": "test"},
                               {"key": "containerops:attempt", "value": "3"}]


def test_the_overrides_carry_the_jobs_environment() -> None:
    environment = environment_of(run_task_request(task_request("run-1", 2), settings(), FAMILY))
    assert environment["LEVEL"] == "debug"
    assert environment["CO_TARGET"] == "release"
    assert environment["CO_DATA"] == "target=release"
    reserved = (environment["CO_RUN_ID"], environment["CO_JOB"], environment["CO_ATTEMPT"])
    assert reserved == ("run-1", "build", "2")


def test_secret_variables_are_left_out_of_the_overrides() -> None:
    request = task_request(env={"LEVEL": "debug", "NPM_TOKEN": ""}, secret_variables={"NPM_TOKEN": "npm"})
    environment = environment_of(run_task_request(request, settings(), FAMILY))
    assert "NPM_TOKEN" not in environment
    assert environment["LEVEL"] == "debug"


def test_a_secret_value_inside_another_variable_is_refused_without_showing_it() -> None:
    request = task_request(env={"AUTH": "Bearer s3cr3t-value"}, secret_values=("s3cr3t-value",))
    with pytest.raises(LaunchError, match="variable AUTH of job 'build' holds a secret's value") as raised:
        run_task_request(request, settings(), FAMILY)
    assert "s3cr3t-value" not in str(raised.value)


def test_an_environment_larger_than_ecs_accepts_in_overrides_is_refused_saying_so() -> None:
    request = task_request(data={"blob": "x" * 9000})
    said = r"takes \d+ characters of RunTask overrides \(CO_DATA \d+ of them\), more than the 8192 ECS"
    with pytest.raises(LaunchError, match=said):
        run_task_request(request, settings(), FAMILY)


@pytest.mark.parametrize("sidecar", ["workspace-restore", "workspace-save"])
def test_the_workspace_sidecars_are_told_the_attempt_whose_layers_they_restore_and_save(
        sidecar: str) -> None:
    request = run_task_request(task_request("run-1", 2, env={"LEVEL": "debug"}), settings(), FAMILY)
    assert environment_of(request, sidecar) == {"CO_RUN_ID": "run-1", "CO_JOB": "build", "CO_ATTEMPT": "2"}


def test_an_environment_just_within_the_limit_is_accepted() -> None:
    request = task_request(data={"blob": "x" * 3000})
    assert environment_of(run_task_request(request, settings(), FAMILY))["CO_BLOB"] == "x" * 3000
