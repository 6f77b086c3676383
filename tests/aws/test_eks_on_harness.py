"""The EKS adapter through the official kubernetes client, against the sandbox's Kubernetes API
on 127.0.0.1 (chalicelib/sandbox/kubernetes_api.py; no node: Jobs are kept and get no pod):
the token it sends is accepted, a second create finds the Job there, a 403 fails the start in
words, a stalled API times out and is tried again, a stop suspends the Job with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest

from chalicelib.aws.ecs_retry import RetryPolicy
from chalicelib.aws.eks import EksTasks
from chalicelib.aws.eks_api import EksApi
from chalicelib.aws.eks_jobs import EksJobSettings
from chalicelib.aws.eks_status import STOP_ANNOTATION
from chalicelib.aws.eks_token import TokenSource
from chalicelib.cloud.events import parse_eks_ref
from chalicelib.errors import LaunchError
from chalicelib.sandbox.kubernetes_api import KubernetesApi
from tests.aws.ecs_builders import task_request

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

SETTINGS = EksJobSettings(workspace_bucket="workspaces", workspace_image="containerops/workspace:1")
JOBS_PATH = "/apis/batch/v1/namespaces/containerops/jobs"


@pytest.fixture
def api() -> Iterator[KubernetesApi]:
    with KubernetesApi() as harness:
        yield harness


def sts() -> STSClient:
    return boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def adapter(api: KubernetesApi, *, request_timeout: float = 5.0, attempts: int = 3) -> EksTasks:
    tokens = TokenSource.for_cluster(sts(), "builds")
    client = EksApi.connect(api.url, tokens.token, request_timeout=request_timeout)
    return EksTasks(client, SETTINGS, cluster="EKS cluster builds", sleep=lambda _: None,
                    policy=RetryPolicy(attempts=attempts), jitter=lambda ceiling: 0.0)


def test_a_start_creates_the_job_with_an_accepted_eks_token(api: KubernetesApi) -> None:
    ref = adapter(api).run(task_request("r1"))
    [job] = api.jobs()
    assert parse_eks_ref(ref) == ("containerops", job["metadata"]["name"])
    assert job["spec"]["backoffLimit"] == 0
    assert [request.code for request in api.requests()] == [201]


def test_a_second_start_is_answered_409_and_is_the_same_job(api: KubernetesApi) -> None:
    tasks = adapter(api)
    assert tasks.run(task_request("r1")) == tasks.run(task_request("r1"))
    assert len(api.jobs()) == 1
    assert [request.code for request in api.requests()] == [201, 409]


def test_a_forbidden_create_fails_the_start_with_the_apis_words(api: KubernetesApi) -> None:
    api.faults.refuse("POST", JOBS_PATH, 403, "Forbidden",
                      'jobs.batch is forbidden: User "containerops-launch" cannot create resource "jobs"')
    with pytest.raises(LaunchError) as refused:
        adapter(api).run(task_request("r1"))
    assert 'answered 403 Forbidden: jobs.batch is forbidden: User "containerops-launch"' in str(refused.value)
    assert api.jobs() == []


def test_a_stalled_create_times_out_and_its_retry_finds_the_job_it_made(api: KubernetesApi) -> None:
    api.faults.stall("POST", JOBS_PATH, 2.0)
    ref = adapter(api, request_timeout=0.5).run(task_request("r1"))
    assert len(api.jobs()) == 1 and ref.endswith(api.jobs()[0]["metadata"]["name"])
    assert 409 in [request.code for request in api.requests()]


def test_an_api_that_keeps_stalling_fails_the_start_saying_it_did_not_answer(api: KubernetesApi) -> None:
    api.faults.stall("POST", JOBS_PATH, 2.0, times=None)
    with pytest.raises(LaunchError, match=r"could not be reached .*still so after 2 attempts"):
        adapter(api, request_timeout=0.3, attempts=2).run(task_request("r1"))


def test_a_stop_suspends_the_job_with_its_reason(api: KubernetesApi) -> None:
    tasks = adapter(api)
    ref = tasks.run(task_request("r1"))
    tasks.stop(ref, "containerops: cancelled")
    [job] = api.jobs()
    assert job["spec"]["suspend"] is True
    assert job["metadata"]["annotations"][STOP_ANNOTATION] == "containerops: cancelled"


def test_a_job_without_a_pod_has_not_ended_and_a_removed_one_is_gone(api: KubernetesApi) -> None:
    tasks = adapter(api)
    ref = tasks.run(task_request("r1"))
    assert list(tasks.ended()) == [] and tasks.end_of(ref) is None
    tasks.remove(ref)
    gone = tasks.end_of(ref)
    assert api.jobs() == [] and gone is not None and "is gone" in gone.stopped_reason
