"""The Kubernetes `batch/v1` Job of a job attempt on EKS, as data (no client here).

The Job is the EKS twin of the Fargate task (`task_definitions.py`, `task_runs.py`): the same
image, command, environment, secrets and workspace layers, run under a Job that Kubernetes
never retries (`backoffLimit: 0`: retries belong to Step Functions), stops at the job's
timeout (`activeDeadlineSeconds`, which counts from the Job's start, so a pod that stays
Pending fails at the timeout too) and removes some time after it ended
(`ttlSecondsAfterFinished`, long enough for the scheduled verdict check to read it).

- **Name.** `co-<job, made DNS-safe>-<attempt>-<10 hex of a hash of run/job/attempt>`, within
  63 characters (a Job's name becomes its pods' `job-name` label): the same attempt always
  gets the same name, so a second create (a duplicate launch message) is answered 409, which
  means the Job is already there, and never starts a second pod.
- **Labels and annotations.** `containerops.dev/run`, `/job` and `/attempt` name the attempt
  on the Job and its pod; a value that is not a valid label value (over 63 characters, or
  ending in `-`/`_`) is replaced by a hash of it (`label_value`), and the annotations of the
  same names always carry the full values (Fluent Bit names the log stream from them).
- **Environment.** The plan's, as on Fargate, without the variables that come from secrets,
  each `$` written `$$` (as the command's): Kubernetes would expand `$(NAME)` in them;
  a secret value found in it, or a variable too long for a process's environment, is a
  launch error. Secrets come from one Kubernetes Secret (`secretKeyRef`, key = the
  ContainerOps secret's name) rather than the Secrets Store CSI driver: the component
  protocol reads secrets from variables, which the CSI driver gives only by syncing
  Kubernetes Secrets anyway, and it needs a driver and a provider DaemonSet with host paths
  on every node; the Secret is kept by the operator (infra/eks/README.md).
- **Security.** Every container runs as 1000:1000, non-root, without privilege escalation,
  with every capability dropped and the runtime's default seccomp profile; no host path,
  network, PID or IPC, no service-account token, no service links in the environment. The
  job's root filesystem stays writable (images write to /tmp and $HOME, as they may locally
  and on Fargate); the sidecars' is read-only, with an emptyDir for /tmp.
- **Workspace.** The same layers as on Fargate (chalicelib/workspace): `workspace-restore`
  is an init container that fills the `/workspace` emptyDir before the job starts (so a
  failed restore fails the pod before the job runs); `workspace-save` is a native sidecar
  (an init container with `restartPolicy: Always`, Kubernetes 1.29 and later) that waits,
  and saves the job's layer when the kubelet stops it, which it does once the job's
  container has exited, whatever its exit code, and also when the deadline or a cancel
  deletes the pod. Limits: the save must end within `terminationGracePeriodSeconds`; and
  a sidecar's exit code does not make the pod fail, so the verdict check reads the save's
  container status (and its `workspace error:` line) itself. The sidecars run as the job's
  user, so the restored files are the job's without a chown, and nothing needs root.
- **Logs.** Fluent Bit (infra/eks/fluent-bit.yaml) ships each container's stdout to the job
  log group as `eks/<container>/<run>/<job>/<attempt>` (`cloud.events.eks_stream`), built from the pod's
  annotations, so the stream maps back to the attempt without a look-up.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.aws.task_runs import sidecar_environment
from chalicelib.cloud.events import JOB_CONTAINER, RESTORE_CONTAINER, SAVE_CONTAINER
from chalicelib.cloud.ports import TaskRequest
from chalicelib.config import DEFAULT_EKS_NAMESPACE
from chalicelib.domain.protocol import WORKSPACE_MOUNT
from chalicelib.domain.quantities import parse_memory
from chalicelib.errors import LaunchError
from chalicelib.workspace import sidecar

SECRETS_NAME = "containerops-secrets"  # the Kubernetes Secret of the secrets.NAME values
KUBERNETES_VERSION = "1.33"  # the oldest the Jobs and infra/eks are validated for (native sidecars: 1.29)
NAME_LIMIT = LABEL_VALUE_LIMIT = 63
NAME_PREFIX = "co-"
LABEL_PREFIX = "containerops.dev/"
RUN_LABEL, JOB_LABEL, ATTEMPT_LABEL = (LABEL_PREFIX + part for part in ("run", "job", "attempt"))
MANAGED_BY_LABEL, MANAGED_BY = "app.kubernetes.io/managed-by", "containerops"
JOB_UID = JOB_GID = 1000  # never root, as locally and on Fargate
WORKSPACE_VOLUME, SIDECAR_VOLUME, TMP_VOLUME = "workspace", "containerops", "tmp"
WORKSPACE_PATH, SIDECAR_PATH, TMP_PATH = WORKSPACE_MOUNT, "/containerops", "/tmp"
SIDECAR_REQUESTS = {"cpu": "50m", "memory": "64Mi"}
# The save sidecar waits for the kubelet's SIGTERM (sent once the job's container has exited)
# and then runs the image's own `save` step, exiting with its status.
SAVE_ON_STOP = ("/bin/sh", "-c",
                "trap 'python3 -m chalicelib.workspace.sidecar save; exit $?' TERM;"
                " sleep infinity & wait $!")
# A process's environment: Linux refuses to start one with a single NAME=value string over
# 128 KiB (MAX_ARG_STRLEN), and all of it must stay well within the Job object's size.
VARIABLE_LIMIT = 128 * 1024
ENVIRONMENT_LIMIT = 512 * 1024

_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_NOT_DNS = re.compile(r"[^a-z0-9]+")
_MEBIBYTE = 1024 * 1024


@dataclass(frozen=True)
class EksJobSettings:
    """Where and as whom the Jobs run; the names the manifests of infra/eks create."""

    workspace_bucket: str
    workspace_image: str
    namespace: str = DEFAULT_EKS_NAMESPACE
    service_account: str = "containerops-job"
    secrets_name: str = SECRETS_NAME
    ttl_seconds: int = 3600  # after the Job ended: the verdict check reads it well before
    save_grace_seconds: int = 300  # how long the workspace save may take after the job


def job_name(run_id: str, job: str, attempt: int) -> str:
    """The attempt's Job name: DNS-1123, at most 63 characters, the same for every create."""
    digest = hashlib.sha256(f"{run_id}/{job}/{attempt}".encode()).hexdigest()[:10]
    suffix = f"-{attempt}-{digest}"
    readable = _NOT_DNS.sub("-", job.lower()).strip("-")
    head = (NAME_PREFIX + readable)[: NAME_LIMIT - len(suffix)].rstrip("-")
    return head + suffix


