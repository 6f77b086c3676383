"""LogService on a real SQLite file. Following uses a fake clock whose `sleep` only moves
time forward (and may make something happen meanwhile): no test waits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.domain.states import AttemptState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord, LogLine, RunRecord
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.services.log_service import (
    LogRequest,
    LogService,
    parse_attempt,
    parse_seconds,
)
from chalicelib.store.sqlite import SqliteStore
from tests.builders import append_lines

EPOCH = 1_700_000_000.0
RUN = "20231114-221320-0000abcd"


class FakeTime:
    """A clock and a sleep: sleeping advances the clock, then runs `during_sleep`."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.during_sleep: Callable[[int], None] = lambda count: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.during_sleep(len(self.sleeps))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(
            RunRecord(id=RUN, namespace="demo", workflow="ci", workflow_version=1,
                      status=RunState.RUNNING, created_at=EPOCH),
            [JobRecord(RUN, "build", 0, 0, 0), JobRecord(RUN, "later", 1, 0, 0)],
        )
        store.save_attempt(AttemptRecord(RUN, "build", 1, status=AttemptState.RUNNING))
        yield store


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def logs(store: SqliteStore, fake_time: FakeTime) -> LogService:
    return LogService(store, store, clock=fake_time.clock, sleep=fake_time.sleep)


def line(seq: int, text: str | None = None, *, cout: bool = False, job: str = "build") -> LogLine:
    return LogLine(RUN, job, 1, seq, EPOCH + seq, text or f"line {seq}", is_cout=cout)


def request(**fields: object) -> LogRequest:
    return replace(LogRequest("demo", RUN, "build", 1), **fields)  # type: ignore[arg-type]


def end_attempt(store: SqliteStore, job: str = "build") -> None:
    store.save_attempt(AttemptRecord(RUN, job, 1, status=AttemptState.SUCCEEDED))


def test_lines_after_the_cursor_come_in_order_with_cout_lines_and_streams_marked(
    logs: LogService, store: SqliteStore
) -> None:
    append_lines(store, [line(1), line(2, "[COUT] VERSION = 1.2", cout=True),
                         line(3)._replace(text="error: no tests", stream="stderr")])
    page = logs.read(request(after=1))
    assert [(entry.seq, entry.text, entry.is_cout) for entry in page.lines] == [
        (2, "[COUT] VERSION = 1.2", True), (3, "error: no tests", False)]
    assert page.next_after == 3 and page.done is False
    assert page.as_document()["lines"] == [
        {"seq": 2, "time": EPOCH + 2, "text": "[COUT] VERSION = 1.2", "cout": True, "stream": ""},
        {"seq": 3, "time": EPOCH + 3, "text": "error: no tests", "cout": False, "stream": "stderr"},
    ]


def test_a_finished_attempt_is_done_only_once_every_line_was_sent(
    logs: LogService, store: SqliteStore
) -> None:
    append_lines(store, [line(seq) for seq in range(1, 6)])
    end_attempt(store)
    first = logs.read(request(limit=3))
    assert [entry.seq for entry in first.lines] == [1, 2, 3] and first.done is False
    second = logs.read(request(after=first.next_after, limit=3))
    assert [entry.seq for entry in second.lines] == [4, 5] and second.done is True
    last = logs.read(request(after=5, follow=10))
    assert last.lines == [] and last.next_after == 5 and last.done is True


def test_a_running_attempt_with_nothing_new_is_not_done(logs: LogService, store: SqliteStore) -> None:
    append_lines(store, [line(1)])
    page = logs.read(request(after=1))
    assert page.lines == [] and page.next_after == 1 and page.done is False


def test_follow_answers_as_soon_as_a_line_arrives(
    logs: LogService, store: SqliteStore, fake_time: FakeTime
) -> None:
    fake_time.during_sleep = lambda count: append_lines(store, [line(1)]) if count == 3 else None
    page = logs.read(request(follow=20))
    assert [entry.text for entry in page.lines] == ["line 1"]
    assert len(fake_time.sleeps) == 3 and all(s == pytest.approx(0.1) for s in fake_time.sleeps)


def test_follow_answers_with_nothing_after_the_bounded_wait(
    logs: LogService, fake_time: FakeTime
) -> None:
    page = logs.read(request(follow=2))
    assert page.lines == [] and page.done is False
    assert sum(fake_time.sleeps) == pytest.approx(2.0) and len(fake_time.sleeps) == 20


def test_follow_stops_waiting_when_the_attempt_ends_without_a_line(
    logs: LogService, store: SqliteStore, fake_time: FakeTime
) -> None:
    fake_time.during_sleep = lambda count: end_attempt(store) if count == 2 else None
    page = logs.read(request(follow=20))
    assert page.lines == [] and page.done is True and len(fake_time.sleeps) == 2


def test_follow_waits_for_an_attempt_that_has_not_started_yet(
    logs: LogService, store: SqliteStore, fake_time: FakeTime
) -> None:
    def start_later(count: int) -> None:
        if count == 4:
            store.save_attempt(AttemptRecord(RUN, "later", 1))
            append_lines(store, [line(1, "hello", job="later")])

    fake_time.during_sleep = start_later
    page = logs.read(request(job="later", follow=5))
    assert [entry.text for entry in page.lines] == ["hello"] and len(fake_time.sleeps) == 4


def test_without_follow_nothing_waits(logs: LogService, fake_time: FakeTime) -> None:
    assert logs.read(request(job="later")).lines == []
    assert fake_time.sleeps == []


def test_an_attempt_of_a_finished_run_that_never_ran_is_not_found(
    logs: LogService, store: SqliteStore
) -> None:
    store.save_run(replace(store.get_run(RUN), status=RunState.FAILED))
    with pytest.raises(NotFound, match="has no attempt 1"):
        logs.read(request(job="later", follow=5))


def test_an_unknown_job_or_another_namespaces_run_is_not_found(logs: LogService) -> None:
    with pytest.raises(NotFound, match="no job 'deploy'"):
        logs.read(request(job="deploy"))
    with pytest.raises(NotFound, match=f"run {RUN} not found"):
        logs.read(request(namespace="team"))


@pytest.mark.parametrize("fields", [
    {"follow": 20.5}, {"follow": -1.0}, {"follow": float("inf")}, {"limit": 0},
    {"limit": 5001}, {"after": -1}, {"attempt": 0},
])
def test_out_of_range_values_are_invalid_requests(logs: LogService, fields: dict[str, object]) -> None:
    with pytest.raises(InvalidRequest):
        logs.read(request(**fields))


def test_query_values_are_parsed_or_refused() -> None:
    assert parse_seconds("follow", None) == 0.0 and parse_seconds("follow", "2.5") == 2.5
    assert parse_attempt("3") == 3
    with pytest.raises(InvalidRequest):
        parse_seconds("follow", "soon")
    for bad in ("x", "1\n", "-1", "²", "1234567"):
        with pytest.raises(InvalidRequest):
            parse_attempt(bad)
