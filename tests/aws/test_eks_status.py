"""How an attempt's Kubernetes Job ended, read from the Job, its pod and the scheduler's events
(chalicelib/aws/eks_status.py), and what the verdict makes of it (`verdict.attempt_end`)."""

from __future__ import annotations

from typing import Any

from chalicelib.aws.eks_status import STOP_ANNOTATION, job_ended
from chalicelib.cloud.events import task_group
from chalicelib.cloud.verdict import RUN_STOP_PREFIX, TIMEOUT_STOP_REASON, attempt_end
from chalicelib.engine.engine import AttemptEnd

T0, T1, T2 = "2026-12-01T10:00:00Z", "2026-12-01T10:00:05Z", "2026-12-01T10:00:09Z"
SCHEDULER_SAYS = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available."


def a_job(*conditions: dict[str, str], annotations: dict[str, str] | None = None,
          **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "co-build-1-0123456789", "namespace": "containerops",
                     "annotations": {"containerops.dev/run": "r1", "containerops.dev/job": "build",
                                     "containerops.dev/attempt": "1", **(annotations or {})}},
        "status": {"startTime": T0, "conditions": list(conditions), **status},
    }


def condition(kind: str, reason: str = "", at: str = T2) -> dict[str, str]:
    return {"type": kind, "status": "True", "reason": reason, "message": f"{kind} {reason}".strip(),
            "lastTransitionTime": at}


def terminated(code: int, reason: str = "Completed") -> dict[str, Any]:
    return {"terminated": {"exitCode": code, "reason": reason, "startedAt": T0, "finishedAt": T1}}


def a_pod(phase: str, job: dict[str, Any] | None = None, restore: dict[str, Any] | None = None,
          save: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    init = [{"name": "workspace-restore", "state": restore or terminated(0)},
            {"name": "workspace-save", "state": save or terminated(0)}]
    return {"metadata": {"name": "co-build-1-0123456789-x7k2p", "creationTimestamp": T0},
            "status": {"phase": phase, "initContainerStatuses": init,
                       "containerStatuses": [{"name": "job", "state": job or {"running": {"startedAt": T0}}}],
                       **status}}


def end_of(job: dict[str, Any], *pods: dict[str, Any], scheduler: tuple[str, ...] = (),
           cancelled: bool = False) -> AttemptEnd:
    ended = job_ended(job, pods, scheduler)
    assert ended is not None
    return attempt_end(ended, run_cancelled=cancelled)


def test_a_running_job_has_not_ended() -> None:
    assert job_ended(a_job(active=1), [a_pod("Running")]) is None


def test_a_completed_job_names_its_attempt_and_gives_the_exit_code_and_times() -> None:
    ended = job_ended(a_job(condition("Complete")), [a_pod("Succeeded", terminated(0))])
    assert ended is not None
    assert (ended.task_arn, ended.group) == ("eks:containerops/co-build-1-0123456789",
                                             task_group("r1", "build", 1))
    assert (ended.exit_code, ended.restore_exit_code, ended.save_exit_code) == (0, 0, 0)
    assert ended.stopped_at is not None and ended.started_at is not None
    assert ended.stopped_at - ended.started_at == 5.0
    assert end_of(a_job(condition("Complete")), a_pod("Succeeded", terminated(0))) == AttemptEnd(0)


def test_a_failed_job_gives_its_containers_exit_code() -> None:
    job = a_job(condition("Failed", "BackoffLimitExceeded"))
    assert end_of(job, a_pod("Failed", terminated(3, "Error"))) == AttemptEnd(3)


def test_a_container_killed_for_memory_is_out_of_memory() -> None:
    job = a_job(condition("Failed", "BackoffLimitExceeded"))
    assert end_of(job, a_pod("Failed", terminated(137, "OOMKilled"))).oom_killed


def test_a_job_past_its_deadline_timed_out() -> None:
    job = a_job(condition("Failed", "DeadlineExceeded"))
    assert end_of(job, a_pod("Failed", terminated(143, "Error"))) == AttemptEnd(143, timed_out=True)


def test_a_pod_never_scheduled_times_out_with_the_schedulers_message() -> None:
    job = a_job(condition("Failed", "DeadlineExceeded"))
    end = end_of(job, scheduler=("an older message", SCHEDULER_SAYS))  # the pod is gone by then
    assert end == AttemptEnd(None, timed_out=True,
                             waiting_reason=f"the pod was never scheduled: {SCHEDULER_SAYS}")


def test_a_container_that_waited_until_its_deadline_says_what_it_waited_for() -> None:
    waiting = {"waiting": {"reason": "ContainerCreating", "message": "pulling a 4 GB image"}}
    end = end_of(a_job(condition("Failed", "DeadlineExceeded")), a_pod("Pending", waiting))
    assert end.waiting_reason == "the container waited: ContainerCreating: pulling a 4 GB image"


def test_an_image_that_cannot_be_pulled_fails_the_start_at_once_with_the_kubelets_words() -> None:
    waiting = {"waiting": {"reason": "ErrImagePull", "message": 'failed to pull image "nope:1"'}}
    end = end_of(a_job(active=1), a_pod("Pending", waiting))
    assert end.launch_error == ('the task could not start: job cannot start: ErrImagePull:'
                                ' failed to pull image "nope:1"')


def test_a_missing_secret_key_fails_the_start_at_once() -> None:
    waiting = {"waiting": {"reason": "CreateContainerConfigError",
                           "message": "couldn't find key TOKEN in Secret containerops/containerops-secrets"}}
    end = end_of(a_job(active=1), a_pod("Pending", waiting))
    assert "couldn't find key TOKEN" in end.launch_error


def test_a_pod_waiting_to_be_scheduled_has_not_ended_an_autoscaler_may_bring_a_node() -> None:
    pending = a_pod("Pending", {"waiting": {"reason": "Pending"}},
                    conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}])
    assert job_ended(a_job(active=1), [pending]) is None


