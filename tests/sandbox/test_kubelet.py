"""The harness's node (chalicelib/sandbox/kubelet.py, job_controller.py): ContainerOps' Jobs, made
by `eks_jobs.kubernetes_job` and created through the official client, run on the real Docker
engine and end as Kubernetes 1.33 tells: the pod's and the Job's status, the scheduler's events,
the deadline, suspension, deletion and the TTL; each container's lines in its Fluent Bit stream.

The workspace sidecars' steps are a recording fake here (their own code runs in the sandbox)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

import docker
import pytest

from chalicelib.aws.eks_jobs import EksJobSettings
from chalicelib.cloud.events import eks_stream
from chalicelib.domain.models import Resources
from chalicelib.launch.docker_launcher import DockerLauncher
from chalicelib.sandbox.awslogs import LogShipper
from chalicelib.sandbox.kubelet import POD_LABEL, KubeletSetup
from chalicelib.sandbox.kubernetes_api import KubernetesApi
from chalicelib.sandbox.task_runner import SANDBOX_LABEL
from tests.conftest import BUSYBOX_IMAGE
from tests.sandbox.kubernetes_clients import NAMESPACE, SETTINGS, Clients, a_job, clients, raw, token

T = TypeVar("T")
WAIT = 60.0
MIB = 1024 * 1024
SECRETS = "containerops-secrets"
Test = Callable[[dict[str, Any]], bool]  # of a Job or a pod, as the API answers it


@dataclass
class LogGroup:
    """The CloudWatch Logs client the LogShipper writes the job log group with."""

    streams: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_log_stream(self, logGroupName: str, logStreamName: str) -> None:
        with self.lock:
            self.streams.setdefault(logStreamName, [])

    def put_log_events(self, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]) -> None:
        with self.lock:
            self.streams[logStreamName] += [event["message"] for event in logEvents]

    def lines(self, stream: str) -> list[str]:
        with self.lock:
            return list(self.streams.get(stream, []))


@dataclass
class Sidecars:
    """The workspace sidecars' steps: restore leaves a file in the workspace; each call kept."""

    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (run, step, env)
    restore_exit: dict[str, int] = field(default_factory=dict)  # run -> exit code of its restore

    def __call__(self, argv: list[str], env: Mapping[str, str], out: TextIO) -> int:
        run, step = env["CO_RUN_ID"], argv[0]
        self.calls.append((run, step, dict(env)))
        if step == "restore":
            Path(env["CO_WORKSPACE_DIR"], "restored.txt").write_text("left by the job before\n")
            code = self.restore_exit.get(run, 0)
            out.write("restored 1 file\n" if code == 0 else "workspace error: the layer is gone\n")
            return code
        out.write("saved 0 files\n")
        return 0

    def steps(self, run: str) -> list[str]:
        return [step for called, step, _ in self.calls if called == run]


@dataclass
class Node:
    api: KubernetesApi
    k8s: Clients
    logs: LogGroup
    sidecars: Sidecars
    sandbox_id: str


    shipper: LogShipper

    def close(self) -> None:
        """As the sandbox closes it: the harness (and its pods) first, then the log shipper."""
        self.k8s.close()
        self.api.close()
        self.shipper.stop()


def open_node(tmp: Path, engine: docker.DockerClient, **setup: Any) -> Node:
    logs, sidecars = LogGroup(), Sidecars()
    shipper = LogShipper(logs, "containerops-jobs", lambda batch: None, batch_age=0.05)
    shipper.start()
    sandbox_id = uuid.uuid4().hex[:10]
    api = KubernetesApi(KubeletSetup(launcher=DockerLauncher(engine), shipper=shipper, workdir=tmp / "pods",
                                     sidecar=sidecars, sandbox_id=sandbox_id, stop_grace=1.0, poll=0.05,
                                     retry_backoff=0.2, **setup))
    return Node(api, clients(api.url, token()), logs, sidecars, sandbox_id, shipper)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, docker_engine: docker.DockerClient) -> Iterator[Node]:
    opened = open_node(tmp_path_factory.mktemp("kubelet"), docker_engine)
    yield opened
    opened.close()