def label_value(value: str) -> str:
    """`value` itself when Kubernetes accepts it as a label value, else a hash of it (the
    annotation of the same name keeps the value)."""
    if len(value) <= LABEL_VALUE_LIMIT and _LABEL_VALUE.fullmatch(value):
        return value
    return "sha256-" + hashlib.sha256(value.encode()).hexdigest()[:40]


def attempt_labels(run_id: str, job: str, attempt: int) -> dict[str, str]:
    """The labels of an attempt's Job and pod: what a label selector finds them by."""
    return {MANAGED_BY_LABEL: MANAGED_BY, RUN_LABEL: label_value(run_id), JOB_LABEL: label_value(job),
            ATTEMPT_LABEL: str(attempt)}


def environment(request: TaskRequest) -> dict[str, str]:
    """The job container's plain variables: the plan's, minus those set from secrets.
    LaunchError if a secret's value is in one, or the environment is too long to start."""
    plan = request.plan
    variables = {name: value for name, value in plan.environment(request.run_id, request.attempt).items()
                 if name not in request.secret_variables}
    for name, value in variables.items():
        if any(secret in value for secret in plan.secret_values if secret):
            raise LaunchError(
                f"variable {name} of job '{plan.job}' holds a secret's value, which the Job's spec"
                " would show to anyone allowed to read Jobs; give the secret a variable of its own"
                " (NAME: ${{ secrets.NAME }})")
        if len(name) + 1 + len(value.encode()) > VARIABLE_LIMIT:
            raise LaunchError(f"variable {name} of job '{plan.job}' is longer than the"
                              f" {VARIABLE_LIMIT // 1024} KiB a process's environment takes for one")
    total = sum(len(name) + len(value.encode()) for name, value in variables.items())
    if total > ENVIRONMENT_LIMIT:
        raise LaunchError(f"the environment of job '{plan.job}' takes {total} bytes, more than the"
                          f" {ENVIRONMENT_LIMIT // 1024} KiB a Job of ContainerOps carries")
    return variables


def resources(request: TaskRequest) -> dict[str, dict[str, str]]:
    """The job container's requests and limits, from the component's resources."""
    given = request.plan.resources
    requests, limits = {}, {}
    if given.cpu_request:
        requests["cpu"] = _cpu(given.cpu_request)
    if given.memory_request:
        requests["memory"] = _memory(given.memory_request)
    if given.cpu_limit:
        limits["cpu"] = _cpu(given.cpu_limit)
    if given.memory_limit:
        limits["memory"] = _memory(given.memory_limit)
    return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


