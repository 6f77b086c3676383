"""The SQLite store's tables and indexes, the migration that brings a file up to date, and
how the run records map onto rows.

`PRAGMA user_version` records which `MIGRATIONS` a database file has had; opening a file
applies the missing ones in one write transaction, so two processes opening a new file at
once cannot both create it. A file written by a newer ContainerOps is refused rather than
guessed at.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord, LogLine, RerunScope, RunRecord
from chalicelib.store.base import StoredComponent, StoredWorkflow, WorkflowSettings
from chalicelib.store.sqlite_marks import migrate_to_v6

_V1 = """
CREATE TABLE IF NOT EXISTS components (
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at REAL NOT NULL,
    deprecated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, name, version)
);

CREATE TABLE IF NOT EXISTS workflows (
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (namespace, name, version)
);

-- What a workflow has besides its versions; the row is made with its first version. A
-- deleted workflow keeps its row (and its versions, which pinned runs still read) so that
-- saving it again goes on from the next version number.
CREATE TABLE IF NOT EXISTS workflow_settings (
    namespace      TEXT NOT NULL,
    name           TEXT NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 1,
    webhook_secret TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, name)
);

-- Trigger deliveries already acted on (webhook delivery ids, EventBridge event ids): the
-- primary key makes a claim atomic across processes. claimed_at allows pruning old keys.
CREATE TABLE IF NOT EXISTS events (
    key        TEXT PRIMARY KEY,
    claimed_at REAL NOT NULL
);

-- The last schedule tick acted on, per workflow trigger (its index in spec.triggers; since
-- V6, per schedule key instead).
CREATE TABLE IF NOT EXISTS schedule_marks (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    "trigger" INTEGER NOT NULL,
    tick      REAL NOT NULL,
    PRIMARY KEY (namespace, name, "trigger")
);

CREATE TABLE IF NOT EXISTS runs (
    id               TEXT PRIMARY KEY,
    namespace        TEXT NOT NULL,
    workflow         TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    status           TEXT NOT NULL,
    created_at       REAL NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    params           TEXT NOT NULL,
    "trigger"        TEXT NOT NULL,
    reason           TEXT NOT NULL,
    rerun_of         TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);

-- The run history is read newest first under any mix of filters; each index below ends
-- in (created_at, id) so every combination is one ordered range scan that stops after a
-- page (keyset pagination), whatever the table size. A filter on several statuses is one
-- such scan per status, merged by the store.
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (created_at, id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at, id);
CREATE INDEX IF NOT EXISTS runs_by_namespace ON runs (namespace, created_at, id);
CREATE INDEX IF NOT EXISTS runs_by_namespace_status
    ON runs (namespace, status, created_at, id);
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (namespace, workflow, created_at, id);
CREATE INDEX IF NOT EXISTS runs_by_workflow_status
    ON runs (namespace, workflow, status, created_at, id);
-- A workflow name given without its namespace.
CREATE INDEX IF NOT EXISTS runs_by_workflow_name ON runs (workflow, created_at, id);
CREATE INDEX IF NOT EXISTS runs_by_workflow_name_status
    ON runs (workflow, status, created_at, id);

