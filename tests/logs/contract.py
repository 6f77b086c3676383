"""The behaviour every log store keeps, written once and run against each implementation.

A test module subclasses `LogContract` and provides the `logs` fixture: an empty log store
(sink and source) in which attempts 1 and 2 of job `build` of run `r1` may be logged,
closed after the test. Everything here goes through `LogSink` and `LogSource` only, so the
SQLite log and CloudWatch Logs are held to the same sentences. Times are whole
milliseconds and `source_time` is empty, the most every source keeps.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.engine.records import LogLine
from chalicelib.logs.base import LogEntry, LogPosition, LogStore
from tests.store.contract import EPOCH, at_once


def entries(count: int, *, start: int = 1, prefix: str = "line") -> list[LogEntry]:
    return [LogEntry(time=EPOCH + seq / 1000, text=f"{prefix} {seq}" if seq % 10 else
                     f"[COUT] K{seq} = {seq}", is_cout=seq % 10 == 0)
            for seq in range(start, start + count)]


def lines(count: int, *, start: int = 1, attempt: int = 1) -> list[LogLine]:
    return [LogLine("r1", "build", attempt, seq, entry.time, entry.text, entry.is_cout, "")
            for seq, entry in enumerate(entries(count, start=start), start=start)]


class LogContract:
    @pytest.fixture
    def logs(self) -> Iterator[LogStore]:
        raise NotImplementedError("a subclass provides the log store under test")

    def test_appended_lines_are_numbered_from_one_and_read_back_in_order(
        self, logs: LogStore
    ) -> None:
        assert logs.append_logs("r1", "build", 1, entries(5)) == lines(5)
        assert logs.append_logs("r1", "build", 1, entries(5, start=6)) == lines(5, start=6)
        assert logs.read_logs("r1", "build", 1) == lines(10)

    def test_reading_after_a_line_gives_only_the_lines_after_it(self, logs: LogStore) -> None:
        logs.append_logs("r1", "build", 1, entries(10))
        assert logs.read_logs("r1", "build", 1, after_seq=7) == lines(3, start=8)
        assert logs.read_logs("r1", "build", 1, after_seq=10) == []

    def test_reading_stops_at_the_limit_and_resumes_from_the_last_line_seen(
        self, logs: LogStore
    ) -> None:
        logs.append_logs("r1", "build", 1, entries(25))
        seen: list[LogLine] = []
        while batch := logs.read_logs("r1", "build", 1, after_seq=seen[-1].seq if seen else 0,
                                      limit=10):
            assert len(batch) <= 10
            seen += batch
        assert seen == lines(25)

    def test_a_batch_position_resumes_where_the_batch_ended(self, logs: LogStore) -> None:
        logs.append_logs("r1", "build", 1, entries(12))
        first = logs.read_log_batch("r1", "build", 1, limit=5)
        assert first.lines == lines(5) and first.position.seq == 5
        second = logs.read_log_batch("r1", "build", 1, first.position, limit=5)
        assert second.lines == lines(5, start=6)
        logs.append_logs("r1", "build", 1, entries(3, start=13))
        rest = logs.read_log_batch("r1", "build", 1, second.position, limit=100)
        assert rest.lines == lines(5, start=11) and rest.position.seq == 15
        assert logs.read_log_batch("r1", "build", 1, rest.position).lines == []

    def test_a_position_without_its_token_gives_the_same_lines(self, logs: LogStore) -> None:
        logs.append_logs("r1", "build", 1, entries(12))
        first = logs.read_log_batch("r1", "build", 1, limit=4)
        with_token = logs.read_log_batch("r1", "build", 1, first.position, limit=4)
        without = logs.read_log_batch("r1", "build", 1, LogPosition(first.position.seq), limit=4)
        assert with_token.lines == without.lines == lines(4, start=5)

    def test_an_empty_read_stays_where_it_was(self, logs: LogStore) -> None:
        batch = logs.read_log_batch("r1", "build", 1)
        assert batch.lines == [] and batch.position.seq == 0
        logs.append_logs("r1", "build", 1, entries(2))
        assert logs.read_log_batch("r1", "build", 1, batch.position).lines == lines(2)

    def test_each_attempt_keeps_its_own_lines(self, logs: LogStore) -> None:
        logs.append_logs("r1", "build", 1, entries(3))
        logs.append_logs("r1", "build", 2, entries(2))
        assert logs.read_logs("r1", "build", 2) == lines(2, attempt=2)
        assert logs.read_logs("r1", "build", 1) == lines(3)

    def test_the_last_line_is_the_highest_numbered_or_none(self, logs: LogStore) -> None:
        assert logs.last_log_line("r1", "build", 1) is None
        logs.append_logs("r1", "build", 1, entries(12))
        assert logs.last_log_line("r1", "build", 1) == lines(12)[-1]

    def test_appending_no_lines_stores_nothing(self, logs: LogStore) -> None:
        assert logs.append_logs("r1", "build", 1, []) == []
        assert logs.last_log_line("r1", "build", 1) is None

    def test_two_writers_appending_to_one_attempt_never_share_a_number_or_lose_a_line(
        self, logs: LogStore
    ) -> None:
        def write(writer: int) -> None:
            for batch in range(10):
                logs.append_logs("r1", "build", 1, [
                    LogEntry(EPOCH, f"writer {writer} batch {batch} line {n}") for n in range(3)])

        results = at_once(3, write)
        assert results == [None, None, None]
        stored = logs.read_logs("r1", "build", 1, limit=1000)
        assert [line.seq for line in stored] == list(range(1, 91))
        assert sorted(line.text for line in stored) == sorted(
            f"writer {w} batch {b} line {n}" for w in range(3) for b in range(10) for n in range(3))
        for writer in range(3):  # each writer's lines keep their order
            own = [line.text for line in stored if line.text.startswith(f"writer {writer} ")]
            assert own == [f"writer {writer} batch {b} line {n}" for b in range(10) for n in range(3)]
