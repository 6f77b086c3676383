"""The batches a CloudWatch Logs subscription delivers to a Lambda function, as plain values.

CloudWatch invokes the function with `{"awslogs": {"data": ...}}`, the data being the base64
of the gzip of one JSON document: `messageType` (DATA_MESSAGE, or CONTROL_MESSAGE when it
only checks that the destination answers), `owner`, `logGroup`, `logStream`,
`subscriptionFilters` and `logEvents` (`id`, `timestamp` in ms, `message`). One batch always
holds events of one stream, in the stream's order. `decode_batch` reads that strictly (what
cannot be read raises `InvalidRequest` saying what was wrong, never a raw exception: a
retried malformed batch stays malformed); `encode_batch` builds exactly what AWS sends, for
the tests, the benchmark and the sandbox harness, which plays CloudWatch. Pure: no boto3.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from chalicelib.errors import InvalidRequest

DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"
MESSAGE_TYPES = (DATA_MESSAGE, CONTROL_MESSAGE)
CONTROL_OWNER = "CloudwatchLogs"  # what AWS puts in a control message's owner

# AWS delivers at most 1 MB of log events a batch; the bound only keeps a corrupt or hostile
# payload (gzip shrinks repeated text a thousandfold) from exhausting the function's memory.
MAX_DECODED_BYTES = 16 * 1024 * 1024

# An event id grows with the event's time then its place among events of the same ms; AWS's
# are 56 digits for today's timestamps, which this shape keeps.
_SEQUENCE_DIGITS = 43


class LogEvent(NamedTuple):
    """One event of a batch, as `SubscriptionBatch.events` gives it."""

    id: str  # numeric, growing within a stream ("" in a control message)
    timestamp: int  # ms since the epoch
    message: str


@dataclass(frozen=True)
class SubscriptionBatch:
    """One delivery: events of one stream, in the stream's order.

    The events are kept as columns (`ids`, `timestamps`, `messages`, one entry per event)
    rather than as an object each: a batch holds about ten thousand, the handler reads
    them in bulk, and making one object per event would cost as much as decoding the
    batch. `events` gives them one by one."""

    message_type: str
    log_group: str
    log_stream: str
    ids: tuple[str, ...] = ()
    timestamps: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()
    owner: str = ""
    subscription_filters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not len(self.ids) == len(self.timestamps) == len(self.messages):
            raise ValueError("a batch has one id, one timestamp and one message per event")

    @property
    def is_control(self) -> bool:
        return self.message_type == CONTROL_MESSAGE

    @property
    def events(self) -> list[LogEvent]:
        return [LogEvent(*event) for event in zip(self.ids, self.timestamps, self.messages, strict=True)]

    def __len__(self) -> int:
        return len(self.ids)


def event_id(timestamp_ms: int, sequence: int) -> str:
    """An event id of CloudWatch's shape: later events (by time, then sequence) get larger
    numbers. For the harness, which gives ids to the events it delivers."""
    return str(timestamp_ms * 10**_SEQUENCE_DIGITS + sequence)


def control_batch(timestamp_ms: int) -> SubscriptionBatch:
    """The control message CloudWatch sends when a subscription is made, as it sends it."""
    message = "CWL CONTROL MESSAGE: Checking health of destination Lambda function."
    return SubscriptionBatch(CONTROL_MESSAGE, "", "", ("",), (timestamp_ms,), (message,),
                             owner=CONTROL_OWNER)


# --- decoding --------------------------------------------------------------------------

def decode_batch(event: Mapping[str, Any]) -> SubscriptionBatch:
    """The batch a Lambda invocation of a log subscription carries."""
    awslogs = event.get("awslogs") if isinstance(event, Mapping) else None
    data = awslogs.get("data") if isinstance(awslogs, Mapping) else None
    if not isinstance(data, str):
        raise InvalidRequest("a log subscription event is {\"awslogs\": {\"data\": <base64 text>}}")
    return batch_of(decode_data(data))


def decode_data(data: str) -> Any:
    """The JSON document in `awslogs.data`: base64, then gzip, then JSON."""
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: characters outside ASCII
        raise InvalidRequest(f"awslogs.data is not base64: {exc}") from exc
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing only
    try:
        text = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
    except zlib.error as exc:
        raise InvalidRequest(f"awslogs.data is not gzip: {exc}") from exc
    if len(text) > MAX_DECODED_BYTES:
        raise InvalidRequest(f"awslogs.data holds more than {MAX_DECODED_BYTES} bytes once unzipped")
    if not inflater.eof:
        raise InvalidRequest("awslogs.data is a gzip stream cut short")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError covers bad UTF-8 too
        raise InvalidRequest(f"awslogs.data does not hold JSON: {exc}") from exc


def batch_of(document: Any) -> SubscriptionBatch:
    """A decoded subscription document, checked field by field."""
    if not isinstance(document, dict):
        raise InvalidRequest("a log subscription batch is a JSON object")
    message_type = document.get("messageType")
    if message_type not in MESSAGE_TYPES:
        raise InvalidRequest(f"a log subscription batch has messageType {' or '.join(MESSAGE_TYPES)};"
                             f" got {message_type!r}")
    group, stream, owner = (document.get(key) for key in ("logGroup", "logStream", "owner"))
    filters = document.get("subscriptionFilters", [])
    if not (isinstance(group, str) and isinstance(stream, str) and isinstance(owner, str)
            and isinstance(filters, list) and all(isinstance(name, str) for name in filters)):
        raise InvalidRequest("a log subscription batch has logGroup, logStream and owner (strings)"
                             " and subscriptionFilters (a list of names)")
    raw_events = document.get("logEvents")
    if not isinstance(raw_events, list):
        raise InvalidRequest("a log subscription batch has logEvents (a list)")
    if not _is_unicode("".join([group, stream, owner, *filters])):
        raise InvalidRequest(f"the names of a log subscription batch {_NOT_UNICODE}")
    ids, timestamps, messages = _columns(raw_events, numeric_ids=message_type == DATA_MESSAGE)
    return SubscriptionBatch(message_type, group, stream, ids, timestamps, messages, owner,
                             tuple(filters))


_ID, _TIMESTAMP, _MESSAGE = itemgetter("id"), itemgetter("timestamp"), itemgetter("message")
_NOT_UNICODE = "hold text that is not Unicode (a lone surrogate)"


def _columns(raw_events: list[Any], *, numeric_ids: bool
             ) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """The events' fields, checked in bulk (the hot path of every batch: a few passes in C
    rather than several steps of Python an event); an event found wrong is then looked for
    one by one, to say which it is."""
    try:
        ids = tuple(map(_ID, raw_events))
        timestamps = tuple(map(_TIMESTAMP, raw_events))
        messages = tuple(map(_MESSAGE, raw_events))
        every_id, text = "".join(ids), "".join(messages)  # a TypeError unless all are text
    except (KeyError, TypeError):
        raise _bad_event(raw_events, numeric_ids) from None
    # Exact types: a bool is an int to isinstance, but not a timestamp.
    if not set(map(type, timestamps)) <= {int} or (
            numeric_ids and ids and not (all(ids) and _ascii_digits(every_id))):
        raise _bad_event(raw_events, numeric_ids)
    if not _is_unicode(text):
        raise InvalidRequest(f"the log events of a log subscription batch {_NOT_UNICODE}")
    return ids, timestamps, messages


def _is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate (what a JSON escape such as \\ud800 decodes
    to): nothing could store, measure or show it."""
    if text.isascii():
        return True
    try:
        text.encode("utf-16-le")  # refuses a lone surrogate as UTF-8 does, in a third of the time
    except UnicodeEncodeError:
        return False
    return True


