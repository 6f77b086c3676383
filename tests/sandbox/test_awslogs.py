"""The sandbox's awslogs and subscription (chalicelib/sandbox/awslogs.py): lines become events of
the task's stream, in order, and reach the log handler in subscription batches of CloudWatch's
shape, as they come and all of them by the time the stream is closed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.cloud.log_batches import SubscriptionBatch, decode_batch
from chalicelib.logs.cloudwatch import EVENT_OVERHEAD_BYTES, MAX_EVENTS_PER_CALL
from chalicelib.sandbox.awslogs import LogShipper

GROUP, STREAM = "/containerops/jobs-x", "task/job/0123"


@dataclass
class FakeLogs:
    streams: list[str] = field(default_factory=list)
    puts: list[list[dict[str, Any]]] = field(default_factory=list)

    def create_log_stream(self, logGroupName: str, logStreamName: str) -> None:
        self.streams.append(logStreamName)

    def put_log_events(self, logGroupName: str, logStreamName: str, logEvents: list[dict[str, Any]]) -> None:
        self.puts.append(list(logEvents))


@dataclass
class Subscriber:
    batches: list[SubscriptionBatch] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __call__(self, event: dict[str, Any]) -> None:
        self.batches.append(decode_batch(event))
        self.arrived.set()

    @property
    def messages(self) -> list[str]:
        return [message for batch in self.batches for message in batch.messages]

    @property
    def ids(self) -> list[int]:
        return [int(identifier) for batch in self.batches for identifier in batch.ids]


class Clock:
    """Times handed out in a given order (seconds)."""

    def __init__(self, *times: float) -> None:
        self._times = list(times)

    def __call__(self) -> float:
        return self._times.pop(0) if len(self._times) > 1 else self._times[0]


@pytest.fixture
def logs() -> FakeLogs:
    return FakeLogs()


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber()


def shipper(logs: FakeLogs, subscriber: Subscriber, **options: Any) -> Iterator[LogShipper]:
    client: Any = logs
    started = LogShipper(client, GROUP, subscriber, **options)
    started.start()
    yield started
    started.stop()


@pytest.fixture
def shipping(logs: FakeLogs, subscriber: Subscriber) -> Iterator[LogShipper]:
    yield from shipper(logs, subscriber)


def test_every_line_reaches_the_stream_and_the_subscriber_in_order_by_the_close(
    shipping: LogShipper, logs: FakeLogs, subscriber: Subscriber
) -> None:
    shipping.open(STREAM)
    for text in ("one", "", "two", "[COUT] X = 3"):
        shipping.add(STREAM, text)
    shipping.close(STREAM)

    assert logs.streams == [STREAM]
    assert [event["message"] for put in logs.puts for event in put] == ["one", "two", "[COUT] X = 3"]
    assert subscriber.messages == ["one", "two", "[COUT] X = 3"]  # the empty line is dropped
    assert {(batch.log_group, batch.log_stream, batch.message_type) for batch in subscriber.batches} == {
        (GROUP, STREAM, "DATA_MESSAGE")}
    assert subscriber.ids == sorted(set(subscriber.ids))


def test_events_are_never_stamped_before_the_one_before(logs: FakeLogs, subscriber: Subscriber) -> None:
    for running in shipper(logs, subscriber, clock=Clock(10.0, 9.0, 11.0)):
        running.open(STREAM)
        running.add(STREAM, "a")
        running.add(STREAM, "b", "c")  # the lines of one chunk of output
        running.add(STREAM, "d")
        running.close(STREAM)

    assert [timestamp for batch in subscriber.batches for timestamp in batch.timestamps] == [
        10_000, 10_000, 10_000, 11_000]


def test_a_full_batch_is_delivered_before_the_stream_is_closed_and_none_is_larger(
    logs: FakeLogs, subscriber: Subscriber
) -> None:
    for running in shipper(logs, subscriber, batch_bytes=1024, batch_age=3600.0):
        running.open(STREAM)
        for n in range(40):
            running.add(STREAM, f"line {n:02d} " + "x" * 40)

        assert subscriber.arrived.wait(timeout=30), "no batch while the stream was open"
        running.close(STREAM)

    assert len(subscriber.batches) >= 3
    assert all(sum(len(m) + EVENT_OVERHEAD_BYTES for m in batch.messages) <= 1024
               for batch in subscriber.batches)
    assert subscriber.messages == [f"line {n:02d} " + "x" * 40 for n in range(40)]


def test_more_events_than_one_call_takes_go_in_several_calls_with_ids_still_growing(
    shipping: LogShipper, logs: FakeLogs, subscriber: Subscriber
) -> None:
    shipping.open(STREAM)
    for n in range(MAX_EVENTS_PER_CALL + 5):
        shipping.add(STREAM, str(n))
    shipping.close(STREAM)

    assert all(len(put) <= MAX_EVENTS_PER_CALL for put in logs.puts) and len(logs.puts) >= 2
    assert subscriber.messages == [str(n) for n in range(MAX_EVENTS_PER_CALL + 5)]
    assert subscriber.ids == sorted(set(subscriber.ids))
