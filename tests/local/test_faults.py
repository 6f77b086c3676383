"""Containers that crash, lie, hang or flood fail their own job with a reason, and no more."""

from __future__ import annotations

import resource
import threading

import docker

from chalicelib.domain.protocol import MAX_LINE_BYTES, TRUNCATION_MARK
from chalicelib.domain.states import AttemptState, JobState, RunState
from tests.local.conftest import Harness, busybox_workflow, shell_job, wait_until


def test_missing_image_fails_the_job_with_image_not_found(harness: Harness) -> None:
    workflow = busybox_workflow("missing", {"name": "ghost", "image": "containerops/absent:0"})

    finished = harness.run(workflow)

    assert finished.run.status is RunState.FAILED
    assert finished.jobs["ghost"].reason == "image not found: containerops/absent:0"
    assert "image not found: containerops/absent:0" in finished.run.reason


def test_non_zero_exit_fails_the_job_even_after_reporting_success(harness: Harness) -> None:
    script = 'echo "[COUT] CO_RESULT = true"; exit 3'
    finished = harness.run(busybox_workflow("exit", shell_job("crash", script)))

    crash = finished.jobs["crash"]
    assert crash.status is JobState.FAILED and crash.exit_code == 3
    assert crash.reason == "container exited with code 3 after reporting CO_RESULT = true"


def test_a_job_past_its_timeout_is_stopped_and_fails_with_reason_timeout(harness: Harness) -> None:
    workflow = busybox_workflow("hang", shell_job("hang", "echo started; sleep 600", timeout="1s"))

    finished = harness.run(workflow)

    assert finished.jobs["hang"].status is JobState.FAILED
    assert finished.jobs["hang"].reason == "timeout"
    assert "started" in finished.logs("hang")


def test_a_flood_of_100_mb_is_capped_in_storage_memory_and_spares_other_jobs(
    harness: Harness,
) -> None:
    flood = shell_job("flood", "yes 'all work and no play makes a noisy container' | head -c 100000000;"
                      " echo '[COUT] DONE = yes'")
    calm = shell_job("calm", "echo '[COUT] ANSWER = 42'", outputs=["ANSWER"])
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    finished = harness.run(busybox_workflow("flood", {**flood, "outputs": ["DONE"]}, calm))

    growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert finished.run.status is RunState.SUCCEEDED
    assert finished.jobs["flood"].outputs == {"DONE": "yes"}, "[COUT] still read past the cap"
    assert finished.jobs["calm"].outputs == {"ANSWER": "42"}
    attempt = harness.store.list_attempts(finished.run.id, "flood")[0]
    assert attempt.log_truncated and attempt.log_bytes <= 16 * 1024 * 1024
    assert any("log limit" in line for line in finished.logs("flood")[-3:])
    assert growth_mib < 200, f"engine memory grew by {growth_mib:.0f} MiB"


def test_a_10_mb_line_is_cut_at_the_line_limit_and_marked(harness: Harness) -> None:
    script = "head -c 10000000 /dev/zero | tr '\\0' x; echo; echo after"
    finished = harness.run(busybox_workflow("longline", shell_job("long", script)))

    lines = finished.logs("long")
    assert finished.run.status is RunState.SUCCEEDED
    assert lines[0].endswith(TRUNCATION_MARK)
    assert len(lines[0].encode()) <= MAX_LINE_BYTES + len(TRUNCATION_MARK)
    assert lines[1] == "after"


def test_a_failed_job_stops_its_parallel_siblings_and_the_run_fails(harness: Harness) -> None:
    workflow = busybox_workflow(
        "siblings", shell_job("slow", "echo working; sleep 600"), shell_job("bad", "sleep 1; exit 1")
    )
    finished = harness.run(workflow)

    assert finished.run.status is RunState.FAILED
    assert finished.jobs["bad"].status is JobState.FAILED
    assert finished.jobs["slow"].status is JobState.CANCELLED
    assert finished.jobs["slow"].reason == "stopped: job 'bad' failed"