def _ascii_digits(text: str) -> bool:
    try:
        return text.encode("ascii").isdigit()  # bytes: 0-9 only, unlike str.isdigit
    except UnicodeEncodeError:
        return False


def _bad_event(raw_events: list[Any], numeric_ids: bool) -> InvalidRequest:
    index = next((n for n, raw in enumerate(raw_events) if not _good_event(raw, numeric_ids)), 0)
    return InvalidRequest(f"logEvents[{index}] of a log subscription batch is not"
                          " {\"id\": <digits>, \"timestamp\": <ms>, \"message\": <text>}")


def _good_event(raw: Any, numeric_ids: bool) -> bool:
    if not isinstance(raw, dict):
        return False
    identifier, timestamp, message = raw.get("id"), raw.get("timestamp"), raw.get("message")
    return (type(identifier) is str and type(timestamp) is int and type(message) is str
            and (not numeric_ids or (bool(identifier) and _ascii_digits(identifier))))


# --- encoding --------------------------------------------------------------------------

def encode_batch(batch: SubscriptionBatch) -> dict[str, dict[str, str]]:
    """The Lambda event CloudWatch would deliver for `batch`: its keys in AWS's order."""
    document = {
        "messageType": batch.message_type,
        "owner": batch.owner,
        "logGroup": batch.log_group,
        "logStream": batch.log_stream,
        "subscriptionFilters": list(batch.subscription_filters),
        "logEvents": [{"id": identifier, "timestamp": timestamp, "message": message}
                      for identifier, timestamp, message in zip(batch.ids, batch.timestamps,
                                                                batch.messages, strict=True)],
    }
    # Compact, and text as UTF-8 rather than escaped (\u2501): as CloudWatch writes it.
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return {"awslogs": {"data": base64.b64encode(gzip.compress(text)).decode("ascii")}}


def data_batch(log_group: str, log_stream: str, events: Iterable[LogEvent], *,
               owner: str = "123456789012", filters: tuple[str, ...] = ("containerops-jobs",)
               ) -> SubscriptionBatch:
    """A DATA_MESSAGE batch of one stream's events."""
    listed = list(events)
    return SubscriptionBatch(DATA_MESSAGE, log_group, log_stream,
                             tuple(event.id for event in listed),
                             tuple(event.timestamp for event in listed),
                             tuple(event.message for event in listed), owner, filters)
