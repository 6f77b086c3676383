"""The Kubernetes Job of an attempt on EKS: valid against the Kubernetes schema for every plan,
named and labelled so it is found again, run once, unprivileged, with the job's environment."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest

from chalicelib.aws.eks_jobs import (
    KUBERNETES_VERSION,
    EksJobSettings,
    job_name,
    kubernetes_job,
    label_value,
)
from chalicelib.cloud.events import eks_stream
from chalicelib.domain.models import Resources
from chalicelib.errors import LaunchError
from tests.aws.ecs_builders import task_request

SETTINGS = EksJobSettings(workspace_bucket="containerops-workspaces",
                          workspace_image="registry.invalid/containerops/workspace:1")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LONG_JOB = "J" + "x" * 61 + "_"  # the longest job name the definitions allow, ending in '_'


def pod(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def containers(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = pod(job)
    return {c["name"]: c for c in spec["initContainers"] + spec["containers"]}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


PLANS = {
    "a plain job": task_request(),
    "the image's own command": task_request(command=None),
    "secrets": task_request(secret_variables={"TOKEN": "DEPLOY_TOKEN"}),
    "every resource": task_request(resources=Resources(cpu_request=0.25, cpu_limit=2,
                                                       memory_request="128Mi", memory_limit="1Gi")),
    "a long job name and attempt": task_request(run_id="20261201-130000-4f9a1c2e", attempt=11,
                                                job=LONG_JOB),
}


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS.keys())
def test_the_job_of_every_plan_is_valid_against_the_kubernetes_schema(plan: Any) -> None:
    job = kubernetes_job(plan, SETTINGS)
    assert kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True) == KUBERNETES_VERSION


def test_the_strict_schema_refuses_a_field_kubernetes_does_not_have() -> None:
    job = kubernetes_job(task_request(), SETTINGS)
    job["spec"]["retries"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


# --- the name and labels -----------------------------------------------------------------------


def test_the_same_attempt_always_gets_the_same_name_so_a_second_create_is_a_conflict() -> None:
    first = kubernetes_job(task_request(run_id="r1", attempt=2), SETTINGS)["metadata"]["name"]
    again = kubernetes_job(task_request(run_id="r1", attempt=2), SETTINGS)["metadata"]["name"]
    assert first == again == job_name("r1", "build", 2)


def test_another_run_job_or_attempt_gets_another_name() -> None:
    names = {job_name("r1", "build", 1), job_name("r2", "build", 1), job_name("r1", "Build", 1),
             job_name("r1", "build", 2)}
    assert len(names) == 4


@pytest.mark.parametrize("job", ["build", "Build_Linux-x86", LONG_JOB, "9"])
def test_the_name_is_a_dns_label_of_at_most_63_characters(job: str) -> None:
    name = job_name("20261201-130000-4f9a1c2e", job, 11)
    assert len(name) <= 63
    assert DNS_LABEL.match(name)
    assert name.startswith("co-")


def test_the_labels_and_annotations_name_the_run_job_and_attempt() -> None:
    job = kubernetes_job(task_request(run_id="20261201-130000-4f9a1c2e", attempt=3), SETTINGS)
    expected = {"containerops.dev/run": "20261201-130000-4f9a1c2e", "containerops.dev/job": "build",
                "containerops.dev/attempt": "3"}
    for metadata in (job["metadata"], job["spec"]["template"]["metadata"]):
        assert expected.items() <= metadata["labels"].items()
        assert metadata["annotations"] == expected
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "containerops"


def test_a_value_kubernetes_refuses_as_a_label_is_hashed_and_kept_whole_in_the_annotation() -> None:
    job = kubernetes_job(task_request(job=LONG_JOB), SETTINGS)
    hashed = job["metadata"]["labels"]["containerops.dev/job"]
    assert hashed == label_value(LONG_JOB) != LONG_JOB
    assert len(hashed) <= 63
    assert job["metadata"]["annotations"]["containerops.dev/job"] == LONG_JOB


# --- run once, for the job's timeout -------------------------------------------------------------


def test_kubernetes_never_retries_the_attempt_step_functions_does() -> None:
    job = kubernetes_job(task_request(), SETTINGS)
    assert job["spec"]["backoffLimit"] == 0
    assert pod(job)["restartPolicy"] == "Never"


def test_the_deadline_is_the_jobs_timeout_rounded_up() -> None:
    assert kubernetes_job(task_request(timeout=90.2), SETTINGS)["spec"]["activeDeadlineSeconds"] == 91


def test_a_finished_job_is_removed_after_the_settings_ttl() -> None:
    job = kubernetes_job(task_request(), EksJobSettings("b", "i", ttl_seconds=900))
    assert job["spec"]["ttlSecondsAfterFinished"] == 900


# --- the container -------------------------------------------------------------------------------


def test_requests_and_limits_come_from_the_components_resources() -> None:
    resources = Resources(cpu_request=0.25, cpu_limit=2, memory_request="128Mi", memory_limit="1Gi")
    job = kubernetes_job(task_request(resources=resources), SETTINGS)
    assert containers(job)["job"]["resources"] == {
        "requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}}


def test_a_job_without_resources_asks_for_none() -> None:
    assert containers(kubernetes_job(task_request(), SETTINGS))["job"]["resources"] == {}


def test_the_jobs_command_replaces_the_images_cmd_and_keeps_its_entrypoint() -> None:
    job = containers(kubernetes_job(task_request(command=["make", "all"]), SETTINGS))["job"]
    assert job["args"] == ["make", "all"]
    assert "command" not in job
    assert "args" not in containers(kubernetes_job(task_request(command=None), SETTINGS))["job"]


def test_the_container_gets_the_jobs_environment() -> None:
    env = env_of(containers(kubernetes_job(task_request(run_id="r1", attempt=2), SETTINGS))["job"])
    assert env["LEVEL"] == "debug"
    assert env["CO_TARGET"] == "release"
    assert env["CO_DATA"] == "target=release"
    assert (env["CO_RUN_ID"], env["CO_JOB"], env["CO_ATTEMPT"]) == ("r1", "build", "2")


def test_secrets_come_from_the_kubernetes_secret_never_as_values() -> None:
    request = task_request(secret_variables={"TOKEN": "DEPLOY_TOKEN"}, env={"TOKEN": "s3cr3t-value"},
                           secret_values=("s3cr3t-value",))
    job = kubernetes_job(request, SETTINGS)
    assert env_of(containers(job)["job"])["TOKEN"] == {
        "secretKeyRef": {"name": "containerops-secrets", "key": "DEPLOY_TOKEN"}}
    assert "s3cr3t-value" not in repr(job)


def test_a_secret_value_inside_another_variable_is_a_launch_error() -> None:
    request = task_request(env={"AUTH": "Bearer s3cr3t-value"}, secret_values=("s3cr3t-value",))
    with pytest.raises(LaunchError, match="variable AUTH of job 'build' holds a secret's value"):
        kubernetes_job(request, SETTINGS)


def test_a_variable_too_long_for_a_process_is_a_launch_error() -> None:
    with pytest.raises(LaunchError, match="variable CO_BLOB of job 'build' is longer than the 128 KiB"):
        kubernetes_job(task_request(data={"blob": "x" * 140_000}), SETTINGS)


def test_a_job_without_an_image_or_with_host_mounts_is_a_launch_error() -> None:
    from chalicelib.engine.engine import MountPlan

    with pytest.raises(LaunchError, match="has no image"):
        kubernetes_job(task_request(image=""), SETTINGS)
    with pytest.raises(LaunchError, match="mounts host paths"):
        kubernetes_job(task_request(mounts=(MountPlan("/src", "/src", True),)), SETTINGS)


# --- security --------------------------------------------------------------------------------


def test_every_container_runs_unprivileged_as_user_1000() -> None:
    job = kubernetes_job(task_request(), SETTINGS)
    assert pod(job)["securityContext"]["runAsNonRoot"] is True
    assert pod(job)["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in containers(job).values():
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert (security["runAsUser"], security["runAsGroup"]) == (1000, 1000)
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_sidecars_root_filesystem_is_read_only_and_the_jobs_stays_writable_as_locally() -> None:
    found = containers(kubernetes_job(task_request(), SETTINGS))
    assert found["job"]["securityContext"]["readOnlyRootFilesystem"] is False
    assert found["workspace-restore"]["securityContext"]["readOnlyRootFilesystem"] is True
    assert found["workspace-save"]["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_pod_has_no_host_path_network_or_service_account_token() -> None:
    spec = pod(kubernetes_job(task_request(), SETTINGS))
    assert all(set(volume) == {"name", "emptyDir"} for volume in spec["volumes"])
    assert (spec["hostNetwork"], spec["hostPID"], spec["hostIPC"]) == (False, False, False)
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "containerops-job"
    assert spec["enableServiceLinks"] is False


# --- the workspace ---------------------------------------------------------------------------


def test_the_workspace_is_restored_before_the_job_and_saved_by_a_sidecar_after_it() -> None:
    spec = pod(kubernetes_job(task_request(), SETTINGS))
    restore, save = spec["initContainers"]
    assert (restore["name"], restore["args"], "restartPolicy" in restore) == (
        "workspace-restore", ["restore"], False)
    assert (save["name"], save["restartPolicy"]) == ("workspace-save", "Always")
    assert "sidecar save" in save["command"][-1] and "trap" in save["command"][-1]
    assert [c["name"] for c in spec["containers"]] == ["job"]
    assert spec["terminationGracePeriodSeconds"] == SETTINGS.save_grace_seconds


def test_every_container_shares_the_workspace_and_only_the_sidecars_see_their_state() -> None:
    found = containers(kubernetes_job(task_request(), SETTINGS))
    mounts = {name: {m["mountPath"]: m["name"] for m in c["volumeMounts"]} for name, c in found.items()}
    assert mounts["job"] == {"/workspace": "workspace"}
    for name in ("workspace-restore", "workspace-save"):
        assert mounts[name] == {"/workspace": "workspace", "/containerops": "containerops", "/tmp": "tmp"}


def test_the_sidecars_know_the_bucket_and_the_attempt_whose_layer_they_keep() -> None:
    found = containers(kubernetes_job(task_request(run_id="r1", attempt=2), SETTINGS))
    for name in ("workspace-restore", "workspace-save"):
        env = env_of(found[name])
        assert env["CO_WORKSPACE_BUCKET"] == "containerops-workspaces"
        assert (env["CO_RUN_ID"], env["CO_JOB"], env["CO_ATTEMPT"]) == ("r1", "build", "2")
        assert env["CO_WORKSPACE_OWNER"] == "1000:1000"
        assert found[name]["image"] == SETTINGS.workspace_image


def test_each_container_logs_to_a_stream_naming_its_attempt() -> None:
    assert eks_stream("job", "r1", "build", 2) == "eks/job/r1/build/2"


def test_every_dollar_is_doubled_so_kubernetes_expands_no_name_in_the_command_or_variables() -> None:
    request = task_request(command=["sh", "-c", "echo $(HOME) $$"], env={"PRICE": "$(X) $5"})
    container = kubernetes_job(request, SETTINGS)["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["sh", "-c", "echo $$(HOME) $$$$"]
    assert {"name": "PRICE", "value": "$$(X) $$5"} in container["env"]


def test_the_pods_pause_process_is_pid_1_so_a_stop_reaches_a_shell() -> None:
    assert pod(kubernetes_job(task_request(), SETTINGS))["shareProcessNamespace"] is True