def test_continue_on_error_lets_the_run_succeed_and_later_stages_run(harness: Harness) -> None:
    workflow = busybox_workflow("tolerant", shell_job("flaky", "exit 1", continue_on_error=True))
    workflow["spec"]["stages"].append(
        {"name": "after", "actions": [{"name": "a", "jobs": [shell_job("next", "echo ran")]}]}
    )
    finished = harness.run(workflow)

    assert finished.run.status is RunState.SUCCEEDED
    assert finished.jobs["flaky"].status is JobState.FAILED
    assert finished.jobs["next"].status is JobState.SUCCEEDED


def test_a_false_condition_skips_the_job(harness: Harness) -> None:
    workflow = busybox_workflow(
        "conditional", shell_job("maybe", "echo no", **{"if": "params.deploy == 'yes'"}),
        params=[{"name": "deploy", "default": "no"}],
    )
    finished = harness.run(workflow)

    assert finished.run.status is RunState.SUCCEEDED
    assert finished.jobs["maybe"].status is JobState.SKIPPED
    assert "condition is false" in finished.jobs["maybe"].reason


def test_cancel_stops_running_containers_and_skips_jobs_not_yet_run(
    harness: Harness, docker_engine: docker.DockerClient
) -> None:
    workflow = busybox_workflow("cancel", shell_job("long", "echo running; sleep 600"))
    workflow["spec"]["stages"].append(
        {"name": "later", "actions": [{"name": "a", "jobs": [shell_job("never", "echo no")]}]}
    )
    run = harness.start(workflow)
    executor = threading.Thread(target=harness.driver.execute, args=(run.id,))
    executor.start()
    wait_until(lambda: harness.store.read_logs(run.id, "long", 1))

    harness.driver.cancel(run.id)
    executor.join(60)

    finished = harness.store.get_run(run.id)
    jobs = {j.name: j for j in harness.store.list_jobs(run.id)}
    assert finished.status is RunState.CANCELLED
    assert jobs["long"].status is JobState.CANCELLED
    assert jobs["never"].status is JobState.SKIPPED
    assert not docker_engine.containers.list(all=True, filters={"label": f"containerops.run={run.id}"})


def test_cancel_ends_a_shell_loop_on_sigterm_at_once_not_after_the_grace(harness: Harness) -> None:
    # A loop as PID 1 ignored SIGTERM: it ran on until the grace's SIGKILL (exit 137), and a
    # short one finished its work first and was labelled cancelled anyway.
    loop = shell_job("loop", "while true; do echo tick; sleep 1; done; echo finished")
    run = harness.start(busybox_workflow("loop", loop))
    executor = threading.Thread(target=harness.driver.execute, args=(run.id,))
    executor.start()
    wait_until(lambda: harness.store.read_logs(run.id, "loop", 1))

    harness.driver.cancel(run.id)
    executor.join(60)

    [attempt] = harness.store.list_attempts(run.id, "loop")
    assert harness.store.get_run(run.id).status is RunState.CANCELLED
    assert (attempt.status, attempt.exit_code) == (AttemptState.CANCELLED, 128 + 15)
    assert "finished" not in [line.text for line in harness.store.read_logs(run.id, "loop", 1)]


def test_a_command_that_cannot_be_executed_fails_the_job_saying_so(harness: Harness) -> None:
    finished = harness.run(busybox_workflow("noexec", {
        "name": "ghost", "image": "containerops/busybox:1", "command": ["/no/such/tool"]}))

    ghost = finished.jobs["ghost"]
    assert (ghost.status, ghost.exit_code) == (JobState.FAILED, 127)
    assert ghost.reason == ("the container's command could not be run: "
                            "exec /no/such/tool failed: No such file or directory")


