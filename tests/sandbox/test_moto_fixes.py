"""moto's corrections (chalicelib/sandbox/moto_fixes.py) change what they mean to and nothing
else: paged reads of a stream give moto's own pages and tokens, the request observer sees each
call moto answered, and every patch is gone once its context closes."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import botocore_stubber
from moto.logs.models import LogStream
from moto.moto_api import state_manager

from chalicelib.sandbox.moto_fixes import (
    ECS_TASK_MODEL,
    manual_task_transitions,
    one_request_at_a_time,
    paged_log_reads,
)
from tests.aws import REGION, fake_aws_environment

GROUP, STREAM = "/containerops/jobs-test", "task/job/0123"


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        client = boto3.client("logs", region_name=REGION)
        client.create_log_group(logGroupName=GROUP)
        client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
        yield client


def put(logs: Any, *timestamps: int) -> None:
    logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=[
        {"timestamp": stamp, "message": f"line {n} at {stamp % 1000}"} for n, stamp in enumerate(timestamps)])


def pages(logs: Any, **start: Any) -> list[tuple[list[str], str, str]]:
    """Every page from `start` on, following the forward token until it comes back."""
    read: list[tuple[list[str], str, str]] = []
    token: str | None = None
    while len(read) < 20:
        asked = {"logGroupName": GROUP, "logStreamName": STREAM, "limit": 10, **start}
        if token is not None:
            asked["nextToken"] = token
        answer = logs.get_log_events(**asked)
        read.append(([event["message"] for event in answer["events"]], answer["nextBackwardToken"],
                     answer["nextForwardToken"]))
        if answer["nextForwardToken"] == token:
            return read
        token = answer["nextForwardToken"]
    raise AssertionError("the forward token never came back")


@pytest.mark.parametrize("start", [{"startFromHead": True}, {"startFromHead": False}])
def test_paged_reads_of_a_stream_in_order_are_moto_s_own(logs: Any, start: dict[str, Any]) -> None:
    now = int(time.time() * 1000)
    put(logs, *(now + n // 3 for n in range(25)))

    as_moto_reads = pages(logs, **start)
    with paged_log_reads():
        patched = pages(logs, **start)

    assert patched == as_moto_reads
    assert LogStream.get_log_events.__name__ == "get_log_events"  # moto's own is back


def test_a_stream_out_of_order_is_read_by_moto_itself_in_time_order(logs: Any) -> None:
    now = int(time.time() * 1000) // 1000 * 1000 + 1000  # a whole second ahead: ms 0 to 6
    put(logs, now + 5, now + 6)
    put(logs, now + 1, now + 2)

    as_moto_reads = pages(logs, startFromHead=True)
    with paged_log_reads():
        patched = pages(logs, startFromHead=True)

    assert patched == as_moto_reads
    assert as_moto_reads[0][0] == ["line 0 at 1", "line 1 at 2", "line 0 at 5", "line 1 at 6"]


def test_the_observer_sees_each_call_moto_answered_and_the_stubber_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_aws_environment(monkeypatch)
    seen: list[tuple[str, Mapping[str, Any]]] = []

    with mock_aws():
        client = boto3.client("logs", region_name=REGION)
        with one_request_at_a_time(lambda operation, parameters: seen.append((operation, parameters))):
            client.create_log_group(logGroupName=GROUP)
            with pytest.raises(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=GROUP)  # refused: not told
        assert "process_request" not in vars(botocore_stubber)

    assert seen == [("CreateLogGroup", {"logGroupName": GROUP})]


def test_tasks_keep_their_status_only_while_the_manual_transitions_last() -> None:
    with manual_task_transitions():
        assert state_manager.get_transition(ECS_TASK_MODEL)["times"] == sys.maxsize

    assert state_manager.get_transition(ECS_TASK_MODEL).get("times") != sys.maxsize
