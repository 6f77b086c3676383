"""The kubelet of the sandbox's Kubernetes harness: each pod bound to its one node runs on the
Docker engine, on a thread of its own, and its status is written as the kubelet writes it.

A pod of ContainerOps (chalicelib/aws/eks_jobs.py) runs as Kubernetes runs it:
1. `workspace-restore`, an init container, first. It is ours, so its step runs in-process
   (the `SidecarRunner`, as the ECS agent's `task_runner` does) with its variables and the
   paths under its mounts moved into the pod's volume folders (each emptyDir is a folder of
   the pod's, mode 0777 as the kubelet makes it, removed with the pod). A non-zero exit ends
   the pod: that init container terminated (reason Error), the others and the job waiting
   (PodInitializing), phase Failed.
2. `workspace-save`, a native sidecar (an init container with `restartPolicy: Always`), is
   running from then on. Its own command (`eks_jobs.SAVE_ON_STOP`, a shell waiting for
   SIGTERM) cannot run in-process: it is recognised by its name, and its `save` step runs
   in-process when the kubelet would stop it: once the job container has exited, or when the
   pod is terminated (deadline, suspend, delete) after the job container was stopped. Its
   exit code is its terminated state's and never changes the pod's phase.
3. The job container: the `DockerLauncher`'s hardened container, the image's ENTRYPOINT kept
   and `args` in place of its CMD (a container `command` would replace the ENTRYPOINT, which
   a ContainerSpec cannot: refused, as is `workingDir`, with the container waiting
   CreateContainerError, as are pods the harness cannot run otherwise); its variables (`$(NAME)` expanded,
   secrets from the Secret, and the `KUBERNETES_SERVICE_*` ones every pod gets), its user
   from `runAsUser`:`runAsGroup`, limits as Docker's, its emptyDir mounts. A missing Secret
   or key leaves it waiting (CreateContainerConfigError, tried again every
   `retry_backoff`); an image this engine lacks leaves it waiting (ErrImagePull, then
   ImagePullBackOff, tried again after a back-off doubling from `retry_backoff` up to 30
   times it, as the kubelet's 10 s to 300 s); an engine that refuses to start it ends it
   (exit 128, reason StartError). Its exit: exit code, reason Completed, Error or OOMKilled
   (137).
Output goes to the LogShipper as Fluent Bit ships it (infra/eks/fluent-bit.yaml): one stream
per container, `eks/<container>/<run>/<job>/<attempt>` from the pod's annotations
(`eks/unresolved` without them), stdout and stderr cut into lines; each stream is closed
(delivered) before the pod's terminal status is written.

Stopping a pod (`terminate`): SIGTERM to the job container, SIGKILL after `stop_grace` (in
place of the pod's `terminationGracePeriodSeconds`, 300 in ContainerOps' Jobs), then the
save; a pod still waiting never starts its container. The statuses are Kubernetes 1.33's:
phase, conditions, `startTime`, `initContainerStatuses` and `containerStatuses` (state,
`ready`, `started`, `restartCount` 0, `containerID` containerd://..., the Docker id for the
job), `qosClass`. Not played: probes, restarts (`restartPolicy: Never` only), several app
containers, other init containers, image pulls (never: as the sandbox's ECS agent), Pod
Security admission, the kubelet's own events, and the grace period's limit on the save.
Close the harness before the LogShipper: a pod's thread ships its last lines as it ends.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.cloud.events import RESTORE_CONTAINER, SAVE_CONTAINER
from chalicelib.errors import ContainerOpsError, ImageNotFound, LaunchError
from chalicelib.launch.base import ContainerRef, ContainerSpec, Launcher, MountSpec, Started
from chalicelib.sandbox.awslogs import LogShipper
from chalicelib.sandbox.container_io import in_volumes, run_sidecar, ship_output, ship_text
from chalicelib.sandbox.job_controller import JobController
from chalicelib.sandbox.kubernetes_objects import PODS, Document
from chalicelib.sandbox.kubernetes_pods import (
    ContainerConfigError,
    container_environment,
    container_limits,
    container_user,
    expand,
    image_reference,
)
from chalicelib.sandbox.kubernetes_store import Cluster
from chalicelib.sandbox.pod_status import NEVER_STARTED, PodStatus, terminated
from chalicelib.sandbox.task_runner import SANDBOX_LABEL, SidecarRunner

log = logging.getLogger("containerops.sandbox")

GIB = 1024**3
POD_LABEL = "containerops.sandbox.pod"  # <namespace>/<pod name> on the job's container
SERVICE_IP = "10.100.0.1"  # the `kubernetes` Service of an EKS cluster's default range
ANNOTATIONS = ("containerops.dev/run", "containerops.dev/job", "containerops.dev/attempt")
STREAM_PREFIX, UNRESOLVED_STREAM = "eks", "eks/unresolved"
MAX_BACKOFF_FACTOR = 30
SHUTDOWN_GRACE = 1.0


@dataclass(frozen=True)
class KubeletSetup:
    """What the harness's node runs pods with."""

    launcher: Launcher
    shipper: LogShipper
    workdir: Path  # a folder per pod for its emptyDir volumes, removed after
    sidecar: SidecarRunner  # runs a workspace sidecar's step in-process
    sandbox_id: str  # a label of every container, so the sandbox's sweeps find them
    stop_grace: float = 5.0  # SIGTERM to SIGKILL, instead of terminationGracePeriodSeconds
    cpu: float = field(default_factory=lambda: float(os.cpu_count() or 1))  # allocatable cores
    memory: int = 8 * GIB  # allocatable bytes
    clock: Callable[[], float] = time.time
    poll: float = 0.1  # how often the controller looks at deadlines and TTLs, at most
    retry_backoff: float = 10.0  # the kubelet's first wait before it tries a container again