def test_secrets_are_masked_in_logs_and_outputs(harness: Harness) -> None:
    script = 'echo "token is $TOKEN"; echo "[COUT] LEAK = $TOKEN"'
    job = shell_job("leaky", script, env={"TOKEN": "${{ secrets.DEPLOY_TOKEN }}"}, outputs=["LEAK"])
    finished = harness.run(busybox_workflow("secrets", job))

    assert "token is ***" in finished.logs("leaky")
    assert finished.jobs["leaky"].outputs == {"LEAK": "***"}


def test_containers_run_unprivileged_and_are_removed_once_their_logs_are_stored(
    harness: Harness, docker_engine: docker.DockerClient
) -> None:
    script = "id -u; grep CapEff /proc/self/status; ls /var/run/docker.sock 2>&1 || true"
    finished = harness.run(busybox_workflow("unprivileged", shell_job("who", script)))

    lines = finished.logs("who")
    assert lines[0] != "0", "not root"
    assert lines[1].split()[-1] == "0000000000000000", "no capabilities"
    assert "No such file" in lines[2], "no Docker socket"
    wait_until(lambda: not docker_engine.containers.list(
        all=True, filters={"label": f"containerops.run={finished.run.id}"}))


def test_rerun_from_failure_reuses_what_succeeded_and_runs_the_rest(harness: Harness) -> None:
    workflow = busybox_workflow("rerun", shell_job("build", "echo '[COUT] ID = b1'", outputs=["ID"]))
    workflow["spec"]["params"] = [{"name": "pass", "default": "no"}]
    workflow["spec"]["stages"].append({"name": "check", "actions": [{"name": "a", "jobs": [
        shell_job("check", 'test "$(cat /workspace/marker 2>/dev/null)" = ok || '
                  '{ echo ok > /workspace/marker; exit 1; }; echo "[COUT] GOT = $CO_ID"',
                  data={"id": "${{ jobs.build.outputs.ID }}"}, outputs=["GOT"]),
    ]}]})
    first = harness.run(workflow)
    assert first.run.status is RunState.FAILED

    second = harness.finish(harness.driver.rerun_from_failure(first.run.id).id)

    assert second.run.status is RunState.SUCCEEDED
    assert second.run.rerun_of == first.run.id
    assert second.jobs["build"].status is JobState.REUSED
    assert second.jobs["check"].outputs == {"GOT": "b1"}


def test_cancel_during_a_retry_backoff_cancels_the_job_without_another_attempt(
    harness: Harness,
) -> None:
    workflow = busybox_workflow("backoff", shell_job("flaky", "exit 1",
                                                     retries={"limit": 3, "backoff": "10m"}))
    run = harness.start(workflow)
    executor = threading.Thread(target=harness.driver.execute, args=(run.id,))
    executor.start()
    wait_until(lambda: [a for a in harness.store.list_attempts(run.id) if a.status.value == "failed"])

    harness.driver.cancel(run.id)
    executor.join(60)

    flaky = harness.store.list_jobs(run.id)[0]
    assert harness.store.get_run(run.id).status is RunState.CANCELLED
    assert (flaky.status, flaky.attempts, flaky.reason) == (JobState.CANCELLED, 1, "cancelled")


def test_a_run_past_its_workflow_timeout_is_stopped_and_fails(harness: Harness) -> None:
    workflow = busybox_workflow("slow", shell_job("slow", "echo started; sleep 600"), timeout="2s")
    workflow["spec"]["stages"].append(
        {"name": "later", "actions": [{"name": "a", "jobs": [shell_job("never", "echo no")]}]}
    )
    finished = harness.run(workflow)

    assert finished.run.status is RunState.FAILED
    assert finished.run.reason == "workflow timeout"
    assert (finished.jobs["slow"].status, finished.jobs["slow"].reason) == (
        JobState.CANCELLED, "stopped: workflow timeout")
    assert finished.jobs["never"].status is JobState.SKIPPED
