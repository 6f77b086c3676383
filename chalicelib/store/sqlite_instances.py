"""Fan-out instance records in the SQLite store: creating one once, counting them per
state and reading them in instance order (the SqliteStore's instance calls).

An instance is a row of `jobs` with `grp` and `instance` set (schema V9). Its state counts
are one GROUP BY over the (run_id, grp, status, instance) index, read without touching a
row; a page is one range scan per state on that index, or on (run_id, grp, instance) when
every state is wanted, each stopping after the page (see `instance_pages`).
"""

from __future__ import annotations

import sqlite3

from chalicelib.domain.states import JobState
from chalicelib.engine.records import JobRecord
from chalicelib.errors import NotFound, StaleWrite
from chalicelib.store import messages
from chalicelib.store.instance_pages import ALL_STATES, merge_in_index_order
from chalicelib.store.sqlite_schema import INSERT_JOB, job_from_row, job_values

_GROUP_EXISTS = "SELECT 1 FROM jobs WHERE run_id = ? AND name = ? AND grp IS NULL"
_RUN_EXISTS = "SELECT 1 FROM runs WHERE id = ?"
_JOB_EXISTS = "SELECT 1 FROM jobs WHERE run_id = ? AND name = ?"
_COUNTS = (
    "SELECT status, count(*) FROM jobs WHERE run_id = ? AND grp = ? GROUP BY status"
)
_IN_ORDER = (
    "SELECT * FROM jobs INDEXED BY jobs_by_group WHERE run_id = ? AND grp = ? AND instance > ?"
    " ORDER BY instance LIMIT ?"
)
_OF_STATE_IN_ORDER = (
    "SELECT * FROM jobs INDEXED BY jobs_by_group_status WHERE run_id = ? AND grp = ?"
    " AND status = ? AND instance > ? ORDER BY instance LIMIT ?"
)


def create(conn: sqlite3.Connection, record: JobRecord, group: str) -> None:
    """Inside the caller's write transaction, which holds the write lock from the first
    read: of two creators of one instance, the second finds the first's row."""
    check_group(conn, record.run_id, group)
    if conn.execute(_JOB_EXISTS, (record.run_id, record.name)).fetchone() is not None:
        raise StaleWrite(messages.instance_exists(record.run_id, record.name))
    conn.execute(INSERT_JOB, job_values(record))


def check_group(conn: sqlite3.Connection, run_id: str, group: str) -> None:
    """NotFound unless the run has the job `group` (a workflow job, not an instance)."""
    if conn.execute(_GROUP_EXISTS, (run_id, group)).fetchone() is None:
        if conn.execute(_RUN_EXISTS, (run_id,)).fetchone() is None:
            raise NotFound(messages.unknown_run(run_id))
        raise NotFound(messages.unknown_group(run_id, group))


def counts(conn: sqlite3.Connection, run_id: str, job: str) -> dict[JobState, int]:
    return {JobState(status): int(n) for status, n in conn.execute(_COUNTS, (run_id, job))}


def read(conn: sqlite3.Connection, run_id: str, job: str, states: tuple[JobState, ...],
         after: int, limit: int) -> list[JobRecord]:
    """The records of `states` after index `after`, in index order, at most `limit`: one
    range scan for every state, else one per state, merged (an IN (...) would make SQLite
    sort every matching row before it could give the first)."""
    if set(states) >= set(ALL_STATES):
        rows = conn.execute(_IN_ORDER, (run_id, job, after, limit)).fetchall()
        return [job_from_row(row) for row in rows]
    pieces = [
        [job_from_row(row) for row in
         conn.execute(_OF_STATE_IN_ORDER, (run_id, job, state.value, after, limit)).fetchall()]
        for state in states
    ]
    return merge_in_index_order(pieces, limit)