@pytest.fixture
def run_id() -> str:
    return f"run-{uuid.uuid4().hex[:8]}"


# --- reading the cluster as the adapter does ---------------------------------------------------


def eventually(node: Node, read: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """`read()` once it is something, waking at every change of the cluster."""
    deadline = time.monotonic() + timeout
    while True:
        seen = node.api.cluster.version
        found = read()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:g} s")
        node.api.cluster.wait_for_change(seen, 0.5)


def submit(node: Node, run_id: str, command: list[str], *, settings: EksJobSettings = SETTINGS,
           **plan: Any) -> str:
    job = a_job(run_id, settings=settings, image=plan.pop("image", BUSYBOX_IMAGE), command=command, **plan)
    return str(raw(node.k8s.batch.create_namespaced_job, NAMESPACE, job)["metadata"]["name"])


def job(node: Node, name: str) -> dict[str, Any]:
    return raw(node.k8s.batch.read_namespaced_job, name, NAMESPACE)


def pods(node: Node, name: str) -> list[dict[str, Any]]:
    selector = f"batch.kubernetes.io/job-name={name}"
    return list(raw(node.k8s.core.list_namespaced_pod, NAMESPACE, label_selector=selector)["items"])


def job_gone(node: Node, name: str) -> bool:
    return name not in [found["metadata"]["name"] for found in node.api.jobs()]


def job_when(node: Node, name: str, test: Test) -> dict[str, Any] | None:
    found = job(node, name)
    return found if test(found) else None


def conditions(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["type"]: entry for entry in (document.get("status") or {}).get("conditions") or []
            if entry["status"] == "True"}


def finished(node: Node, name: str) -> dict[str, Any]:
    """The Job once it is Complete or Failed."""
    return eventually(node, lambda: job_when(node, name, lambda found: bool({"Complete", "Failed"}
                                                                            & set(conditions(found)))),
                      f"end of Job {name}")


def the_pod(node: Node, name: str, ready: Test = lambda pod: True) -> dict[str, Any]:
    """The Job's pod once `ready` says so."""
    return eventually(node, lambda: next((pod for pod in pods(node, name) if ready(pod)), None),
                      f"pod of {name}")


def state(pod: Mapping[str, Any], container: str) -> dict[str, Any]:
    """The container's state ({} while the kubelet has not told of it)."""
    status = pod["status"]
    for entry in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        if entry["name"] == container:
            return dict(entry["state"])
    return {}


def running(pod: Mapping[str, Any]) -> bool:
    return "running" in state(pod, "job")


def waiting(reason: str) -> Test:
    return lambda pod: state(pod, "job").get("waiting", {}).get("reason") == reason


