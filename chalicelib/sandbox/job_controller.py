"""The control plane's part of the sandbox's Kubernetes harness: the Job controller, the scheduler
of the one node, the garbage collector of pods whose Job is gone, and the TTL-after-finished
controller, on one thread that wakes at every change of the store and at least every `poll`
seconds for time passing (deadlines, TTLs).

As Kubernetes 1.33 does it, for the Jobs ContainerOps makes (one pod at a time):
- **Pods.** A Job that is not suspended gets a pod `<name>-<5 random characters>` (the
  template's labels and annotations, an `ownerReference` to the Job, the finalizer
  `batch.kubernetes.io/job-tracking`, each limit's request defaulted to it) and a
  `SuccessfulCreate` event; the Job's `status.startTime` is set on its first sync.
- **Scheduling.** A pod is bound to the node when its requests fit in what the node has
  left (`kubernetes_pods.pod_requests`); otherwise it stays Pending with `PodScheduled
  False Unschedulable` and the scheduler's message, and a `FailedScheduling` Warning event
  in the events.k8s.io form (`eventTime`, `action: Scheduling`, `reportingComponent:
  default-scheduler`; `firstTimestamp`, `lastTimestamp` null and no `count`, as the core/v1
  view of such an event is), once per distinct message; it is tried again at every sync.
- **Status.** `active`, `ready`, `terminating`, `succeeded`, `failed` (zero counts left out
  but `ready` and `terminating`), `uncountedTerminatedPods: {}`. Success: conditions
  `SuccessCriteriaMet` then `Complete` (reason CompletionsReached), `completionTime`.
  Failure beyond `backoffLimit`: `FailureTarget` then, once no pod is left running,
  `Failed` (BackoffLimitExceeded, `Job has reached the specified backoff limit`).
- **Deadline.** `activeDeadlineSeconds` after `status.startTime`: `FailureTarget`
  DeadlineExceeded at once, its pods deleted (a Pending one goes at once, a running one once
  the kubelet has stopped it), then `Failed` DeadlineExceeded (`Job was active longer than
  specified deadline`). A deleted pod that did not succeed counts as failed, as Kubernetes
  counts it. Events stay after their pod is gone.
- **Suspend.** `spec.suspend: true`: active pods deleted, `Suspended True JobSuspended "Job
  suspended"`, no new pod; a resumed Job gets `Suspended False JobResumed`, a new
  `startTime` and a new pod. The pods a suspension deleted are not counted as failures, so a
  suspended Job of `backoffLimit: 0` stays Suspended (not verified against a cluster: the
  real controller may count a deleted pod that did not succeed as failed, and fail the Job).
- **Deletion.** A pod being deleted (`deletionTimestamp`) is removed once the kubelet has
  stopped it; pods whose Job is gone are deleted (Background); a Job marked Foreground
  goes once its pods are gone, one marked Orphan once its pods no longer name it.
- **TTL.** `ttlSecondsAfterFinished` after the Job finished (its `Complete` or `Failed`
  condition), the Job is deleted with Foreground propagation, as that controller does.
"""

from __future__ import annotations

import copy
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.sandbox.kubernetes_objects import (
    EVENTS,
    FOREGROUND_FINALIZER,
    JOB_TRACKING_FINALIZER,
    JOBS,
    PODS,
    Document,
    condition,
    is_true,
    micro_timestamp,
    seconds_of,
    timestamp,
)
from chalicelib.sandbox.kubernetes_pods import pod_requests, qos_class, unschedulable, with_default_requests
from chalicelib.sandbox.kubernetes_store import Cluster

log = logging.getLogger("containerops.sandbox")

NODE_NAME = "ip-10-0-0-10.ec2.internal"
SCHEDULER_INSTANCE = "default-scheduler-ip-10-0-0-5.ec2.internal"
GENERATED_NAME_BASE = 58  # generateName keeps this much of the base
_NAME_CHARACTERS = "bcdfghjklmnpqrstvwxz2456789"  # the API server's random suffixes
_OVER = ("Succeeded", "Failed")
_DEFAULT_TOLERATIONS = [{"key": f"node.kubernetes.io/{taint}", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300} for taint in ("not-ready", "unreachable")]
DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")
BACKOFF_LIMIT = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")


class Node(Protocol):
    """What the controller asks of the kubelet."""

    def run(self, pod: Document) -> None: ...

    def terminate(self, namespace: str, name: str) -> bool: ...

    def running(self, namespace: str, name: str) -> bool: ...

    def forget(self, namespace: str, name: str) -> None: ...


