"""SqliteStore against the store contract, plus what only a SQLite file has: WAL mode,
several processes on one file, a file that outlives the process, migrations, index use."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.states import AttemptState, RunState
from chalicelib.engine.records import EVERY_JOB, AttemptRecord
from chalicelib.errors import Conflict
from chalicelib.logs.base import LogEntry
from chalicelib.store.base import RunFilter
from chalicelib.store.sqlite import SqliteStore, open_store
from chalicelib.store.sqlite_connections import POOL_SIZE
from chalicelib.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from tests.store.contract import (
    CLUSTER_TASKS,
    EPOCH,
    TASK_ARN,
    TASK_ID,
    StoreContract,
    component,
    job,
    run,
    workflow,
)


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqliteStore]:
        with SqliteStore(tmp_path / "store.db") as store:
            yield store


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def test_the_database_file_is_in_wal_mode(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "store.db").close()
    conn = _raw(tmp_path / "store.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_open_store_creates_a_private_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "containerops"
    with open_store(data_dir) as store:
        store.put_component(component())
    assert (data_dir / "containerops.db").is_file()
    assert data_dir.stat().st_mode & 0o777 == 0o700


def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.put_component(component())
        store.save_workflow(workflow())
        store.create_run(run("r1"), [job("build")])
        store.request_cancel("r1")
    with open_store(tmp_path) as store:
        assert store.get_component("demo", "lint", "1.0.0") == component()
        assert store.get_workflow("demo", "ci").version == 1
        assert store.get_run("r1").cancel_requested
        assert [j.name for j in store.list_jobs("r1")] == ["build"]


def test_a_file_from_a_newer_containerops_is_refused(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "store.db").close()
    conn = _raw(tmp_path / "store.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="upgrade ContainerOps"):
        SqliteStore(tmp_path / "store.db")


def test_a_file_of_schema_7_opens_and_its_re_runs_read_as_scope_less(tmp_path: Path) -> None:
    """Before V8 no re-run had a scope (each was from failure): the column starts out empty."""
    path = tmp_path / "store.db"
    conn = _raw(path)
    for migration in MIGRATIONS[:7]:
        if callable(migration):
            migration(conn)
        else:
            conn.executescript(migration)
    conn.execute("PRAGMA user_version = 7")
    for run_id, rerun_of in (("r1", None), ("r2", "r1")):
        conn.execute("INSERT INTO runs (id, namespace, workflow, workflow_version, status, created_at,"
                     " params, \"trigger\", reason, rerun_of) VALUES (?, 'demo', 'ci', 1, 'failed', 0,"
                     " '{}', '{}', '', ?)", (run_id, rerun_of))
    conn.commit()
    conn.close()
    with SqliteStore(path) as store:
        assert (store.get_run("r2").rerun_of, store.get_run("r2").rerun_scope) == ("r1", None)
        assert [r.rerun_scope for r in store.list_runs(RunFilter()).runs] == [None, None]
        store.create_run(replace(run("r3"), rerun_of="r2", rerun_scope=EVERY_JOB), [])
        assert store.get_run("r3").rerun_scope == EVERY_JOB
    conn = _raw(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_an_in_memory_database_is_refused() -> None:
    with pytest.raises(ValueError, match="file"):
        SqliteStore(":memory:")


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.get_run("r1")


def test_a_malformed_cursor_is_rejected(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store, pytest.raises(ValueError, match="cursor"):
        store.list_runs(RunFilter(cursor="not-a-cursor"))


def test_reads_go_on_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [])
        other = _raw(tmp_path / "store.db")
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE runs SET reason = 'uncommitted' WHERE id = 'r1'")
        try:
            assert store.get_run("r1").reason == ""
            assert [r.id for r in store.list_runs().runs] == ["r1"]
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_threads_that_come_and_go_reuse_the_pooled_connections(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [])
        for _ in range(20):
            reader = threading.Thread(target=store.get_run, args=("r1",))
            reader.start()
            reader.join()
        store.list_runs()
        assert store._connections.opened == 1


def test_many_threads_share_a_bounded_number_of_connections(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [])
        pool = store._connections
        errors: list[BaseException] = []
        inside = threading.Barrier(POOL_SIZE)  # as many threads as connections hold one at once

        def read() -> None:
            try:
                with pool.connection():
                    inside.wait(timeout=30)
                    assert store.get_run("r1").id == "r1"  # nested: the same connection
                for _ in range(20):
                    store.get_run("r1")
                    store.list_runs()
            except BaseException as exc:  # reported below
                errors.append(exc)

        readers = [threading.Thread(target=read) for _ in range(3 * POOL_SIZE)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        assert errors == []
        assert pool.opened == POOL_SIZE


def test_a_closed_store_lends_no_connection(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    store.create_run(run("r1"), [])
    store.close()
    assert store._connections.opened == 0
    with pytest.raises(RuntimeError, match="closed"):
        store.get_run("r1")


def test_a_failed_transaction_leaves_the_pooled_connection_clean(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [])
        with pytest.raises(Conflict):
            store.create_run(run("r1"), [])
        with store._connections.connection() as conn:
            assert not conn.in_transaction
        store.create_run(run("r2"), [])
        assert {r.id for r in store.list_runs().runs} == {"r1", "r2"}


# --- several processes on one file ------------------------------------------------------

Outcome = tuple[int | str, list[int]]


def race_in_processes(target: Callable[..., None], count: int,
                      *args: Any) -> tuple[list[Any], list[int | None]]:
    """`count` fresh processes each run `target(*args, start, results)`, released together by
    the barrier `start`; what each put on `results`, and their exit codes."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(count)
    results: Queue[Any] = context.Queue()
    children = [context.Process(target=target, args=(*args, start, results)) for _ in range(count)]
    for child in children:
        child.start()
    answers = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
    results.close()
    results.join_thread()
    return answers, [child.exitcode for child in children]


