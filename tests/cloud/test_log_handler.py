"""The log handler (chalicelib/cloud/log_handler.py): subscription batches of a running job's
stream become its attempt's outputs, reported result and ingest state, exactly as the local
ingest of the same lines; batches it cannot use are dropped with a log line, never raised."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from chalicelib.cloud.log_batches import (
    LogEvent,
    SubscriptionBatch,
    control_batch,
    data_batch,
    decode_batch,
    encode_batch,
    event_id,
)
from chalicelib.cloud.log_handler import BatchSummary, Handled, LogBatchHandler, task_id_of_stream
from chalicelib.cloud.run_secrets import RunSecrets
from chalicelib.domain.protocol import MAX_LINE_BYTES, MAX_OUTPUT_VALUE_BYTES, TRUNCATION_MARK
from chalicelib.domain.states import AttemptState, RunState
from chalicelib.engine.ingest import IngestPolicy, IngestState, LogIngest, cut_line
from chalicelib.engine.records import AttemptRecord
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, job, stage, workflow
from tests.cloud.test_run_secrets import CountingSecrets
from tests.fakes.aws import FakeSecrets
from tests.store.contract import job as job_record
from tests.store.contract import run

GROUP = "containerops-jobs"
TASK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TASK_ARN = f"arn:aws:ecs:us-east-1:123456789012:task/containerops/{TASK_ID}"
STREAM = f"task/job/{TASK_ID}"
SECRET = "hunter2-the-deploy-key"
AT = 1_700_000_000_000
CAP = 200


@dataclass
class Cloud:
    store: SqliteStore
    secrets: FakeSecrets

    @property
    def handler(self) -> LogBatchHandler:
        return LogBatchHandler(self.store, RunSecrets(self.store, self.secrets), max_stored_bytes=CAP)

    def deliver(self, batch: SubscriptionBatch, handler: LogBatchHandler | None = None) -> BatchSummary:
        """As the Lambda function: decode the event CloudWatch sent, then handle it."""
        return (handler or self.handler).handle(decode_batch(encode_batch(batch)))

    def attempt(self) -> AttemptRecord:
        return self.store.get_attempt("r1", "build", 1)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    """Run r1 of demo/ci (whose build job uses secret DEPLOY_KEY) with attempt 1 of build running
    in a Fargate task."""
    with SqliteStore(tmp_path / "store.db") as store:
        store.save_workflow(workflow(stage("build", action("build", job(
            "build", env={"KEY": "${{ secrets.DEPLOY_KEY }}"})))))
        store.create_run(run("r1", status=RunState.RUNNING), [job_record("build")])
        store.create_attempt(AttemptRecord(run_id="r1", job="build", number=1, container_id=TASK_ARN,
                                           task_token="token-of-build-1"))
        yield Cloud(store, FakeSecrets({"DEPLOY_KEY": SECRET, "UNUSED": "not-this-runs-secret"}))


def batch(*messages: str, first: int = 0, stream: str = STREAM) -> SubscriptionBatch:
    """Events `first`, `first + 1`, ... of the stream, a millisecond apart."""
    return data_batch(GROUP, stream, [
        LogEvent(event_id(AT + n, n), AT + n, text) for n, text in enumerate(messages, first)])


def local_state(messages: list[str], cap: int = CAP) -> IngestState:
    """What the local driver's ingest makes of the same lines."""
    ingest = LogIngest(IngestPolicy((SECRET,), cap))
    for text in messages:
        ingest.accept(cut_line(text))
    return ingest.state


# --- what a batch gives the attempt ----------------------------------------------------


def test_outputs_and_the_reported_result_appear_in_the_running_attempt(cloud: Cloud) -> None:
    summary = cloud.deliver(batch("cloning", "[COUT] SHA = abc123", "[COUT] CO_RESULT = true"))
    assert summary == BatchSummary(Handled.INGESTED, seen=3, ingested=3, skipped=0)
    attempt = cloud.attempt()
    assert attempt.outputs == {"SHA": "abc123"} and attempt.reported_result is True
    assert attempt.status is AttemptState.RUNNING


def test_the_runs_secrets_are_masked_in_the_outputs(cloud: Cloud) -> None:
    cloud.deliver(batch(f"[COUT] URL = https://{SECRET}@git.example/repo",
                        "[COUT] OTHER = not-this-runs-secret"))
    assert cloud.attempt().outputs == {"URL": "https://***@git.example/repo",
                                       "OTHER": "not-this-runs-secret"}