class JobController:
    def __init__(self, cluster: Cluster, node: Node, *, cpu: float, memory: int,
                 clock: Callable[[], float] = time.time, poll: float = 0.1) -> None:
        self._cluster = cluster
        self._node = node
        self._clock = clock
        self._poll = poll
        self._allocatable = {"cpu": Decimal(str(cpu)), "memory": Decimal(memory)}
        self._counted: dict[str, dict[str, str]] = {}  # Job uid -> pod name -> succeeded|failed|suspended
        self._suspended: set[tuple[str, str]] = set()  # pods deleted by their Job's suspension
        self._reported: dict[tuple[str, str], str] = {}  # pod -> the scheduler's last message
        self._names = itertools.count()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="harness-job-controller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            seen = self._cluster.version
            try:
                self.sync()
            except Exception:  # a bug: say so, and go on controlling the others
                log.exception("the harness's Job controller failed a sync")
            self._cluster.wait_for_change(seen, self._poll)

    def sync(self) -> None:
        now = self._clock()
        pods_by_owner: dict[str, list[Document]] = {}
        for pod in self._cluster.items(PODS):
            pods_by_owner.setdefault(_owner(pod), []).append(pod)
        jobs = self._cluster.items(JOBS)
        for job in jobs:
            self._sync_job(job, pods_by_owner.get(job["metadata"]["uid"], []), now)
        uids = {job["metadata"]["uid"] for job in jobs}
        for uid, pods in pods_by_owner.items():
            if uid and uid not in uids:  # the garbage collector's: the Job was deleted (Background)
                self._counted.pop(uid, None)
                for pod in pods:
                    self._delete_pod(pod, now)
                    self._remove_if_gone(pod)
        self._schedule(now)

    # --- one Job ------------------------------------------------------------------------
    def _sync_job(self, job: Document, pods: list[Document], now: float) -> None:
        metadata, spec = job["metadata"], job["spec"]
        counted = self._counted.setdefault(metadata["uid"], {})
        kept = []
        for listed in pods:
            pod = self._cluster.find(PODS, listed["metadata"]["namespace"], listed["metadata"]["name"])
            if pod is None:
                continue
            name = pod["metadata"]["name"]
            if _is_over(pod) and name not in counted:
                phase = (pod.get("status") or {}).get("phase")
                counted[name] = ("suspended" if (pod["metadata"]["namespace"], name) in self._suspended
                                 else "succeeded" if phase == "Succeeded" else "failed")
            if not self._remove_if_gone(pod):
                kept.append(pod)
        pods = kept
        if metadata.get("deletionTimestamp"):
            self._finish_deletion(job, pods, now)
            return
        status = copy.deepcopy(job.get("status") or {})
        if is_true(status, "Complete") or is_true(status, "Failed"):
            self._expire(job, status, now)
            return
        active = [pod for pod in pods if not _is_over(pod) and not pod["metadata"].get("deletionTimestamp")]
        if spec.get("suspend"):
            for pod in active:
                self._delete_pod(pod, now, suspended=True)
            self._set_condition(job, status, "Suspended", "JobSuspended", "Job suspended", now,
                                event="Suspended")
        else:
            self._run_job(job, status, active, counted, now)
        self._write_status(job, status, counted, now)

    def _run_job(self, job: Document, status: Document, active: list[Document],
                 counted: Mapping[str, str], now: float) -> None:
        spec = job["spec"]
        if is_true(status, "Suspended"):
            self._set_condition(job, status, "Suspended", "JobResumed", "Job resumed", now, value="False",
                                event="Resumed")
            status["startTime"] = timestamp(now)
        status.setdefault("startTime", timestamp(now))
        if is_true(status, "FailureTarget") or is_true(status, "SuccessCriteriaMet"):
            return
        failed = sum(1 for result in counted.values() if result == "failed")
        succeeded = sum(1 for result in counted.values() if result == "succeeded")
        started, deadline = seconds_of(status["startTime"]), spec.get("activeDeadlineSeconds")
        if deadline is not None and started is not None and now >= started + float(deadline):
            self._fail(job, status, active, *DEADLINE, now)
        elif failed > int(spec.get("backoffLimit", 6)):
            self._fail(job, status, active, *BACKOFF_LIMIT, now)
        elif succeeded >= int(spec.get("completions") or 1):
            self._set_condition(job, status, "SuccessCriteriaMet", "CompletionsReached",
                                "Reached expected number of succeeded pods", now)
        elif not active and succeeded < int(spec.get("completions") or 1):
            self._create_pod(job, now)

    def _fail(self, job: Document, status: Document, active: list[Document], reason: str, message: str,
              now: float) -> None:
        self._set_condition(job, status, "FailureTarget", reason, message, now)
        self._event(job, reason, message, now, kind="Warning")
        for pod in active:
            self._delete_pod(pod, now)

    def _write_status(self, job: Document, status: Document, counted: Mapping[str, str], now: float) -> None:
        metadata = job["metadata"]
        pods = [pod for pod in self._cluster.items(PODS, metadata["namespace"])
                if _owner(pod) == metadata["uid"]]
        live = [pod for pod in pods if not _is_over(pod)]
        active = [pod for pod in live if not pod["metadata"].get("deletionTimestamp")]
        leaving = [pod for pod in pods if pod["metadata"].get("deletionTimestamp")]
        results = list(counted.values())
        for kind, final in (("FailureTarget", "Failed"), ("SuccessCriteriaMet", "Complete")):
            target = condition(status, kind)
            # The Job ends once no pod of it runs, nor is still on its way out.
            if (target is not None and target["status"] == "True" and not live and not leaving
                    and not is_true(status, final)):
                self._set_condition(job, status, final, target["reason"], target["message"], now)
                if final == "Complete":
                    status["completionTime"] = timestamp(now)
                    self._event(job, "Completed", "Job completed", now)
        counts = {"active": len(active), "succeeded": results.count("succeeded"),
                  "failed": results.count("failed")}
        for key, value in counts.items():
            if value:
                status[key] = value
            else:
                status.pop(key, None)
        status["ready"] = sum(1 for pod in active if is_true(pod.get("status") or {}, "Ready"))
        status["terminating"] = len(live) - len(active)
        status["uncountedTerminatedPods"] = {}
        self._cluster.update(JOBS, metadata["namespace"], metadata["name"],
                             lambda stored: stored.__setitem__("status", status))

    def _set_condition(self, job: Document, status: Document, kind: str, reason: str, message: str,
                       now: float, *, value: str = "True", event: str = "") -> None:
        conditions: list[Document] = status.setdefault("conditions", [])
        for entry in conditions:
            if entry["type"] == kind:
                if entry["status"] == value:
                    return
                conditions.remove(entry)
                break
        conditions.append({"type": kind, "status": value, "lastProbeTime": timestamp(now),
                           "lastTransitionTime": timestamp(now), "reason": reason, "message": message})
        if event:
            self._event(job, event, message, now)

    def _expire(self, job: Document, status: Document, now: float) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        final = condition(status, "Complete") or condition(status, "Failed") or {}
        finished = seconds_of(status.get("completionTime")) or seconds_of(final.get("lastTransitionTime"))
        if finished is not None and now >= finished + float(ttl):
            metadata = job["metadata"]
            self._cluster.delete_job(metadata["namespace"], metadata["name"],
                                     {"propagationPolicy": "Foreground"})

    def _finish_deletion(self, job: Document, pods: list[Document], now: float) -> None:
        metadata = job["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        if FOREGROUND_FINALIZER in (metadata.get("finalizers") or []):
            for pod in pods:
                self._delete_pod(pod, now)
                self._remove_if_gone(pod)
            if any(_owner(pod) == metadata["uid"] for pod in self._cluster.items(PODS, namespace)):
                return
        else:
            for pod in pods:
                self._cluster.update(PODS, namespace, pod["metadata"]["name"],
                                     lambda stored: stored["metadata"].pop("ownerReferences", None))
        self._cluster.remove(JOBS, namespace, name)
        self._counted.pop(metadata["uid"], None)

    # --- pods ---------------------------------------------------------------------------
    def _create_pod(self, job: Document, now: float) -> None:
        metadata, template = job["metadata"], job["spec"]["template"]
        namespace = metadata["namespace"]
        base = (metadata["name"] + "-")[:GENERATED_NAME_BASE]
        name = base + "".join(random.choices(_NAME_CHARACTERS, k=5))
        spec = copy.deepcopy(template["spec"])
        for container in [*(spec.get("initContainers") or []), *spec["containers"]]:
            container["resources"] = with_default_requests(container)
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("tolerations", copy.deepcopy(_DEFAULT_TOLERATIONS))
        if spec.get("serviceAccountName"):
            spec.setdefault("serviceAccount", spec["serviceAccountName"])
        template_metadata = template.get("metadata") or {}
        pod: Document = {
            "metadata": {
                "name": name, "generateName": base, "labels": dict(template_metadata.get("labels") or {}),
                "annotations": dict(template_metadata.get("annotations") or {}),
                "ownerReferences": [{"apiVersion": JOBS.api_version, "kind": JOBS.kind,
                                     "name": metadata["name"], "uid": metadata["uid"], "controller": True,
                                     "blockOwnerDeletion": True}],
                "finalizers": [JOB_TRACKING_FINALIZER]},
            "spec": spec,
            "status": {"phase": "Pending", "qosClass": qos_class(spec)},
        }
        self._cluster.create(PODS, namespace, pod)
        self._event(job, "SuccessfulCreate", f"Created pod: {name}", now)

    def _delete_pod(self, pod: Document, now: float, *, suspended: bool = False) -> None:
        metadata = pod["metadata"]
        key = (metadata["namespace"], metadata["name"])
        if metadata.get("deletionTimestamp"):
            return
        if suspended:
            self._suspended.add(key)
        grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))

        def mark(stored: Document) -> None:
            stored["metadata"]["deletionTimestamp"] = timestamp(now + grace)
            stored["metadata"]["deletionGracePeriodSeconds"] = grace

        updated = self._cluster.update(PODS, *key, mark)
        if updated is not None:
            metadata.update(updated["metadata"])
        self._node.terminate(*key)

    def _remove_if_gone(self, pod: Document) -> bool:
        """Remove a pod being deleted once nothing of it runs; whether it was removed."""
        metadata = pod["metadata"]
        key = (metadata["namespace"], metadata["name"])
        if not metadata.get("deletionTimestamp") or self._node.running(*key):
            return False
        if pod["spec"].get("nodeName") and not _is_over(self._cluster.find(PODS, *key) or pod):
            return False  # bound, and the kubelet has not written its end yet
        self._cluster.remove(PODS, *key)
        self._node.forget(*key)
        self._reported.pop(key, None)
        self._suspended.discard(key)
        return True

    def _schedule(self, now: float) -> None:
        pods = self._cluster.items(PODS)
        bound = [pod_requests(pod["spec"]) for pod in pods
                 if pod["spec"].get("nodeName") and not _is_over(pod)]
        waiting = [pod for pod in pods
                   if not pod["spec"].get("nodeName") and not pod["metadata"].get("deletionTimestamp")]
        for pod in sorted(waiting, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"])):
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            asked = pod_requests(pod["spec"])
            message = unschedulable(asked, self._allocatable, bound)
            if message is None:
                placed = self._cluster.update(PODS, *key, lambda stored: _bind(stored, now))
                if placed is not None:
                    bound.append(asked)
                    self._node.run(placed)
            elif self._reported.get(key) != message:
                self._reported[key] = message
                self._cluster.update(PODS, *key, _unschedulable(message, now))
                self._scheduler_event(pod, message, now)

    # --- events -------------------------------------------------------------------------
    def _event(self, job: Document, reason: str, message: str, now: float, *, kind: str = "Normal") -> None:
        """An event of the job-controller (core/v1's own recorder: count and timestamps)."""
        self._record(job, {"reason": reason, "message": message, "type": kind,
                           "source": {"component": "job-controller"}, "count": 1,
                           "firstTimestamp": timestamp(now), "lastTimestamp": timestamp(now),
                           "eventTime": None, "reportingComponent": "job-controller",
                           "reportingInstance": ""})

    def _scheduler_event(self, pod: Document, message: str, now: float) -> None:
        """The scheduler's event (written through events.k8s.io/v1, read here as core/v1)."""
        self._record(pod, {"reason": "FailedScheduling", "message": message, "type": "Warning", "source": {},
                           "firstTimestamp": None, "lastTimestamp": None, "eventTime": micro_timestamp(now),
                           "action": "Scheduling", "reportingComponent": "default-scheduler",
                           "reportingInstance": SCHEDULER_INSTANCE})

    def _record(self, involved: Document, fields: Mapping[str, Any]) -> None:
        metadata = involved["metadata"]
        name = f"{metadata['name']}.{time.time_ns() + next(self._names):x}"
        reference = {"kind": involved["kind"], "namespace": metadata["namespace"], "name": metadata["name"],
                     "uid": metadata["uid"], "apiVersion": involved["apiVersion"],
                     "resourceVersion": metadata["resourceVersion"]}
        self._cluster.create(EVENTS, metadata["namespace"],
                             {"metadata": {"name": name}, "involvedObject": reference, **fields})


def _owner(pod: Document) -> str:
    for reference in pod["metadata"].get("ownerReferences") or []:
        if reference.get("controller") and reference.get("kind") == JOBS.kind:
            return str(reference["uid"])
    return ""


def _is_over(pod: Document) -> bool:
    if (pod.get("status") or {}).get("phase") in _OVER:
        return True
    return bool(pod["metadata"].get("deletionTimestamp")) and not pod["spec"].get("nodeName")


def _bind(pod: Document, now: float) -> None:
    pod["spec"]["nodeName"] = NODE_NAME
    scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": timestamp(now)}
    pod.setdefault("status", {})["conditions"] = [scheduled]


def _unschedulable(message: str, now: float) -> Callable[[Document], None]:
    def mark(pod: Document) -> None:
        pod.setdefault("status", {})["conditions"] = [
            {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
             "lastTransitionTime": timestamp(now), "reason": "Unschedulable", "message": message}]

    return mark
