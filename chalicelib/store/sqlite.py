"""The embedded Store: everything ContainerOps keeps, in one SQLite file in the data directory.

`SqliteStore` maps the `Store` interface onto the tables of `sqlite_schema`, keeps the rules
of `base` (immutable components, optimistic workflow versions, a cancel flag no runner can
undo, logs read by cursor) and translates SQLite's errors into `NotFound` and `Conflict`.
One file is shared by the server's threads and by other processes (a CLI `cancel` while a
runner writes): WAL lets readers go on while one writer writes, every write takes the write
lock up front (`BEGIN IMMEDIATE`) and waits for it up to a busy timeout, so concurrent
writers queue instead of failing or overwriting each other.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.domain.triggers import EVERY_SCHEDULE, TriggerKind
from chalicelib.engine.records import AttemptRecord, JobRecord, LogLine, RunRecord
from chalicelib.errors import Conflict, NotFound, StaleWrite
from chalicelib.logs.base import LOG_START, LogBatch, LogEntry, LogPosition, LogStore
from chalicelib.store import messages, sqlite_instances, sqlite_marks, sqlite_triggers
from chalicelib.store.base import (
    RunFilter,
    RunPage,
    Store,
    StoredComponent,
    StoredWorkflow,
    TriggeredWorkflow,
    WorkflowSettings,
    WorkflowVersion,
    check_instance_record,
    check_run_slot_limit,
    container_task_id,
    is_instance_record,
)
from chalicelib.store.instance_pages import InstanceOrder, InstancePage, phases, read_page
from chalicelib.store.messages import MAX_LOG_LINES_READ, MAX_RUNS_PAGE
from chalicelib.store.ordering import version_order
from chalicelib.store.sqlite_connections import BUSY_TIMEOUT_SECONDS, ConnectionPool
from chalicelib.store.sqlite_schema import (
    INSERT_ATTEMPT,
    INSERT_LOG_LINE,
    INSERT_RUN,
    RUN_VALUES_JSON,
    UPSERT_ATTEMPT,
    UPSERT_JOB,
    UPSERT_RUN,
    attempt_from_row,
    attempt_values,
    job_from_row,
    job_values,
    log_line_from_row,
    migrate,
    run_from_row,
    run_from_values,
    run_values,
    stored_component_from_row,
    stored_workflow_from_row,
    workflow_settings_from_row,
)

DB_FILENAME = "containerops.db"
ALL_RUNS = RunFilter()
WEBHOOK_SECRET_BYTES = 32
# The versions of a deleted workflow stay (runs pinned to one still read it), but lookups of
# its latest version and the list of workflows leave it out.
_NOT_DELETED = (
    "NOT EXISTS (SELECT 1 FROM workflow_settings AS s WHERE s.namespace = workflows.namespace"
    " AND s.name = workflows.name AND s.deleted)"
)

Clock = Callable[[], float]


def open_store(data_dir: Path, clock: Clock = time.time) -> SqliteStore:
    """The store of a data directory, created (private to this user) when missing."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return SqliteStore(data_dir / DB_FILENAME, clock=clock)


WAL_SWITCH_PAUSE = 0.02


