"""The SQLite store's trigger index beyond the contract: a file from before the index gets
one from the workflows it holds, and a lookup reads the index, never every workflow."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from chalicelib.domain.models import Workflow
from chalicelib.domain.triggers import TriggerKind
from chalicelib.store.sqlite import SqliteStore
from chalicelib.store.sqlite_schema import MIGRATIONS
from chalicelib.store.sqlite_triggers import LOOKUP_SQL
from tests.store.contract import EPOCH, NIGHTLY, REPO, S3, triggered

BEFORE_THE_INDEX = 4  # the schema version before the trigger index (migration V5)


def old_file(path: Path, *workflows: tuple[Workflow, int, bool]) -> None:
    """A database file as ContainerOps wrote it before the index: (workflow, version,
    deleted) rows as its store wrote them."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:BEFORE_THE_INDEX]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {BEFORE_THE_INDEX}")
    for workflow, version, deleted in workflows:
        m = workflow.metadata
        document = json.dumps(workflow.model_dump(mode="json", by_alias=True), sort_keys=True,
                              separators=(",", ":"))
        conn.execute("INSERT INTO workflows VALUES (?, ?, ?, ?, ?)",
                     (m.namespace, m.name, version, document, EPOCH + version))
        conn.execute("INSERT OR REPLACE INTO workflow_settings VALUES (?, ?, 1, 'secret', ?)",
                     (m.namespace, m.name, int(deleted)))
    conn.commit()
    conn.close()


def test_a_file_from_before_the_index_is_indexed_from_its_latest_versions(tmp_path: Path) -> None:
    old_file(tmp_path / "store.db",
             (triggered("build", S3), 1, False),
             (triggered("build", REPO, NIGHTLY), 2, False),
             (triggered("gone", S3), 1, True),
             (triggered("plain", {"type": "api"}), 1, False))
    with SqliteStore(tmp_path / "store.db") as store:
        assert store.workflows_triggered_by(TriggerKind.S3, "uploads") == []
        [pushed] = store.workflows_triggered_by(TriggerKind.CODECOMMIT, "app")
        assert (pushed.stored.workflow.ref, pushed.stored.version) == ("demo/build", 2)
        assert [f.stored.workflow.ref for f in store.workflows_triggered_by(TriggerKind.SCHEDULE)] == [
            "demo/build"]
        store.save_workflow(triggered("build", S3))  # and the index goes on from there
        assert [f.stored.version for f in store.workflows_triggered_by(TriggerKind.S3, "uploads")] == [3]


def test_a_lookup_reads_the_index_and_the_rows_it_names_only(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        store.save_workflow(triggered("build", S3))
    conn = sqlite3.connect(tmp_path / "store.db")
    try:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {LOOKUP_SQL}", ("s3", "uploads"))]
    finally:
        conn.close()
    # the index's own rows of the key (t), then one row of each table by its key, in order
    assert plan[0] == "SEARCH t USING PRIMARY KEY (kind=? AND source=?)", plan
    assert all(step.startswith("SEARCH") for step in plan), plan
