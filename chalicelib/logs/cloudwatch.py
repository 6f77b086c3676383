"""CloudWatch Logs as the log store of aws mode (DESIGN §4 "Logs and outputs").

Each attempt has one stream in the job log group (`cloudwatch_streams.py` says which). The
container writes it itself; `append_logs` adds ContainerOps's notes to it. Nothing of ours
sits between the container and CloudWatch, so a reader is shown the stream through
`LineView`: cut at 64 KiB, the run's secrets masked, `[COUT]` read from the text, and one
note in place of everything past the per-attempt cap.

- `seq` is the position of a line in the stream as a reader sees it: stable, because
  CloudWatch keeps a stream in timestamp order and a note is never stamped earlier than the
  last event of the stream (its time is raised to that one when it would be).
- A position token (`position_token.py`, signed) carries the reader's state and
  CloudWatch's `nextForwardToken`, so a reader resumes where it was; without a valid token
  the stream is read from the head (or from the furthest point this process has read) and
  the lines up to `after` are skipped.
- Paging: `get_log_events(startFromHead=True)` is asked for exactly the events still
  wanted (at most 10,000), so every page ends on a line boundary a token can stand on; an
  empty page is not the end, the end is the page that gives back the token it was given.
  A stream that does not exist yet reads as empty (the container may not have started).
- `messages` is the raw stream for the verdict, which applies the ingest policy itself:
  every event from the head, unmasked and uncut, past the cap too, paged the same way.
- Appends are serialised in this process, numbered after the stream's end as read just
  before, and then found again in the stream (by time and text) after the write, so a line
  numbered by another process, or printed by the container meanwhile, is counted where it
  landed. If CloudWatch does not show the new events yet, the numbers are the ones before
  plus one, two, ... Past the cap (where readers see nothing more) the numbers returned
  are those the lines would have if shown. CloudWatch keeps no empty event: empty entries
  are not stored (the `awslogs` driver drops a container's empty lines alike).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.ingest import DEFAULT_MAX_STORED_BYTES
from chalicelib.engine.records import LogLine
from chalicelib.errors import InvalidRequest, NotFound, StoreUnavailable
from chalicelib.logs.base import LOG_START, LogBatch, LogEntry, LogPosition, LogStore
from chalicelib.logs.cloudwatch_errors import cloudwatch_errors, error_code, translated
from chalicelib.logs.cloudwatch_streams import StreamResolver
from chalicelib.logs.position_token import decode_token, encode_token
from chalicelib.logs.reader_view import STREAM_HEAD, AttemptKey, LineView, ReadState

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import InputLogEventTypeDef, OutputLogEventTypeDef

# CloudWatch Logs' limits (PutLogEvents, GetLogEvents).
MAX_EVENTS_PER_CALL = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26  # counted per event against MAX_BATCH_BYTES
MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD_BYTES
MAX_BATCH_SPAN_MS = 24 * 60 * 60 * 1000

MAX_LINES_PER_READ = 10_000
# A stream is read up to the cap at most, so this many calls is far more than any read needs;
# it only bounds a service that never gives back its token.
MAX_CALLS_PER_SCAN = 2_000
TAIL_CACHE_STREAMS = 256

MaskerForRun = Callable[[str], SecretMasker]


def no_secrets(run_id: str) -> SecretMasker:
    return SecretMasker(())


@dataclass(frozen=True)
class _Tail:
    """How far this process has read a stream, and the last line shown up to there."""

    state: ReadState
    last: LogLine | None


@dataclass(frozen=True)
class _Scan:
    state: ReadState
    lines: list[LogLine]
    last: LogLine | None
    last_known: bool  # whether `last` is the last line up to `state` (not only since the start)
    at_end: bool


class CloudWatchLogs(LogStore):
    def __init__(
        self,
        client: CloudWatchLogsClient,
        log_group: str,
        streams: StreamResolver,
        *,
        masker_for: MaskerForRun = no_secrets,
        max_shown_bytes: int = DEFAULT_MAX_STORED_BYTES,
        token_key: bytes | Callable[[], bytes] | None = None,
    ) -> None:
        """`token_key` signs position tokens (or gives the key when first needed: only a
        process that answers readers needs it); every process that answers the same readers
        should share one, else a token from another process only costs a read from the head."""
        self._client = client
        self._group = log_group
        self._streams = streams
        self._masker_for = masker_for
        self._max_shown = max_shown_bytes
        if token_key is None:
            token_key = secrets.token_bytes(32)
        self._key_of_tokens = token_key
        self._append_lock = threading.Lock()
        self._tails = _TailCache(TAIL_CACHE_STREAMS)

    def _token_key(self) -> bytes:
        if callable(self._key_of_tokens):
            self._key_of_tokens = self._key_of_tokens()
        return self._key_of_tokens

    # --- reading -------------------------------------------------------------------
    def read_log_batch(
        self, run_id: str, job: str, attempt: int, after: LogPosition = LOG_START,
        limit: int = 1000,
    ) -> LogBatch:
        key = (run_id, job, attempt)
        want = max(0, min(limit, MAX_LINES_PER_READ))
        stream = self._streams(run_id, job, attempt)
        if stream is None or want == 0:
            return LogBatch([], LogPosition(after.seq))
        view = self._view(key)
        start, last, known = self._start(stream, key, after)
        try:
            scan = self._scan(stream, view, start, last, known, skip_to=after.seq, want=want)
        except _RefusedToken:  # expired, or from before the stream was replaced
            self._tails.forget(stream, key)
            scan = self._scan(stream, view, STREAM_HEAD, None, True, skip_to=after.seq, want=want)
        if scan.last_known:
            self._tails.remember(stream, key, _Tail(scan.state, scan.last))
        seq = scan.lines[-1].seq if scan.lines else after.seq
        return LogBatch(scan.lines, LogPosition(seq, self._token(scan.state, key, stream)))

    def messages(self, run_id: str, job: str, attempt: int) -> Iterator[str]:
        """Every event message of the attempt's stream from the head, in order, as the
        container (or a note) wrote it: not cut, not masked, nothing left out past the cap.
        For the verdict, which applies the ingest policy to the whole stream itself. A stream
        that does not exist (yet) yields nothing."""
        stream = self._streams(run_id, job, attempt)
        if stream is None:
            return
        reader = _StreamReader(self._client, self._group, stream, STREAM_HEAD.token)
        while not reader.at_end:
            if reader.calls >= MAX_CALLS_PER_SCAN:
                raise StoreUnavailable(
                    f"CloudWatch Logs did not reach the end of log stream {stream} in"
                    f" {MAX_CALLS_PER_SCAN} calls")
            try:
                page = reader.page(MAX_EVENTS_PER_CALL)
            except _RefusedToken as exc:  # reading again from the head would repeat messages
                raise StoreUnavailable(
                    f"CloudWatch Logs refused its own forward token while reading log stream"
                    f" {stream} of group {self._group}") from exc
            for event in page:
                yield event["message"]

    def last_log_line(self, run_id: str, job: str, attempt: int) -> LogLine | None:
        key = (run_id, job, attempt)
        stream = self._streams(run_id, job, attempt)
        return None if stream is None else self._tail(stream, key, self._view(key)).last

    # --- appending -----------------------------------------------------------------
    def append_logs(
        self, run_id: str, job: str, attempt: int, entries: Sequence[LogEntry]
    ) -> list[LogLine]:
        kept = [entry for entry in entries if entry.text]
        if not kept:
            return []
        key = (run_id, job, attempt)
        stream = self._streams(run_id, job, attempt)
        if stream is None:
            raise NotFound(f"attempt {attempt} of job {job} in run {run_id} not found")
        view = self._view(key)
        masker = self._masker_for(run_id)
        with self._append_lock:
            before = self._tail(stream, key, view)
            events = outgoing_events(kept, masker, not_before_ms=before.state.last_ms)
            for batch in put_batches(events):
                self._put(stream, batch)
            return self._locate(stream, key, view, before, events)

    def _locate(
        self, stream: str, key: AttemptKey, view: LineView, before: _Tail,
        events: list[InputLogEventTypeDef],
    ) -> list[LogLine]:
        """The appended lines, numbered where the stream shows them."""
        wanted = [(event["timestamp"], event["message"]) for event in events]
        guessed = [view.line(before.state.seq + n, at, text) for n, (at, text) in enumerate(wanted, 1)]
        if before.state.capped:  # past the cap the stream is not read: no one sees the lines
            return guessed
        state, last = before.state, before.last
        found: list[LogLine] = []
        reader = _StreamReader(self._client, self._group, stream, state.token)
        position = state.seq
        while not reader.at_end and reader.calls < MAX_CALLS_PER_SCAN:
            for event in reader.page(MAX_EVENTS_PER_CALL):
                at, text = event["timestamp"], event["message"]
                position += 1
                if len(found) < len(wanted) and (at, text) == wanted[len(found)]:
                    found.append(view.line(position, at, text))
                state, line = view.advance(state, at, text)
                if line is not None:
                    last = line
            state = replace(state, token=reader.token)
        self._tails.remember(stream, key, _Tail(state, last))
        return found if len(found) == len(wanted) else guessed

    def _put(self, stream: str, batch: list[InputLogEventTypeDef]) -> None:
        doing = f"writing log stream {stream} of group {self._group}"
        try:
            response = self._client.put_log_events(
                logGroupName=self._group, logStreamName=stream, logEvents=batch)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise translated(exc, doing) from exc
            self._create_stream(stream)
            with cloudwatch_errors(doing):
                response = self._client.put_log_events(
                    logGroupName=self._group, logStreamName=stream, logEvents=batch)
        except BotoCoreError as exc:
            raise translated(exc, doing) from exc
        refused = response.get("rejectedLogEventsInfo")
        if refused:
            raise InvalidRequest(
                f"CloudWatch Logs refused log lines while {doing} (times out of its window:"
                f" {dict(refused)})")

    def _create_stream(self, stream: str) -> None:
        try:
            self._client.create_log_stream(logGroupName=self._group, logStreamName=stream)
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":  # another writer made it
                raise translated(exc, f"creating log stream {stream} in group {self._group}") from exc
        except BotoCoreError as exc:
            raise translated(exc, f"creating log stream {stream} in group {self._group}") from exc

    # --- scanning ------------------------------------------------------------------
    def _start(
        self, stream: str, key: AttemptKey, after: LogPosition
    ) -> tuple[ReadState, LogLine | None, bool]:
        """The furthest known point at or before `after`: the reader's token, this process's
        tail of the stream, or the head; with the last line up to it when that is known."""
        best, last, known = STREAM_HEAD, None, True
        tail = self._tails.get(stream, key)
        if tail is not None and tail.state.seq <= after.seq:
            best, last = tail.state, tail.last
        given = decode_token(after.token, key, stream, self._token_key())
        if given is not None and best.seq < given.seq <= after.seq:
            best, last, known = given, None, False
        return best, last, known

    def _tail(self, stream: str, key: AttemptKey, view: LineView) -> _Tail:
        """The stream read to its end (or to the cap), from the furthest point read before."""
        tail = self._tails.get(stream, key) or _Tail(STREAM_HEAD, None)
        try:
            scan = self._scan(stream, view, tail.state, tail.last, True, skip_to=0, want=None)
        except _RefusedToken:
            self._tails.forget(stream, key)
            scan = self._scan(stream, view, STREAM_HEAD, None, True, skip_to=0, want=None)
        if not scan.at_end and not scan.state.capped:
            raise StoreUnavailable(
                f"CloudWatch Logs did not reach the end of log stream {stream} in"
                f" {MAX_CALLS_PER_SCAN} calls")
        found = _Tail(scan.state, scan.last)
        self._tails.remember(stream, key, found)
        return found

    def _scan(
        self, stream: str, view: LineView, state: ReadState, last: LogLine | None,
        last_known: bool, *, skip_to: int, want: int | None,
    ) -> _Scan:
        """From `state`, skip the lines up to `skip_to`, then keep up to `want` lines (None:
        read to the end, keeping only the last). Stops at the end of the stream or the cap."""
        reader = _StreamReader(self._client, self._group, stream, state.token)
        lines: list[LogLine] = []
        while not reader.at_end and not state.capped and reader.calls < MAX_CALLS_PER_SCAN:
            if state.seq < skip_to:
                needed = skip_to - state.seq
            else:
                needed = MAX_EVENTS_PER_CALL if want is None else want - len(lines)
            if needed <= 0:
                break
            for event in reader.page(min(needed, MAX_EVENTS_PER_CALL)):
                state, line = view.advance(state, event["timestamp"], event["message"])
                if line is None:
                    continue
                last, last_known = line, True
                if want is not None and line.seq > skip_to:
                    lines.append(line)
            state = replace(state, token=reader.token)
        return _Scan(state, lines, last, last_known, reader.at_end)

    def _view(self, key: AttemptKey) -> LineView:
        return LineView(key, self._masker_for(key[0]), self._max_shown)

    def _token(self, state: ReadState, key: AttemptKey, stream: str) -> str:
        return encode_token(state, key, stream, self._token_key())


class _RefusedToken(Exception):
    """CloudWatch refused a forward token (it expires): read from the head instead."""


class _StreamReader:
    """Reads one stream forward from a CloudWatch token, a page a call, and knows its end."""

    def __init__(self, client: CloudWatchLogsClient, group: str, stream: str, token: str) -> None:
        self._client = client
        self._group = group
        self._stream = stream
        self.token = token
        self.at_end = False
        self.calls = 0

    def page(self, limit: int) -> list[OutputLogEventTypeDef]:
        self.calls += 1
        try:
            if self.token:
                response = self._client.get_log_events(
                    logGroupName=self._group, logStreamName=self._stream, startFromHead=True,
                    limit=limit, nextToken=self.token)
            else:
                response = self._client.get_log_events(
                    logGroupName=self._group, logStreamName=self._stream, startFromHead=True,
                    limit=limit)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":  # no stream yet: the container may not have started
                self.at_end = True
                return []
            if code == "InvalidParameterException" and self.token:
                raise _RefusedToken() from exc
            raise translated(exc, f"reading log stream {self._stream} of group {self._group}") from exc
        except BotoCoreError as exc:
            raise translated(exc, f"reading log stream {self._stream} of group {self._group}") from exc
        following = response.get("nextForwardToken") or self.token
        self.at_end = following == self.token
        self.token = following
        return list(response.get("events", []))


class _TailCache:
    """The furthest point read of the most recently used streams (in this process)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._tails: OrderedDict[tuple[str, AttemptKey], _Tail] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, stream: str, key: AttemptKey) -> _Tail | None:
        with self._lock:
            tail = self._tails.get((stream, key))
            if tail is not None:
                self._tails.move_to_end((stream, key))
            return tail

    def remember(self, stream: str, key: AttemptKey, tail: _Tail) -> None:
        with self._lock:
            known = self._tails.get((stream, key))
            if known is None or tail.state.seq >= known.state.seq:
                self._tails[(stream, key)] = tail
                self._tails.move_to_end((stream, key))
            while len(self._tails) > self._size:
                self._tails.popitem(last=False)

    def forget(self, stream: str, key: AttemptKey) -> None:
        with self._lock:
            self._tails.pop((stream, key), None)