CREATE TABLE IF NOT EXISTS jobs (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    stage       INTEGER NOT NULL,
    action      INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    outputs     TEXT NOT NULL,
    exit_code   INTEGER,
    attempts    INTEGER NOT NULL,
    started_at  REAL,
    finished_at REAL,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE IF NOT EXISTS attempts (
    run_id        TEXT NOT NULL,
    job           TEXT NOT NULL,
    number        INTEGER NOT NULL,
    status        TEXT NOT NULL,
    container_id  TEXT,
    exit_code     INTEGER,
    reason        TEXT NOT NULL,
    outputs       TEXT NOT NULL,
    ready_at      REAL,
    started_at    REAL,
    finished_at   REAL,
    log_bytes     INTEGER NOT NULL,
    log_truncated INTEGER NOT NULL,
    stdout_bytes  INTEGER NOT NULL DEFAULT 0,
    stderr_bytes  INTEGER NOT NULL DEFAULT 0,
    reported_result INTEGER,
    PRIMARY KEY (run_id, job, number),
    FOREIGN KEY (run_id, job) REFERENCES jobs (run_id, name) ON DELETE CASCADE
);

-- The primary key is the read cursor: (attempt, seq > n) is one range scan.
CREATE TABLE IF NOT EXISTS log_lines (
    run_id      TEXT NOT NULL,
    job         TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    time        REAL NOT NULL,
    text        TEXT NOT NULL,
    is_cout     INTEGER NOT NULL,
    source_time TEXT NOT NULL,
    PRIMARY KEY (run_id, job, attempt, seq),
    FOREIGN KEY (run_id, job, attempt)
        REFERENCES attempts (run_id, job, number) ON DELETE CASCADE
) WITHOUT ROWID;
"""

# The first output limit an attempt broke, kept so a restarted driver still fails it.
_V2 = """
ALTER TABLE attempts ADD COLUMN output_violation TEXT NOT NULL DEFAULT '';
"""

# aws mode's callback token and log position (unused by the local driver, kept for parity).
_V3 = """
ALTER TABLE attempts ADD COLUMN task_token TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN log_position TEXT NOT NULL DEFAULT '';
"""

# A workflow's run slots (its `concurrency`), one row per run holding one: the primary key
# makes a run hold at most one, and its (namespace, workflow) prefix counts the holders.
# Attempts found by their container: `container_task` is what follows the last '/' of
# container_id (the task id of an ECS task ARN, all a log stream name carries; a Docker id
# is its own), computed by SQLite (rtrim strips the characters after the last '/') and
# indexed, so old rows need no rewrite and no writer can forget it. The index is partial:
# attempts without a container (most of them, locally queued ones) are not in it.
_V4 = """
CREATE TABLE IF NOT EXISTS run_slots (
    namespace TEXT NOT NULL,
    workflow  TEXT NOT NULL,
    run_id    TEXT NOT NULL,
    PRIMARY KEY (namespace, workflow, run_id)
) WITHOUT ROWID;

ALTER TABLE attempts ADD COLUMN container_task TEXT GENERATED ALWAYS AS (
    substr(container_id, length(rtrim(container_id, replace(container_id, '/', ''))) + 1)
) VIRTUAL;
CREATE INDEX IF NOT EXISTS attempts_by_container_task ON attempts (container_task)
    WHERE container_task IS NOT NULL;
"""

# The trigger index (Store.workflows_triggered_by): the (kind, source) keys of each
# workflow's latest version (domain.triggers.index_keys: an S3 bucket, a CodeCommit
# repository, '' for every schedule), rewritten in the transaction that saves a version
# and removed with a delete; whether the workflow is enabled is read from its settings at
# lookup. The primary key makes a lookup one range scan of the workflows it finds. The
# INSERT fills the index from the latest versions already stored, as index_keys reads
# their triggers today.
_V5 = """
CREATE TABLE IF NOT EXISTS workflow_triggers (
    kind      TEXT NOT NULL,
    source    TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (kind, source, namespace, name)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS workflow_triggers_by_workflow ON workflow_triggers (namespace, name);

INSERT OR IGNORE INTO workflow_triggers (kind, source, namespace, name, version)
SELECT json_extract(t.value, '$.type'),
       CASE json_extract(t.value, '$.type')
           WHEN 's3' THEN json_extract(t.value, '$.bucket')
           WHEN 'codecommit' THEN json_extract(t.value, '$.repository')
           ELSE '' END,
       w.namespace, w.name, w.version
FROM workflows AS w, json_each(w.document, '$.spec.triggers') AS t
WHERE json_extract(t.value, '$.type') IN ('s3', 'codecommit', 'schedule')
  AND NOT EXISTS (SELECT 1 FROM workflow_settings AS s
                  WHERE s.namespace = w.namespace AND s.name = w.name AND s.deleted)
  AND w.version = (SELECT max(l.version) FROM workflows AS l
                   WHERE l.namespace = w.namespace AND l.name = w.name);
"""

# Event claims indexed by when they were claimed (they are pruned after their retention)
# and schedule marks kept by the schedule's identity, not its position: Python, because the
# keys are `domain.triggers.schedule_key`'s (chalicelib/store/sqlite_marks.py).
_V6 = migrate_to_v6

# The stream each log line was written to ('stdout', 'stderr'; '' for notes and for lines
# stored before streams were kept).
_V7 = """
ALTER TABLE log_lines ADD COLUMN stream TEXT NOT NULL DEFAULT '';
"""

# What a re-run runs again (RerunScope.as_document as JSON); NULL for a run that is no
# re-run and for the re-runs stored before (each of them from failure: engine.rerun.scope_of).
_V8 = """
ALTER TABLE runs ADD COLUMN rerun_scope TEXT;
"""

# Fan-out (design §2): an instance record names its group (the fan-out job) and its index;
# both NULL for a job of the workflow. The first index pages a group's instances by state
# in index order and counts them per state (GROUP BY on the index alone); the second pages
# them in index order whatever their state. Rows of workflow jobs (grp NULL) sit apart in
# both, so list_jobs reads no instance.
_V9 = """
ALTER TABLE jobs ADD COLUMN grp TEXT;
ALTER TABLE jobs ADD COLUMN instance INTEGER;
CREATE INDEX IF NOT EXISTS jobs_by_group_status ON jobs (run_id, grp, status, instance);
CREATE INDEX IF NOT EXISTS jobs_by_group ON jobs (run_id, grp, instance);
"""

# A script, or a function that runs inside the migration's transaction.
Migration = str | Callable[[sqlite3.Connection], None]

# MIGRATIONS[n] takes a database from user_version n to n + 1. Append; never edit one.
MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The file was written by a newer ContainerOps than this one."""


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database on `conn` (in autocommit mode) up to SCHEMA_VERSION."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database has schema version {current}, but this ContainerOps knows "
                f"only up to {SCHEMA_VERSION}: upgrade ContainerOps"
            )
        for migration in MIGRATIONS[current:]:
            if callable(migration):
                migration(conn)
                continue
            for statement in _statements(migration):
                conn.execute(statement)
        # PRAGMA takes no bound parameters; SCHEMA_VERSION is our own integer.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction first, so run the statements one by one.
    # Comment lines go first (they may hold ';'); no statement holds a ';' of its own.
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in code.split(";") if part.strip()]