def kubernetes_job(request: TaskRequest, settings: EksJobSettings) -> dict[str, Any]:
    """The `batch/v1` Job of the attempt; LaunchError when the job cannot run on EKS."""
    plan = request.plan
    if not plan.image:
        raise LaunchError(f"job '{plan.job}' has no image to run")
    if plan.mounts:  # validation refuses host mounts in the cloud; this is the backstop
        raise LaunchError(f"job '{plan.job}' mounts host paths, which a Job on EKS is not given")
    labels = attempt_labels(request.run_id, plan.job, request.attempt)
    annotations = {RUN_LABEL: request.run_id, JOB_LABEL: plan.job, ATTEMPT_LABEL: str(request.attempt)}
    metadata = {"labels": labels, "annotations": annotations}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(request.run_id, plan.job, request.attempt),
                     "namespace": settings.namespace, **metadata},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, math.ceil(plan.timeout)),
            "ttlSecondsAfterFinished": settings.ttl_seconds,
            "template": {"metadata": metadata, "spec": _pod_spec(request, settings)},
        },
    }


def _pod_spec(request: TaskRequest, settings: EksJobSettings) -> dict[str, Any]:
    return {
        "restartPolicy": "Never",
        "serviceAccountName": settings.service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,  # the environment is the job's, not the namespace's services
        "hostNetwork": False, "hostPID": False, "hostIPC": False,
        # The pod's pause process is PID 1 (as Docker's --init locally, initProcessEnabled on
        # Fargate): a stop's SIGTERM reaches the job's process even when it is a shell, which
        # as PID 1 would ignore it. The pod's containers are ContainerOps's and the job's own.
        "shareProcessNamespace": True,
        "terminationGracePeriodSeconds": settings.save_grace_seconds,
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": JOB_UID, "runAsGroup": JOB_GID, "fsGroup": JOB_GID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [
            _sidecar(RESTORE_CONTAINER, request, settings, args=["restore"]),
            {**_sidecar(SAVE_CONTAINER, request, settings, command=list(SAVE_ON_STOP)),
             "restartPolicy": "Always"},
        ],
        "containers": [_job_container(request, settings)],
        "volumes": [{"name": name, "emptyDir": {}}
                    for name in (WORKSPACE_VOLUME, SIDECAR_VOLUME, TMP_VOLUME)],
    }


def _job_container(request: TaskRequest, settings: EksJobSettings) -> dict[str, Any]:
    plan = request.plan
    env: list[dict[str, Any]] = [{"name": name, "value": literal(value)}
                                 for name, value in environment(request).items()]
    env += [{"name": variable, "valueFrom": {"secretKeyRef": {"name": settings.secrets_name, "key": secret}}}
            for variable, secret in sorted(request.secret_variables.items())]
    container: dict[str, Any] = {
        "name": JOB_CONTAINER,
        "image": plan.image,
        "env": env,
        "resources": resources(request),
        "securityContext": _security(read_only_root=False),
        "volumeMounts": [{"name": WORKSPACE_VOLUME, "mountPath": WORKSPACE_PATH}],
    }
    if plan.command is not None:
        # A job's command replaces the image's CMD (as `docker run` and ECS do): Kubernetes
        # calls that `args`; its `command` would replace the ENTRYPOINT.
        container["args"] = [literal(part) for part in plan.command]
    return container


def _sidecar(name: str, request: TaskRequest, settings: EksJobSettings, *,
             args: list[str] | None = None, command: list[str] | None = None) -> dict[str, Any]:
    variables = {
        sidecar.BUCKET: settings.workspace_bucket,
        sidecar.WORKSPACE_DIR: WORKSPACE_PATH,
        sidecar.STATE_FILE: f"{SIDECAR_PATH}/workspace-snapshot.json",
        sidecar.OWNER: f"{JOB_UID}:{JOB_GID}",
        **sidecar_environment(request),
    }
    container: dict[str, Any] = {
        "name": name,
        "image": settings.workspace_image,
        "env": [{"name": key, "value": value} for key, value in variables.items()],
        "resources": {"requests": dict(SIDECAR_REQUESTS)},
        "securityContext": _security(read_only_root=True),
        "volumeMounts": [
            {"name": WORKSPACE_VOLUME, "mountPath": WORKSPACE_PATH},
            {"name": SIDECAR_VOLUME, "mountPath": SIDECAR_PATH},
            {"name": TMP_VOLUME, "mountPath": TMP_PATH},
        ],
    }
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    return container


def literal(text: str) -> str:
    """`text` as Kubernetes passes it on: it expands `$(NAME)` in a container's args and
    variables and reads `$$` as `$`, so every `$` is doubled and the job gets what it wrote,
    as on Fargate and locally."""
    return text.replace("$", "$$")


def _security(*, read_only_root: bool) -> dict[str, Any]:
    return {
        "runAsNonRoot": True, "runAsUser": JOB_UID, "runAsGroup": JOB_GID,
        "allowPrivilegeEscalation": False, "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _cpu(cores: float) -> str:
    return f"{max(1, round(cores * 1000))}m"


def _memory(text: str) -> str:
    size = parse_memory(text)
    return f"{size // _MEBIBYTE}Mi" if size % _MEBIBYTE == 0 else str(size)
