"""A pod's `status` as the kubelet writes it (Kubernetes 1.33), kept by the harness's kubelet as
its containers move on (pure, but for the clock it is given).

Each container has an entry (`name`, `image`, `imageID`, `containerID` containerd://...,
`ready`, `started`, `restartCount` 0, `lastState` {}, `state`: `waiting {reason, message}`,
`running {startedAt}` or `terminated {exitCode, reason, startedAt, finishedAt,
containerID}`); the pod has its `phase`, `startTime`, `hostIP`/`podIP`, `qosClass` and the
conditions PodReadyToStartContainers, Initialized (every init container done, or started
for a sidecar), Ready and ContainersReady (every container ready, while Running; reason
PodCompleted once the pod is over) and PodScheduled (from the scheduler's binding), each
with the time its value last changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.launch.base import ContainerExit
from chalicelib.sandbox.kubernetes_objects import Document, timestamp
from chalicelib.sandbox.kubernetes_pods import image_reference, qos_class

HOST_IP = "10.0.0.10"
NEVER_STARTED = "1970-01-01T00:00:00Z"  # what the kubelet writes for a container that never ran
CONTAINER_ID_PREFIX = "containerd://"  # EKS nodes run containerd


class PodStatus:
    def __init__(self, spec: Mapping[str, Any], *, ip: str, scheduled_at: str,
                 clock: Callable[[], float]) -> None:
        self._spec = spec
        self._ip = ip
        self._clock = clock
        self._started_at = self.now()
        self._scheduled_at = scheduled_at or self._started_at
        self._containers: dict[str, Document] = {}
        self._transitions: dict[str, tuple[str, str]] = {}

    def now(self) -> str:
        return timestamp(self._clock())

    def state(self, name: str) -> Document:
        return dict((self._containers.get(name) or {}).get("state") or {})

    def set(self, container: Mapping[str, Any], state: Document, *, ready: bool = False,
            started: bool = False, container_id: str | None = None) -> None:
        name = str(container["name"])
        entry = self._containers.get(name) or {
            "name": name, "image": container["image"], "imageID": "", "restartCount": 0, "lastState": {}}
        entry.update(state=state, ready=ready, started=started)
        if "waiting" not in state:
            entry["imageID"] = image_reference(str(container["image"]))
            if container_id:
                entry["containerID"] = CONTAINER_ID_PREFIX + container_id
            entry.setdefault("containerID", CONTAINER_ID_PREFIX + uuid.uuid4().hex + uuid.uuid4().hex)
            if "terminated" in state:
                state["terminated"]["containerID"] = entry["containerID"]
        self._containers[name] = entry

    def document(self, phase: str) -> Document:
        init = self._entries(self._spec.get("initContainers") or [])
        main = self._entries(self._spec["containers"])
        incomplete = [s["name"] for s in init if not (s["ready"] or s["started"])]
        unready = [s["name"] for s in [*init, *main] if not s["ready"]]
        ready = phase == "Running" and not incomplete and not unready
        final = phase in ("Succeeded", "Failed")
        why = "PodCompleted" if final else "ContainersNotReady"
        conditions = [
            self._condition("PodReadyToStartContainers", True),
            self._condition("Initialized", not incomplete, "ContainersNotInitialized",
                            _names("incomplete", incomplete)),
            self._condition("Ready", ready, why, "" if final else _names("unready", unready)),
            self._condition("ContainersReady", ready, why, "" if final else _names("unready", unready)),
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": self._scheduled_at},
        ]
        status: Document = {"phase": phase, "conditions": conditions, "hostIP": HOST_IP,
                            "hostIPs": [{"ip": HOST_IP}], "podIP": self._ip, "podIPs": [{"ip": self._ip}],
                            "startTime": self._started_at}
        if init:
            status["initContainerStatuses"] = init
        status["containerStatuses"] = main
        status["qosClass"] = qos_class(self._spec)
        return status

    def _entries(self, containers: list[Document]) -> list[Document]:
        return [dict(self._containers[c["name"]]) for c in containers if c["name"] in self._containers]

    def _condition(self, kind: str, true: bool, reason: str = "", message: str = "") -> Document:
        value = "True" if true else "False"
        previous = self._transitions.get(kind)
        if previous is None or previous[0] != value:
            self._transitions[kind] = (value, self.now())
        entry: Document = {"type": kind, "status": value, "lastProbeTime": None,
                           "lastTransitionTime": self._transitions[kind][1]}
        if not true and reason:
            entry["reason"] = reason
            if message:
                entry["message"] = message
        return entry


def terminated(finished: ContainerExit | None) -> Document:
    """A container's terminated state from the engine's account of its end."""
    if finished is None:
        return {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                               "message": "The container could not be located when the pod was terminated",
                               "startedAt": NEVER_STARTED, "finishedAt": NEVER_STARTED}}
    code = 137 if finished.oom_killed else finished.exit_code
    reason = "OOMKilled" if finished.oom_killed else "Completed" if code == 0 else "Error"
    return {"terminated": {"exitCode": code, "reason": reason, "startedAt": _time(finished.started_at),
                           "finishedAt": _time(finished.finished_at)}}


def _time(seconds: float | None) -> str:
    return timestamp(seconds) if seconds else NEVER_STARTED


def _names(what: str, names: list[str]) -> str:
    return f"containers with {what} status: [{' '.join(names)}]" if names else ""
