"""The log handler: what becomes of each batch the log group's subscription delivers.

A job's container writes its output to CloudWatch Logs itself (stream
`<prefix>/<container>/<task id>`); this handler applies the engine's ingest policy to it
(`engine.ingest`: the local driver's line cut, masking, cap and `[COUT]` reading) so the
attempt's outputs and reported result are in the store while the job runs. Lines are not
stored: CloudWatch holds them, and the logs API reads them from there.

What it writes is a preview. The verdict recomputes the attempt's final state from the whole
stream (read from the head, from a fresh `IngestState`), so a batch lost, late or handled
twice here may make the preview lag, never the verdict wrong. Hence the rules:

- a subscription batch is always one stream, so one attempt: a Fargate stream names the
  task, the task the attempt (`Store.find_attempt_by_container`); an EKS stream
  (`eks/job/<run>/<job>/<attempt>`, Fluent Bit's) names the attempt itself;
- a batch for no known attempt, or for one no longer running (it arrives after the stop),
  is dropped with one log line, never raised: Lambda would only retry it;
- `AttemptRecord.log_position` is the highest event id ingested (ids are numeric and grow
  within a stream), so an event at or below it is skipped: a batch delivered twice changes
  nothing, and one overtaken by a later batch is left to the verdict (read after the later
  one, its outputs would undo newer values);
- the attempt is written only while still running (`expected=RUNNING`): the verdict's
  write wins, and a `StaleWrite` (the attempt ended meanwhile) is dropped with a log line.
  Two invocations may handle batches of one stream at once: the record is read again just
  before the write, and when another invocation moved its position meanwhile the batch is
  ingested again from there, so what the other wrote is kept, and no field another writer
  set (the task token, say) is put back. (Between that read and the write a concurrent
  write can still be lost: the store has no condition on the position. Only the preview
  lags for it.)

Transient failures (the store or Secrets Manager throttled: `StoreUnavailable`) are raised,
for Lambda's few retries of an asynchronous invocation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.cloud.events import (
    EKS_STREAM_PREFIX,
    RESTORE_CONTAINER,
    SAVE_CONTAINER,
    attempt_of_eks_stream,
)
from chalicelib.cloud.log_batches import SubscriptionBatch
from chalicelib.cloud.run_secrets import RunSecrets
from chalicelib.domain.states import AttemptState
from chalicelib.engine.ingest import (
    DEFAULT_MAX_STORED_BYTES,
    IngestPolicy,
    IngestState,
    LogIngest,
)
from chalicelib.engine.records import AttemptRecord
from chalicelib.errors import NotFound, StaleWrite
from chalicelib.logs.cloudwatch_streams import CONTAINEROPS_STREAM_PREFIX
from chalicelib.store.base import Store

log = logging.getLogger("containerops.cloud")

SIDECARS = (RESTORE_CONTAINER, SAVE_CONTAINER)

# How often a batch is ingested again because another invocation moved the attempt's
# position meanwhile; past that the batch is left to the verdict.
MAX_RACES = 3
NOTHING_INGESTED = -1


class Handled(StrEnum):
    INGESTED = "ingested"
    DUPLICATE = "duplicate"  # every event was ingested before: nothing written
    CONTROL = "control"  # CloudWatch checking that the function answers
    NOT_A_JOB_STREAM = "not a job stream"  # ContainerOps's own notes, or a stranger's stream
    UNKNOWN_ATTEMPT = "unknown attempt"
    ATTEMPT_ENDED = "attempt ended"
    LEFT_TO_VERDICT = "left to the verdict"  # other invocations kept moving the position


@dataclass(frozen=True)
class BatchSummary:
    handled: Handled
    seen: int = 0  # events in the batch
    ingested: int = 0  # events read by the ingest policy now
    skipped: int = 0  # events ingested by an earlier batch


@dataclass(frozen=True)
class _JobStream:
    attempt: AttemptRecord | None  # None: no attempt is recorded for the stream


@dataclass(frozen=True)
class _Ingested:
    state: IngestState
    position: int
    ingested: int
    skipped: int


def task_id_of_stream(stream: str, stream_prefix: str, container_name: str) -> str | None:
    """The task id an `awslogs` stream name ends with (`logs.cloudwatch_streams.awslogs_stream`
    names them), or None for a stream of another shape."""
    parts = stream.split("/")
    if len(parts) != 3 or parts[0] != stream_prefix or parts[1] != container_name or not parts[2]:
        return None
    return parts[2]


class LogBatchHandler:
    def __init__(self, store: Store, secrets: RunSecrets, *,
                 max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES,
                 stream_prefix: str = "task", container_name: str = "job") -> None:
        """`stream_prefix` and `container_name`: the task definitions' `awslogs-stream-prefix`
        and job container name; `max_stored_bytes`: the per-attempt cap, as locally."""
        self._store = store
        self._secrets = secrets
        self._max_stored = max_stored_bytes
        self._prefix = stream_prefix
        self._container = container_name

    def handle(self, batch: SubscriptionBatch) -> BatchSummary:
        seen = len(batch)
        if batch.is_control:
            return BatchSummary(Handled.CONTROL, seen)
        found = self._attempt_of_stream(batch.log_stream)
        if found is None:
            return self._not_a_job_stream(batch, seen)
        attempt = found.attempt
        if attempt is None:
            log.warning("log batch of %d events dropped: no attempt has stream %s", seen,
                        batch.log_stream)
            return BatchSummary(Handled.UNKNOWN_ATTEMPT, seen)
        if attempt.status is not AttemptState.RUNNING:
            return self._ended(attempt, seen, f"the attempt is {attempt.status}")
        try:
            policy = IngestPolicy(self._secrets.values(attempt.run_id), self._max_stored)
        except NotFound as exc:
            log.warning("log batch of %d events dropped: %s", seen, exc)
            return BatchSummary(Handled.UNKNOWN_ATTEMPT, seen)
        return self._ingest_and_save(attempt, batch, policy)

    def _attempt_of_stream(self, stream: str) -> _JobStream | None:
        """The attempt a job container's stream is (None: the stream is no job container's):
        a Fargate task's stream names the task, an EKS Job's names the attempt itself."""
        task_id = task_id_of_stream(stream, self._prefix, self._container)
        if task_id is not None:
            return _JobStream(self._store.find_attempt_by_container(task_id))
        key = attempt_of_eks_stream(stream, self._container)
        if key is None:
            return None
        try:
            return _JobStream(self._store.get_attempt(*key))
        except NotFound:
            return _JobStream(None)

    def _ingest_and_save(self, attempt: AttemptRecord, batch: SubscriptionBatch,
                         policy: IngestPolicy) -> BatchSummary:
        seen = len(batch)
        for _ in range(MAX_RACES + 1):
            done = ingested(attempt, batch, policy)
            if not done.ingested:
                return BatchSummary(Handled.DUPLICATE, seen, 0, done.skipped)
            try:
                latest = self._store.get_attempt(attempt.run_id, attempt.job, attempt.number)
            except NotFound:
                return self._ended(attempt, seen, "the attempt is no longer recorded")
            if latest.status is not AttemptState.RUNNING:
                return self._ended(latest, seen, f"the attempt is {latest.status}")
            if latest.log_position != attempt.log_position:
                attempt = latest  # another invocation ingested meanwhile: go on from its state
                continue
            done.state.save_into(latest)
            latest.log_position = str(done.position)
            try:
                self._store.save_attempt(latest, expected=AttemptState.RUNNING)
            except StaleWrite:
                return self._ended(latest, seen, "the attempt ended meanwhile")
            return BatchSummary(Handled.INGESTED, seen, done.ingested, done.skipped)
        log.warning("log batch of %d events of attempt %d of job %s of run %s left to the verdict:"
                    " other invocations kept moving the attempt's log position", seen,
                    attempt.number, attempt.job, attempt.run_id)
        return BatchSummary(Handled.LEFT_TO_VERDICT, seen)

    def _ended(self, attempt: AttemptRecord, seen: int, why: str) -> BatchSummary:
        log.info("log batch of %d events of attempt %d of job %s of run %s dropped: %s", seen,
                 attempt.number, attempt.job, attempt.run_id, why)
        return BatchSummary(Handled.ATTEMPT_ENDED, seen)

    def _not_a_job_stream(self, batch: SubscriptionBatch, seen: int) -> BatchSummary:
        if batch.log_stream.startswith(CONTAINEROPS_STREAM_PREFIX + "/"):
            # Notes ContainerOps wrote itself for an attempt that never got a task: the writer
            # already applied to the attempt whatever they say.
            log.debug("log batch of stream %s skipped: ContainerOps's own notes", batch.log_stream)
        elif any(batch.log_stream.startswith(f"{prefix}/{sidecar}/") for sidecar in SIDECARS
                 for prefix in (self._prefix, EKS_STREAM_PREFIX)):
            # The workspace sidecars' own lines, in the log group beside the job's: a person's
            # to read (a failure's reason names the stream); nothing in them is the job's.
            log.debug("log batch of stream %s skipped: a workspace sidecar's", batch.log_stream)
        else:
            log.warning("log batch of %d events dropped: stream %s of group %s is not a job"
                        " container's", seen, batch.log_stream, batch.log_group)
        return BatchSummary(Handled.NOT_A_JOB_STREAM, seen)


def ingested(attempt: AttemptRecord, batch: SubscriptionBatch, policy: IngestPolicy) -> _Ingested:
    """The attempt's ingest state after the batch's events it has not ingested yet."""
    after = log_position(attempt)
    fresh, top = new_events(batch.ids, after)
    messages = batch.messages if fresh is None else [batch.messages[index] for index in fresh]
    ingest = LogIngest(policy, IngestState.of(attempt))
    ingest.read_events(messages)
    return _Ingested(ingest.state, top, len(messages), len(batch.ids) - len(messages))


def new_events(ids: Sequence[str], after: int) -> tuple[list[int] | None, int]:
    """Which events come after event id `after` (their places; None: all of them), and the
    highest id of the batch and `after`. Ids are compared as numbers. Usually every id of a
    batch has as many digits as the others, and then the lowest and highest are found in
    bulk as text (equally long digit strings order as their numbers do)."""
    if not ids:
        return [], after
    if len(set(map(len, ids))) == 1 and int(min(ids)) > after:
        return None, int(max(ids))
    numbers = [int(identifier) for identifier in ids]
    return [index for index, number in enumerate(numbers) if number > after], max(after, *numbers)


def log_position(attempt: AttemptRecord) -> int:
    """The highest event id the attempt's stream was ingested to (-1: nothing yet)."""
    text = attempt.log_position
    if not text:
        return NOTHING_INGESTED
    if text.isdigit() and text.isascii():
        return int(text)
    log.warning("attempt %d of job %s of run %s has log position %r, not an event id: its log"
                " is ingested from the head", attempt.number, attempt.job, attempt.run_id, text)
    return NOTHING_INGESTED
