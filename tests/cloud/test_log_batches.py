"""Log subscription batches (chalicelib/cloud/log_batches.py): what CloudWatch delivers to the
log handler, decoded strictly, and built exactly as AWS builds it for the harness."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from chalicelib.cloud.log_batches import (
    CONTROL_MESSAGE,
    DATA_MESSAGE,
    MAX_DECODED_BYTES,
    LogEvent,
    SubscriptionBatch,
    control_batch,
    data_batch,
    decode_batch,
    encode_batch,
    event_id,
)
from chalicelib.errors import InvalidRequest

GROUP = "containerops-jobs"
STREAM = "task/job/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
AT = 1_700_000_000_000


def events(*messages: str) -> list[LogEvent]:
    return [LogEvent(event_id(AT + n, n), AT + n, text) for n, text in enumerate(messages)]


def lambda_event(document: Any) -> dict[str, Any]:
    """The Lambda event carrying `document` (any JSON value) the way CloudWatch packs it."""
    data = gzip.compress(json.dumps(document).encode())
    return {"awslogs": {"data": base64.b64encode(data).decode()}}


def document(**changes: Any) -> dict[str, Any]:
    """A well-formed DATA_MESSAGE document, with `changes` applied."""
    base: dict[str, Any] = {
        "messageType": DATA_MESSAGE, "owner": "123456789012", "logGroup": GROUP,
        "logStream": STREAM, "subscriptionFilters": ["containerops-jobs"],
        "logEvents": [{"id": event_id(AT, 0), "timestamp": AT, "message": "cloning"}],
    }
    return {**base, **changes}


def test_a_batch_decodes_to_the_batch_it_was_encoded_from() -> None:
    batch = data_batch(GROUP, STREAM, events("cloning", "[COUT] SHA = abc", "héllo ✓", ""))
    assert decode_batch(encode_batch(batch)) == batch


def test_the_encoded_event_is_base64_of_gzip_of_the_document_aws_sends() -> None:
    batch = data_batch(GROUP, STREAM, events("cloning"), owner="111122223333", filters=("jobs",))
    data = encode_batch(batch)["awslogs"]["data"]
    sent = json.loads(gzip.decompress(base64.b64decode(data)))
    assert list(sent) == ["messageType", "owner", "logGroup", "logStream", "subscriptionFilters",
                          "logEvents"]
    assert sent == {"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": GROUP,
                    "logStream": STREAM, "subscriptionFilters": ["jobs"],
                    "logEvents": [{"id": event_id(AT, 0), "timestamp": AT, "message": "cloning"}]}


def test_a_control_message_is_read_with_its_empty_event_id() -> None:
    batch = decode_batch(encode_batch(control_batch(AT)))
    assert batch.is_control and batch.message_type == CONTROL_MESSAGE
    assert (batch.log_group, batch.log_stream, batch.owner) == ("", "", "CloudwatchLogs")
    assert batch.events[0].id == "" and batch.events[0].message.startswith("CWL CONTROL MESSAGE")


def test_a_data_message_is_not_a_control_message() -> None:
    assert not SubscriptionBatch(DATA_MESSAGE, GROUP, STREAM, ()).is_control


def test_event_ids_grow_with_the_time_then_with_the_sequence_and_have_aws_length() -> None:
    ids = [event_id(AT, 0), event_id(AT, 1), event_id(AT, 99_999), event_id(AT + 1, 0)]
    assert [int(one) for one in ids] == sorted(int(one) for one in ids)
    assert all(len(one) == 56 and one.isdigit() for one in ids)


def test_fields_aws_adds_one_day_are_ignored() -> None:
    batch = decode_batch(lambda_event(document(policyLevel="ACCOUNT_LEVEL_POLICY")))
    assert batch.log_stream == STREAM and len(batch.events) == 1


@pytest.mark.parametrize(("event", "says"), [
    ({}, "awslogs"),
    ({"awslogs": "x"}, "awslogs"),
    ({"awslogs": {"data": 42}}, "awslogs"),
    ({"awslogs": {"data": "not base64!"}}, "not base64"),
    ({"awslogs": {"data": "é"}}, "not base64"),
    ({"awslogs": {"data": base64.b64encode(b"plain text").decode()}}, "not gzip"),
    ({"awslogs": {"data": base64.b64encode(gzip.compress(b"{}")[:-6]).decode()}}, "cut short"),
    ({"awslogs": {"data": base64.b64encode(gzip.compress(b"{not json")).decode()}}, "JSON"),
    ({"awslogs": {"data": base64.b64encode(gzip.compress(b'"\xff"')).decode()}}, "JSON"),
], ids=["no-awslogs", "awslogs-not-object", "data-not-text", "bad-base64", "non-ascii",
        "not-gzip", "truncated-gzip", "not-json", "not-utf8"])
def test_an_event_that_is_not_a_packed_document_is_an_invalid_request(
    event: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidRequest, match=says):
        decode_batch(event)


def packed(json_text: str) -> dict[str, Any]:
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json_text.encode())).decode()}}


def test_a_message_holding_a_lone_surrogate_is_an_invalid_request_not_a_crash_later() -> None:
    text = json.dumps(document(logEvents=[{"id": "1", "timestamp": AT, "message": "x"}]))
    with pytest.raises(InvalidRequest, match=r"log events .* not Unicode"):
        decode_batch(packed(text.replace('"x"', '"caf\\u00e9 \\ud800"')))


def test_a_stream_name_holding_a_lone_surrogate_is_an_invalid_request() -> None:
    text = json.dumps(document(logStream="task/job/STREAM"))
    with pytest.raises(InvalidRequest, match=r"names .* not Unicode"):
        decode_batch(packed(text.replace("STREAM", "\\udc00")))


def test_a_surrogate_pair_is_the_character_it_escapes() -> None:
    text = json.dumps(document(logEvents=[{"id": "1", "timestamp": AT, "message": "x"}]))
    batch = decode_batch(packed(text.replace('"x"', '"ok \\ud83d\\ude00"')))
    assert batch.messages == ("ok \U0001f600",)


def test_a_payload_that_unzips_beyond_the_bound_is_refused_without_being_unzipped_whole() -> None:
    huge = gzip.compress(b" " * (MAX_DECODED_BYTES + 10))
    with pytest.raises(InvalidRequest, match="more than"):
        decode_batch({"awslogs": {"data": base64.b64encode(huge).decode()}})


@pytest.mark.parametrize(("changed", "says"), [
    ([1, 2], "JSON object"),
    (document(messageType="DATA"), "messageType"),
    (document(logStream=None), "logStream"),
    (document(owner=5), "owner"),
    (document(subscriptionFilters="jobs"), "subscriptionFilters"),
    (document(logEvents={"id": "1"}), "logEvents"),
    (document(logEvents=["text"]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": "1", "timestamp": AT}]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": "12a", "timestamp": AT, "message": "x"}]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": "", "timestamp": AT, "message": "x"}]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": "²", "timestamp": AT, "message": "x"}]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": 12, "timestamp": AT, "message": "x"}]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": "1", "timestamp": True, "message": "x"}]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": "1", "timestamp": 1.5, "message": "x"}]), r"logEvents\[0\]"),
    (document(logEvents=[{"id": "1", "timestamp": AT, "message": "x"},
                         {"id": "2", "timestamp": AT, "message": None}]), r"logEvents\[1\]"),
], ids=["not-object", "message-type", "stream", "owner", "filters", "events-not-list",
        "event-not-object", "no-message", "id-not-digits", "id-empty", "id-unicode-digit",
        "id-number", "timestamp-bool", "timestamp-float", "second-event"])
def test_a_document_of_the_wrong_shape_is_an_invalid_request_saying_what_is_wrong(
    changed: Any, says: str
) -> None:
    with pytest.raises(InvalidRequest, match=says):
        decode_batch(lambda_event(changed))
