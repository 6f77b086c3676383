"""`Tasks` on EKS: an attempt runs as the Kubernetes Job `eks_jobs.kubernetes_job` builds, and
its end is read from the Job, its pod and the scheduler's events (`eks_status`).

- **Start.** Create the Job. Its name is the attempt's (`eks_jobs.job_name`), so a second
  create (a duplicate launch message, or a launcher retried after it died, or a create that
  timed out after the API had taken it) is answered 409 AlreadyExists: the Job is ours and
  already there, and no second pod starts. An attempt's ref (its record's `container_id`)
  is `eks:<namespace>/<Job name>`.
- **Stop** (a cancel, the run's end, the sweep's timeout): the stop's reason goes into the
  Job's annotation `containerops.dev/stop-reason` and the Job is suspended, which makes the
  Job controller terminate its pod (the workspace sidecar still saves, within the grace) and
  keeps the Job, so the verdict check reads why it stopped. A Job already gone is fine.
- **End.** `end_of` reads one Job; `ended` lists the namespace's Jobs of ContainerOps and
  their pods (two paged calls, whatever the number of attempts) and tells those that ended;
  the scheduler's events are read only for a Job whose deadline passed before its container
  started. `remove` deletes a judged Job (its pod with it); `ttlSecondsAfterFinished` is the
  backstop. A Job the cluster no longer has, for an attempt that still runs, ended without
  a verdict of its own (deleted by someone, or its TTL passed unread): a task that failed to
  start, saying so.

Transient answers (429, 5xx, no answer in time) are tried again with the ECS adapter's
backoff (`ecs_retry`), then become the operation's error: LaunchError for a start (the job
fails saying what the API said), ServiceUnavailable for the rest. A refusal is not tried
again: 403 Forbidden (the launcher's role is not mapped, or lacks the Role of infra/eks),
404 (the namespace is not there), 422 (the cluster refused the Job) fail the start with
the API's words and what to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws.ecs_errors import GaveUp
from chalicelib.aws.ecs_retry import DEFAULT_RETRY, Retrying, RetryPolicy, equal_jitter
from chalicelib.aws.eks_api import Document, EksApi, KubernetesError
from chalicelib.aws.eks_jobs import MANAGED_BY, MANAGED_BY_LABEL, EksJobSettings, job_name, kubernetes_job
from chalicelib.aws.eks_status import (
    DEADLINE_EXCEEDED,
    STOP_ANNOTATION,
    UNSCHEDULABLE_EVENT,
    job_ended,
)
from chalicelib.aws.eks_token import TokenSource
from chalicelib.cloud.events import TaskStopped, eks_ref, parse_eks_ref
from chalicelib.cloud.ports import TaskRequest
from chalicelib.cloud.verdict import FAILED_TO_START
from chalicelib.config import AwsSettings
from chalicelib.errors import LaunchError, ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_sts import STSClient

T = TypeVar("T")
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # what the Job controller labels its pods with
MANAGED = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
GONE_REASON = ("the Kubernetes Job of the attempt is gone before its end was read (deleted, or"
               " removed by its ttlSecondsAfterFinished)")
ANNOTATION_LIMIT = 1024


class EksTasks:
    def __init__(self, api: EksApi | Callable[[], EksApi], settings: EksJobSettings, *, cluster: str = "",
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 policy: RetryPolicy = DEFAULT_RETRY,
                 jitter: Callable[[float], float] = equal_jitter) -> None:
        """`api`: the cluster's API, or how to connect to it when first needed (so a function
        that never touches a Job never calls DescribeCluster)."""
        self._connect = api if callable(api) and not isinstance(api, EksApi) else (lambda: api)
        self._connection: EksApi | None = None
        self._settings = settings
        self._cluster = cluster or "the EKS cluster"
        self._retrying = Retrying(sleep, clock, policy, jitter, transient=_is_transient)

    @property
    def _api(self) -> EksApi:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    @property
    def namespace(self) -> str:
        return self._settings.namespace

    # --- the Tasks port ----------------------------------------------------------------
    def run(self, request: TaskRequest) -> str:
        body = kubernetes_job(request, self._settings)  # LaunchError before any call
        name = body["metadata"]["name"]
        doing = (f"start job '{request.plan.job}' of run {request.run_id} (attempt {request.attempt})"
                 f" as Kubernetes Job {self.namespace}/{name} on {self._cluster}")
        try:
            self._retrying.call(lambda _: self._create(body))
        except GaveUp as exc:
            raise LaunchError(f"could not {doing}: {_words(exc.cause)}; still so after"
                              f" {exc.attempts} attempts") from exc
        except KubernetesError as exc:
            raise LaunchError(f"could not {doing}: {exc.in_words}{_advice(exc, self.namespace)}") from exc
        return eks_ref(self.namespace, name)

    def find(self, request_key: str) -> str | None:
        run_id, job, attempt = request_key.rsplit("/", 2)
        name = job_name(run_id, job, int(attempt))
        found = self._asking(f"look for Job {name}", lambda: self._api.get_job(self.namespace, name))
        return eks_ref(self.namespace, name) if found is not None else None

    def stop(self, task_arn: str, reason: str) -> None:
        namespace, name = parse_eks_ref(task_arn)
        patch = {"metadata": {"annotations": {STOP_ANNOTATION: reason[:ANNOTATION_LIMIT]}},
                 "spec": {"suspend": True}}
        self._asking(f"stop Job {name}", lambda: self._api.patch_job(namespace, name, patch))

    def end_of(self, task_arn: str) -> TaskStopped | None:
        namespace, name = parse_eks_ref(task_arn)
        job = self._asking(f"read Job {name}", lambda: self._api.get_job(namespace, name))
        if job is None:
            return _gone(task_arn, name)
        pods = self._asking(f"list the pods of Job {name}",
                            lambda: self._api.list_pods(namespace, f"{JOB_NAME_LABEL}={name}"))
        return self._ended(job, pods)

    # --- what the verdict check calls --------------------------------------------------
    def ended(self) -> Iterator[TaskStopped]:
        """Every Job of ContainerOps in the namespace that has ended, told as a stopped task."""
        jobs = self._asking("list the Jobs", lambda: list(self._api.list_jobs(self.namespace, MANAGED)))
        if not jobs:
            return
        pods = self._asking("list the Jobs' pods", lambda: self._api.list_pods(self.namespace, MANAGED))
        by_job: dict[str, list[Document]] = {}
        for pod in pods:
            owner = ((pod.get("metadata") or {}).get("labels") or {}).get(JOB_NAME_LABEL)
            if owner:
                by_job.setdefault(str(owner), []).append(pod)
        for job in jobs:
            ended = self._ended(job, by_job.get(str((job.get("metadata") or {}).get("name")), []))
            if ended is not None:
                yield ended

    def remove(self, task_arn: str) -> None:
        """Delete a judged Job and its pod; a Job already gone is fine."""
        namespace, name = parse_eks_ref(task_arn)
        self._asking(f"delete Job {name}", lambda: self._api.delete_job(namespace, name))

    # --- helpers -----------------------------------------------------------------------
    def _ended(self, job: Document, pods: list[Document]) -> TaskStopped | None:
        ended = job_ended(job, pods)
        if (ended is not None and ended.stop_code == DEADLINE_EXCEEDED and ended.started_at is None
                and not ended.waiting_reason):  # it never started: did the scheduler say why?
            name = str((job.get("metadata") or {}).get("name") or "")
            selector = f"involvedObject.kind=Pod,reason={UNSCHEDULABLE_EVENT}"
            events = self._asking(f"read the scheduler's events for Job {name}",
                                  lambda: self._api.list_events(self.namespace, selector))
            mine = [str(event.get("message") or "") for event in _by_time(events)
                    if str((event.get("involvedObject") or {}).get("name") or "").startswith(name + "-")]
            ended = job_ended(job, pods, mine)
        return ended

    def _create(self, body: Document) -> None:
        try:
            self._api.create_job(self.namespace, body)
        except KubernetesError as exc:
            if exc.status == 409:
                return  # the attempt's Job is there already: ours (its name is the attempt's)
            raise

    def _asking(self, doing: str, call: Callable[[], T]) -> T:
        try:
            return self._retrying.call(lambda _: call())
        except GaveUp as exc:
            raise ServiceUnavailable(f"could not {doing} on {self._cluster}: {_words(exc.cause)};"
                                     f" still so after {exc.attempts} attempts") from exc
        except KubernetesError as exc:
            raise ServiceUnavailable(f"could not {doing} on {self._cluster}: {exc.in_words}") from exc


def eks_tasks(settings: AwsSettings, eks: EKSClient, sts: STSClient) -> EksTasks | None:
    """The deployment's EKS jobs, or None when it names no cluster. The cluster's endpoint and
    certificate authority come from DescribeCluster (unless the settings name an endpoint)."""
    if settings.eks is None:
        return None
    cluster = settings.eks

    def connect() -> EksApi:
        tokens = TokenSource.for_cluster(sts, cluster.cluster)
        if cluster.endpoint:
            return EksApi.connect(cluster.endpoint, tokens.token)
        try:
            described = eks.describe_cluster(name=cluster.cluster)["cluster"]
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable(f"could not describe EKS cluster {cluster.cluster}: {exc}") from exc
        authority = (described.get("certificateAuthority") or {}).get("data", "")
        return EksApi.connect(described.get("endpoint", ""), tokens.token, certificate_authority=authority)

    job_settings = EksJobSettings(workspace_bucket=settings.workspace_bucket,
                                  workspace_image=settings.workspace_image, namespace=cluster.namespace)
    return EksTasks(connect, job_settings, cluster=f"EKS cluster {cluster.cluster}")


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, KubernetesError) and exc.transient


def _words(exc: BaseException) -> str:
    return exc.in_words if isinstance(exc, KubernetesError) else str(exc)


def _advice(exc: KubernetesError, namespace: str) -> str:
    if exc.status in (401, 403):
        return ("; the launcher's IAM role needs an EKS access entry in the group containerops:launcher,"
                " and the cluster the Role of infra/eks/launcher-rbac.yaml (infra/eks/README.md)")
    if exc.status == 404:
        return f"; is namespace {namespace} there? kubectl apply -f infra/eks/ makes it"
    return ""


def _by_time(events: list[Document]) -> list[Document]:
    return sorted(events, key=lambda event: str(event.get("lastTimestamp") or event.get("eventTime") or ""))


def _gone(task_arn: str, name: str) -> TaskStopped:
    return TaskStopped(task_arn=task_arn, group="", exit_code=None, stop_code=FAILED_TO_START,
                       stopped_reason=GONE_REASON, container_reason=f"{GONE_REASON}: {name}",
                       started_at=None, stopped_at=time.time())

