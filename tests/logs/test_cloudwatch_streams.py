"""The stream of an attempt: the task's awslogs stream once it has a task (or Fluent Bit's, named
after the attempt, on EKS), a ContainerOps
stream before (or when it never gets one), none for an attempt never recorded."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.logs.cloudwatch_streams import AttemptStreams, awslogs_stream, containerops_stream
from chalicelib.store.sqlite import SqliteStore
from tests.logs.conftest import CONTAINER, STREAM_PREFIX, TASK_ARN, TASK_ID, TASK_STREAM


def test_awslogs_names_the_stream_by_prefix_container_and_task_id() -> None:
    assert awslogs_stream("job", "main", TASK_ARN) == awslogs_stream("job", "main", TASK_ID) == (
        f"job/main/{TASK_ID}")


def test_an_attempt_is_resolved_by_its_record(records: SqliteStore, streams: AttemptStreams) -> None:
    assert streams("r1", "build", 1) == TASK_STREAM
    assert streams("r1", "build", 2) == containerops_stream("r1", "build", 2) == "containerops/r1/build/2"
    assert streams("r1", "build", 3) is None
    assert streams("nope", "build", 1) is None


def test_an_attempt_that_gets_its_task_is_read_from_the_task_stream_from_then_on(
    records: SqliteStore, streams: AttemptStreams
) -> None:
    attempt = records.get_attempt("r1", "build", 2)
    records.save_attempt(replace(attempt, container_id="arn:aws:ecs:us-east-1:1:task/c/feed"))
    assert streams("r1", "build", 2) == f"{STREAM_PREFIX}/{CONTAINER}/feed"


def test_the_task_stream_prefix_cannot_be_the_containerops_one(records: SqliteStore) -> None:
    with pytest.raises(ValueError, match="must not be 'containerops'"):
        AttemptStreams(records, "containerops", CONTAINER)


def test_an_attempt_run_as_an_eks_job_is_read_from_the_stream_fluent_bit_names_after_it(
    records: SqliteStore, streams: AttemptStreams
) -> None:
    attempt = records.get_attempt("r1", "build", 2)
    records.save_attempt(replace(attempt, container_id="eks:containerops/co-build-2-0123456789"))
    assert streams("r1", "build", 2) == f"eks/{CONTAINER}/r1/build/2"
