"""The Kubernetes API's own shapes for the sandbox's harness (pure): the resources it serves, its
`Status` errors, its timestamps, what the API server fills into a `batch/v1` Job it is given
and what it refuses, and the JSON merge patch PATCH applies.

What a real API server (Kubernetes 1.33) does that is played here:
- **Errors** are `Status` objects (`kind: Status`, `status: Failure`, `reason`, `message`,
  `details`, `code`), with the API's own wording (`jobs.batch "x" not found`, `... already
  exists`, `Job.batch "x" is invalid: spec.template.spec.containers: Required value`).
- **Job defaults**: `completions` and `parallelism` 1, `backoffLimit` 6, `completionMode`
  NonIndexed, `suspend` false, `manualSelector` false, `podReplacementPolicy`
  TerminatingOrFailed; the selector `batch.kubernetes.io/controller-uid: <uid>` (the only
  label the API server puts in it since 1.27) and the four labels of the pod template
  (`batch.kubernetes.io/controller-uid`, `batch.kubernetes.io/job-name`, `controller-uid`,
  `job-name`), which also become the Job's labels when it has none; the pod template's
  defaults (`terminationGracePeriodSeconds` 30, `dnsPolicy` ClusterFirst, `schedulerName`,
  each container's `imagePullPolicy`, `terminationMessagePath`/`Policy`, `resources: {}`).
- **Patches**: a merge patch (RFC 7386: objects merged key by key, `null` removes a key,
  anything else replaces). The client sends a dict as `strategic-merge-patch+json`, which
  Kubernetes merges the same way except for lists with merge keys (containers by name...);
  ContainerOps patches annotations and `spec.suspend` only, where the two agree.
Not played: managedFields, admission (Pod Security is the kubelet's concern here, and not
checked), and schema validation beyond the fields above (tests/aws validates the Jobs
against the real schema with kubernetes-validate).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Document = dict[str, Any]

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL = "job-name", "controller-uid"
JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
FOREGROUND_FINALIZER, ORPHAN_FINALIZER = "foregroundDeletion", "orphan"
DEFAULT_GRACE_SECONDS = 30
DEFAULT_BACKOFF_LIMIT = 6
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_RESTART_POLICIES = ("OnFailure", "Never")


@dataclass(frozen=True)
class Resource:
    """One kind of object the harness keeps, named as the API names it."""

    kind: str  # Job
    plural: str  # jobs
    group: str  # batch ("" for the core group)

    @property
    def api_version(self) -> str:
        return f"{self.group}/v1" if self.group else "v1"

    @property
    def qualified(self) -> str:
        """How errors name it: `jobs.batch`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


JOBS = Resource("Job", "jobs", "batch")
PODS = Resource("Pod", "pods", "")
EVENTS = Resource("Event", "events", "")
SECRETS = Resource("Secret", "secrets", "")
NAMESPACES = Resource("Namespace", "namespaces", "")


class ApiError(Exception):
    """An answer of the API that is a `Status` of failure."""

    def __init__(self, code: int, reason: str, message: str, details: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details) if details is not None else None
        self.headers = dict(headers or {})

    def status(self) -> Document:
        body: Document = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.qualified} "{name}" not found', _details(resource, name))


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{resource.qualified} "{name}" already exists',
                    _details(resource, name))


