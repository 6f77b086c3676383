"""Processes that open a new SQLite file at the same moment (a `containerops run` and a
`containerops runs` started together) all get the store: the switch to WAL mode, which SQLite
refuses at once while another process migrates the file, is tried again within the busy
timeout (chalicelib/store/sqlite.py `use_wal`)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chalicelib.store.sqlite import SqliteStore, use_wal


def _open(path: str, barrier: Any, answers: Any) -> None:
    barrier.wait()
    try:
        SqliteStore(path).close()
        answers.put("opened")
    except Exception as exc:  # reported to the test, which names it
        answers.put(f"{type(exc).__name__}: {exc}")


def test_three_processes_opening_a_new_file_at_once_all_get_the_store(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_number in range(8):
        path = str(tmp_path / f"store-{round_number}.db")
        barrier, answers = context.Barrier(3), context.Queue()
        openers = [context.Process(target=_open, args=(path, barrier, answers)) for _ in range(3)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(60)
        assert sorted(answers.get(timeout=5) for _ in openers) == ["opened"] * 3


class LockedConnection:
    def __init__(self, refusals: list[str]) -> None:
        self.refusals = refusals
        self.tries = 0

    def execute(self, statement: str) -> None:
        self.tries += 1
        if self.refusals:
            raise sqlite3.OperationalError(self.refusals.pop(0))


def test_a_locked_switch_is_tried_again_and_another_error_is_not() -> None:
    connection = LockedConnection(["database is locked", "database is locked"])
    use_wal(connection, clock=lambda: 0.0, sleep=lambda _: None)  # type: ignore[arg-type]
    assert connection.tries == 3
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        use_wal(LockedConnection(["disk I/O error"]), clock=lambda: 0.0, sleep=lambda _: None)  # type: ignore[arg-type]


def test_a_file_locked_past_the_busy_timeout_says_so() -> None:
    now = iter([0.0, 5.0, 11.0])
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        use_wal(LockedConnection(["database is locked"] * 5), clock=lambda: next(now),  # type: ignore[arg-type]
                sleep=lambda _: None)