class Kubelet:
    """The node and its controllers: the Job controller (and scheduler) decide, pods run here."""

    def __init__(self, setup: KubeletSetup, cluster: Cluster) -> None:
        self._setup = setup
        self._cluster = cluster
        self._runs: dict[tuple[str, str], PodRun] = {}
        self._lock = threading.Lock()
        self._addresses = 0
        self.controller = JobController(cluster, self, cpu=setup.cpu, memory=setup.memory,
                                        clock=setup.clock, poll=setup.poll)

    def start(self) -> None:
        self._setup.workdir.mkdir(parents=True, exist_ok=True)
        self.controller.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the controller, then every pod's containers; wait for the pods' threads."""
        self.controller.stop()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.terminate(SHUTDOWN_GRACE)
        for run in runs:
            run.join(timeout)

    # --- what the controller asks of the node ------------------------------------------
    def run(self, pod: Document) -> None:
        metadata = pod["metadata"]
        key = (metadata["namespace"], metadata["name"])
        with self._lock:
            if key in self._runs:
                return
            self._addresses += 1
            run = PodRun(self._setup, self._cluster, pod, f"10.0.1.{self._addresses % 250 + 2}")
            self._runs[key] = run
        run.start()

    def terminate(self, namespace: str, name: str) -> bool:
        """Stop the pod's containers; False when it does not run here."""
        with self._lock:
            run = self._runs.get((namespace, name))
        if run is None:
            return False
        run.terminate()
        return True

    def running(self, namespace: str, name: str) -> bool:
        with self._lock:
            run = self._runs.get((namespace, name))
        return run is not None and run.is_alive()

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._runs.pop((namespace, name), None)