def conflict(resource: Resource, name: str, why: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource.qualified} "{name}": {why}',
                    _details(resource, name))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(resource: Resource, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """422: `causes` are (field, reason, message), e.g. ("metadata.name", "FieldValueRequired",
    "Required value: name or generateName is required")."""
    kind = f"{resource.kind}.{resource.group}" if resource.group else resource.kind
    said = ", ".join(f"{field}: {message}" for field, _, message in causes)
    details = {"name": name, **({"group": resource.group} if resource.group else {}), "kind": resource.kind,
               "causes": [{"reason": reason, "message": message, "field": field}
                          for field, reason, message in causes]}
    if len(causes) > 1:
        said = f"[{said}]"
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {said}', details)


def success(resource: Resource, name: str, uid: str) -> Document:
    """The `Status` a DELETE answers when the object is gone at once."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {**_details(resource, name), "uid": uid}}


def _details(resource: Resource, name: str) -> Document:
    return {"name": name, **({"group": resource.group} if resource.group else {}), "kind": resource.plural}


# --- time ------------------------------------------------------------------------------------

def timestamp(seconds: float) -> str:
    """RFC 3339 in whole seconds, as `metav1.Time` is written: 2026-01-02T03:04:05Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_timestamp(seconds: float) -> str:
    """`metav1.MicroTime` (an events.k8s.io Event's eventTime): 2026-01-02T03:04:05.123456Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def seconds_of(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --- patches ----------------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: `patch` merged into (a copy of) `target`."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


# --- Jobs -------------------------------------------------------------------------------------

def refuse_invalid_job(body: Mapping[str, Any]) -> None:
    """ApiError 422 for what the API server would refuse of the Jobs the harness is given."""
    given = body.get("metadata")
    metadata: Mapping[str, Any] = given if isinstance(given, dict) else {}
    name = str(metadata.get("name") or "")
    causes: list[tuple[str, str, str]] = []
    if not name and not metadata.get("generateName"):
        causes.append(("metadata.name", "FieldValueRequired",
                       "Required value: name or generateName is required"))
    elif name and (len(name) > 63 or not _DNS_SUBDOMAIN.fullmatch(name)):
        causes.append(("metadata.name", "FieldValueInvalid",
                       f'Invalid value: "{name}": a Job\'s name must be a DNS-1123 label of at most 63'
                       " characters (it becomes its pods' job-name label)"))
    spec = body.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(spec, dict):
        causes.append(("spec", "FieldValueRequired", "Required value"))
    elif not isinstance(template, dict) or not isinstance(pod_spec, dict):
        causes.append(("spec.template.spec", "FieldValueRequired", "Required value"))
    else:
        causes += _pod_spec_problems(pod_spec, "spec.template.spec")
    if causes:
        raise invalid(JOBS, name, causes)


def _pod_spec_problems(pod_spec: Mapping[str, Any], where: str) -> list[tuple[str, str, str]]:
    causes: list[tuple[str, str, str]] = []
    containers = pod_spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append((f"{where}.containers", "FieldValueRequired", "Required value"))
    for list_name in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(list_name) or []):
            at = f"{where}.{list_name}[{index}]"
            if not isinstance(container, dict):
                causes.append((at, "FieldValueInvalid", "Invalid value: a container is an object"))
                continue
            if not container.get("name"):
                causes.append((f"{at}.name", "FieldValueRequired", "Required value"))
            if not container.get("image"):
                causes.append((f"{at}.image", "FieldValueRequired", "Required value"))
    policy = pod_spec.get("restartPolicy")
    if policy not in _RESTART_POLICIES:
        if policy is None:
            causes.append((f"{where}.restartPolicy", "FieldValueRequired",
                           'Required value: valid values: "OnFailure", "Never"'))
        else:
            causes.append((f"{where}.restartPolicy", "FieldValueNotSupported",
                           f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"'))
    return causes


def job_with_defaults(body: Mapping[str, Any], uid: str) -> Document:
    """The Job as the API server stores it (metadata such as uid and resourceVersion aside)."""
    job = copy.deepcopy(dict(body))
    job["apiVersion"], job["kind"] = JOBS.api_version, JOBS.kind
    metadata, spec = job.setdefault("metadata", {}), job["spec"]
    name = metadata["name"]
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", DEFAULT_BACKOFF_LIMIT)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    if not spec.get("podFailurePolicy"):
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    spec["selector"] = {"matchLabels": {CONTROLLER_UID_LABEL: uid}}
    template = spec["template"]
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    labels.update({CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name,
                   LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name})
    if not metadata.get("labels"):
        metadata["labels"] = dict(labels)
    _pod_spec_defaults(template["spec"])
    job["status"] = {}
    return job


def _pod_spec_defaults(pod_spec: Document) -> None:
    pod_spec.setdefault("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
    pod_spec.setdefault("dnsPolicy", "ClusterFirst")
    pod_spec.setdefault("schedulerName", "default-scheduler")
    pod_spec.setdefault("securityContext", {})
    for container in [*(pod_spec.get("initContainers") or []), *pod_spec["containers"]]:
        image = str(container.get("image") or "")
        tag = image.rsplit("/", 1)[-1].partition("@")[0]
        untagged_or_latest = ":" not in tag or tag.endswith(":latest")
        container.setdefault("imagePullPolicy", "Always" if untagged_or_latest and "@" not in image
                             else "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})


def immutable_job_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The fields of a Job a patch may not change (the 422 causes)."""
    causes = []
    for field in ("selector", "template", "completionMode"):
        if before["spec"].get(field) != after["spec"].get(field):
            causes.append((f"spec.{field}", "FieldValueInvalid", "Invalid value: field is immutable"))
    return causes


def condition(status: Mapping[str, Any], kind: str) -> Document | None:
    """The `status.conditions` entry of this type (whatever its status)."""
    for entry in status.get("conditions") or []:
        if entry.get("type") == kind:
            return dict(entry)
    return None


def is_true(status: Mapping[str, Any], kind: str) -> bool:
    found = condition(status, kind)
    return found is not None and found.get("status") == "True"
