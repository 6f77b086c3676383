"""Jobs on EKS through the whole serverless path (the sandbox: moto for AWS, the Kubernetes
harness for the cluster, Docker for the pods): the platform a definition names decides, a
pod no node can take times out with the scheduler's message, an image that is not there
fails the start with the kubelet's words, and a cancel stops the pod and leaves no Job."""

from __future__ import annotations

import pytest

from chalicelib.cloud.events import is_eks_ref
from chalicelib.domain.states import JobState, RunState
from tests.sandbox.conftest import Sandbox
from tests.sandbox.test_sandbox import busybox_workflow, shell, wait_until

pytestmark = pytest.mark.docker


def test_a_job_naming_eks_runs_as_a_kubernetes_job_and_one_naming_none_on_fargate(sandbox: Sandbox) -> None:
    flow = busybox_workflow("platforms", [shell("k8s", 'echo "[COUT] WHERE = eks"', platform="eks",
                                                outputs=["WHERE"]),
                                          shell("ecs", 'echo "[COUT] WHERE = fargate"', outputs=["WHERE"])])
    run_id = sandbox.start(flow)
    sandbox.aws.wait(run_id)
    attempts = {a.job: a.container_id or "" for a in sandbox.store.list_attempts(run_id)}
    assert is_eks_ref(attempts["k8s"]) and not is_eks_ref(attempts["ecs"])
    assert {job.name: job.outputs for job in sandbox.store.list_jobs(run_id)} == {
        "k8s": {"WHERE": "eks"}, "ecs": {"WHERE": "fargate"}}
    assert sandbox.logs(run_id, "k8s") == ["[COUT] WHERE = eks"]
    assert sandbox.new_failures() == []


def test_a_pod_no_node_can_take_fails_after_its_timeout_with_the_schedulers_message(sandbox: Sandbox) -> None:
    flow = busybox_workflow("unschedulable", [shell("huge", "echo never", platform="eks", timeout="2s",
                                                    resources={"cpu_request": 64})])
    ended = sandbox.run(flow)
    huge = ended.jobs["huge"]
    assert (ended.status, huge.status) == ("failed", "failed")
    assert huge.reason.startswith("timeout (the pod was never scheduled: 0/1 nodes are available:")
    assert "Insufficient cpu" in huge.reason


def test_an_image_that_is_not_there_fails_the_start_with_the_kubelets_words(sandbox: Sandbox) -> None:
    flow = busybox_workflow("no-image", [{"name": "ghost", "image": "containerops/not-built:0",
                                          "platform": "eks"}])
    ghost = sandbox.run(flow).jobs["ghost"]
    assert ghost.status == "failed"
    assert ghost.reason.startswith("the task could not start: job cannot start: ErrImagePull")


def test_a_cancel_stops_the_pod_and_the_check_leaves_no_job_behind(sandbox: Sandbox) -> None:
    stoppable = "trap 'exit 143' TERM; echo started; sleep 600 & wait"
    flow = busybox_workflow("cancel-eks", [shell("long", stoppable, platform="eks")])
    run_id = sandbox.start(flow)
    wait_until(lambda: sandbox.logs(run_id, "long") == ["started"], "the job started")
    sandbox.aws.cancel(run_id)
    run = sandbox.aws.wait(run_id)
    long = sandbox.store.get_job(run_id, "long")
    assert (run.status, long.status, long.reason) == (RunState.CANCELLED, JobState.CANCELLED, "cancelled")
    assert sandbox.aws.settled(run_id) is not None  # no Kubernetes Job of the run is left


def test_a_command_and_variables_reach_the_job_as_written_though_kubernetes_expands_dollar_names(
        sandbox: Sandbox) -> None:
    script = """X='$(GREETING) costs $$5'; echo "[COUT] SAID = $X"; echo "[COUT] PRICE = $PRICE\""""
    flow = busybox_workflow("dollars", [shell("say", script, platform="eks", env={
        "GREETING": "hi", "PRICE": "$(GREETING) $$"}, outputs=["SAID", "PRICE"])])
    said = sandbox.run(flow).jobs["say"].outputs
    assert said == {"SAID": "$(GREETING) costs $$5", "PRICE": "$(GREETING) $$"}