# --- what is written -------------------------------------------------------------------

def outgoing_events(
    entries: Sequence[LogEntry], masker: SecretMasker, *, not_before_ms: int
) -> list[InputLogEventTypeDef]:
    """The events for `entries`: masked (no secret leaves), within CloudWatch's event size,
    and never stamped before the one before (CloudWatch orders a stream by time; a note
    stamped earlier would move into lines already read)."""
    events: list[InputLogEventTypeDef] = []
    at = not_before_ms
    for entry in entries:
        at = max(at, round(entry.time * 1000))
        events.append({"timestamp": at, "message": _clip(masker.mask(entry.text))})
    return events


def put_batches(events: Sequence[InputLogEventTypeDef]) -> Iterator[list[InputLogEventTypeDef]]:
    """`events` in order, in batches CloudWatch accepts in one PutLogEvents call."""
    batch: list[InputLogEventTypeDef] = []
    size = 0
    for event in events:
        event_size = len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
        if batch and (len(batch) == MAX_EVENTS_PER_CALL or size + event_size > MAX_BATCH_BYTES
                      or event["timestamp"] - batch[0]["timestamp"] > MAX_BATCH_SPAN_MS):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        yield batch


def _clip(text: str) -> str:
    raw = text.encode()
    return text if len(raw) <= MAX_EVENT_BYTES else raw[:MAX_EVENT_BYTES].decode(errors="ignore")
