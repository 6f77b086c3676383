"""The same workflows give the same results on the local driver and on the AWS path.

Each scenario runs on the local driver (Docker, SQLite), on the AWS sandbox (moto's
DynamoDB, Step Functions, SQS, ECS and CloudWatch Logs, our Lambda handlers, the tasks'
containers on the same Docker engine), and on the sandbox again with every job on EKS (the
Kubernetes harness: the EKS launcher, the verdict check and Fluent Bit's streams, each pod's
containers on the same engine), and the `Outcome`s must be equal: run status
and reason, each job's status, reason, attempts, exit code and outputs, each attempt's
status, reason and exit code, and what the scenario observes besides (times and ids aside:
tests/conformance/outcome.py). Each scenario also says what its outcome means, checked on
the local one, so two backends cannot agree on something neither should do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.engine.ingest import DEFAULT_MAX_STORED_BYTES, cap_note_text
from chalicelib.engine.records import RerunKind, RerunScope
from tests.conformance.backends import Backend, LocalBackend, RunProgress, SandboxBackend
from tests.conformance.outcome import Outcome, with_stopped_exit_codes_unknown
from tests.conformance.workflows import ECHO_JSON, shell_job, stage, workflow

pytestmark = pytest.mark.docker

FLOOD_BYTES = 64 * 1024 * 1024
# Lines of 1,000 bytes: the cap counts bytes, and the sandbox's moto handles each log event
# in Python (measured: 64 MiB of 50-byte lines, 1.3 million events, take 68 s there; of
# 1,000-byte lines, 7 s).
FLOOD_LINE_BYTES = 1000
# A job that runs until it is stopped, and ends as soon as it is asked to (SIGTERM): a shell
# that is PID 1 would ignore the signal and wait out the stop's grace period for SIGKILL.
STOPPABLE = "trap 'exit 143' TERM; echo {says}; sleep 600 & wait"
# The same, taking a second to end once asked. A cancel on the local driver stops the run's
# containers from the cancelling thread; a container that ends before the run's loop has seen
# the cancel flag (it looks every 50 ms) is judged as a plain exit, `failed` (a race in the
# local driver, reported): the second keeps the scenario about the paths, not that race.
SLOW_TO_STOP = "trap 'sleep 1; exit 143' TERM; echo {says}; sleep 600 & wait"


@dataclass(frozen=True)
class Scenario:
    says: str  # the test id: a sentence
    play: Callable[[Backend], Outcome]
    means: Callable[[Outcome], None]

    def __str__(self) -> str:
        return self.says


# --- data links ---------------------------------------------------------------------------

def data_links(backend: Backend) -> Outcome:
    emit = shell_job("emit", 'echo "[COUT] URL = https://example.invalid/?q=$CO_QUERY&page=2";'
                     ' echo "[COUT] PAIR = key=value=more"; echo "[COUT] DATA = $CO_DATA"',
                     data={"query": "${{ params.query }}", "fixed": "x=1=2"},
                     outputs=["URL", "PAIR", "DATA"])
    use = shell_job("use", 'echo "[COUT] GOT_URL = $CO_URL"; echo "[COUT] DATA = $CO_DATA"',
                    data={"url": "${{ jobs.emit.outputs.URL }}"}, outputs=["GOT_URL", "DATA"])
    component = {"name": "component", "component": ECHO_JSON.ref,
                 "data": {"pair": "${{ jobs.emit.outputs.PAIR }}"}}
    flow = workflow("data-links", stage("emit", emit), stage("use", use, component),
                    params=[{"name": "query", "default": "unused"}])
    return backend.run(flow, [ECHO_JSON], {"query": "a=b"})


def data_links_mean(outcome: Outcome) -> None:
    assert outcome.status == "succeeded", outcome.reason
    assert outcome.job("emit").outputs == {
        "DATA": "query=a=b fixed=x=1=2", "PAIR": "key=value=more",  # in the order written
        "URL": "https://example.invalid/?q=a=b&page=2",
    }
    assert outcome.job("use").outputs["GOT_URL"] == "https://example.invalid/?q=a=b&page=2"
    assert outcome.job("component").outputs["PAIR"] == "key=value=more"


# --- results and exit codes ---------------------------------------------------------------

def reported_failure(backend: Backend) -> Outcome:
    return backend.run(workflow("reported-failure", stage(
        "only", shell_job("liar", 'echo "[COUT] CO_RESULT = false"; exit 0'))))


def reported_failure_means(outcome: Outcome) -> None:
    assert (outcome.status, outcome.job("liar").status, outcome.job("liar").exit_code) == (
        "failed", "failed", 0)


def exit_after_success(backend: Backend) -> Outcome:
    return backend.run(workflow("exit-after-success", stage(
        "only", shell_job("crash", 'echo "[COUT] CO_RESULT = true"; exit 3'))))


def exit_after_success_means(outcome: Outcome) -> None:
    crash = outcome.job("crash")
    assert (crash.status, crash.exit_code) == ("failed", 3)
    assert crash.reason == "container exited with code 3 after reporting CO_RESULT = true"


def job_timeout(backend: Backend) -> Outcome:
    """On AWS the minute sweep (`sweep_running_jobs`) stops a task past its timeout, so the
    job ends up to a minute late there: a deliberate difference in time, none in outcome."""
    return backend.run(workflow("job-timeout", stage(
        "only", shell_job("hang", STOPPABLE.format(says="started"), timeout="2s"))))


def job_timeout_means(outcome: Outcome) -> None:
    assert (outcome.status, outcome.job("hang").status, outcome.job("hang").reason) == (
        "failed", "failed", "timeout")


# --- retries, continue_on_error, if -------------------------------------------------------

def retry(backend: Backend) -> Outcome:
    flaky = shell_job("flaky", 'echo "attempt $CO_ATTEMPT"; test "$CO_ATTEMPT" -ge 2 || exit 1;'
                      ' echo "[COUT] ATTEMPT = $CO_ATTEMPT"',
                      retries={"limit": 2, "backoff": "1s"}, outputs=["ATTEMPT"])
    return backend.run(workflow("retry", stage("only", flaky)))


def retry_means(outcome: Outcome) -> None:
    flaky = outcome.job("flaky")
    assert (outcome.status, flaky.status, flaky.attempts, flaky.outputs) == (
        "succeeded", "succeeded", 2, {"ATTEMPT": "2"})
    assert [a.status for a in flaky.attempt_outcomes] == ["failed", "succeeded"]


def continue_on_error(backend: Backend) -> Outcome:
    return backend.run(workflow(
        "continue-on-error", stage("first", shell_job("flaky", "exit 1", continue_on_error=True)),
        stage("after", shell_job("next", "echo ran"))))


def continue_on_error_means(outcome: Outcome) -> None:
    assert (outcome.status, outcome.job("flaky").status, outcome.job("next").status) == (
        "succeeded", "failed", "succeeded")


def false_condition(backend: Backend) -> Outcome:
    maybe = shell_job("maybe", "echo no", **{"if": "params.deploy == 'yes'"})
    return backend.run(workflow("false-condition", stage("only", maybe, shell_job("always", "echo yes")),
                                params=[{"name": "deploy", "default": "no"}]))


def false_condition_means(outcome: Outcome) -> None:
    maybe = outcome.job("maybe")
    assert (outcome.status, maybe.status, maybe.attempt_outcomes) == ("succeeded", "skipped", ())
    assert "condition is false" in maybe.reason


def sibling_failure(backend: Backend) -> Outcome:
    slow = shell_job("slow", STOPPABLE.format(says="working"))
    return backend.run(workflow("sibling-failure", stage("only", slow, shell_job("bad", "sleep 1; exit 1"))))


def sibling_failure_means(outcome: Outcome) -> None:
    assert (outcome.status, outcome.job("bad").status) == ("failed", "failed")
    slow = outcome.job("slow")
    assert (slow.status, slow.reason, slow.exit_code) == ("cancelled", "stopped: job 'bad' failed", 143)


# --- re-run and cancel ---------------------------------------------------------------------

RERUN_CHECK = ('test "$(cat /workspace/marker 2>/dev/null)" = ok || { echo ok > /workspace/marker;'
               ' exit 1; }; echo "[COUT] GOT = $CO_ID"')


def rerun_from_failure(backend: Backend) -> Outcome:
    build = shell_job("build", "echo built > /workspace/artefact; echo '[COUT] ID = b1'", outputs=["ID"])
    check = shell_job("check", RERUN_CHECK + '; echo "[COUT] ARTEFACT = $(cat /workspace/artefact)"',
                      data={"id": "${{ jobs.build.outputs.ID }}"}, outputs=["GOT", "ARTEFACT"])
    first = backend.run(workflow("rerun", stage("build", build), stage("check", check)))
    second = backend.rerun_from_failure(first.run_id)
    return second.observed("first run", f"{first.status}: {first.reason}")


def rerun_from_failure_means(outcome: Outcome) -> None:
    assert outcome.observations["first run"].startswith("failed")
    assert (outcome.status, outcome.job("build").status) == ("succeeded", "reused")
    assert outcome.job("build").attempt_outcomes == ()
    assert outcome.job("check").outputs == {"ARTEFACT": "built", "GOT": "b1"}


def rerun_of_one_job(backend: Backend) -> Outcome:
    build = shell_job("build", "echo '[COUT] ID = b1'", outputs=["ID"])
    use = shell_job("use", 'echo "[COUT] GOT = $CO_ID"', data={"id": "${{ jobs.build.outputs.ID }}"},
                    outputs=["GOT"])
    other = shell_job("other", "echo '[COUT] OWN = o1'", outputs=["OWN"])
    first = backend.run(workflow("rerun-one", stage("build", build), stage("later", use, other)))
    second = backend.rerun(first.run_id, RerunScope(RerunKind.JOBS, ("build",)))
    return second.observed("first run", first.status)


def rerun_of_one_job_means(outcome: Outcome) -> None:
    assert outcome.observations["first run"] == "succeeded" and outcome.status == "succeeded"
    assert [(outcome.job(name).status, len(outcome.job(name).attempt_outcomes))
            for name in ("build", "use", "other")] == [("succeeded", 1), ("succeeded", 1), ("reused", 0)]
    assert (outcome.job("use").outputs, outcome.job("other").outputs) == ({"GOT": "b1"}, {"OWN": "o1"})


def cancel_mid_run(backend: Backend) -> Outcome:
    long = shell_job("long", SLOW_TO_STOP.format(says="running"))
    flow = workflow("cancel", stage("first", long), stage("later", shell_job("never", "echo no")))

    def long_is_running(progress: RunProgress) -> bool:
        return progress.job("long").status == "running" and progress.has_logged("long", "running")

    return backend.cancel_when(flow, long_is_running)


def cancel_mid_run_means(outcome: Outcome) -> None:
    assert (outcome.status, outcome.reason) == ("cancelled", "cancelled")
    assert (outcome.job("long").status, outcome.job("long").exit_code) == ("cancelled", 143)
    assert outcome.job("long").attempt_outcomes[0].status == "cancelled"
    assert (outcome.job("never").status, outcome.job("never").reason) == ("skipped", "not run: cancelled")


# --- logs -----------------------------------------------------------------------------------

def log_flood(backend: Backend) -> Outcome:
    line = f"$(head -c {FLOOD_LINE_BYTES - 1} /dev/zero | tr '\\0' x)"
    flood = shell_job("flood", f'yes "{line}" | head -c {FLOOD_BYTES}; echo "[COUT] DONE = yes"',
                      outputs=["DONE"])
    calm = shell_job("calm", "echo '[COUT] ANSWER = 42'", outputs=["ANSWER"])
    outcome = backend.run(workflow("log-flood", stage("only", flood, calm)))
    return outcome.observed("last line of the flood", backend.progress(outcome.run_id).last_log_line("flood"))


def log_flood_means(outcome: Outcome) -> None:
    assert outcome.status == "succeeded", outcome.reason
    assert outcome.job("flood").outputs == {"DONE": "yes"}, "[COUT] still read past the cap"
    assert outcome.job("calm").outputs == {"ANSWER": "42"}
    assert cap_note_text(DEFAULT_MAX_STORED_BYTES) in outcome.observations["last line of the flood"]


def masked_secret(backend: Backend) -> Outcome:
    leaky = shell_job("leaky", 'echo "token is $TOKEN"; echo "[COUT] LEAK = $TOKEN"',
                      env={"TOKEN": "${{ secrets.DEPLOY_TOKEN }}"}, outputs=["LEAK"])
    outcome = backend.run(workflow("secrets", stage("only", leaky)))
    return outcome.observed("last line", backend.progress(outcome.run_id).last_log_line("leaky"))


def masked_secret_means(outcome: Outcome) -> None:
    assert outcome.job("leaky").outputs == {"LEAK": "***"}
    assert outcome.observations["last line"] == "[COUT] LEAK = ***"


# --- parallel actions -----------------------------------------------------------------------

# How long each job of the overlap scenario runs: two such jobs run one after the other
# cannot overlap, and two in parallel overlap by about as long.
OVERLAP_SECONDS = 2


def overlapped(progress: RunProgress, first: str, second: str) -> str:
    """Whether the two jobs' attempts ran at the same time, from the recorded container times
    (the workspace cannot tell on AWS: parallel jobs do not see each other's writes)."""
    spans = {}
    for name in (first, second):
        (attempt,) = progress.store.list_attempts(progress.run_id, name)
        assert attempt.started_at is not None and attempt.finished_at is not None
        spans[name] = (attempt.started_at, attempt.finished_at)
    (a_start, a_end), (b_start, b_end) = spans[first], spans[second]
    return "yes" if a_start < b_end and b_start < a_end else "no"


def parallel_overlap(backend: Backend) -> Outcome:
    jobs = [shell_job(name, f"sleep {OVERLAP_SECONDS}; echo '[COUT] DONE = {name}'", outputs=["DONE"])
            for name in ("left", "right")]
    outcome = backend.run(workflow("overlap", stage("only", *jobs)))
    return outcome.observed("overlapped", overlapped(backend.progress(outcome.run_id), "left", "right"))


def parallel_overlap_means(outcome: Outcome) -> None:
    assert outcome.status == "succeeded"
    assert outcome.observations["overlapped"] == "yes", "the two containers ran at the same time"


# --- the workspace ---------------------------------------------------------------------------

def workspace_between_stages(backend: Backend) -> Outcome:
    write = shell_job("write", "mkdir -p /workspace/out && echo one > /workspace/out/a"
                      " && echo temporary > /workspace/scratch && ln -s out/a /workspace/link"
                      " && chmod 750 /workspace/out")
    left = shell_job("left", "echo L > /workspace/out/left && rm /workspace/scratch")
    right = shell_job("right", "echo R > /workspace/out/right")
    read = shell_job("read", 'echo "[COUT] FILES = $(ls /workspace/out | tr "\\n" " ")";'
                     ' echo "[COUT] LINK = $(readlink /workspace/link) $(cat /workspace/link)";'
                     ' echo "[COUT] MODE = $(stat -c %a /workspace/out)";'
                     ' if [ -e /workspace/scratch ]; then echo "[COUT] SCRATCH = kept";'
                     ' else echo "[COUT] SCRATCH = gone"; fi',
                     outputs=["FILES", "LINK", "MODE", "SCRATCH"])
    return backend.run(workflow("workspace", stage("write", write), stage("both", left, right),
                                stage("read", read)))


def workspace_between_stages_means(outcome: Outcome) -> None:
    assert outcome.status == "succeeded"
    assert outcome.job("read").outputs == {"FILES": "a left right", "LINK": "out/a one", "MODE": "750",
                                           "SCRATCH": "gone"}


# --- fan-out ---------------------------------------------------------------------------------

SHARDS = 6
# Each shard says how many tests it ran ((index + 1) * 10); shard 3 fails, which one failure
# allowed lets the job survive; the last job sums the counts of the list the group gives.
SHARD_SCRIPT = ('test "$CO_SHARD_INDEX" != 3 || { echo "shard 3 fails"; exit 1; };'
                ' echo "[COUT] TESTS = $(( (CO_SHARD_INDEX + 1) * 10 ))"')
SUM_SCRIPT = ('total=0; for n in $(echo "$CO_COUNTS" | tr -c "0-9" " "); do total=$((total + n)); done;'
              ' echo "[COUT] TOTAL = $total"')


def sharded_tests(backend: Backend, **fan_out: Any) -> Outcome:
    """The shards' counts summed twice: from the inline list, and from its file in the workspace."""
    shards = shell_job("test", SHARD_SCRIPT, shards=SHARDS, allowed_failures=1, outputs=["TESTS"], **fan_out)
    total = shell_job("sum", SUM_SCRIPT, data={"counts": "${{ jobs.test.outputs.TESTS }}"}, outputs=["TOTAL"])
    from_file = shell_job("sum-file", 'CO_COUNTS="$(cat "$LISTS/TESTS.json")"; ' + SUM_SCRIPT,
                          env={"LISTS": "${{ jobs.test.outputs.CO_LISTS_DIR }}"}, outputs=["TOTAL"])
    name = "sharded-" + ("fail-fast" if fan_out.get("fail_fast", True) else "all")
    outcome = backend.run(workflow(name, stage("test", shards), stage("sum", total, from_file)))
    return outcome.observed("instances", backend.progress(outcome.run_id).instance_states("test"))


def sharded_tests_running_all(backend: Backend) -> Outcome:
    """Without fail_fast: an inline Map on AWS, every shard's failure caught."""
    return sharded_tests(backend, fail_fast=False)


def sharded_tests_failing_fast(backend: Backend) -> Outcome:
    """fail_fast with one failure allowed: a Distributed Map on AWS (ToleratedFailureCount 1),
    its items read from S3."""
    return sharded_tests(backend)


def fail_fast_stop(backend: Backend) -> Outcome:
    """Shard 0 runs until it is stopped; shard 1 fails a few seconds in, which fail_fast (no
    failure allowed: an inline Map on AWS, failing at once) answers by stopping shard 0."""
    script = ('test "$CO_SHARD_INDEX" = 1 && { sleep 3; exit 1; };' + STOPPABLE.format(says="working"))
    shards = shell_job("test", script, shards=2)
    flow = workflow("sharded-stop", stage("test", shards), stage("later", shell_job("never", "echo no")))
    outcome = backend.run(flow)
    progress = backend.progress(outcome.run_id)
    return outcome.observed("instances", progress.instance_states("test")).observed(
        "stopped instance", progress.job("test.0").reason)


def fail_fast_stop_means(outcome: Outcome) -> None:
    assert (outcome.status, outcome.reason) == (
        "failed", "job 'test' failed: 1 of 2 instances failed (allowed: 0)")
    assert outcome.observations == {"instances": "0:cancelled 1:failed",
                                    "stopped instance": "stopped: instance 1 failed"}
    assert outcome.job("never").status == "skipped"


def sharded_tests_mean(outcome: Outcome) -> None:
    assert outcome.status == "succeeded", outcome.reason
    test = outcome.job("test")
    assert (test.status, test.reason) == ("succeeded", "1 of 6 instances failed (allowed: 1)")
    assert test.outputs == {"CO_INSTANCES": "6", "CO_INSTANCES_FAILED": "1", "CO_INSTANCES_SKIPPED": "0",
                            "CO_INSTANCES_SUCCEEDED": "5", "TESTS": '["10","20","30",null,"50","60"]',
                            "CO_LISTS_DIR": "/workspace/.containerops/fanout/test"}
    assert outcome.job("sum").outputs == {"TOTAL": "170"}
    assert outcome.job("sum-file").outputs == {"TOTAL": "170"}
    assert outcome.observations["instances"] == " ".join(
        f"{index}:{'failed' if index == 3 else 'succeeded'}" for index in range(SHARDS))


SCENARIOS = [
    Scenario("data links carry values with equals signs", data_links, data_links_mean),
    Scenario("CO_RESULT = false fails the job though it exits 0", reported_failure, reported_failure_means),
    Scenario("a non-zero exit after CO_RESULT = true fails the job", exit_after_success,
             exit_after_success_means),
    Scenario("a job past its timeout fails with reason timeout", job_timeout, job_timeout_means),
    Scenario("a job that fails once succeeds on its retry", retry, retry_means),
    Scenario("continue_on_error lets the run go on and succeed", continue_on_error,
             continue_on_error_means),
    Scenario("an if that is false skips the job", false_condition, false_condition_means),
    Scenario("a failed job stops its running sibling", sibling_failure, sibling_failure_means),
    Scenario("a re-run from failure reuses what succeeded", rerun_from_failure, rerun_from_failure_means),
    Scenario("a re-run of one job runs it and the jobs its outputs feed, and reuses the rest",
             rerun_of_one_job, rerun_of_one_job_means),
    Scenario("a cancel mid-run stops the job and skips the rest", cancel_mid_run, cancel_mid_run_means),
    Scenario("a 64 MiB log flood is capped and its COUT past the cap still read", log_flood,
             log_flood_means),
    Scenario("secrets are masked in outputs and logs", masked_secret, masked_secret_means),
    Scenario("parallel actions really overlap", parallel_overlap, parallel_overlap_means),
    Scenario("the workspace carries files, links, modes and deletions from stage to stage",
             workspace_between_stages, workspace_between_stages_means),
]

FAN_OUT_SCENARIOS = [
    Scenario("six shards, one failing within allowed_failures, summed by a later job (inline Map)",
             sharded_tests_running_all, sharded_tests_mean),
    Scenario("six shards failing fast with one failure allowed, summed by a later job (Distributed Map)",
             sharded_tests_failing_fast, sharded_tests_mean),
    Scenario("fail_fast stops the running shard when another fails", fail_fast_stop, fail_fast_stop_means),
]


_local_outcomes: dict[str, Outcome] = {}


def local_outcome(scenario: Scenario, local: LocalBackend) -> Outcome:
    """The scenario's outcome on the local driver, checked for what it means; played once for
    the paths it is compared with."""
    if scenario.says not in _local_outcomes:
        expected = scenario.play(local)
        scenario.means(expected)
        _local_outcomes[scenario.says] = expected
    return _local_outcomes[scenario.says]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_the_local_driver_and_the_aws_path_agree(
    scenario: Scenario, local: LocalBackend, sandbox: SandboxBackend
) -> None:
    expected = local_outcome(scenario, local)

    assert scenario.play(sandbox) == expected


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_the_local_driver_and_the_aws_path_with_every_job_on_eks_agree(
    scenario: Scenario, local: LocalBackend, eks: SandboxBackend
) -> None:
    expected = with_stopped_exit_codes_unknown(local_outcome(scenario, local))

    assert scenario.play(eks) == expected



@pytest.mark.parametrize("scenario", FAN_OUT_SCENARIOS, ids=str)
def test_a_fan_out_job_on_the_aws_path_does_what_it_means(
    scenario: Scenario, sandbox: SandboxBackend
) -> None:
    scenario.means(scenario.play(sandbox))


@pytest.mark.parametrize("scenario", FAN_OUT_SCENARIOS, ids=str)
def test_a_fan_out_job_on_eks_does_what_it_means(scenario: Scenario, eks: SandboxBackend) -> None:
    scenario.means(scenario.play(eks))


# The fan-out scenarios' agreement needs the local driver's instances (chalicelib/local): kept
# apart from SCENARIOS so that the two sides of issue 12 can land one at a time.
@pytest.mark.parametrize("scenario", FAN_OUT_SCENARIOS, ids=str)
def test_the_local_driver_and_the_aws_path_agree_on_fan_out(
    scenario: Scenario, local: LocalBackend, sandbox: SandboxBackend
) -> None:
    expected = local_outcome(scenario, local)

    assert scenario.play(sandbox) == expected


@pytest.mark.parametrize("scenario", FAN_OUT_SCENARIOS, ids=str)
def test_the_local_driver_and_the_aws_path_with_every_job_on_eks_agree_on_fan_out(
    scenario: Scenario, local: LocalBackend, eks: SandboxBackend
) -> None:
    expected = with_stopped_exit_codes_unknown(local_outcome(scenario, local))

    assert scenario.play(eks) == expected