def _save_in_another_process(
    path: str, expected_version: int, extra_saves: int, start: Barrier, results: Queue[Outcome]
) -> None:
    """Child process: wait for the others, save the same workflow once with a version check,
    then `extra_saves` times without."""
    with SqliteStore(path) as store:
        start.wait()
        outcome: int | str
        try:
            outcome = store.save_workflow(workflow(image="busybox:race"), expected_version)
        except Conflict:
            outcome = "conflict"
        extra = [store.save_workflow(workflow()) for _ in range(extra_saves)]
        results.put((outcome, extra))


def test_two_processes_saving_the_same_workflow_one_conflicts_and_versions_stay_contiguous(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    with SqliteStore(path) as store:
        store.save_workflow(workflow())
    outcomes, exit_codes = race_in_processes(_save_in_another_process, 2, str(path), 1, 10)
    assert exit_codes == [0, 0]
    assert sorted(str(outcome) for outcome, _ in outcomes) == ["2", "conflict"]
    extra = sorted(v for _, saved in outcomes for v in saved)
    assert extra == list(range(3, 23))
    with SqliteStore(path) as store:
        assert store.get_workflow("demo", "ci").version == 22
        for version in range(1, 23):
            store.get_workflow("demo", "ci", version)


def _claim_in_another_process(
    path: str, keys: list[str], start: Barrier, results: Queue[list[bool]]
) -> None:
    """Child process: wait for the others, then claim every key once."""
    with SqliteStore(path) as store:
        start.wait()
        results.put([store.claim_event(key, EPOCH) for key in keys])


def test_two_processes_claiming_the_same_events_each_event_is_won_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqliteStore(path).close()
    keys = [f"event-{i}" for i in range(100)]
    claims, exit_codes = race_in_processes(_claim_in_another_process, 2, str(path), keys)
    assert exit_codes == [0, 0]
    assert [first + second for first, second in zip(*claims, strict=True)] == [1] * len(keys)


def _take_slots_in_another_process(
    path: str, workflows: list[str], start: Barrier, results: Queue[list[bool]]
) -> None:
    """Child process: wait for the others, then take the one slot of every workflow."""
    with SqliteStore(path) as store:
        start.wait()
        results.put([store.take_run_slot("demo", name, f"run-{os.getpid()}", 1)
                     for name in workflows])


def test_processes_racing_for_the_last_slot_of_each_workflow_one_wins_each(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    SqliteStore(path).close()
    workflows = [f"wf-{i}" for i in range(50)]
    taken, exit_codes = race_in_processes(_take_slots_in_another_process, 3, str(path), workflows)
    assert exit_codes == [0, 0, 0]
    assert [sum(won) for won in zip(*taken, strict=True)] == [1] * len(workflows)


# --- attempts found by their container --------------------------------------------------

def test_finding_an_attempt_by_its_container_reads_the_task_id_index(tmp_path: Path) -> None:
    plans: list[str] = []
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [job("build")])
        for number in range(1, 20):
            store.save_attempt(AttemptRecord(run_id="r1", job="build", number=number,
                                             container_id=f"{CLUSTER_TASKS}/{number:032x}"))
        with store._connections.connection() as conn:
            conn.set_trace_callback(plans.append)
            assert store.find_attempt_by_container(TASK_ARN) is None
            conn.set_trace_callback(None)
            (query,) = [q for q in plans if "FROM attempts" in q]
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert "USING INDEX attempts_by_container_task" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_attempts_stored_before_the_task_index_are_found_by_their_task(tmp_path: Path) -> None:
    """A file from the schema before run slots and the index: its attempts need no rewrite."""
    path = tmp_path / "store.db"
    conn = _raw(path)
    for script in MIGRATIONS[:3]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO runs (id, namespace, workflow, workflow_version, status, created_at,"
                 " params, \"trigger\", reason) VALUES ('r1', 'demo', 'ci', 1, 'running', 0, '{}',"
                 " '{}', '')")
    conn.execute("INSERT INTO jobs (run_id, name, stage, action, position, status, reason, outputs,"
                 " attempts) VALUES ('r1', 'build', 0, 0, 0, 'running', '', '{}', 1)")
    conn.execute("INSERT INTO attempts (run_id, job, number, status, container_id, reason, outputs,"
                 " log_bytes, log_truncated) VALUES ('r1', 'build', 1, 'running', ?, '', '{}', 0, 0)",
                 (TASK_ARN,))
    conn.commit()
    conn.close()
    with SqliteStore(path) as store:
        found = store.find_attempt_by_container(TASK_ID)
        assert found is not None and (found.run_id, found.container_id) == ("r1", TASK_ARN)
        assert store.take_run_slot("demo", "ci", "r1", 1)


# --- the run history uses an index for every filter -------------------------------------

@pytest.mark.parametrize(
    "run_filter",
    [
        RunFilter(),
        RunFilter(namespace="demo"),
        RunFilter(namespace="demo", workflow="ci"),
        RunFilter(workflow="ci"),
        RunFilter(statuses=(RunState.FAILED,)),
        RunFilter(namespace="demo", statuses=(RunState.FAILED,)),
        RunFilter(namespace="demo", workflow="ci", statuses=(RunState.FAILED,)),
        RunFilter(workflow="ci", statuses=(RunState.FAILED,)),
        RunFilter(namespace="demo", created_after=EPOCH, created_before=EPOCH + 9),
    ],
    ids=lambda f: ",".join(k for k, v in f.__dict__.items() if v not in (None, (), 50)) or "all",
)
def test_every_run_history_query_reads_an_index_in_order(
    tmp_path: Path, run_filter: RunFilter
) -> None:
    plans: list[str] = []
    with SqliteStore(tmp_path / "store.db") as store:
        for i in range(30):
            store.create_run(run(f"r{i}", created_at=EPOCH + i), [])
        first = store.list_runs(RunFilter(limit=5))
        with store._connections.connection() as conn:  # the store's reads use it too
            conn.set_trace_callback(plans.append)
            store.list_runs(replace(run_filter, cursor=first.next_cursor))
            conn.set_trace_callback(None)
            queries = [q for q in plans if "SELECT * FROM runs" in q]
            assert queries
            for query in queries:
                plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
                assert "USING INDEX runs_by_" in plan, plan
                assert "TEMP B-TREE" not in plan, plan


# --- pages built as one JSON array by SQLite --------------------------------------------


def test_run_pages_keep_every_bit_of_times_and_documents(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        exact = replace(run("r1", created_at=1764091234.5678902), started_at=0.1 + 0.2,
                        finished_at=None, params={"a": "é \0 \"q\""}, reason="why",
                        trigger={"type": "schedule", "tick": 1764091234.1234567, "n": [1, 2.5]},
                        rerun_of="r0", cancel_requested=True)
        store.create_run(exact, [])
        store.request_cancel("r1")
        store.create_run(run("r2", created_at=1764091234.5678904), [])
        page = store.list_runs(RunFilter(limit=1))
        assert [r.id for r in page.runs] == ["r2"]
        assert store.list_runs(RunFilter(limit=1, cursor=page.next_cursor)).runs == [exact]
        assert store.list_runs(RunFilter(statuses=(RunState.QUEUED,))).runs[1] == exact


# --- units of work ------------------------------------------------------------------------

class Crash(Exception):
    pass


@pytest.fixture
def started(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "store.db") as store:
        store.create_run(run("r1"), [job("build")])
        store.create_attempt(AttemptRecord(run_id="r1", job="build", number=1))
        yield store


def test_log_lines_and_the_progress_that_counts_them_are_stored_together(started: SqliteStore) -> None:
    progress = replace(started.get_attempt("r1", "build", 1), stdout_bytes=12)
    with started.atomically():
        started.append_logs("r1", "build", 1, [LogEntry(EPOCH, "hello there")])
        started.save_attempt(progress, expected=AttemptState.RUNNING)
    assert [line.text for line in started.read_logs("r1", "build", 1)] == ["hello there"]
    assert started.get_attempt("r1", "build", 1).stdout_bytes == 12


def test_a_unit_of_work_that_fails_half_way_leaves_nothing_of_it(started: SqliteStore) -> None:
    progress = replace(started.get_attempt("r1", "build", 1), stdout_bytes=12)
    with pytest.raises(Crash), started.atomically():
        started.append_logs("r1", "build", 1, [LogEntry(EPOCH, "hello there")])
        started.save_attempt(progress, expected=AttemptState.RUNNING)
        raise Crash  # as a process killed before it committed
    assert started.read_logs("r1", "build", 1) == []
    assert started.get_attempt("r1", "build", 1).stdout_bytes == 0


def test_a_unit_of_work_does_not_hold_back_the_writes_after_it(started: SqliteStore) -> None:
    with started.atomically():
        started.append_logs("r1", "build", 1, [LogEntry(EPOCH, "one")])
    started.append_logs("r1", "build", 1, [LogEntry(EPOCH + 1, "two")])
    assert [line.seq for line in started.read_logs("r1", "build", 1)] == [1, 2]
