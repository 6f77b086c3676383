"""The Docker engine's output stream: frames, timestamps, and what a follow delivered.

Pure helpers for `docker_launcher`: splitting the multiplexed log stream into frames,
splitting the engine's RFC3339Nano timestamps off each frame, converting those times, and
remembering enough of a follow to read the finished log again from near its end.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import requests

from chalicelib.launch.base import OutputChunk, StreamName, StreamOffsets

# The second read of a finished log starts this long before the last tenth of a second
# followed: far more than stdout and stderr ever disagree on order (microseconds).
RESUME_MARGIN_NS = 200_000_000
FRAME_HEADER = struct.Struct(">BxxxL")  # stream kind, 3 padding bytes, payload length
STDOUT, STDERR = 1, 2
RFC3339 = re.compile(
    r"(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>Z|[+-]\d\d:\d\d)"
)


class FollowedFrames:
    """How many frames a follow delivered, per tenth of a second of their source times.

    Enough to name a time shortly before the end of the followed output (`resume_point`)
    and how many followed frames are stamped at or after it, without keeping the frames.
    """

    _TENTHS_KEPT = 5

    def __init__(self) -> None:
        self.total = 0
        self._per_tenth: dict[str, int] = {}
        self._exact = True  # every source time had the engine's format

    def count(self, source_time: str) -> None:
        self.total += 1
        if len(source_time) != 30 or not source_time.endswith("Z"):
            self._exact = False
            return
        tenth = source_time[:21]  # 2026-11-25T17:08:06.7
        self._per_tenth[tenth] = self._per_tenth.get(tenth, 0) + 1
        if len(self._per_tenth) > self._TENTHS_KEPT:
            del self._per_tenth[min(self._per_tenth)]

    def resume_point(self, since: str) -> tuple[str, int]:
        """A source time to read the log from again, and how many followed frames it covers."""
        if not self.total or not self._exact:
            return since, self.total
        latest = split_time(max(self._per_tenth) + "Z")
        if latest is None:
            return since, self.total
        resume_ns = latest[0] * 1_000_000_000 + latest[1] - RESUME_MARGIN_NS
        requested = split_time(since) if since else None
        if requested is not None and requested[0] * 1_000_000_000 + requested[1] >= resume_ns:
            return since, self.total  # everything followed is at or after `since`
        seconds, nanos = divmod(resume_ns, 1_000_000_000)
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        resume_at = f"{stamp}.{nanos:09d}Z"
        covered = sum(n for tenth, n in self._per_tenth.items() if tenth >= resume_at[:21])
        return resume_at, covered


def frames(reads: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Split the engine's multiplexed stream into (stream kind, payload), one per frame.

    The engine flushes each frame as its own HTTP chunk, so a read usually is exactly one
    frame; the buffer handles the other cases and never holds more than a frame and a read.
    """
    pending = bytearray()
    for read in reads:
        if not pending and len(read) >= FRAME_HEADER.size:
            kind, size = FRAME_HEADER.unpack_from(read)
            if len(read) == FRAME_HEADER.size + size:
                if size:
                    yield kind, read[FRAME_HEADER.size :]
                continue
        pending += read
        start = 0
        while len(pending) - start >= FRAME_HEADER.size:
            kind, size = FRAME_HEADER.unpack_from(pending, start)
            end = start + FRAME_HEADER.size + size
            if end > len(pending):
                break
            if size:
                yield kind, bytes(pending[start + FRAME_HEADER.size : end])
            start = end
        del pending[:start]
    if pending:
        raise requests.exceptions.ChunkedEncodingError(
            f"the output stream ended inside a frame ({len(pending)} bytes left over)"
        )


def stream_name(kind: int) -> StreamName:
    return "stderr" if kind == STDERR else "stdout"


def output_chunk(payload: bytes, kind: int = STDOUT) -> OutputChunk:
    """Split '<RFC3339Nano> <data>' (the engine's `timestamps` format)."""
    space = payload.find(b" ", 0, 40)
    if space < 0:
        return OutputChunk(source_time="", data=payload, stream=stream_name(kind))
    return OutputChunk(
        source_time=payload[:space].decode("ascii"), data=payload[space + 1 :],
        stream=stream_name(kind),
    )


def skip_consumed(chunks: Iterable[OutputChunk], skip: StreamOffsets) -> Iterator[OutputChunk]:
    """The chunks after the first `skip` bytes of each stream."""
    remaining = {"stdout": skip.stdout, "stderr": skip.stderr}
    for chunk in chunks:
        left = remaining[chunk.stream]
        if left >= len(chunk.data):
            remaining[chunk.stream] = left - len(chunk.data)
            continue
        remaining[chunk.stream] = 0
        yield replace(chunk, data=chunk.data[left:]) if left else chunk


def split_time(value: str) -> tuple[int, int] | None:
    """RFC3339(Nano) → (UNIX seconds, nanoseconds), exactly; None if not such a time."""
    match = RFC3339.fullmatch(value)
    if match is None:
        return None
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    seconds = int(datetime.fromisoformat(match["base"] + zone).timestamp())
    return seconds, int((match["fraction"] or "").ljust(9, "0"))


def engine_since(source_time: str) -> str:
    """The logs endpoint reads `since` as '<seconds>.<nanoseconds>', not RFC3339."""
    parts = split_time(source_time)
    if parts is None:
        raise ValueError(f"since must be an RFC3339Nano time, got {source_time!r}")
    return f"{parts[0]}.{parts[1]:09d}"


def unix_time(value: str) -> float | None:
    """An inspect time as UNIX seconds; None for the engine's zero time (0001-01-01)."""
    parts = split_time(value)
    if parts is None or value.startswith("0001-"):
        return None
    return parts[0] + parts[1] / 1e9