class PodRun:
    def __init__(self, setup: KubeletSetup, cluster: Cluster, pod: Document, ip: str) -> None:
        self._setup = setup
        self._cluster = cluster
        metadata = pod["metadata"]
        self.namespace, self.name = str(metadata["namespace"]), str(metadata["name"])
        self._annotations: Mapping[str, str] = metadata.get("annotations") or {}
        self._spec: Document = pod["spec"]
        conditions = (pod.get("status") or {}).get("conditions") or []
        scheduled = [entry.get("lastTransitionTime") for entry in conditions
                     if entry.get("type") == "PodScheduled" and entry.get("status") == "True"]
        self._status = PodStatus(self._spec, ip=ip, scheduled_at=str(scheduled[0] if scheduled else ""),
                                 clock=setup.clock)
        self._stopping = threading.Event()
        self._grace = setup.stop_grace
        self._lock = threading.Lock()
        self._container: ContainerRef | None = None
        self._thread = threading.Thread(target=self._run, name=f"harness-pod-{self.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def terminate(self, grace: float | None = None) -> None:
        """SIGTERM to the job's container (SIGKILL after the grace), on a thread of its own."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._grace = self._setup.stop_grace if grace is None else grace
            self._stopping.set()
            container = self._container
        if container is not None:
            self._stop(container)

    def _stop(self, container: ContainerRef) -> None:
        def stop() -> None:
            try:
                self._setup.launcher.stop(container, grace=self._grace)
            except ContainerOpsError:
                pass  # gone already: its end is read by the pod's thread

        threading.Thread(target=stop, name=f"harness-stop-{self.name}", daemon=True).start()

    # --- the pod's thread -------------------------------------------------------------
    def _run(self) -> None:
        folder = self._setup.workdir / f"{self.namespace}_{self.name}"
        phase = "Failed"
        try:
            volumes = self._volumes(folder)
            phase = self._run_containers(volumes)
        except Exception:  # the engine went away, or a bug: the pod still ends
            log.exception("pod %s/%s could not be run on Docker", self.namespace, self.name)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            self._publish(phase)

    def _run_containers(self, volumes: Mapping[str, Path]) -> str:
        init = list(self._spec.get("initContainers") or [])
        job = self._spec["containers"][0]
        for container in [*init, *self._spec["containers"]]:
            self._set(container, {"waiting": {"reason": "PodInitializing"}} if init else
                      {"waiting": {"reason": "ContainerCreating"}})
        self._publish("Pending")
        refused = self._refusal(init)
        if refused is not None:
            self._set(refused[0], {"waiting": {"reason": "CreateContainerError", "message": refused[1]}})
            self._publish("Pending")
            self._stopping.wait()
            return "Failed"
        save: Document | None = None
        for container in init:
            if container.get("restartPolicy") == "Always":
                save = container
                self._set(container, {"running": {"startedAt": self._now()}}, ready=True, started=True)
                continue
            if self._stopping.is_set():
                return "Failed"
            code = self._sidecar_step(container, volumes, [str(a) for a in container.get("args") or []])
            if code != 0:
                self._publish("Failed")
                return "Failed"
        exit_code = self._run_job(job, volumes)
        if save is not None:
            self._sidecar_step(save, volumes, ["save"])
        return "Succeeded" if exit_code == 0 else "Failed"

    def _refusal(self, init: list[Document]) -> tuple[Document, str] | None:
        """A container the harness cannot run, and why (the pod then waits for its end)."""
        if len(self._spec["containers"]) != 1:
            return (self._spec["containers"][1], "the harness runs pods of one container (ContainerOps' job)")
        for container in init:
            wanted = SAVE_CONTAINER if container.get("restartPolicy") == "Always" else RESTORE_CONTAINER
            if container["name"] != wanted:
                return (container, "the harness runs only ContainerOps' workspace sidecars"
                                   f" ({RESTORE_CONTAINER}, then {SAVE_CONTAINER}) as init containers")
            if container.get("envFrom") or any("valueFrom" in item for item in container.get("env") or []):
                return (container, "the harness gives the workspace sidecars plain values only")
        job = self._spec["containers"][0]
        for key, what in (("command", "replace an image's ENTRYPOINT"),
                          ("workingDir", "set a working directory")):
            if job.get(key):
                return (job, f"the harness cannot {what} ({key}): a ContainerSpec has no such field")
        return None

    def _sidecar_step(self, container: Document, volumes: Mapping[str, Path], argv: list[str]) -> int:
        started = self._now()
        if container.get("restartPolicy") != "Always":
            self._set(container, {"running": {"startedAt": started}}, started=True)
            self._publish("Pending")
        else:
            started = str((self._status.state(container["name"]).get("running") or {}).get("startedAt")
                          or started)
        mounted = {str(m["mountPath"]): volumes[str(m["name"])] for m in container.get("volumeMounts") or []}
        env = in_volumes(container_environment(container, self.namespace, self._secret), mounted)
        code, said = run_sidecar(self._setup.sidecar, argv, env, f"{container['name']} of pod {self.name}")
        ship_text(self._setup.shipper, self._stream(container["name"]), said)
        reason = "Completed" if code == 0 else "Error"
        self._set(container, {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                             "finishedAt": self._now()}}, ready=code == 0)
        return code

    def _run_job(self, container: Document, volumes: Mapping[str, Path]) -> int | None:
        """The job container's exit code; None when it never ran."""
        started = self._start_job(container, volumes)
        if started is None:
            return None
        ref = started.container
        with self._lock:
            self._container = ref
            stop_now = self._stopping.is_set()
        if stop_now:
            self._stop(ref)
        self._set(container, {"running": {"startedAt": self._now()}}, ready=True, started=True,
                  container_id=ref.id)
        self._publish("Running")
        try:
            try:
                ship_output(self._setup.shipper, self._stream(container["name"]), started.output)
            finally:
                started.close()
            finished = self._setup.launcher.wait(ref)
        finally:
            try:
                self._setup.launcher.remove(ref)
            except ContainerOpsError:
                log.warning("container %s of pod %s could not be removed", ref.id[:12], self.name)
        state = terminated(finished)
        self._set(container, state, container_id=ref.id)
        self._publish("Running")
        code = state["terminated"]["exitCode"]
        return int(code)

    def _start_job(self, container: Document, volumes: Mapping[str, Path]) -> Started | None:
        pulls = 0
        image = str(container["image"])
        while not self._stopping.is_set():
            try:
                spec = self._container_spec(container, volumes)
            except ContainerConfigError as exc:
                self._waiting(container, "CreateContainerConfigError", str(exc))
                self._stopping.wait(self._setup.retry_backoff)
                continue
            with self._lock:
                if self._stopping.is_set():
                    return None
            try:
                return self._setup.launcher.start(spec)
            except ImageNotFound:
                reference = image_reference(image)
                said = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{reference}":'
                        f' failed to resolve reference "{reference}": {reference}: not found')
                self._waiting(container, "ErrImagePull", said)
                if self._stopping.wait(self._setup.retry_backoff):
                    return None
                self._waiting(container, "ImagePullBackOff",
                              f'Back-off pulling image "{image}": ErrImagePull: {said}')
                self._stopping.wait(self._setup.retry_backoff * min(2**pulls, MAX_BACKOFF_FACTOR))
                pulls += 1
            except LaunchError as exc:
                self._set(container, {"terminated": {
                    "exitCode": 128, "reason": "StartError", "message": str(exc), "startedAt": NEVER_STARTED,
                    "finishedAt": self._now()}})
                self._publish("Running")
                return None
        return None

    def _waiting(self, container: Document, reason: str, message: str) -> None:
        self._set(container, {"waiting": {"reason": reason, "message": message}})
        self._publish("Pending")

    def _container_spec(self, container: Document, volumes: Mapping[str, Path]) -> ContainerSpec:
        env = {**_service_variables(), **container_environment(container, self.namespace, self._secret)}
        args = [expand(str(arg), env) for arg in container.get("args") or []]
        cpu_request, cpu_limit, memory = container_limits(container)
        mounts = tuple(MountSpec(str(volumes[str(m["name"])]), str(m["mountPath"]),
                                 read_only=bool(m.get("readOnly", False)))
                       for m in container.get("volumeMounts") or [])
        return ContainerSpec(
            image=str(container["image"]), env=env,
            labels={POD_LABEL: f"{self.namespace}/{self.name}", SANDBOX_LABEL: self._setup.sandbox_id},
            command=args or None, mounts=mounts, cpu_request=cpu_request, cpu_limit=cpu_limit,
            memory_limit_bytes=memory, user=container_user(container, self._spec))

    def _secret(self, name: str) -> Mapping[str, str] | None:
        return self._cluster.secret_data(self.namespace, name)

    def _volumes(self, folder: Path) -> dict[str, Path]:
        volumes = {}
        for volume in self._spec.get("volumes") or []:
            if "emptyDir" not in volume:
                raise LaunchError(f"volume {volume.get('name')}: the harness makes emptyDir volumes only")
            path = folder / str(volume["name"])
            path.mkdir(parents=True)
            path.chmod(0o777)  # as the kubelet makes an emptyDir: any user of the pod writes in it
            volumes[str(volume["name"])] = path
        return volumes

    def _stream(self, container: str) -> str:
        parts = [self._annotations.get(key) for key in ANNOTATIONS]
        if not all(parts):
            return UNRESOLVED_STREAM
        return "/".join([STREAM_PREFIX, container, *(str(part) for part in parts)])

    # --- the pod's status ---------------------------------------------------------------
    def _now(self) -> str:
        return self._status.now()

    def _set(self, container: Document, state: Document, *, ready: bool = False, started: bool = False,
             container_id: str | None = None) -> None:
        self._status.set(container, state, ready=ready, started=started, container_id=container_id)

    def _publish(self, phase: str) -> None:
        status = self._status.document(phase)
        self._cluster.update(PODS, self.namespace, self.name, lambda pod: pod.__setitem__("status", status))


def _service_variables() -> dict[str, str]:
    """The `kubernetes` Service's variables the kubelet gives every container (whatever
    `enableServiceLinks` says: those of the master service always come)."""
    address = f"tcp://{SERVICE_IP}:443"
    return {"KUBERNETES_SERVICE_HOST": SERVICE_IP, "KUBERNETES_SERVICE_PORT": "443",
            "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": address,
            "KUBERNETES_PORT_443_TCP": address, "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
            "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": SERVICE_IP}