def use_wal(conn: sqlite3.Connection, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> None:
    """Put the file in WAL mode (stored in the file: once is enough). Two processes opening a
    new file at once both find it in rollback mode and switch it, and SQLite answers the
    switch "database is locked" at once, without waiting its busy timeout, while the other
    one migrates: so the switch is tried again, within that timeout."""
    deadline = clock() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or clock() >= deadline:
                raise
        sleep(WAL_SWITCH_PAUSE)


class SqliteStore(Store, LogStore):
    """The store, and the log store of the same file (a log line's attempt must exist)."""

    def __init__(self, path: str | Path, clock: Clock = time.time) -> None:
        if str(path) == ":memory:" or str(path).startswith("file::memory:"):
            # The store has several connections (see ConnectionPool), and each
            # connection to ":memory:" would be a different, empty database.
            raise ValueError("SqliteStore needs a file path; in tests use a file in tmp_path")
        self._clock = clock
        self._connections = ConnectionPool(str(path))
        with self._connections.writer() as conn:
            use_wal(conn)
            migrate(conn)

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._connections.close_all()

    # --- namespaces ----------------------------------------------------------------
    def list_namespaces(self) -> list[str]:
        # UNION (not UNION ALL) leaves each namespace once.
        rows = self._rows(
            "SELECT namespace FROM components"
            f" UNION SELECT namespace FROM workflows WHERE {_NOT_DELETED}"
            " ORDER BY namespace"
        )
        return [row["namespace"] for row in rows]

    def component_namespaces(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT namespace FROM components ORDER BY namespace")
        return [row["namespace"] for row in rows]

    # --- components ----------------------------------------------------------------
    def put_component(self, component: Component) -> None:
        m = component.metadata
        key = (m.namespace, m.name, m.version)
        document = _canonical(component)
        inserted = self._change(
            "INSERT INTO components (namespace, name, version, document, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (*key, document, self._clock()),
        )
        if inserted:
            return
        stored = self._row(
            "SELECT document FROM components WHERE namespace = ? AND name = ? AND version = ?",
            key,
        )
        # Parse and dump again so a default added since it was stored is not a difference.
        # (The row is there: the insert met it, and components are never deleted.)
        if stored is None or _canonical(Component.model_validate_json(stored["document"])) != document:
            raise Conflict(messages.immutable_component(component.ref))

    def get_component(self, namespace: str, name: str, version: str) -> Component:
        return self.get_component_entry(namespace, name, version).component

    def list_components(
        self, namespace: str | None = None, name: str | None = None
    ) -> list[Component]:
        return [entry.component for entry in self.list_component_entries(namespace, name)]

    def get_component_entry(self, namespace: str, name: str, version: str) -> StoredComponent:
        row = self._row(
            "SELECT * FROM components WHERE namespace = ? AND name = ? AND version = ?",
            (namespace, name, version),
        )
        if row is None:
            raise NotFound(messages.unknown_component(namespace, name, version))
        return stored_component_from_row(row)

    def list_component_entries(
        self, namespace: str | None = None, name: str | None = None, *,
        include_deprecated: bool = True,
    ) -> list[StoredComponent]:
        """A filter that matches nothing gives an empty list, not NotFound."""
        conditions, args = _equalities(namespace=namespace, name=name)
        if not include_deprecated:
            conditions.append("deprecated = 0")
        rows = self._rows(f"SELECT * FROM components {_where(conditions)}", args)
        # Version order is not text order (1.10.0 after 1.2.0), so the sort is ours.
        rows.sort(key=lambda r: (r["namespace"], r["name"], version_order(r["version"])))
        return [stored_component_from_row(row) for row in rows]

    def set_component_deprecated(
        self, namespace: str, name: str, version: str, deprecated: bool
    ) -> StoredComponent:
        key = (namespace, name, version)
        with self._write() as conn:
            conn.execute(
                "UPDATE components SET deprecated = ?"
                " WHERE namespace = ? AND name = ? AND version = ?",
                (int(deprecated), *key),
            )
            row = conn.execute(
                "SELECT * FROM components WHERE namespace = ? AND name = ? AND version = ?", key
            ).fetchone()
            if row is None:
                raise NotFound(messages.unknown_component(*key))
        return stored_component_from_row(row)

    # --- workflows -----------------------------------------------------------------
    def save_workflow(self, workflow: Workflow, expected_version: int | None = None) -> int:
        """The first version also makes the workflow's settings (enabled, a new webhook
        secret). Saving a deleted workflow as new (expected_version 0 or None) revives it
        with its settings as they were and the next version number: numbers are never
        reused, so a run pinned to an old version never reads a different definition."""
        key = (workflow.metadata.namespace, workflow.metadata.name)
        document = _canonical(workflow)
        with self._write() as conn:
            latest: int = conn.execute(
                "SELECT coalesce(max(version), 0) FROM workflows WHERE namespace = ? AND name = ?",
                key,
            ).fetchone()[0]
            settings = conn.execute(
                "SELECT deleted FROM workflow_settings WHERE namespace = ? AND name = ?", key
            ).fetchone()
            deleted = settings is not None and bool(settings["deleted"])
            if expected_version is not None and expected_version != (0 if deleted else latest):
                raise Conflict(
                    messages.stale_workflow(workflow.ref, expected_version, latest, deleted)
                )
            conn.execute(
                "INSERT INTO workflows (namespace, name, version, document, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (*key, latest + 1, document, self._clock()),
            )
            sqlite_triggers.file_version(conn, workflow, latest + 1)
            if settings is None:
                conn.execute(
                    "INSERT INTO workflow_settings (namespace, name, enabled, webhook_secret,"
                    " deleted) VALUES (?, ?, 1, ?, 0)",
                    (*key, secrets.token_hex(WEBHOOK_SECRET_BYTES)),
                )
            elif deleted:
                conn.execute(
                    "UPDATE workflow_settings SET deleted = 0 WHERE namespace = ? AND name = ?",
                    key,
                )
        return latest + 1

    def get_workflow(
        self, namespace: str, name: str, version: int | None = None
    ) -> StoredWorkflow:
        sql = "SELECT * FROM workflows WHERE namespace = ? AND name = ?"
        if version is None:
            row = self._row(
                f"{sql} AND {_NOT_DELETED} ORDER BY version DESC LIMIT 1", (namespace, name)
            )
        else:
            row = self._row(f"{sql} AND version = ?", (namespace, name, version))
        if row is None:
            raise NotFound(messages.unknown_workflow(namespace, name, version))
        return stored_workflow_from_row(row)

    def list_workflows(self, namespace: str | None = None) -> list[StoredWorkflow]:
        conditions, args = _equalities(namespace=namespace)
        conditions.append(_NOT_DELETED)
        # SQLite takes the bare columns of a max() aggregate from the row holding the max.
        rows = self._rows(
            "SELECT namespace, name, max(version) AS version, document, created_at FROM"
            f" workflows {_where(conditions)} GROUP BY namespace, name ORDER BY namespace, name",
            args,
        )
        return [stored_workflow_from_row(row) for row in rows]

    def list_workflow_versions(self, namespace: str, name: str) -> list[WorkflowVersion]:
        # One read: a live workflow has at least one version, so no rows means unknown or deleted.
        rows = self._rows(
            "SELECT version, created_at FROM workflows WHERE namespace = ? AND name = ?"
            f" AND {_NOT_DELETED} ORDER BY version DESC",
            (namespace, name),
        )
        if not rows:
            raise NotFound(messages.unknown_workflow(namespace, name))
        return [WorkflowVersion(int(row["version"]), float(row["created_at"])) for row in rows]

    def get_workflow_settings(self, namespace: str, name: str) -> WorkflowSettings:
        row = self._row(
            "SELECT * FROM workflow_settings WHERE namespace = ? AND name = ? AND deleted = 0",
            (namespace, name),
        )
        if row is None:
            raise NotFound(messages.unknown_workflow(namespace, name))
        return workflow_settings_from_row(row)

    def set_workflow_enabled(self, namespace: str, name: str, enabled: bool) -> WorkflowSettings:
        with self._write() as conn:
            self._update_live_workflow(conn, namespace, name, "enabled = ?", int(enabled))
            row = conn.execute(
                "SELECT * FROM workflow_settings WHERE namespace = ? AND name = ?",
                (namespace, name),
            ).fetchone()
        return workflow_settings_from_row(row)

    def delete_workflow(self, namespace: str, name: str) -> None:
        with self._write() as conn:
            self._update_live_workflow(conn, namespace, name, "deleted = 1")
            sqlite_triggers.forget_workflow(conn, namespace, name)

    @staticmethod
    def _update_live_workflow(
        conn: sqlite3.Connection, namespace: str, name: str, assignment: str, *args: Any
    ) -> None:
        """Update the settings of a workflow that exists and is not deleted, else NotFound."""
        updated = conn.execute(
            f"UPDATE workflow_settings SET {assignment}"
            " WHERE namespace = ? AND name = ? AND deleted = 0",
            (*args, namespace, name),
        ).rowcount
        if not updated:
            raise NotFound(messages.unknown_workflow(namespace, name))

    # --- triggers ------------------------------------------------------------------
    def claim_event(self, key: str, now: float) -> bool:
        # The primary key decides: of two claims racing in any processes, one inserts.
        with self._write() as conn:
            return sqlite_marks.claim(conn, key, now)

    def get_schedule_mark(self, namespace: str, name: str, schedule: str) -> float | None:
        row = self._row(sqlite_marks.GET_MARK, (namespace, name, schedule))
        return None if row is None else float(row["tick"])

    def set_schedule_mark(self, namespace: str, name: str, schedule: str, tick: float) -> None:
        with self._write() as conn:
            conn.execute(sqlite_marks.SET_MARK, (namespace, name, schedule, tick))

    def advance_schedule_mark(self, namespace: str, name: str, schedule: str,
                              expected: float | None, tick: float) -> bool:
        key = (namespace, name, schedule)
        with self._write() as conn:  # the write lock is held from the read to the write
            row = conn.execute(sqlite_marks.GET_MARK, key).fetchone()
            if (None if row is None else float(row["tick"])) != expected:
                return False
            conn.execute(sqlite_marks.SET_MARK, (*key, tick))
        return True

    def workflows_triggered_by(
        self, kind: TriggerKind, source: str = EVERY_SCHEDULE
    ) -> list[TriggeredWorkflow]:
        with self._read() as conn:
            return sqlite_triggers.triggered_by(conn, kind, source)

    # --- concurrency -----------------------------------------------------------------
    def take_run_slot(self, namespace: str, workflow: str, run_id: str, limit: int) -> bool:
        # The write transaction holds the write lock from its first read (BEGIN IMMEDIATE),
        # so no other thread or process can take a slot between the count and the insert.
        check_run_slot_limit(limit)
        key = (namespace, workflow)
        with self._write() as conn:
            if conn.execute(_SLOT_HELD, (*key, run_id)).fetchone():
                return True
            held: int = conn.execute(
                "SELECT count(*) FROM run_slots WHERE namespace = ? AND workflow = ?", key
            ).fetchone()[0]
            if held >= limit:
                return False
            conn.execute(
                "INSERT INTO run_slots (namespace, workflow, run_id) VALUES (?, ?, ?)",
                (*key, run_id),
            )
        return True

    def free_run_slot(self, namespace: str, workflow: str, run_id: str) -> None:
        self._change(
            "DELETE FROM run_slots WHERE namespace = ? AND workflow = ? AND run_id = ?",
            (namespace, workflow, run_id),
        )

    # --- runs ----------------------------------------------------------------------
    def create_run(self, run: RunRecord, jobs: Sequence[JobRecord]) -> None:
        strays = sorted({job.run_id for job in jobs} - {run.id})
        if strays:
            raise ValueError(messages.run_names_other_runs(run.id, strays))
        for job in jobs:
            if is_instance_record(job):
                check_instance_record(job)
        try:
            with self._write() as conn:
                if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run.id,)).fetchone():
                    raise Conflict(messages.run_exists(run.id))
                conn.execute(INSERT_RUN, run_values(run))
                conn.executemany(UPSERT_JOB, [job_values(job) for job in jobs])
        except sqlite3.IntegrityError as exc:
            if _is_missing_parent(exc):
                raise
            raise Conflict(f"run {run.id} lists a job twice: {exc}") from exc

    def get_run(self, run_id: str) -> RunRecord:
        row = self._row("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise NotFound(messages.unknown_run(run_id))
        return run_from_row(row)

    def save_run(self, run: RunRecord, expected: RunState | None = None) -> None:
        if expected is None:
            self._change(UPSERT_RUN, run_values(run))
            return
        with self._write() as conn:
            found = conn.execute("SELECT status FROM runs WHERE id = ?", (run.id,)).fetchone()
            _expect(found and RunState(found[0]), expected, f"run {run.id}")
            conn.execute(UPSERT_RUN, run_values(run))

    def request_cancel(self, run_id: str) -> RunRecord:
        with self._write() as conn:
            conn.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFound(messages.unknown_run(run_id))
        return run_from_row(row)

    def list_runs(self, run_filter: RunFilter = ALL_RUNS) -> RunPage:
        """Newest first, one page at a time: the cursor is the last run's (created_at, id),
        so a page is an index range scan however deep it is (no OFFSET). `created_after`
        is inclusive and `created_before` exclusive."""
        f = run_filter
        limit = max(1, min(f.limit, MAX_RUNS_PAGE))
        conditions, args = _equalities(namespace=f.namespace, workflow=f.workflow)
        if f.created_after is not None:
            conditions.append("created_at >= ?")
            args.append(f.created_after)
        if f.created_before is not None:
            conditions.append("created_at < ?")
            args.append(f.created_before)
        if f.cursor is not None:
            conditions.append("(created_at, id) < (?, ?)")
            args.extend(_decode_cursor(f.cursor))
        statuses = list(dict.fromkeys(RunState(status).value for status in f.statuses))
        with self._read() as conn:
            if not statuses:
                found = _runs_page(conn, conditions, args, limit + 1)
            else:
                # One index range per status (see the indexes), merged: an IN (...) would
                # make SQLite sort every matching run before it could return a page.
                found = [
                    run
                    for status in statuses
                    for run in _runs_page(
                        conn, [*conditions, "status = ?"], [*args, status], limit + 1
                    )
                ]
        # Sorted here in every case: the order of SQLite's JSON aggregate is not promised.
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        runs = found[:limit]
        next_cursor = _encode_cursor(runs[-1]) if len(found) > limit else None
        return RunPage(runs=runs, next_cursor=next_cursor)

    def save_job(self, job: JobRecord, expected: JobState | None = None) -> None:
        if is_instance_record(job):
            self._save_instance(job, expected)
            return
        try:
            if expected is None:
                self._change(UPSERT_JOB, job_values(job))
                return
            with self._write() as conn:
                found = conn.execute(
                    "SELECT status FROM jobs WHERE run_id = ? AND name = ?", (job.run_id, job.name)
                ).fetchone()
                _expect(found and JobState(found[0]), expected,
                        f"job {job.name} of run {job.run_id}")
                conn.execute(UPSERT_JOB, job_values(job))
        except sqlite3.IntegrityError as exc:
            if not _is_missing_parent(exc):
                raise
            raise NotFound(messages.job_of_unknown_run(job.run_id, job.name)) from exc

    def _save_instance(self, record: JobRecord, expected: JobState | None) -> None:
        """As save_job; a new instance's group must exist (as create_instance says)."""
        group, _ = check_instance_record(record)
        with self._write() as conn:
            found = conn.execute(
                "SELECT status FROM jobs WHERE run_id = ? AND name = ?", (record.run_id, record.name)
            ).fetchone()
            if expected is not None:
                _expect(found and JobState(found[0]), expected,
                        f"job {record.name} of run {record.run_id}")
            elif found is None:
                sqlite_instances.check_group(conn, record.run_id, group)
            conn.execute(UPSERT_JOB, job_values(record))

    def get_job(self, run_id: str, name: str) -> JobRecord:
        row = self._row("SELECT * FROM jobs WHERE run_id = ? AND name = ?", (run_id, name))
        if row is None:
            if self._row("SELECT 1 FROM runs WHERE id = ?", (run_id,)) is None:
                raise NotFound(messages.unknown_run(run_id))
            raise NotFound(messages.unknown_job(run_id, name))
        return job_from_row(row)

    def list_jobs(self, run_id: str) -> list[JobRecord]:
        rows = self._rows(
            "SELECT * FROM jobs WHERE run_id = ? AND grp IS NULL ORDER BY stage, action, position",
            (run_id,),
        )
        return [job_from_row(row) for row in rows]

    # --- fan-out instances -------------------------------------------------------------
    def create_instance(self, record: JobRecord) -> None:
        group, _ = check_instance_record(record)
        with self._write() as conn:
            sqlite_instances.create(conn, record, group)

    def list_instances(
        self, run_id: str, job: str, *, states: Sequence[JobState] | None = None,
        order: InstanceOrder | str = InstanceOrder.INDEX, cursor: str | None = None,
        limit: int = 100,
    ) -> InstancePage:
        with self._read() as conn:  # the counts and the reads see one snapshot
            return read_page(
                phases(order, states), cursor, limit,
                lambda wanted, after, n: sqlite_instances.read(conn, run_id, job, wanted, after, n),
                sqlite_instances.counts(conn, run_id, job),
            )

    def instance_counts(self, run_id: str, job: str) -> dict[JobState, int]:
        with self._connections.connection() as conn:
            return sqlite_instances.counts(conn, run_id, job)

    def list_job_attempts(self, run_id: str) -> list[AttemptRecord]:
        # Job names hold no '.', instance keys one: the filter runs inside the range scan.
        rows = self._rows(
            "SELECT * FROM attempts WHERE run_id = ? AND instr(job, '.') = 0 ORDER BY job, number",
            (run_id,),
        )
        return [attempt_from_row(row) for row in rows]

    def create_attempt(self, attempt: AttemptRecord) -> None:
        try:
            with self._write() as conn:
                if conn.execute(_ATTEMPT_STATUS, _attempt_key(attempt)).fetchone():
                    raise Conflict(messages.attempt_exists(*_attempt_key(attempt)))
                conn.execute(INSERT_ATTEMPT, attempt_values(attempt))
        except sqlite3.IntegrityError as exc:
            self._attempt_error(attempt, exc)

    def save_attempt(self, attempt: AttemptRecord, expected: AttemptState | None = None) -> None:
        try:
            if expected is None:
                self._change(UPSERT_ATTEMPT, attempt_values(attempt))
                return
            with self._write() as conn:
                found = conn.execute(_ATTEMPT_STATUS, _attempt_key(attempt)).fetchone()
                _expect(found and AttemptState(found[0]), expected,
                        f"attempt {attempt.number} of job {attempt.job} in run {attempt.run_id}")
                conn.execute(UPSERT_ATTEMPT, attempt_values(attempt))
        except sqlite3.IntegrityError as exc:
            self._attempt_error(attempt, exc)

    @staticmethod
    def _attempt_error(attempt: AttemptRecord, exc: sqlite3.IntegrityError) -> None:
        if not _is_missing_parent(exc):
            raise exc
        raise NotFound(
            messages.attempt_of_unknown_job(attempt.run_id, attempt.job, attempt.number)
        ) from exc

    def get_attempt(self, run_id: str, job: str, number: int) -> AttemptRecord:
        row = self._row(
            "SELECT * FROM attempts WHERE run_id = ? AND job = ? AND number = ?",
            (run_id, job, number),
        )
        if row is None:
            raise NotFound(f"attempt {number} of job {job} in run {run_id} not found")
        return attempt_from_row(row)

    def list_attempts(self, run_id: str, job: str | None = None) -> list[AttemptRecord]:
        conditions, args = _equalities(run_id=run_id, job=job)
        rows = self._rows(f"SELECT * FROM attempts {_where(conditions)} ORDER BY job, number", args)
        return [attempt_from_row(row) for row in rows]

    def find_attempt_by_container(self, container_id: str) -> AttemptRecord | None:
        """One index lookup on the task id; the whole id must match too when given. Of
        several attempts holding one task (none should) the last one inserted."""
        task = container_task_id(container_id)
        if not task:
            return None
        row = self._row(
            "SELECT * FROM attempts WHERE container_task = ? AND ? IN (container_id, container_task)"
            " ORDER BY rowid DESC LIMIT 1",
            (task, container_id),
        )
        return None if row is None else attempt_from_row(row)

    # --- logs ----------------------------------------------------------------------
    def append_logs(
        self, run_id: str, job: str, attempt: int, entries: Sequence[LogEntry]
    ) -> list[LogLine]:
        """Numbers the lines inside the write transaction, after the attempt's last stored
        line: writers queue for the write lock, so each sees the other's lines."""
        if not entries:
            return []
        try:
            with self._write() as conn:
                last: int = conn.execute(
                    "SELECT coalesce(max(seq), 0) FROM log_lines"
                    " WHERE run_id = ? AND job = ? AND attempt = ?",
                    (run_id, job, attempt),
                ).fetchone()[0]
                lines = [
                    LogLine(run_id, job, attempt, last + i, entry.time, entry.text,
                            entry.is_cout, entry.source_time, entry.stream)
                    for i, entry in enumerate(entries, start=1)
                ]
                conn.executemany(INSERT_LOG_LINE, [
                    (run_id, job, attempt, line.seq, line.time, line.text, int(line.is_cout),
                     line.source_time, line.stream)
                    for line in lines
                ])
        except sqlite3.IntegrityError as exc:
            if not _is_missing_parent(exc):
                raise
            raise NotFound(f"attempt {attempt} of job {job} in run {run_id} not found") from exc
        return lines

    def read_log_batch(
        self, run_id: str, job: str, attempt: int, after: LogPosition = LOG_START,
        limit: int = 1000,
    ) -> LogBatch:
        row = self._row(
            _READ_LOGS, (run_id, job, attempt, after.seq, max(0, min(limit, MAX_LOG_LINES_READ)))
        )
        page = json.loads(row[0]) if row is not None else []
        page.sort(key=lambda values: values[0])  # the aggregate's order is not promised
        lines = [
            LogLine(run_id, job, attempt, seq, float(at), text, bool(is_cout), source_time, stream)
            for seq, at, text, is_cout, source_time, stream in page
        ]
        return LogBatch(lines, LogPosition(lines[-1].seq) if lines else LogPosition(after.seq))

    def last_log_line(self, run_id: str, job: str, attempt: int) -> LogLine | None:
        row = self._row(
            "SELECT * FROM log_lines WHERE run_id = ? AND job = ? AND attempt = ?"
            " ORDER BY seq DESC LIMIT 1",
            (run_id, job, attempt),
        )
        return None if row is None else log_line_from_row(row)

    # --- transactions --------------------------------------------------------------
    @contextmanager
    def atomically(self) -> Iterator[None]:
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. IMMEDIATE takes the write lock before the first read, so a
        read-then-write (the next workflow version) cannot interleave with another writer,
        and waiting for the lock honours the busy timeout instead of failing at once. Inside
        `atomically` the writes join its transaction."""
        with self._connections.writer() as conn:
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            with _rollback_on_error(conn):
                yield conn
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """Several reads that see one snapshot."""
        with self._connections.connection() as conn:
            conn.execute("BEGIN")
            with _rollback_on_error(conn):
                yield conn
            conn.execute("COMMIT")

    def _rows(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._connections.connection() as conn:
            return conn.execute(sql, args).fetchall()

    def _row(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._connections.connection() as conn:
            row: sqlite3.Row | None = conn.execute(sql, args).fetchone()
            return row

    def _change(self, sql: str, args: Sequence[Any] | dict[str, Any]) -> int:
        """One write statement on its own (autocommit); how many rows it changed."""
        with self._connections.writer() as conn:
            changed: int = conn.execute(sql, args).rowcount
            return changed


@contextmanager
def _rollback_on_error(conn: sqlite3.Connection) -> Iterator[None]:
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
            conn.execute("ROLLBACK")
        raise


# --- helpers ---------------------------------------------------------------------------

def _is_missing_parent(exc: sqlite3.IntegrityError) -> bool:
    return exc.sqlite_errorname == "SQLITE_CONSTRAINT_FOREIGNKEY"


_SLOT_HELD = "SELECT 1 FROM run_slots WHERE namespace = ? AND workflow = ? AND run_id = ?"
_ATTEMPT_STATUS = "SELECT status FROM attempts WHERE run_id = ? AND job = ? AND number = ?"


def _attempt_key(attempt: AttemptRecord) -> tuple[str, str, int]:
    return attempt.run_id, attempt.job, attempt.number


def _expect(actual: StrEnum | None, expected: StrEnum, what: str) -> None:
    """Refuse a conditional change when the stored state is not the one the writer read."""
    if actual != expected:
        raise StaleWrite(messages.stale_state(what, actual, expected))


# A page of log lines as one JSON array built by SQLite: one step instead of one per line.
# sqlite3 lets go of the GIL at every step and must win it back, so with other threads busy a
# 1000-line page waited for the GIL a thousand times. '%!.17g' keeps every bit of the time.
_READ_LOGS = (
    "SELECT json_group_array("
    "json_array(seq, printf('%!.17g', time), text, is_cout, source_time, stream))"
    " FROM (SELECT seq, time, text, is_cout, source_time, stream FROM log_lines"
    " WHERE run_id = ? AND job = ? AND attempt = ? AND seq > ? ORDER BY seq LIMIT ?)"
)


def _runs_page(
    conn: sqlite3.Connection, conditions: list[str], args: list[Any], limit: int
) -> list[RunRecord]:
    """The page as one JSON array built by SQLite (see _READ_LOGS)."""
    row = conn.execute(
        f"SELECT json_group_array({RUN_VALUES_JSON}) FROM (SELECT * FROM runs"
        f" {_where(conditions)} ORDER BY created_at DESC, id DESC LIMIT ?)",
        [*args, limit],
    ).fetchone()
    return [run_from_values(values) for values in json.loads(row[0])]


def _equalities(**filters: str | None) -> tuple[list[str], list[Any]]:
    """`column = ?` for each filter that is set (column names are ours, never input)."""
    given = {column: value for column, value in filters.items() if value is not None}
    return [f"{column} = ?" for column in given], list(given.values())


def _where(conditions: Sequence[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def _canonical(model: Component | Workflow) -> str:
    """A component as stored: sorted keys, so that publishing the same document twice is
    the same text. A workflow keeps its keys in the order written: a matrix's axes are
    ordered (they number its instances), and `data` reads as the user wrote it."""
    document = model.model_dump(mode="json", by_alias=True)
    return json.dumps(document, sort_keys=isinstance(model, Component), separators=(",", ":"))


def _encode_cursor(last: RunRecord) -> str:
    raw = json.dumps([last.created_at, last.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, run_id = json.loads(raw)
        return float(created_at), str(run_id)
    except (ValueError, TypeError) as exc:
        raise ValueError(messages.bad_run_cursor(cursor)) from exc
