"""The SQLite store's trigger bookkeeping beyond the contract (chalicelib/store/sqlite_marks.py):
lapsed event claims leave the file, by an index, and a file from before migration V6 has its
schedule marks re-keyed from the trigger's position to the schedule's identity."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from chalicelib.domain.models import Workflow
from chalicelib.store.base import EVENT_CLAIM_RETENTION_SECONDS
from chalicelib.store.sqlite import SqliteStore
from chalicelib.store.sqlite_marks import PRUNE_CLAIMS
from chalicelib.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from tests.store.contract import AT_3, AT_15, EPOCH, NIGHTLY, triggered

BEFORE_KEYED_MARKS = 5  # the schema version before migration V6
AT_15_TRIGGER = {"type": "schedule", "cron": "0 15 * * *"}


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- event claims ----------------------------------------------------------------------------

def test_claims_past_their_retention_are_deleted_by_the_next_claim(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        for i in range(3):
            assert store.claim_event(f"old-{i}", EPOCH + i)
        assert store.claim_event("recent", EPOCH + EVENT_CLAIM_RETENTION_SECONDS)
        assert store.claim_event("new", EPOCH + EVENT_CLAIM_RETENTION_SECONDS + 1.5)
    assert rows(tmp_path / "store.db", "SELECT key FROM events ORDER BY key") == [
        ("new",), ("old-2",), ("recent",)]


def test_pruning_the_claims_reads_only_the_lapsed_ones(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        store.claim_event("one", EPOCH)
    conn = sqlite3.connect(tmp_path / "store.db")
    try:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {PRUNE_CLAIMS}", (EPOCH,))]
    finally:
        conn.close()
    assert plan == ["SEARCH events USING INDEX events_by_claimed_at (claimed_at<?)"], plan


# --- schedule marks from before V6 --------------------------------------------------------------

def old_file(path: Path, marks: list[tuple[str, int, float]], *workflows: tuple[Workflow, int]) -> None:
    """A file as ContainerOps wrote it before V6: workflow versions and positional marks
    (workflow name, position in spec.triggers, tick)."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:BEFORE_KEYED_MARKS]:
        assert isinstance(script, str)
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {BEFORE_KEYED_MARKS}")
    for workflow, version in workflows:
        m = workflow.metadata
        document = json.dumps(workflow.model_dump(mode="json", by_alias=True), sort_keys=True)
        conn.execute("INSERT INTO workflows VALUES (?, ?, ?, ?, ?)",
                     (m.namespace, m.name, version, document, EPOCH + version))
        conn.execute("INSERT OR REPLACE INTO workflow_settings VALUES (?, ?, 1, 'secret', 0)",
                     (m.namespace, m.name))
    conn.executemany("INSERT INTO schedule_marks VALUES ('demo', ?, ?, ?)", marks)
    conn.commit()
    conn.close()


def test_positional_marks_are_re_keyed_by_the_schedule_at_that_position_in_the_latest_version(
    tmp_path: Path,
) -> None:
    old_file(tmp_path / "store.db",
             [("ci", 1, EPOCH + 10), ("ci", 2, EPOCH + 20), ("other", 0, EPOCH + 30)],
             (triggered("ci", AT_15_TRIGGER), 1),
             (triggered("ci", {"type": "api"}, NIGHTLY, AT_15_TRIGGER), 2),
             (triggered("other", NIGHTLY), 1))
    with SqliteStore(tmp_path / "store.db") as store:
        assert store.get_schedule_mark("demo", "ci", AT_3) == EPOCH + 10
        assert store.get_schedule_mark("demo", "ci", AT_15) == EPOCH + 20
        assert store.get_schedule_mark("demo", "other", AT_3) == EPOCH + 30
        assert store.advance_schedule_mark("demo", "ci", AT_3, EPOCH + 10, EPOCH + 70)
    assert rows(tmp_path / "store.db", "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_a_mark_whose_position_holds_no_schedule_now_is_dropped_and_duplicates_keep_the_later(
    tmp_path: Path,
) -> None:
    old_file(tmp_path / "store.db",
             [("ci", 0, EPOCH + 10), ("ci", 1, EPOCH + 5), ("ci", 2, EPOCH + 40), ("ci", 7, EPOCH)],
             (triggered("ci", NIGHTLY, NIGHTLY, {"type": "api"}), 1))
    with SqliteStore(tmp_path / "store.db"):
        pass
    assert rows(tmp_path / "store.db", "SELECT name, schedule, tick FROM schedule_marks") == [
        ("ci", AT_3, EPOCH + 10)]


def test_a_file_with_no_marks_migrates_to_an_empty_keyed_table(tmp_path: Path) -> None:
    old_file(tmp_path / "store.db", [])
    with SqliteStore(tmp_path / "store.db") as store:
        store.set_schedule_mark("demo", "ci", AT_3, EPOCH)
        assert store.get_schedule_mark("demo", "ci", AT_3) == EPOCH