# --- rows ------------------------------------------------------------------------------

def stored_component_from_row(row: sqlite3.Row) -> StoredComponent:
    return StoredComponent(
        component=Component.model_validate_json(row["document"]),
        deprecated=bool(row["deprecated"]),
        created_at=row["created_at"],
    )


def stored_workflow_from_row(row: sqlite3.Row) -> StoredWorkflow:
    return StoredWorkflow(
        workflow=Workflow.model_validate_json(row["document"]),
        version=row["version"],
        created_at=row["created_at"],
    )


def workflow_settings_from_row(row: sqlite3.Row) -> WorkflowSettings:
    return WorkflowSettings(enabled=bool(row["enabled"]), webhook_secret=row["webhook_secret"])


RUN_COLUMNS = (
    "id", "namespace", "workflow", "workflow_version", "status", "created_at", "started_at",
    "finished_at", "params", "trigger", "reason", "rerun_of", "cancel_requested", "rerun_scope",
)
JOB_COLUMNS = (
    "run_id", "name", "stage", "action", "position", "status", "reason", "outputs",
    "exit_code", "attempts", "started_at", "finished_at", "grp", "instance",
)
ATTEMPT_COLUMNS = (
    "run_id", "job", "number", "status", "container_id", "exit_code", "reason", "outputs",
    "ready_at", "started_at", "finished_at", "log_bytes", "log_truncated",
    "stdout_bytes", "stderr_bytes", "reported_result", "output_violation", "task_token",
    "log_position",
)


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + c for c in columns)})"


def _upsert_sql(
    table: str, columns: Sequence[str], key: Sequence[str], keep: Sequence[str] = ()
) -> str:
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in (*key, *keep))
    return f"{_insert_sql(table, columns)} ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"


INSERT_RUN = _insert_sql("runs", RUN_COLUMNS)
# cancel_requested is kept: only request_cancel sets it, so a runner cannot undo a cancel.
UPSERT_RUN = _upsert_sql("runs", RUN_COLUMNS, key=("id",), keep=("cancel_requested",))
UPSERT_JOB = _upsert_sql("jobs", JOB_COLUMNS, key=("run_id", "name"))
INSERT_JOB = _insert_sql("jobs", JOB_COLUMNS)
UPSERT_ATTEMPT = _upsert_sql("attempts", ATTEMPT_COLUMNS, key=("run_id", "job", "number"))
INSERT_ATTEMPT = _insert_sql("attempts", ATTEMPT_COLUMNS)
INSERT_LOG_LINE = (
    "INSERT INTO log_lines (run_id, job, attempt, seq, time, text, is_cout, source_time, stream)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def run_values(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id, "namespace": run.namespace, "workflow": run.workflow,
        "workflow_version": run.workflow_version, "status": run.status.value,
        "created_at": run.created_at, "started_at": run.started_at,
        "finished_at": run.finished_at, "params": json.dumps(run.params),
        "trigger": json.dumps(run.trigger), "reason": run.reason, "rerun_of": run.rerun_of,
        "cancel_requested": int(run.cancel_requested),
        "rerun_scope": _scope_text(run.rerun_scope),
    }


def run_from_row(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"], namespace=row["namespace"], workflow=row["workflow"],
        workflow_version=row["workflow_version"], status=RunState(row["status"]),
        created_at=row["created_at"], params=json.loads(row["params"]),
        trigger=json.loads(row["trigger"]), started_at=row["started_at"],
        finished_at=row["finished_at"], reason=row["reason"], rerun_of=row["rerun_of"],
        cancel_requested=bool(row["cancel_requested"]),
        rerun_scope=_scope(row["rerun_scope"]),
    )


