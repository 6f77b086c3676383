"""CloudWatch Logs on moto for the log tests: a job log group, the run and attempt records
the stream resolver reads, and a client that records its calls and can be given the quirks
of CloudWatch that moto lacks (empty pages before the end, pages shorter than asked)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto.logs.models
import pytest
from moto import mock_aws

from chalicelib.domain.states import AttemptState
from chalicelib.engine.records import AttemptRecord
from chalicelib.logs.cloudwatch_streams import AttemptStreams
from chalicelib.store.sqlite import SqliteStore
from tests.aws import REGION, fake_aws_environment
from tests.store.contract import EPOCH, job, run

GROUP = "containerops-jobs"
STREAM_PREFIX = "job"
CONTAINER = "main"
TASK_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TASK_ARN = f"arn:aws:ecs:{REGION}:123456789012:task/containerops/{TASK_ID}"
TASK_STREAM = f"{STREAM_PREFIX}/{CONTAINER}/{TASK_ID}"  # what awslogs names attempt 1's stream


class RecordingClient:
    """The moto client, keeping every call made through it.

    `empty_pages`: before each page that has events, CloudWatch answers an empty page whose
    token leads on to it (real CloudWatch does so across gaps in a stream).
    `page_events`: pages hold at most this many events whatever is asked (the 1 MB limit).
    """

    EMPTY = "empty-page:"

    def __init__(self, client: Any, *, empty_pages: bool = False, page_events: int | None = None) -> None:
        self.client = client
        self.empty_pages = empty_pages
        self.page_events = page_events
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def named(self, operation: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == operation]

    def get_log_events(self, **kwargs: Any) -> Any:
        self.calls.append(("get_log_events", dict(kwargs)))
        token = kwargs.get("nextToken", "")
        real = dict(kwargs)
        if token.startswith(self.EMPTY):
            real.pop("nextToken")
            if token[len(self.EMPTY):]:
                real["nextToken"] = token[len(self.EMPTY):]
        if self.page_events is not None:
            real["limit"] = min(real.get("limit", 10_000), self.page_events)
        page = self.client.get_log_events(**real)
        if self.empty_pages and page["events"] and not token.startswith(self.EMPTY):
            return {"events": [], "nextForwardToken": self.EMPTY + token,
                    "nextBackwardToken": "b/none"}
        return page

    def put_log_events(self, **kwargs: Any) -> Any:
        answer = self.client.put_log_events(**kwargs)
        self.calls.append(("put_log_events", dict(kwargs)))  # kept once it went through
        return answer

    def create_log_stream(self, **kwargs: Any) -> Any:
        self.calls.append(("create_log_stream", dict(kwargs)))
        return self.client.create_log_stream(**kwargs)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A logs client on moto with the job log group created."""
    fake_aws_environment(monkeypatch)
    # CloudWatch (and moto) refuse events more than 14 days old; the contract stamps its lines
    # at EPOCH (November 2023), so for moto "now" is EPOCH.
    now = datetime.datetime.fromtimestamp(EPOCH, datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(moto.logs.models, "utcnow", lambda: now)
    with mock_aws():
        client = boto3.client("logs", region_name=REGION)
        client.create_log_group(logGroupName=GROUP)
        yield client


@pytest.fixture
def records(tmp_path: Path) -> Iterator[SqliteStore]:
    """Run r1 with job build: attempt 1 got a Fargate task, attempt 2 never got one."""
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [job("build")])
        store.create_attempt(AttemptRecord(run_id="r1", job="build", number=1,
                                           status=AttemptState.RUNNING, container_id=TASK_ARN))
        store.create_attempt(AttemptRecord(run_id="r1", job="build", number=2))
        yield store


@pytest.fixture
def streams(records: SqliteStore) -> AttemptStreams:
    return AttemptStreams(records, STREAM_PREFIX, CONTAINER)


def put_container_lines(client: Any, texts: list[str], *, start: float = EPOCH,
                        stream: str = TASK_STREAM) -> None:
    """Lines as the `awslogs` driver writes them: the stream made if missing, a second apart."""
    try:
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    except client.exceptions.ResourceAlreadyExistsException:
        pass  # the container wrote before
    client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=[
        {"timestamp": round((start + n) * 1000), "message": text} for n, text in enumerate(texts)])


def stream_messages(client: Any, stream: str) -> list[str]:
    page = client.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)
    return [event["message"] for event in page["events"]]
