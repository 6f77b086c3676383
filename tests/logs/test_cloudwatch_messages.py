"""The raw reader of CloudWatch Logs (`CloudWatchLogs.messages`), on moto: the whole stream of
an attempt from the head, as the container wrote it, for the verdict to ingest itself."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.protocol import MAX_LINE_BYTES
from chalicelib.engine.engine import SecretMasker
from chalicelib.errors import StoreUnavailable
from chalicelib.logs import cloudwatch
from chalicelib.logs.base import LogEntry
from chalicelib.logs.cloudwatch import CloudWatchLogs
from chalicelib.logs.cloudwatch_streams import AttemptStreams
from tests.logs.conftest import GROUP, RecordingClient, put_container_lines
from tests.store.contract import EPOCH

SECRET = "hunter2-the-secret"


def logs_on(client: Any, streams: AttemptStreams, **options: Any) -> CloudWatchLogs:
    return CloudWatchLogs(client, GROUP, streams, token_key=b"k" * 32, **options)


def test_every_message_is_given_from_the_head_in_order_unmasked_uncut_and_past_the_cap(
    aws: Any, streams: AttemptStreams
) -> None:
    texts = [f"token {SECRET}", "x" * (MAX_LINE_BYTES + 10), "[COUT] SHA = abc", "after the cap"]
    put_container_lines(aws, texts)
    logs = logs_on(aws, streams, masker_for=lambda run_id: SecretMasker((SECRET,)),
                   max_shown_bytes=100)
    assert list(logs.messages("r1", "build", 1)) == texts


def test_the_notes_containerops_appended_are_given_where_they_landed(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, ["one", "two"])
    logs = logs_on(aws, streams)
    logs.append_logs("r1", "build", 1, [LogEntry(EPOCH + 60, "[containerops] stopped: timeout")])
    assert list(logs.messages("r1", "build", 1)) == ["one", "two", "[containerops] stopped: timeout"]


def test_empty_and_short_pages_lose_and_repeat_no_message(aws: Any, streams: AttemptStreams) -> None:
    texts = [f"line {n}" for n in range(7)]
    put_container_lines(aws, texts)
    client = RecordingClient(aws, empty_pages=True, page_events=2)
    assert list(logs_on(client, streams).messages("r1", "build", 1)) == texts
    calls = client.named("get_log_events")
    assert all(call["startFromHead"] and call["limit"] <= 10_000 for call in calls)
    assert "nextToken" not in calls[0]


def test_a_stream_that_does_not_exist_yet_gives_nothing(aws: Any, streams: AttemptStreams) -> None:
    assert list(logs_on(aws, streams).messages("r1", "build", 1)) == []


def test_an_attempt_that_was_never_recorded_gives_nothing_and_asks_cloudwatch_nothing(
    aws: Any, streams: AttemptStreams
) -> None:
    client = RecordingClient(aws)
    assert list(logs_on(client, streams).messages("r1", "build", 9)) == []
    assert client.calls == []


def test_a_service_that_never_gives_back_its_token_is_an_error_not_an_endless_read(
    aws: Any, streams: AttemptStreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_container_lines(aws, ["one"])
    monkeypatch.setattr(cloudwatch, "MAX_CALLS_PER_SCAN", 3)
    with pytest.raises(StoreUnavailable, match="did not reach the end"):
        list(logs_on(EndlessClient(aws), streams).messages("r1", "build", 1))


class EndlessClient:
    """Every page empty, with a new token each time."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pages = 0

    def get_log_events(self, **kwargs: Any) -> Any:
        self.pages += 1
        return {"events": [], "nextForwardToken": f"f/{self.pages}", "nextBackwardToken": "b/0"}
