"""The SQLite store's log lines against the log contract, plus what only they have: a line's
attempt must be stored first, and every bit of a time and any text survive a page."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.engine.records import AttemptRecord, LogLine
from chalicelib.errors import NotFound
from chalicelib.logs.base import LogEntry
from chalicelib.store.sqlite import SqliteStore
from chalicelib.store.sqlite_schema import MIGRATIONS
from tests.logs.contract import LogContract, entries
from tests.store.contract import EPOCH, job, run


def _with_build_attempts(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    store.create_run(run("r1"), [job("build")])
    for number in (1, 2):
        store.create_attempt(AttemptRecord(run_id="r1", job="build", number=number))
    return store


class TestSqliteLogs(LogContract):
    @pytest.fixture
    def logs(self, tmp_path: Path) -> Iterator[SqliteStore]:
        with _with_build_attempts(tmp_path / "store.db") as store:
            yield store


def test_appending_lines_of_an_unsaved_attempt_is_not_found(tmp_path: Path) -> None:
    with _with_build_attempts(tmp_path / "store.db") as store:
        with pytest.raises(NotFound, match="attempt 7"):
            store.append_logs("r1", "build", 7, entries(3))
        assert store.read_logs("r1", "build", 7) == []


def test_log_pages_keep_every_bit_of_time_and_any_text(tmp_path: Path) -> None:
    with _with_build_attempts(tmp_path / "store.db") as store:
        written = [
            LogEntry(1764091234.5678902, 'nul \0, quote ", \\ é 🙂 \u2028', True,
                     "2025-11-25T17:20:34.567890200Z"),
            LogEntry(5.0, "", False, ""),
            LogEntry(0.1 + 0.2, "{\"json\": [1]}", False, "t"),
        ]
        lines = [LogLine("r1", "build", 1, seq, *entry) for seq, entry in enumerate(written, 1)]
        assert store.append_logs("r1", "build", 1, written) == lines
        assert store.read_logs("r1", "build", 1) == lines
        assert store.read_logs("r1", "build", 1, after_seq=1, limit=1) == lines[1:2]
        assert store.read_logs("r1", "nope", 1) == []


def test_each_line_keeps_the_stream_it_was_written_to(tmp_path: Path) -> None:
    with _with_build_attempts(tmp_path / "store.db") as store:
        written = [LogEntry(EPOCH, "checking", stream="stdout"),
                   LogEntry(EPOCH, "error: no entry", stream="stderr"),
                   LogEntry(EPOCH, "[containerops] a note", stream="")]
        store.append_logs("r1", "build", 1, written)
        assert [(line.text, line.stream) for line in store.read_logs("r1", "build", 1)] == [
            ("checking", "stdout"), ("error: no entry", "stderr"), ("[containerops] a note", "")]
        last = store.last_log_line("r1", "build", 1)
        assert last is not None and last.stream == ""


def test_lines_stored_before_streams_were_kept_read_as_of_no_stream(tmp_path: Path) -> None:
    """A file from before the stream column: the migration adds it, old lines read as ''."""
    path = tmp_path / "store.db"
    adds_streams = next(index for index, migration in enumerate(MIGRATIONS)
                        if isinstance(migration, str) and "ADD COLUMN stream" in migration)
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:adds_streams]:  # the file as that version left it
        if callable(migration):
            migration(conn)
        else:
            conn.executescript(migration)
    conn.execute(f"PRAGMA user_version = {adds_streams}")
    conn.execute("INSERT INTO runs (id, namespace, workflow, workflow_version, status, created_at,"
                 " params, \"trigger\", reason) VALUES ('r1', 'demo', 'ci', 1, 'running', 0, '{}',"
                 " '{}', '')")
    conn.execute("INSERT INTO jobs (run_id, name, stage, action, position, status, reason, outputs,"
                 " attempts) VALUES ('r1', 'build', 0, 0, 0, 'running', '', '{}', 1)")
    conn.execute("INSERT INTO attempts (run_id, job, number, status, reason, outputs, log_bytes,"
                 " log_truncated) VALUES ('r1', 'build', 1, 'running', '', '{}', 0, 0)")
    for seq in (1, 2):
        conn.execute("INSERT INTO log_lines (run_id, job, attempt, seq, time, text, is_cout,"
                     " source_time) VALUES ('r1', 'build', 1, ?, 0, ?, 0, '')", (seq, f"line {seq}"))
    conn.commit()
    conn.close()
    with SqliteStore(path) as store:
        assert [(line.text, line.stream) for line in store.read_logs("r1", "build", 1)] == [
            ("line 1", ""), ("line 2", "")]
