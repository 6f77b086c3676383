"""The EKS adapter's rules (chalicelib/aws/eks.py) on an API that answers as told: a second
create is the same Job, refusals fail the start in words, transient answers are tried again,
a stop suspends with the reason, the ended Jobs are read in two calls. (The same adapter
against the harness's real HTTP API, through the official client: tests/sandbox.)"""

from __future__ import annotations

from typing import Any, cast

import pytest

from chalicelib.aws.ecs_retry import RetryPolicy
from chalicelib.aws.eks import EksTasks
from chalicelib.aws.eks_api import EksApi, KubernetesError
from chalicelib.aws.eks_jobs import EksJobSettings, job_name
from chalicelib.aws.eks_status import STOP_ANNOTATION
from chalicelib.errors import LaunchError, ServiceUnavailable
from tests.aws.ecs_builders import task_request

SCHEDULER_SAYS = "0/2 nodes are available: 2 Insufficient memory."
SETTINGS = EksJobSettings(workspace_bucket="workspaces", workspace_image="containerops/workspace:1")


class AnsweringApi:
    """Jobs and pods in memory; `refuse` makes the next calls of a method fail."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.pods: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.failures: dict[str, list[KubernetesError]] = {}

    def refuse(self, method: str, *errors: KubernetesError) -> None:
        self.failures.setdefault(method, []).extend(errors)

    def _called(self, method: str) -> None:
        self.calls.append(method)
        if self.failures.get(method):
            raise self.failures[method].pop(0)

    def create_job(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self._called("create_job")
        name = body["metadata"]["name"]
        if name in self.jobs:
            raise KubernetesError(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
        self.jobs[name] = {**body, "status": {}}
        return self.jobs[name]

    def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._called("get_job")
        return self.jobs.get(name)

    def list_jobs(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        self._called("list_jobs")
        return list(self.jobs.values())

    def patch_job(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        self._called("patch_job")
        job = self.jobs.get(name)
        if job is None:
            return None
        job["metadata"]["annotations"].update(patch["metadata"]["annotations"])
        job["spec"].update(patch["spec"])
        return job

    def delete_job(self, namespace: str, name: str) -> bool:
        self._called("delete_job")
        return self.jobs.pop(name, None) is not None

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        self._called("list_pods")
        return list(self.pods)

    def list_events(self, namespace: str, field_selector: str) -> list[dict[str, Any]]:
        self._called("list_events")
        return list(self.events)


@pytest.fixture
def api() -> AnsweringApi:
    return AnsweringApi()


def adapter(api: AnsweringApi) -> EksTasks:
    return EksTasks(cast(EksApi, api), SETTINGS, cluster="EKS cluster builds", sleep=lambda _: None,
                    clock=lambda: 0.0, policy=RetryPolicy(attempts=3), jitter=lambda ceiling: 0.0)


def transient(status: int | None = None) -> KubernetesError:
    return KubernetesError(status, "ReadTimeoutError" if status is None else "TooManyRequests",
                           "read timed out" if status is None else "slow down")


def end(api: AnsweringApi, name: str, kind: str, reason: str = "", code: int | None = None) -> None:
    api.jobs[name]["status"] = {"conditions": [{"type": kind, "status": "True", "reason": reason,
                                                "lastTransitionTime": "2026-12-01T10:00:09Z"}]}
    state = {"terminated": {"exitCode": code, "startedAt": "2026-12-01T10:00:00Z",
                            "finishedAt": "2026-12-01T10:00:05Z"}} if code is not None else {}
    api.pods.append({"metadata": {"name": f"{name}-abcde", "creationTimestamp": "2026-12-01T10:00:00Z",
                                  "labels": {"batch.kubernetes.io/job-name": name}},
                     "status": {"phase": "Failed", "containerStatuses": [{"name": "job", "state": state}]}})


def test_a_start_creates_the_attempts_job_and_names_it_by_namespace_and_name(api: AnsweringApi) -> None:
    request = task_request("r1", 2)
    ref = adapter(api).run(request)
    name = job_name("r1", request.plan.job, 2)
    assert ref == f"eks:containerops/{name}" and list(api.jobs) == [name]


def test_a_second_start_of_the_same_attempt_is_the_same_job_and_starts_no_other(api: AnsweringApi) -> None:
    tasks = adapter(api)
    assert tasks.run(task_request("r1")) == tasks.run(task_request("r1"))
    assert len(api.jobs) == 1 and api.calls == ["create_job", "create_job"]


def test_a_create_that_timed_out_is_tried_again_and_a_job_already_made_is_ours(api: AnsweringApi) -> None:
    api.refuse("create_job", transient(None), transient(429))
    ref = adapter(api).run(task_request("r1"))
    assert ref.startswith("eks:containerops/co-") and api.calls == ["create_job"] * 3


def test_an_api_that_keeps_timing_out_fails_the_start_saying_so(api: AnsweringApi) -> None:
    api.refuse("create_job", *(transient(None) for _ in range(3)))
    with pytest.raises(LaunchError, match=r"could not start job .* on EKS cluster builds: the cluster's API"
                       r" could not be reached \(read timed out\); still so after 3 attempts"):
        adapter(api).run(task_request("r1"))


def test_a_forbidden_create_fails_at_once_saying_what_to_map(api: AnsweringApi) -> None:
    api.refuse("create_job", KubernetesError(403, "Forbidden", 'jobs.batch is forbidden: User "arn:..."'
                                             ' cannot create resource "jobs"'))
    with pytest.raises(LaunchError) as refused:
        adapter(api).run(task_request("r1"))
    assert "answered 403 Forbidden: jobs.batch is forbidden" in str(refused.value)
    assert "containerops:launcher" in str(refused.value) and api.calls == ["create_job"]


def test_a_missing_namespace_says_how_to_make_it(api: AnsweringApi) -> None:
    api.refuse("create_job", KubernetesError(404, "NotFound", 'namespaces "containerops" not found'))
    with pytest.raises(LaunchError, match="kubectl apply -f infra/eks/"):
        adapter(api).run(task_request("r1"))


def test_a_stop_suspends_the_job_with_its_reason_and_a_job_gone_is_fine(api: AnsweringApi) -> None:
    tasks = adapter(api)
    ref = tasks.run(task_request("r1"))
    tasks.stop(ref, "containerops: cancelled")
    [job] = api.jobs.values()
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["annotations"][STOP_ANNOTATION] == "containerops: cancelled"
    tasks.stop("eks:containerops/co-gone-1-0000000000", "containerops: cancelled")


def test_the_ended_jobs_are_read_in_two_calls_with_their_pods(api: AnsweringApi) -> None:
    tasks = adapter(api)
    done, running = tasks.run(task_request("r1")), tasks.run(task_request("r2"))
    end(api, done.rsplit("/", 1)[1], "Failed", "BackoffLimitExceeded", code=3)
    api.calls.clear()
    [ended] = tasks.ended()
    assert (ended.task_arn, ended.exit_code) == (done, 3) and running != done
    assert api.calls == ["list_jobs", "list_pods"]


def test_a_job_never_scheduled_reads_the_schedulers_events_for_its_pods_only(api: AnsweringApi) -> None:
    tasks = adapter(api)
    name = tasks.run(task_request("r1")).rsplit("/", 1)[1]
    end(api, name, "Failed", "DeadlineExceeded")
    api.pods.clear()  # the deadline removed it
    api.events = [
        {"involvedObject": {"name": "co-other-1-0000000000-zzzzz"}, "message": "not this one",
         "lastTimestamp": "2026-12-01T10:00:02Z"},
        {"involvedObject": {"name": f"{name}-abcde"}, "message": SCHEDULER_SAYS,
         "lastTimestamp": "2026-12-01T10:00:03Z"}]
    [ended] = tasks.ended()
    assert ended.waiting_reason == f"the pod was never scheduled: {SCHEDULER_SAYS}"


def test_a_job_the_cluster_no_longer_has_ended_without_a_start(api: AnsweringApi) -> None:
    ended = adapter(api).end_of("eks:containerops/co-build-1-0123456789")
    assert ended is not None and ended.stop_code == "TaskFailedToStart" and "is gone" in ended.stopped_reason


def test_reads_that_keep_failing_are_service_unavailable(api: AnsweringApi) -> None:
    api.refuse("list_jobs", *(transient(503) for _ in range(3)))
    with pytest.raises(ServiceUnavailable, match="could not list the Jobs on EKS cluster builds"):
        list(adapter(api).ended())


def test_a_judged_job_is_deleted_and_one_already_gone_is_fine(api: AnsweringApi) -> None:
    tasks = adapter(api)
    ref = tasks.run(task_request("r1"))
    tasks.remove(ref)
    tasks.remove(ref)
    assert api.jobs == {} and api.calls.count("delete_job") == 2
