"""What the `awslogs` driver and the log group's subscription do with a job container's output:
each line becomes an event of the task's stream in CloudWatch Logs (moto), and the events are
delivered, as they arrive, in subscription batches to the log handler.

A line is what the local driver calls one (`protocol.LineAssembler`: cut at 64 KiB); an empty
line is dropped, as awslogs drops it (CloudWatch keeps no empty event). Events are stamped
with the time they arrived, never earlier than the one before (CloudWatch orders a stream by
time), and numbered with ids that grow within the stream (`log_batches.event_id`), as
CloudWatch's do. A stream's pending events are shipped together when they reach
`batch_bytes` or when the oldest has waited `batch_age` seconds, at most `batch_bytes` at a
time: first PutLogEvents (within its limits: `logs.cloudwatch.put_batches`), then one
DATA_MESSAGE batch per call, to the deliver function (the sandbox's log Lambda). A
container that writes faster than the events are shipped waits (`backlog_bytes`), as a
driver in blocking mode makes it wait. Closing a
stream ships what is left and returns once it is delivered: the sandbox closes it before it
tells of the task's stop, so the verdict finds the whole stream in CloudWatch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.cloud.log_batches import LogEvent, data_batch, encode_batch, event_id
from chalicelib.logs.cloudwatch import EVENT_OVERHEAD_BYTES, put_batches

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef

log = logging.getLogger("containerops.sandbox")

Deliver = Callable[[dict[str, Any]], None]  # the subscription's Lambda event

BATCH_BYTES = 256 * 1024
BATCH_AGE_SECONDS = 0.2
BACKLOG_BYTES = 8 * 1024 * 1024


@dataclass
class _Stream:
    name: str
    pending: list[tuple[int, str]] = field(default_factory=list)  # (ms, message)
    pending_bytes: int = 0
    first_at: float = 0.0  # monotonic time of the oldest pending event
    last_ms: int = 0
    sequence: int = 0
    shipping: bool = False
    closing: bool = False


class LogShipper:
    """Ships the job streams of one log group on a thread of its own."""

    def __init__(self, client: CloudWatchLogsClient, log_group: str, deliver: Deliver, *,
                 batch_bytes: int = BATCH_BYTES, batch_age: float = BATCH_AGE_SECONDS,
                 backlog_bytes: int = BACKLOG_BYTES, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._group = log_group
        self._deliver = deliver
        self._batch_bytes = batch_bytes
        self._batch_age = batch_age
        self._backlog = max(backlog_bytes, batch_bytes)
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._ship_until_stopped, name="sandbox-awslogs",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ship what is pending, then end the thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout=30)

    # --- what a container's reader calls ---------------------------------------------
    def open(self, stream: str) -> None:
        """Make the stream; one that exists already is written on, as the awslogs driver and
        Fluent Bit do (a second pod of an attempt on EKS writes to the attempt's stream)."""
        try:
            self._client.create_log_stream(logGroupName=self._group, logStreamName=stream)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                raise
        with self._changed:
            self._streams[stream] = _Stream(stream)

    def add(self, stream: str, *messages: str) -> None:
        """Lines the container printed (an empty one is dropped), stamped now."""
        kept = [message for message in messages if message]
        if not kept:
            return
        size = sum(len(message.encode()) for message in kept) + EVENT_OVERHEAD_BYTES * len(kept)
        with self._changed:
            state = self._streams[stream]
            while state.pending_bytes >= self._backlog and not self._stopping:
                self._changed.wait()
            now_ms = max(state.last_ms, round(self._clock() * 1000))
            state.last_ms = now_ms
            first = not state.pending
            if first:
                state.first_at = time.monotonic()
            state.pending.extend((now_ms, message) for message in kept)
            state.pending_bytes += size
            if first or state.pending_bytes >= self._batch_bytes:
                self._changed.notify_all()  # a new deadline, or a full batch

    def close(self, stream: str) -> None:
        """Ship the stream's last events; return once they are delivered."""
        with self._changed:
            state = self._streams[stream]
            state.closing = True
            self._changed.notify_all()
            while (state.pending or state.shipping) and self._thread.is_alive():
                self._changed.wait(timeout=1.0)
            del self._streams[stream]

    # --- the shipping thread -----------------------------------------------------------
    def _ship_until_stopped(self) -> None:
        while True:
            with self._changed:
                due = self._due()
                while not due and not self._stopping:
                    self._changed.wait(timeout=self._next_wait())
                    due = self._due()
                if not due and self._stopping:
                    return
                taken = [(state, self._take(state)) for state in due]
            for state, events in taken:
                try:
                    self._ship(state.name, events)
                except Exception:  # moto or the handler wrapper failed: say so and carry on
                    log.exception("shipping %d log events of stream %s failed", len(events), state.name)
            with self._changed:
                for state, _ in taken:
                    state.shipping = False
                self._changed.notify_all()

    def _due(self) -> list[_Stream]:
        now = time.monotonic()
        return [state for state in self._streams.values()
                if state.pending and not state.shipping
                and (state.closing or self._stopping or state.pending_bytes >= self._batch_bytes
                     or now - state.first_at >= self._batch_age)]

    def _next_wait(self) -> float | None:
        waiting = [state.first_at for state in self._streams.values() if state.pending and not state.shipping]
        if not waiting:
            return None
        return max(0.0, min(waiting) + self._batch_age - time.monotonic())

    def _take(self, state: _Stream) -> list[LogEvent]:
        """The oldest pending events, up to `batch_bytes` of them (one at least)."""
        events: list[LogEvent] = []
        size = 0
        for timestamp, message in state.pending:
            event_size = len(message.encode()) + EVENT_OVERHEAD_BYTES
            if events and size + event_size > self._batch_bytes:
                break
            events.append(LogEvent(event_id(timestamp, state.sequence), timestamp, message))
            state.sequence += 1
            size += event_size
        del state.pending[:len(events)]
        state.pending_bytes -= size
        state.shipping = True
        return events

    def _ship(self, stream: str, events: list[LogEvent]) -> None:
        outgoing: list[InputLogEventTypeDef] = [
            {"timestamp": event.timestamp, "message": event.message} for event in events]
        start = 0
        for batch in put_batches(outgoing):
            self._client.put_log_events(logGroupName=self._group, logStreamName=stream,
                                        logEvents=batch)
            delivered = events[start:start + len(batch)]
            start += len(batch)
            self._deliver(encode_batch(data_batch(self._group, stream, delivered)))
