"""The log ingest policy: what becomes of each line a job's container prints.

Every line is masked (secrets become `***`), read for `[COUT]` outputs and the reported
result (within the output size limits), and stored, until the attempt's stored lines reach
the per-attempt cap: then one note says so and later lines are only read, no longer
stored. What the policy has seen so far is an `IngestState` kept in the attempt record, so
a restarted driver, or the next Lambda invocation handling the same attempt's log, carries
on exactly where the last one stopped: the same outputs, the same cap, and an output limit
broken before the restart still fails the attempt after it.

A reader that stores no lines (on AWS, where CloudWatch holds them) reads a whole batch of
log events at once (`read_events`), with the same state after it as line by line.

Pure: lines in, lines to keep out. Turning a byte stream into lines (and cutting long ones)
is `protocol.LineAssembler`'s; storing and batching are the drivers'.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

from chalicelib.domain.protocol import (
    COUT_MARKER,
    MAX_LINE_BYTES,
    TRUNCATION_MARK,
    OutputCollector,
)
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.records import AttemptRecord

DEFAULT_MAX_STORED_BYTES = 16 * 1024 * 1024
NOTE_PREFIX = "[containerops] "


@dataclass(frozen=True)
class IngestPolicy:
    secrets: tuple[str, ...] = ()
    max_stored_bytes: int = DEFAULT_MAX_STORED_BYTES


@dataclass
class IngestState:
    """What the policy has seen of one attempt's log, as the attempt record keeps it."""

    stored_bytes: int = 0
    truncated: bool = False
    outputs: dict[str, str] = field(default_factory=dict)
    reported_result: bool | None = None
    violation: str = ""

    @classmethod
    def of(cls, attempt: AttemptRecord) -> IngestState:
        return cls(attempt.log_bytes, attempt.log_truncated, dict(attempt.outputs),
                   attempt.reported_result, attempt.output_violation)

    def save_into(self, attempt: AttemptRecord) -> None:
        attempt.log_bytes, attempt.log_truncated = self.stored_bytes, self.truncated
        attempt.outputs = dict(self.outputs)
        attempt.reported_result = self.reported_result
        attempt.output_violation = self.violation


class Kept(NamedTuple):
    """A line to store: the container's (masked) or a note of ContainerOps' own."""

    text: str
    is_cout: bool = False
    is_note: bool = False


def cut_line(text: str, max_bytes: int = MAX_LINE_BYTES) -> str:
    """A whole line (a log event) as `protocol.LineAssembler` keeps a line of a stream: its
    first `max_bytes` bytes and the truncation mark when it is longer (a character cut in
    two becomes U+FFFD), a trailing carriage return dropped."""
    if len(text) * 4 <= max_bytes:  # within the limit without counting: 4 bytes a character at most
        return text.rstrip("\r")
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text.rstrip("\r")
    return raw[:max_bytes].decode("utf-8", errors="replace").rstrip("\r") + TRUNCATION_MARK


def _cut_events(messages: Sequence[str]) -> tuple[list[str], str]:
    """`cut_line` of each log event, and the lines joined. When none can need a cut (a
    quarter of the limit in characters at most) and none holds a carriage return, which
    two passes over all of them tell, they are left as they are."""
    joined = "".join(messages)
    if "\r" not in joined and max(map(len, messages)) * 4 <= MAX_LINE_BYTES:
        return list(messages), joined
    lines = [cut_line(message) for message in messages]
    return lines, "".join(lines)


def cap_note_text(max_stored_bytes: int) -> str:
    """What the note stored at the cap says (after the note prefix)."""
    return (f"log limit of {max_stored_bytes} bytes reached: later lines are not stored"
            " ([COUT] lines are still read)")


def note(text: str) -> Kept:
    return Kept(NOTE_PREFIX + text, is_note=True)


class LogIngest:
    """Applies the policy to one attempt's lines, from the state it was left in."""

    def __init__(self, policy: IngestPolicy, state: IngestState | None = None) -> None:
        start = state or IngestState()
        self._max_stored = policy.max_stored_bytes
        self._masker = SecretMasker(policy.secrets)
        self._collector = OutputCollector(dict(start.outputs), start.reported_result,
                                          start.violation)
        self._stored_bytes = start.stored_bytes
        self._truncated = start.truncated

    @property
    def state(self) -> IngestState:
        collector = self._collector
        return IngestState(self._stored_bytes, self._truncated, dict(collector.outputs),
                           collector.reported_result, collector.violation)

    @property
    def reported_result(self) -> bool | None:
        return self._collector.reported_result

    @property
    def violation(self) -> str:
        return self._collector.violation

    def accept(self, text: str) -> list[Kept]:
        """One line of the container's output (already cut): what of it to store. Once the
        cap is reached, nothing more is stored, however short."""
        masked = self._masker.mask(text)
        cout = self._collector.add_line(masked)
        if self._truncated:
            return []
        size = len(masked.encode()) + 1
        if self._stored_bytes + size > self._max_stored:
            self._truncated = True
            return [note(cap_note_text(self._max_stored))]
        self._stored_bytes += size
        return [Kept(masked, is_cout=cout is not None)]

    def read_events(self, messages: Sequence[str]) -> None:
        """Log events as a stream holds them (a line each, as the container printed it),
        read as `accept(cut_line(message))` would read each in turn, with nothing kept: the
        state after them is the same. For readers that store no lines (the aws log handler
        and the verdict: CloudWatch holds them). A batch of thousands costs a few passes in
        C over all of it rather than several steps of Python a line: cut and masked in bulk
        (`SecretMasker.mask_all`), searched once for `[COUT]` (only those lines are parsed)
        and measured once; line by line only in the batch that reaches the cap."""
        if not messages:
            return
        lines, joined = _cut_events(messages)
        masked = self._masker.mask_all(lines, joined)
        if masked is not lines:
            joined = "".join(masked)
        self._read_outputs(masked, joined)
        if self._truncated:
            return
        size = (len(joined) if joined.isascii() else len(joined.encode())) + len(masked)
        if self._stored_bytes + size <= self._max_stored:
            self._stored_bytes += size
            return
        for text in masked:
            size = len(text.encode()) + 1
            if self._stored_bytes + size > self._max_stored:
                self._truncated = True
                return
            self._stored_bytes += size

    def _read_outputs(self, lines: list[str], joined: str) -> None:
        """The collector's reading of the lines holding the marker, in order: what it makes
        of every other line is nothing. A marker across two lines only costs a needless read."""
        at = joined.find(COUT_MARKER)
        if at < 0:
            return
        starts = list(accumulate(map(len, lines), initial=0))
        while at >= 0:
            index = bisect_right(starts, at) - 1
            self._collector.add_line(lines[index])
            at = joined.find(COUT_MARKER, starts[index + 1])
