"""The local log writer stores each batch of lines together with the progress that counts
them: a failure (or a kill) between the two can neither repeat lines after a restart, which
would read them again from the stored offsets, nor lose them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.domain.states import AttemptState
from chalicelib.engine.ingest import IngestPolicy, LogIngest
from chalicelib.engine.records import AttemptRecord
from chalicelib.local.log_writer import LogWriter
from chalicelib.store.sqlite import SqliteStore
from tests.store.contract import EPOCH, job, run


class Killed(Exception):
    pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "store.db") as opened:
        opened.create_run(run("r1"), [job("build")])
        opened.create_attempt(AttemptRecord(run_id="r1", job="build", number=1))
        yield opened


def writer_saving_progress(store: SqliteStore, *, fail_first: bool) -> LogWriter:
    failing = [fail_first]

    def save_progress(writer: LogWriter) -> None:
        record = replace(store.get_attempt("r1", "build", 1), stdout_bytes=writer.consumed.stdout)
        store.save_attempt(record, expected=AttemptState.RUNNING)
        if failing[0]:
            failing[0] = False
            raise Killed  # after the progress was written, before anything was committed

    return LogWriter(store, "r1", "build", 1, LogIngest(IngestPolicy((), 1_000_000)),
                     on_flush=save_progress, atomic=store.atomically, clock=lambda: EPOCH)


def texts(store: SqliteStore) -> list[str]:
    return [line.text for line in store.read_logs("r1", "build", 1)]


def test_a_batch_whose_progress_was_not_saved_is_not_stored_either(store: SqliteStore) -> None:
    writer = writer_saving_progress(store, fail_first=True)
    with pytest.raises(Killed):
        writer.feed("stdout", "", b"one\ntwo\n")
        writer.flush()
    assert texts(store) == []
    assert store.get_attempt("r1", "build", 1).stdout_bytes == 0


def test_the_batch_goes_with_the_next_flush_once_and_counted(store: SqliteStore) -> None:
    writer = writer_saving_progress(store, fail_first=True)
    with pytest.raises(Killed):
        writer.feed("stdout", "", b"one\ntwo\n")
        writer.flush()
    writer.feed("stdout", "", b"three\n")
    writer.close()
    assert texts(store) == ["one", "two", "three"]
    assert store.get_attempt("r1", "build", 1).stdout_bytes == len(b"one\ntwo\nthree\n")


def test_lines_are_stored_in_the_order_they_end_each_with_its_stream(store: SqliteStore) -> None:
    writer = LogWriter(store, "r1", "build", 1, LogIngest(IngestPolicy((), 1_000_000)),
                       clock=lambda: EPOCH)
    writer.feed("stdout", "", b"checking the release notes\nstill ")
    writer.feed("stderr", "", b"error: CHANGELOG has no entry\n")
    writer.feed("stdout", "", b"going\n[COUT] CO_RESULT = false\n")
    writer.note("the job reported CO_RESULT = false")
    writer.close()
    assert [(line.text, line.stream) for line in store.read_logs("r1", "build", 1)] == [
        ("checking the release notes", "stdout"),
        ("error: CHANGELOG has no entry", "stderr"),
        ("still going", "stdout"),  # stored when it ended
        ("[COUT] CO_RESULT = false", "stdout"),
        ("[containerops] the job reported CO_RESULT = false", ""),
    ]