def test_the_cap_and_an_output_over_its_limit_give_the_state_the_local_ingest_gives(cloud: Cloud) -> None:
    messages = ["x" * 60, f"secret {SECRET}", "[COUT] EARLY = 1", "y" * 90, "[COUT] LATE = 2",
                "[COUT] BIG = " + "z" * (MAX_OUTPUT_VALUE_BYTES + 1), "tail\r"]
    cloud.deliver(batch(*messages))
    state = IngestState.of(cloud.attempt())
    assert state == local_state(messages)
    assert state.truncated and state.outputs == {"EARLY": "1", "LATE": "2"}
    assert state.violation.startswith("output BIG is")


def test_a_line_over_64_kib_is_cut_before_it_is_read_as_locally(cloud: Cloud) -> None:
    long_output = "[COUT] LONG = " + "v" * (MAX_LINE_BYTES + 100)
    cloud.deliver(batch(long_output))
    assert IngestState.of(cloud.attempt()) == local_state([long_output])
    cut_value = MAX_LINE_BYTES - len("[COUT] LONG = ") + len(TRUNCATION_MARK)
    assert cloud.attempt().output_violation.startswith(f"output LONG is {cut_value} bytes")


def test_batches_in_turn_resume_where_the_last_one_stopped(cloud: Cloud) -> None:
    messages = [f"line {n} " + "w" * 20 for n in range(12)] + ["[COUT] AFTER_CAP = yes"]
    for start in range(0, len(messages), 5):
        cloud.deliver(batch(*messages[start:start + 5], first=start))
    assert IngestState.of(cloud.attempt()) == local_state(messages)
    assert cloud.attempt().log_position == event_id(AT + 12, 12)


def test_nothing_is_stored_as_log_lines_cloudwatch_holds_them(cloud: Cloud) -> None:
    cloud.deliver(batch("cloning", "[COUT] SHA = abc"))
    assert cloud.store.read_logs("r1", "build", 1) == []


def test_the_fields_other_writers_keep_in_the_attempt_are_left_as_they_are(cloud: Cloud) -> None:
    cloud.deliver(batch("[COUT] SHA = abc"))
    attempt = cloud.attempt()
    assert (attempt.task_token, attempt.container_id) == ("token-of-build-1", TASK_ARN)


# --- duplicates and order --------------------------------------------------------------


def test_a_batch_delivered_twice_changes_nothing_the_second_time(cloud: Cloud) -> None:
    twice = batch("[COUT] COUNT = 1", "z" * 150)
    cloud.deliver(twice)
    before = cloud.attempt()
    assert cloud.deliver(twice) == BatchSummary(Handled.DUPLICATE, seen=2, ingested=0, skipped=2)
    assert cloud.attempt() == before


def test_a_batch_overlapping_the_last_one_ingests_only_the_events_after_it(cloud: Cloud) -> None:
    cloud.deliver(batch("one", "[COUT] N = 1", first=0))
    summary = cloud.deliver(batch("[COUT] N = 1", "two", "[COUT] N = 2", first=1))
    assert (summary.ingested, summary.skipped) == (2, 1)
    assert IngestState.of(cloud.attempt()) == local_state(["one", "[COUT] N = 1", "two", "[COUT] N = 2"])


def test_event_ids_are_compared_as_numbers_not_as_text(cloud: Cloud) -> None:
    cloud.deliver(data_batch(GROUP, STREAM, [LogEvent("9", AT, "[COUT] N = 9")]))
    summary = cloud.deliver(data_batch(GROUP, STREAM, [LogEvent("10", AT + 1, "[COUT] N = 10")]))
    assert summary.ingested == 1 and cloud.attempt().outputs == {"N": "10"}
    assert cloud.attempt().log_position == "10"


def test_a_batch_overtaken_by_a_later_one_of_another_invocation_is_left_to_the_verdict(
    cloud: Cloud, tmp_path: Path
) -> None:
    """The other invocation writes between this one's read and its write."""
    other = batch("[COUT] FROM_LATER = b", first=5)

    def meanwhile() -> None:
        cloud.deliver(other)
    racing = RacingStore(tmp_path / "store.db", meanwhile)
    handler = LogBatchHandler(racing, RunSecrets(racing, cloud.secrets), max_stored_bytes=CAP)
    summary = handler.handle(batch("[COUT] FROM_EARLIER = a", first=0))
    # The earlier events come after the later ones' position: left to the verdict, not reapplied.
    assert summary.handled is Handled.DUPLICATE
    assert cloud.attempt().outputs == {"FROM_LATER": "b"}


