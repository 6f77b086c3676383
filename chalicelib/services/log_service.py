"""Reading a job attempt's log by cursor, and following it by long-poll.

A page holds the lines after a cursor (the last `seq` the client has, `after`), each marked
when it is a `[COUT]` line and with the stream it was written to (`stream`: "stdout",
"stderr", or "" where the source does not say: a note of ContainerOps's own, CloudWatch),
and `done` once the attempt has finished and no line is left to send. The page also carries
`cursor`, an opaque token of the log source (empty for SQLite; CloudWatch's position in the
stream): a client that sends it back with `after` is answered without the source seeking
from the start. `after` alone is always enough.
With `follow`, a reader that is up to date with a running attempt (or one about to start)
waits for the next line: the store is polled every `poll_interval` seconds, up to `follow`
seconds (at most `MAX_FOLLOW_SECONDS`), and the page is answered as soon as a line arrives
or the attempt ends. The wait holds no lock and no resource but the request's own thread,
so a client that goes away mid-follow costs at most that bounded wait. The clock and
`sleep` are injected so tests never wait.

Lines come from the `LogSource` masked (secrets) and cut (64 KiB), so they are sent as read.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chalicelib.domain.states import AttemptState
from chalicelib.engine.instance_keys import split_instance_key
from chalicelib.engine.records import LogLine
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.logs.base import LogPosition, LogSource
from chalicelib.store.base import Store

MAX_FOLLOW_SECONDS = 20.0
POLL_INTERVAL_SECONDS = 0.1
DEFAULT_PAGE_LINES = 1000
MAX_PAGE_LINES = 5000
MAX_CURSOR_CHARS = 2048
_ATTEMPT = re.compile(r"[0-9]{1,6}")


class AttemptProgress(Enum):
    WAITING = "waiting"    # not started yet, but the run may still start it
    RUNNING = "running"
    FINISHED = "finished"  # every line it will ever have is stored

    @property
    def may_log_more(self) -> bool:
        return self is not AttemptProgress.FINISHED


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    next_after: int
    done: bool
    cursor: str = ""

    def as_document(self) -> dict[str, Any]:
        return {
            "lines": [
                {"seq": line.seq, "time": line.time, "text": line.text, "cout": line.is_cout,
                 "stream": line.stream}
                for line in self.lines
            ],
            "next_after": self.next_after,
            "cursor": self.cursor,
            "done": self.done,
        }


@dataclass(frozen=True)
class LogRequest:
    namespace: str
    run_id: str
    job: str
    attempt: int
    after: int = 0
    limit: int = DEFAULT_PAGE_LINES
    follow: float = 0.0
    cursor: str = ""


class LogService:
    def __init__(
        self,
        store: Store,
        logs: LogSource,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = POLL_INTERVAL_SECONDS,
    ) -> None:
        self.store = store
        self.logs = logs
        self._clock = clock
        self._sleep = sleep
        self._poll_interval = poll_interval

    def read(self, request: LogRequest) -> LogPage:
        _check(request)
        run = self.store.get_run(request.run_id)
        if run.namespace != request.namespace:
            raise NotFound(f"run {request.run_id} not found")
        deadline = self._clock() + request.follow
        while True:
            # The attempt's state first, its lines second: an attempt is marked finished
            # only after its last line was stored, so "finished" + "no more lines" is final.
            progress = self._progress(request)
            batch = self.logs.read_log_batch(
                request.run_id, request.job, request.attempt,
                LogPosition(request.after, request.cursor), request.limit + 1,
            )
            remaining = deadline - self._clock()
            if batch.lines or not progress.may_log_more or remaining <= 0:
                return _page(request, batch.lines, progress, batch.position)
            self._sleep(min(self._poll_interval, remaining))

    def _progress(self, request: LogRequest) -> AttemptProgress:
        for attempt in self.store.list_attempts(request.run_id, request.job):
            if attempt.number == request.attempt:
                running = attempt.status is AttemptState.RUNNING
                return AttemptProgress.RUNNING if running else AttemptProgress.FINISHED
        # An instance (`test.3`) not yet started has no record: it waits while its group does.
        instance = split_instance_key(request.job)
        owner = request.job if instance is None else instance.job
        if owner not in {job.name for job in self.store.list_jobs(request.run_id)}:
            raise NotFound(f"run {request.run_id} has no job '{request.job}'")
        if self.store.get_run(request.run_id).status.is_final:
            raise NotFound(f"job '{request.job}' of run {request.run_id} has no attempt {request.attempt}")
        return AttemptProgress.WAITING


def _page(
    request: LogRequest, lines: list[LogLine], progress: AttemptProgress, position: LogPosition
) -> LogPage:
    # One line more than the page was read, to know whether any is left over; a token
    # reaches past that line, so a page that holds it back gives no token (`after` suffices).
    sent = lines[: request.limit]
    left_over = len(lines) > request.limit
    return LogPage(
        lines=sent,
        next_after=sent[-1].seq if sent else request.after,
        done=not progress.may_log_more and not left_over,
        cursor="" if left_over else position.token,
    )


def _check(request: LogRequest) -> None:
    if request.attempt < 1:
        raise InvalidRequest("the attempt number starts at 1")
    if request.after < 0:
        raise InvalidRequest("'after' must be 0 or more")
    if not 1 <= request.limit <= MAX_PAGE_LINES:
        raise InvalidRequest(f"'limit' must be between 1 and {MAX_PAGE_LINES}")
    if len(request.cursor) > MAX_CURSOR_CHARS:
        raise InvalidRequest(f"'cursor' must be at most {MAX_CURSOR_CHARS} characters")
    if not (math.isfinite(request.follow) and 0 <= request.follow <= MAX_FOLLOW_SECONDS):
        raise InvalidRequest(f"'follow' must be between 0 and {MAX_FOLLOW_SECONDS:g} seconds")


def parse_seconds(key: str, raw: str | None) -> float:
    """A query value in seconds (`follow=2.5`); absent means 0."""
    if raw is None or raw.strip() == "":
        return 0.0
    try:
        return float(raw)
    except ValueError as exc:
        raise InvalidRequest(f"query parameter '{key}' must be a number of seconds") from exc


def parse_attempt(raw: str) -> int:
    if not _ATTEMPT.fullmatch(raw or ""):
        raise InvalidRequest("the attempt must be a whole number (1, 2, ...)")
    return int(raw)