def test_a_restore_that_failed_fails_the_attempt_before_the_job_ran_naming_the_sidecars_stream() -> None:
    job = a_job(condition("Failed", "BackoffLimitExceeded"))
    pod = a_pod("Failed", {"waiting": {"reason": "PodInitializing"}}, restore=terminated(2, "Error"),
                save={"waiting": {"reason": "PodInitializing"}})
    assert end_of(job, pod).launch_error == (
        "the run's workspace could not be restored before the job (workspace-restore exited with code 2;"
        " its log is stream eks/workspace-restore/r1/build/1)")


def test_a_save_that_failed_is_a_workspace_error_naming_its_stream() -> None:
    job = a_job(condition("Complete"))
    end = end_of(job, a_pod("Succeeded", terminated(0), save=terminated(1, "Error")))
    assert end.workspace_error == (
        "the job's changes to the run's workspace were not saved (workspace-save exited with code 1;"
        " its log is stream eks/workspace-save/r1/build/1)")


def test_a_job_stopped_by_us_has_ended_once_its_pod_is_gone_with_the_stops_reason() -> None:
    stopping = a_job(condition("Suspended", "JobSuspended"),
                     annotations={STOP_ANNOTATION: RUN_STOP_PREFIX + "another job failed"})
    assert job_ended({**stopping, "status": {**stopping["status"], "active": 1}}, [a_pod("Running")]) is None
    end = end_of(stopping)
    assert (end.cancelled, end.stop_reason) == (True, "another job failed")


def test_a_job_the_sweep_stopped_for_its_timeout_timed_out() -> None:
    job = a_job(condition("Suspended", "JobSuspended"), annotations={STOP_ANNOTATION: TIMEOUT_STOP_REASON})
    assert end_of(job).timed_out


def test_a_job_without_our_annotations_names_no_attempt() -> None:
    job = a_job(condition("Complete"))
    job["metadata"]["annotations"] = {}
    ended = job_ended(job, [a_pod("Succeeded", terminated(0))])
    assert ended is not None and ended.attempt_key is None