def test_a_batch_racing_an_earlier_batch_of_the_same_stream_is_ingested_after_it(
    cloud: Cloud, tmp_path: Path
) -> None:
    def meanwhile() -> None:
        cloud.deliver(batch("[COUT] FIRST = a", first=0))
    racing = RacingStore(tmp_path / "store.db", meanwhile)
    handler = LogBatchHandler(racing, RunSecrets(racing, cloud.secrets), max_stored_bytes=CAP)
    summary = handler.handle(batch("[COUT] SECOND = b", first=1))
    assert summary == BatchSummary(Handled.INGESTED, seen=1, ingested=1, skipped=0)
    assert cloud.attempt().outputs == {"FIRST": "a", "SECOND": "b"}
    assert IngestState.of(cloud.attempt()) == local_state(["[COUT] FIRST = a", "[COUT] SECOND = b"])


def test_a_log_position_that_is_no_event_id_is_read_from_the_head_with_a_log_line(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    cloud.store.save_attempt(replace(cloud.attempt(), log_position="3759/12"))
    with caplog.at_level(logging.WARNING, logger="containerops.cloud"):
        summary = cloud.deliver(batch("[COUT] SHA = abc"))
    assert summary.ingested == 1 and cloud.attempt().outputs == {"SHA": "abc"}
    assert "log position '3759/12', not an event id" in caplog.records[0].getMessage()


class RacingStore(SqliteStore):
    """A store on the same file where another invocation acts once, right after this one
    first reads the attempt again before its write."""

    def __init__(self, path: Path, meanwhile: Callable[[], None]) -> None:
        super().__init__(path)
        self._meanwhile: Callable[[], None] | None = meanwhile

    def get_attempt(self, run_id: str, job: str, number: int) -> AttemptRecord:
        if self._meanwhile is not None:
            act, self._meanwhile = self._meanwhile, None
            act()
        return super().get_attempt(run_id, job, number)


# --- batches that are dropped ----------------------------------------------------------


def test_a_control_message_is_ignored(cloud: Cloud) -> None:
    before = cloud.attempt()
    assert cloud.deliver(control_batch(AT)).handled is Handled.CONTROL
    assert cloud.attempt() == before


def test_a_batch_for_a_task_no_attempt_has_is_dropped_with_a_log_line(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="containerops.cloud"):
        summary = cloud.deliver(batch("[COUT] SHA = abc", stream="task/job/ffffffffffffffffffffffffffffffff"))
    assert summary == BatchSummary(Handled.UNKNOWN_ATTEMPT, seen=1)
    assert [record.getMessage() for record in caplog.records] == [
        "log batch of 1 events dropped: no attempt has stream task/job/ffffffffffffffffffffffffffffffff"]
    assert cloud.attempt().outputs == {}


def test_a_batch_after_the_attempt_ended_is_dropped_with_a_log_line(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    ended = replace(cloud.attempt(), status=AttemptState.SUCCEEDED, exit_code=0, outputs={"SHA": "final"})
    cloud.store.save_attempt(ended, expected=AttemptState.RUNNING)
    with caplog.at_level(logging.INFO, logger="containerops.cloud"):
        summary = cloud.deliver(batch("[COUT] SHA = late"))
    assert summary == BatchSummary(Handled.ATTEMPT_ENDED, seen=1)
    assert len(caplog.records) == 1 and "dropped: the attempt is succeeded" in caplog.records[0].getMessage()
    assert cloud.attempt() == ended


def test_an_attempt_that_ends_while_its_batch_is_ingested_keeps_its_end(
    cloud: Cloud, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ended = replace(cloud.attempt(), status=AttemptState.FAILED, exit_code=1, reason="exit 1")

    class EndingStore(SqliteStore):
        """The verdict writes the attempt's end just before this handler's write."""

        def save_attempt(self, attempt: AttemptRecord, expected: AttemptState | None = None) -> None:
            super().save_attempt(ended, expected=AttemptState.RUNNING)
            super().save_attempt(attempt, expected)

    ending = EndingStore(tmp_path / "store.db")
    handler = LogBatchHandler(ending, RunSecrets(ending, cloud.secrets), max_stored_bytes=CAP)
    with caplog.at_level(logging.INFO, logger="containerops.cloud"):
        summary = handler.handle(batch("[COUT] SHA = abc"))
    assert summary.handled is Handled.ATTEMPT_ENDED
    assert "dropped: the attempt ended meanwhile" in caplog.records[0].getMessage()
    assert cloud.attempt() == ended


def test_the_notes_stream_of_an_attempt_without_a_task_is_not_read(cloud: Cloud) -> None:
    summary = cloud.deliver(batch("[COUT] SHA = abc", stream="containerops/r1/build/1"))
    assert summary.handled is Handled.NOT_A_JOB_STREAM and cloud.attempt().outputs == {}


@pytest.mark.parametrize("sidecar", ["workspace-restore", "workspace-save"])
def test_a_workspace_sidecars_stream_is_not_read_and_not_warned_of(
        cloud: Cloud, sidecar: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="containerops.cloud"):
        summary = cloud.deliver(batch("[COUT] SHA = abc", stream=f"task/{sidecar}/{TASK_ID}"))
    assert summary.handled is Handled.NOT_A_JOB_STREAM and cloud.attempt().outputs == {}
    assert caplog.records == []


@pytest.mark.parametrize(("stream", "task_id"), [
    (STREAM, TASK_ID),
    ("task/other/abc", None),
    ("ecs/job/abc", None),
    ("task/job/", None),
    ("task/job/abc/def", None),
    ("containerops/r1/build/1", None),
])
def test_the_task_id_is_read_from_a_stream_named_as_awslogs_names_it(
    stream: str, task_id: str | None
) -> None:
    assert task_id_of_stream(stream, "task", "job") == task_id


def test_the_secret_values_are_fetched_once_per_run_and_handler(cloud: Cloud) -> None:
    counting = CountingSecrets(cloud.secrets.known)
    handler = LogBatchHandler(cloud.store, RunSecrets(cloud.store, counting), max_stored_bytes=CAP)
    for start in range(3):
        cloud.deliver(batch(f"[COUT] N = {start}", first=start), handler)
    assert counting.asked == [["DEPLOY_KEY"]]


# --- EKS: Fluent Bit names the stream after the attempt --------------------------------

def on_eks(cloud: Cloud) -> None:
    """Attempt 1 of build runs as a Kubernetes Job rather than a Fargate task."""
    cloud.store.save_attempt(replace(cloud.attempt(), container_id="eks:containerops/co-build-1-ab12"),
                             expected=AttemptState.RUNNING)


def test_an_eks_jobs_stream_is_read_into_the_attempt_it_names(cloud: Cloud) -> None:
    on_eks(cloud)
    summary = cloud.deliver(batch("[COUT] SHA = abc", stream="eks/job/r1/build/1"))
    assert summary.handled is Handled.INGESTED and cloud.attempt().outputs == {"SHA": "abc"}


def test_an_eks_stream_of_an_attempt_not_recorded_is_dropped(cloud: Cloud) -> None:
    on_eks(cloud)
    summary = cloud.deliver(batch("[COUT] SHA = abc", stream="eks/job/r1/build/7"))
    assert summary.handled is Handled.UNKNOWN_ATTEMPT and cloud.attempt().outputs == {}


@pytest.mark.parametrize("sidecar", ["workspace-restore", "workspace-save"])
def test_an_eks_workspace_sidecars_stream_is_not_read_and_not_warned_of(
        cloud: Cloud, sidecar: str, caplog: pytest.LogCaptureFixture) -> None:
    on_eks(cloud)
    with caplog.at_level(logging.INFO, logger="containerops.cloud"):
        summary = cloud.deliver(batch("[COUT] SHA = abc", stream=f"eks/{sidecar}/r1/build/1"))
    assert summary.handled is Handled.NOT_A_JOB_STREAM and cloud.attempt().outputs == {}
    assert caplog.records == []


@pytest.mark.parametrize("stream", ["eks/job/r1/build", "eks/job/r1/build/x", "eks/unresolved",
                                    "eks/job/r1/build/1/2"])
def test_a_stream_not_named_as_fluent_bit_names_an_attempt_is_not_a_job_stream(
        cloud: Cloud, stream: str) -> None:
    on_eks(cloud)
    assert cloud.deliver(batch("[COUT] SHA = abc", stream=stream)).handled is Handled.NOT_A_JOB_STREAM