def scheduled(pod: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pod's PodScheduled condition, once the scheduler has written one."""
    return next((c for c in pod["status"].get("conditions") or [] if c["type"] == "PodScheduled"), None)


def containers_of(engine: docker.DockerClient, node: Node, pod: str) -> list[Any]:
    labels = [f"{SANDBOX_LABEL}={node.sandbox_id}", f"{POD_LABEL}={NAMESPACE}/{pod}"]
    return list(engine.containers.list(all=True, filters={"label": labels}))


def stream(node: Node, run_id: str, container: str = "job") -> list[str]:
    return node.logs.lines(eks_stream(container, run_id, "build", 1))


# --- a job that ends by itself ---------------------------------------------------------------------


def test_a_job_that_exits_0_completes_and_its_lines_are_in_its_stream_before_that(node, run_id) -> None:
    name = submit(node, run_id, ["sh", "-c", "echo hello; echo oops >&2; cat /workspace/restored.txt"])
    ended = finished(node, name)
    assert [c["type"] for c in ended["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert conditions(ended)["Complete"]["reason"] == "CompletionsReached"
    assert ended["status"]["succeeded"] == 1 and "active" not in ended["status"]
    assert ended["status"]["completionTime"] and ended["status"]["startTime"]
    assert sorted(stream(node, run_id)) == sorted(["hello", "oops", "left by the job before"])
    pod = pods(node, name)[0]
    assert pod["status"]["phase"] == "Succeeded"
    assert state(pod, "job")["terminated"]["exitCode"] == 0
    assert state(pod, "job")["terminated"]["reason"] == "Completed"
    for sidecar in ("workspace-restore", "workspace-save"):
        assert state(pod, sidecar)["terminated"]["reason"] == "Completed"


def test_the_sidecars_restore_before_the_job_and_save_after_it_into_their_own_streams(node, run_id) -> None:
    finished(node, submit(node, run_id, ["true"]))
    assert node.sidecars.steps(run_id) == ["restore", "save"]
    assert stream(node, run_id, "workspace-restore") == ["restored 1 file"]
    assert stream(node, run_id, "workspace-save") == ["saved 0 files"]
    env = next(env for run, step, env in node.sidecars.calls if run == run_id)
    folder = env["CO_WORKSPACE_DIR"]  # the pod's own folder, not the container's path
    assert folder.endswith("/workspace") and not folder.startswith("/workspace")
    assert env["CO_WORKSPACE_STATE"].endswith("/containerops/workspace-snapshot.json")


def test_a_job_that_exits_3_fails_with_its_exit_code_in_the_pod_and_no_second_pod(node, run_id) -> None:
    name = submit(node, run_id, ["sh", "-c", "exit 3"])
    ended = finished(node, name)
    assert [c["type"] for c in ended["status"]["conditions"]] == ["FailureTarget", "Failed"]
    assert conditions(ended)["Failed"]["reason"] == "BackoffLimitExceeded"
    assert conditions(ended)["Failed"]["message"] == "Job has reached the specified backoff limit"
    assert ended["status"]["failed"] == 1
    [pod] = pods(node, name)
    assert pod["status"]["phase"] == "Failed"
    assert state(pod, "job")["terminated"]["exitCode"] == 3
    assert state(pod, "job")["terminated"]["reason"] == "Error"
    created = raw(node.k8s.core.list_namespaced_event, NAMESPACE,
                  field_selector=f"involvedObject.name={name},reason=SuccessfulCreate")["items"]
    assert [event["message"] for event in created] == [f"Created pod: {pod['metadata']['name']}"]


def test_a_job_over_its_memory_limit_is_oom_killed(node, run_id) -> None:
    hog = "head -c 64000000 /dev/zero | tail -c 60000000 > /dev/null"
    name = submit(node, run_id, ["sh", "-c", hog], resources=Resources(memory_limit="16Mi"))
    finished(node, name)
    terminated = state(pods(node, name)[0], "job")["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)


# --- the pod as the kubelet makes it -----------------------------------------------------------------


def test_the_pod_is_named_labelled_and_owned_as_the_job_controller_makes_it(node, run_id) -> None:
    name = submit(node, run_id, ["true"])
    created = job(node, name)
    pod = the_pod(node, name)
    metadata = pod["metadata"]
    assert metadata["name"].startswith(f"{name}-") and len(metadata["name"]) == len(name) + 6
    assert metadata["labels"]["containerops.dev/run"] == run_id
    assert metadata["labels"]["batch.kubernetes.io/controller-uid"] == created["metadata"]["uid"]
    assert metadata["annotations"] == {"containerops.dev/run": run_id, "containerops.dev/job": "build",
                                       "containerops.dev/attempt": "1"}
    assert metadata["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                            "uid": created["metadata"]["uid"], "controller": True,
                                            "blockOwnerDeletion": True}]
    read = raw(node.k8s.core.read_namespaced_pod, metadata["name"], NAMESPACE)
    assert read["metadata"]["uid"] == metadata["uid"]


def test_the_job_runs_as_the_pods_user_with_the_variables_a_pod_gets(node, run_id) -> None:
    script = "id -u; id -g; echo $CO_JOB; echo $KUBERNETES_SERVICE_PORT"
    finished(node, submit(node, run_id, ["sh", "-c", script]))
    assert stream(node, run_id) == ["1000", "1000", "build", "443"]


def test_args_reach_the_job_as_written_though_the_kubelet_expands_dollar_names(node, run_id) -> None:
    # The kubelet expands $(NAME) and reads $$ as $ (kubernetes_pods.expand); the Job doubles
    # every $ (eks_jobs.literal), so what the job wrote is what it gets.
    finished(node, submit(node, run_id, ["echo", "$(CO_JOB)", "$$(CO_JOB)", "$(UNDEFINED)", "$$$$"]))
    assert stream(node, run_id) == ["$(CO_JOB) $$(CO_JOB) $(UNDEFINED) $$$$"]


def test_a_secret_value_reaches_the_job_from_the_kubernetes_secret(node, run_id) -> None:
    node.api.put_secret(NAMESPACE, SECRETS, {"DEPLOY_TOKEN": "s3cr3t-value"})
    name = submit(node, run_id, ["sh", "-c", "echo token=$TOKEN"], secret_variables={"TOKEN": "DEPLOY_TOKEN"})
    finished(node, name)
    assert stream(node, run_id) == ["token=s3cr3t-value"]
    assert "s3cr3t-value" not in str(job(node, name))


# --- a job that cannot start ---------------------------------------------------------------------------


def test_a_missing_secret_key_leaves_the_container_waiting_with_the_kubelets_message(node, run_id) -> None:
    node.api.put_secret(NAMESPACE, SECRETS, {"OTHER": "x"})
    name = submit(node, run_id, ["true"], secret_variables={"TOKEN": "DEPLOY_TOKEN"})
    pod = the_pod(node, name, waiting("CreateContainerConfigError"))
    said = state(pod, "job")["waiting"]["message"]
    assert said == f"couldn't find key DEPLOY_TOKEN in Secret {NAMESPACE}/{SECRETS}"
    assert pod["status"]["phase"] == "Pending"
    assert not stream(node, run_id)
    raw(node.k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Background")


def test_a_missing_secret_says_the_secret_is_not_found(tmp_path, docker_engine, run_id) -> None:
    alone = open_node(tmp_path, docker_engine)  # a cluster without the Secret
    try:
        name = submit(alone, run_id, ["true"], secret_variables={"TOKEN": "DEPLOY_TOKEN"})
        pod = the_pod(alone, name, waiting("CreateContainerConfigError"))
        assert state(pod, "job")["waiting"] == {"reason": "CreateContainerConfigError",
                                                 "message": f'secret "{SECRETS}" not found'}
    finally:
        alone.close()


def test_an_image_this_engine_lacks_is_err_image_pull_then_image_pull_back_off(node, run_id) -> None:
    name = submit(node, run_id, ["true"], image="containerops/no-such-image:0")
    pulling = the_pod(node, name, waiting("ErrImagePull"))
    message = state(pulling, "job")["waiting"]["message"]
    assert 'failed to pull and unpack image "docker.io/containerops/no-such-image:0"' in message
    assert pulling["status"]["phase"] == "Pending"
    backing_off = the_pod(node, name, waiting("ImagePullBackOff"))
    assert state(backing_off, "job")["waiting"]["message"].startswith(
        'Back-off pulling image "containerops/no-such-image:0"')
    raw(node.k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Background")


def test_a_failed_restore_fails_the_pod_before_the_job_runs(node, run_id) -> None:
    node.sidecars.restore_exit[run_id] = 4
    name = submit(node, run_id, ["echo", "never printed"])
    ended = finished(node, name)
    assert conditions(ended)["Failed"]["reason"] == "BackoffLimitExceeded"
    pod = pods(node, name)[0]
    assert pod["status"]["phase"] == "Failed"
    assert state(pod, "workspace-restore")["terminated"]["exitCode"] == 4
    assert state(pod, "workspace-restore")["terminated"]["reason"] == "Error"
    assert state(pod, "job") == {"waiting": {"reason": "PodInitializing"}}
    assert stream(node, run_id, "workspace-restore") == ["workspace error: the layer is gone"]
    assert not stream(node, run_id)
    assert node.sidecars.steps(run_id) == ["restore"]


def test_a_container_command_is_refused_as_the_harness_cannot_replace_an_entrypoint(node, run_id) -> None:
    job_ = a_job(run_id, image=BUSYBOX_IMAGE, command=["true"])
    job_["spec"]["template"]["spec"]["containers"][0]["command"] = ["/bin/sh"]
    name = raw(node.k8s.batch.create_namespaced_job, NAMESPACE, job_)["metadata"]["name"]
    pod = the_pod(node, name, lambda pod: "waiting" in state(pod, "job") and
                  state(pod, "job")["waiting"]["reason"] == "CreateContainerError")
    assert "ENTRYPOINT" in state(pod, "job")["waiting"]["message"]
    raw(node.k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Background")


# --- the deadline, the scheduler ---------------------------------------------------------------------


def test_a_job_past_its_deadline_is_stopped_removed_and_failed_as_deadline_exceeded(node, run_id,
                                                                                    docker_engine) -> None:
    name = submit(node, run_id, ["sh", "-c", "echo started; exec sleep 600"], timeout=2)
    pod_name = the_pod(node, name)["metadata"]["name"]
    ended = finished(node, name)  # long before the sleep would end: its container was stopped
    assert [c["type"] for c in ended["status"]["conditions"]] == ["FailureTarget", "Failed"]
    assert conditions(ended)["Failed"]["reason"] == "DeadlineExceeded"
    assert conditions(ended)["Failed"]["message"] == "Job was active longer than specified deadline"
    assert ended["status"]["failed"] == 1
    assert pods(node, name) == []
    assert containers_of(docker_engine, node, pod_name) == []
    assert stream(node, run_id) == ["started"]
    assert node.sidecars.steps(run_id) == ["restore", "save"]  # the save still ran


def test_a_pod_too_big_for_the_node_stays_pending_with_the_schedulers_message_until_the_deadline(
        node, run_id) -> None:
    name = submit(node, run_id, ["true"], timeout=1, resources=Resources(cpu_request=64))
    pod = the_pod(node, name, lambda pod: scheduled(pod) is not None)
    condition = scheduled(pod) or {}
    message = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available:"
               " 1 No preemption victims found for incoming pod.")
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"] == message
    assert pod["status"]["phase"] == "Pending"
    ended = finished(node, name)
    assert conditions(ended)["Failed"]["reason"] == "DeadlineExceeded"
    assert pods(node, name) == []
    events = raw(node.k8s.core.list_namespaced_event, NAMESPACE,
                 field_selector=f"involvedObject.kind=Pod,reason=FailedScheduling,"
                                f"involvedObject.name={pod['metadata']['name']}")["items"]
    assert [(event["type"], event["message"]) for event in events] == [("Warning", message)]
    assert events[0]["involvedObject"]["uid"] == pod["metadata"]["uid"]
    assert events[0]["reportingComponent"] == "default-scheduler" and events[0]["eventTime"]
    assert node.sidecars.steps(run_id) == []


# --- stopping ------------------------------------------------------------------------------------------


def test_suspending_a_job_stops_its_pod_after_the_save_and_keeps_the_job_suspended(node, run_id,
                                                                                   docker_engine) -> None:
    name = submit(node, run_id, ["sleep", "30"])
    pod_name = the_pod(node, name, running)["metadata"]["name"]
    stop = {"metadata": {"annotations": {"containerops.dev/stop-reason": "cancelled"}},
            "spec": {"suspend": True}}
    raw(node.k8s.batch.patch_namespaced_job, name, NAMESPACE, stop)

    def settled(found: dict[str, Any]) -> bool:
        return found["status"].get("terminating") == 0 and "Suspended" in conditions(found)

    suspended = eventually(node, lambda: job_when(node, name, settled), "the suspended Job with no pod left")
    assert pods(node, name) == []
    condition = conditions(suspended)["Suspended"]
    assert (condition["reason"], condition["message"]) == ("JobSuspended", "Job suspended")
    assert "active" not in suspended["status"]
    assert not {"Complete", "Failed"} & set(conditions(job(node, name)))
    assert containers_of(docker_engine, node, pod_name) == []
    assert node.sidecars.steps(run_id) == ["restore", "save"]


def test_deleting_a_running_job_in_the_background_stops_and_removes_its_pod(node, run_id,
                                                                            docker_engine) -> None:
    name = submit(node, run_id, ["sleep", "30"])
    pod_name = the_pod(node, name, running)["metadata"]["name"]
    raw(node.k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Background")
    eventually(node, lambda: pod_name not in [pod["metadata"]["name"] for pod in node.api.pods()],
               "the pod's removal")
    assert containers_of(docker_engine, node, pod_name) == []
    assert node.sidecars.steps(run_id) == ["restore", "save"]


def test_a_foreground_delete_keeps_the_job_until_its_pod_is_gone(node, run_id) -> None:
    name = submit(node, run_id, ["sleep", "30"])
    the_pod(node, name, running)
    deleting = raw(node.k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Foreground")
    assert deleting["metadata"]["deletionTimestamp"]
    eventually(node, lambda: job_gone(node, name), "the Job's removal")
    assert pods(node, name) == []
    assert node.sidecars.steps(run_id) == ["restore", "save"]


def test_a_delete_that_orphans_the_pod_leaves_it_running_to_its_end_without_an_owner(node, run_id) -> None:
    name = submit(node, run_id, ["sh", "-c", "sleep 1; echo done"])
    pod_name = the_pod(node, name, running)["metadata"]["name"]
    raw(node.k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Orphan")

    def ended_orphan() -> dict[str, Any] | None:
        return next((pod for pod in node.api.pods() if pod["metadata"]["name"] == pod_name
                     and pod["status"]["phase"] == "Succeeded"), None)

    orphan = eventually(node, ended_orphan, "the orphan's end")
    assert "ownerReferences" not in orphan["metadata"]
    assert job_gone(node, name)
    assert stream(node, run_id) == ["done"]


def test_a_resumed_job_gets_a_new_pod_and_a_new_start_time(node, run_id) -> None:
    name = submit(node, run_id, ["sleep", "30"])
    first = the_pod(node, name, running)["metadata"]["name"]
    raw(node.k8s.batch.patch_namespaced_job, name, NAMESPACE, {"spec": {"suspend": True}})
    eventually(node, lambda: not pods(node, name), "the suspended pod's removal")
    raw(node.k8s.batch.patch_namespaced_job, name, NAMESPACE, {"spec": {"suspend": False}})
    second = the_pod(node, name, running)
    assert second["metadata"]["name"] != first
    resumed = job(node, name)["status"]["conditions"][-1]
    assert (resumed["type"], resumed["status"], resumed["reason"]) == ("Suspended", "False", "JobResumed")
    raw(node.k8s.batch.delete_namespaced_job, name, NAMESPACE, propagation_policy="Background")


def test_a_pod_waits_for_room_on_the_node_while_another_runs(tmp_path, docker_engine) -> None:
    small = open_node(tmp_path, docker_engine, cpu=1.0)
    try:
        first = submit(small, "run-a", ["sleep", "2"], resources=Resources(cpu_request=0.6))
        the_pod(small, first, running)
        second = submit(small, "run-b", ["echo", "my turn"], resources=Resources(cpu_request=0.6))
        waiting = the_pod(small, second, lambda pod: any(c.get("reason") == "Unschedulable"
                                                         for c in pod["status"].get("conditions") or []))
        assert "1 Insufficient cpu" in waiting["status"]["conditions"][0]["message"]
        assert conditions(finished(small, second)).keys() >= {"Complete"}
        assert conditions(job(small, first)).keys() >= {"Complete"}
        assert stream(small, "run-b") == ["my turn"]
    finally:
        small.close()


def test_a_finished_job_and_its_pod_are_removed_after_its_ttl(node, run_id) -> None:
    settings = EksJobSettings(SETTINGS.workspace_bucket, SETTINGS.workspace_image, ttl_seconds=1)
    name = submit(node, run_id, ["true"], settings=settings)
    finished(node, name)
    eventually(node, lambda: job_gone(node, name), "the Job's removal")
    assert pods(node, name) == []


def test_closing_the_harness_stops_every_container_and_thread(tmp_path, docker_engine, run_id) -> None:
    before = set(threading.enumerate())
    opened = open_node(tmp_path, docker_engine)
    the_pod(opened, submit(opened, run_id, ["sleep", "30"]), running)
    opened.close()
    label = f"{SANDBOX_LABEL}={opened.sandbox_id}"
    assert docker_engine.containers.list(all=True, filters={"label": label}) == []
    assert [t.name for t in set(threading.enumerate()) - before if t.name.startswith("harness-")] == []
