"""The SQLite store's trigger index: the rows of `workflow_triggers` (see migration V5 in
`sqlite_schema`), written inside the store's own write transactions, and the lookup.

A save replaces the workflow's rows by its new version's keys, a delete removes them (a
revival's save writes them again); the lookup joins the version and the settings, so a
disabled workflow is found and says so, and nothing but the rows of the key is read.
"""

from __future__ import annotations

import sqlite3

from chalicelib.domain.models import Workflow
from chalicelib.domain.triggers import TriggerKind, index_keys
from chalicelib.store.base import TriggeredWorkflow
from chalicelib.store.sqlite_schema import stored_workflow_from_row

_FORGET = "DELETE FROM workflow_triggers WHERE namespace = ? AND name = ?"
_FILE = ("INSERT INTO workflow_triggers (kind, source, namespace, name, version)"
         " VALUES (?, ?, ?, ?, ?)")
LOOKUP_SQL = (
    "SELECT w.namespace, w.name, w.version, w.document, w.created_at, s.enabled"
    " FROM workflow_triggers AS t"
    " JOIN workflows AS w"
    "   ON w.namespace = t.namespace AND w.name = t.name AND w.version = t.version"
    " JOIN workflow_settings AS s"
    "   ON s.namespace = t.namespace AND s.name = t.name AND s.deleted = 0"
    " WHERE t.kind = ? AND t.source = ? ORDER BY t.namespace, t.name"
)


def file_version(conn: sqlite3.Connection, workflow: Workflow, version: int) -> None:
    """Index `version` (the workflow's new latest) in place of the one before it."""
    key = (workflow.metadata.namespace, workflow.metadata.name)
    conn.execute(_FORGET, key)
    conn.executemany(_FILE, [(k.kind.value, k.source, *key, version)
                             for k in sorted(index_keys(workflow))])


def forget_workflow(conn: sqlite3.Connection, namespace: str, name: str) -> None:
    conn.execute(_FORGET, (namespace, name))


def triggered_by(conn: sqlite3.Connection, kind: TriggerKind, source: str) -> list[TriggeredWorkflow]:
    rows = conn.execute(LOOKUP_SQL, (kind.value, source)).fetchall()
    return [TriggeredWorkflow(stored_workflow_from_row(row), bool(row["enabled"])) for row in rows]