def _scope_text(scope: RerunScope | None) -> str | None:
    return None if scope is None else json.dumps(scope.as_document())


def _scope(value: str | dict[str, Any] | None) -> RerunScope | None:
    return RerunScope.from_document(json.loads(value) if isinstance(value, str) else value)


def _real(column: str) -> str:
    # '%!.17g' keeps every bit of a double (JSON numbers of SQLite keep 15 digits).
    return f"iif({column} IS NULL, NULL, printf('%!.17g', {column}))"


# A run as the JSON array `run_from_values` reads: so a page of runs is one JSON array built
# by SQLite, one step of the statement instead of one per run (see SqliteStore.list_runs).
RUN_VALUES_JSON = (
    f"json_array(id, namespace, workflow, workflow_version, status, {_real('created_at')},"
    f" {_real('started_at')}, {_real('finished_at')}, json(params), json(\"trigger\"), reason, rerun_of,"
    " cancel_requested, json(rerun_scope))"
)


def run_from_values(values: Sequence[Any]) -> RunRecord:
    (run_id, namespace, workflow, version, status, created_at, started_at, finished_at,
     params, trigger, reason, rerun_of, cancel_requested, rerun_scope) = values
    return RunRecord(
        id=run_id, namespace=namespace, workflow=workflow, workflow_version=version,
        status=RunState(status), created_at=float(created_at), params=params, trigger=trigger,
        started_at=None if started_at is None else float(started_at),
        finished_at=None if finished_at is None else float(finished_at),
        reason=reason, rerun_of=rerun_of, cancel_requested=bool(cancel_requested),
        rerun_scope=_scope(rerun_scope),
    )


def job_values(job: JobRecord) -> dict[str, Any]:
    return {
        "run_id": job.run_id, "name": job.name, "stage": job.stage, "action": job.action,
        "position": job.position, "status": job.status.value, "reason": job.reason,
        "outputs": json.dumps(job.outputs), "exit_code": job.exit_code,
        "attempts": job.attempts, "started_at": job.started_at,
        "finished_at": job.finished_at, "grp": job.group, "instance": job.instance,
    }


def job_from_row(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        run_id=row["run_id"], name=row["name"], stage=row["stage"], action=row["action"],
        position=row["position"], status=JobState(row["status"]), reason=row["reason"],
        outputs=json.loads(row["outputs"]), exit_code=row["exit_code"],
        attempts=row["attempts"], started_at=row["started_at"],
        finished_at=row["finished_at"], group=row["grp"], instance=row["instance"],
    )


def attempt_values(attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "run_id": attempt.run_id, "job": attempt.job, "number": attempt.number,
        "status": attempt.status.value, "container_id": attempt.container_id,
        "exit_code": attempt.exit_code, "reason": attempt.reason,
        "outputs": json.dumps(attempt.outputs), "ready_at": attempt.ready_at,
        "started_at": attempt.started_at, "finished_at": attempt.finished_at,
        "log_bytes": attempt.log_bytes, "log_truncated": int(attempt.log_truncated),
        "stdout_bytes": attempt.stdout_bytes, "stderr_bytes": attempt.stderr_bytes,
        "reported_result": None if attempt.reported_result is None else int(attempt.reported_result),
        "output_violation": attempt.output_violation,
        "task_token": attempt.task_token,
        "log_position": attempt.log_position,
    }


def attempt_from_row(row: sqlite3.Row) -> AttemptRecord:
    return AttemptRecord(
        run_id=row["run_id"], job=row["job"], number=row["number"],
        status=AttemptState(row["status"]), container_id=row["container_id"],
        exit_code=row["exit_code"], reason=row["reason"], outputs=json.loads(row["outputs"]),
        ready_at=row["ready_at"], started_at=row["started_at"],
        finished_at=row["finished_at"], log_bytes=row["log_bytes"],
        log_truncated=bool(row["log_truncated"]),
        stdout_bytes=row["stdout_bytes"], stderr_bytes=row["stderr_bytes"],
        reported_result=None if row["reported_result"] is None else bool(row["reported_result"]),
        output_violation=row["output_violation"],
        task_token=row["task_token"],
        log_position=row["log_position"],
    )


def log_line_from_row(row: sqlite3.Row) -> LogLine:
    return LogLine(
        run_id=row["run_id"], job=row["job"], attempt=row["attempt"], seq=row["seq"],
        time=row["time"], text=row["text"], is_cout=bool(row["is_cout"]),
        source_time=row["source_time"], stream=row["stream"],
    )
