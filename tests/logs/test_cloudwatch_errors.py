"""CloudWatch Logs' failures reach callers as the project's errors, translated in one place:
a throttled, refused or unreachable service is unavailable, a missing log group is not
found, a refused parameter is an invalid request."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from chalicelib.errors import InvalidRequest, NotFound, StoreUnavailable
from chalicelib.logs.base import LogEntry
from chalicelib.logs.cloudwatch import CloudWatchLogs
from chalicelib.logs.cloudwatch_streams import AttemptStreams
from tests.logs.conftest import GROUP, REGION
from tests.store.contract import EPOCH

AT_THE_END = {"events": [], "nextForwardToken": "f/end", "nextBackwardToken": "b/end"}


@pytest.fixture
def stubbed(aws: Any) -> Any:
    client = boto3.client("logs", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailableException",
                                  "AccessDeniedException", "SomethingNew"])
def test_a_read_cloudwatch_cannot_serve_is_store_unavailable(
    stubbed: Any, streams: AttemptStreams, code: str
) -> None:
    client, stubber = stubbed
    stubber.add_client_error("get_log_events", service_error_code=code, http_status_code=400)
    with pytest.raises(StoreUnavailable, match=code):
        CloudWatchLogs(client, GROUP, streams).read_logs("r1", "build", 1)


def test_a_write_cloudwatch_refuses_is_store_unavailable(stubbed: Any, streams: AttemptStreams) -> None:
    client, stubber = stubbed
    stubber.add_response("get_log_events", AT_THE_END)
    stubber.add_response("get_log_events", AT_THE_END)
    stubber.add_client_error("put_log_events", service_error_code="AccessDeniedException",
                             service_message="not allowed", http_status_code=400)
    with pytest.raises(StoreUnavailable, match=r"writing log stream .* not allowed"):
        CloudWatchLogs(client, GROUP, streams).append_logs("r1", "build", 1, [LogEntry(EPOCH, "x")])


def test_a_parameter_cloudwatch_refuses_is_an_invalid_request(
    stubbed: Any, streams: AttemptStreams
) -> None:
    client, stubber = stubbed
    stubber.add_response("get_log_events", AT_THE_END)
    stubber.add_response("get_log_events", AT_THE_END)
    stubber.add_client_error("put_log_events", service_error_code="InvalidParameterException",
                             http_status_code=400)
    with pytest.raises(InvalidRequest):
        CloudWatchLogs(client, GROUP, streams).append_logs("r1", "build", 1, [LogEntry(EPOCH, "x")])


class Unreachable:
    def get_log_events(self, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://localhost:1")


def test_an_unreachable_cloudwatch_is_store_unavailable(streams: AttemptStreams) -> None:
    with pytest.raises(StoreUnavailable, match="unreachable"):
        CloudWatchLogs(Unreachable(), GROUP, streams).read_logs("r1", "build", 1)  # type: ignore[arg-type]


def test_a_log_group_that_is_not_there_reads_as_empty_and_cannot_be_written(
    aws: Any, streams: AttemptStreams
) -> None:
    logs = CloudWatchLogs(aws, "no-such-group", streams)
    assert logs.read_logs("r1", "build", 1) == []
    with pytest.raises(NotFound, match="creating log stream"):
        logs.append_logs("r1", "build", 1, [LogEntry(EPOCH, "x")])
