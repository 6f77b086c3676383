"""The SQLite store's trigger bookkeeping: event claims, pruned after their retention, and
schedule marks, kept under the schedule's identity; with migration V6, which brings a file
from before both up to date.

A claim is one row of `events` (its key, when it was claimed). Each new claim first deletes
the claims older than EVENT_CLAIM_RETENTION_SECONDS (one range scan of `events_by_claimed_at`,
usually empty), in the same write transaction, so the table holds the claims of the last
14 days and no more, and a key past its retention is free again, as on DynamoDB (whose TTL
prunes them there). A mark is one row of `schedule_marks` per (workflow, schedule key,
`domain.triggers.schedule_key`).

Migration V6: marks were kept by the trigger's position in spec.triggers. Each one is
re-keyed by the trigger at that position in the workflow's latest version (the version the
checker that wrote it read, unless the workflow was saved since, which is the very case this
keying fixes); a mark whose position holds no schedule any more is dropped, and two marks
that become one schedule keep the later tick. It is Python, not SQL, so the keys are those
`schedule_key` makes: a later change of their form needs a migration of its own.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.models import ScheduleTrigger
from chalicelib.domain.triggers import schedule_key
from chalicelib.store.base import EVENT_CLAIM_RETENTION_SECONDS

PRUNE_CLAIMS = "DELETE FROM events WHERE claimed_at < ?"
_CLAIM = "INSERT INTO events (key, claimed_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
GET_MARK = "SELECT tick FROM schedule_marks WHERE namespace = ? AND name = ? AND schedule = ?"
SET_MARK = (
    "INSERT INTO schedule_marks (namespace, name, schedule, tick) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (namespace, name, schedule) DO UPDATE SET tick = excluded.tick"
)


def claim(conn: sqlite3.Connection, key: str, now: float) -> bool:
    """Inside a write transaction: prune the lapsed claims, then claim `key` if it is free."""
    conn.execute(PRUNE_CLAIMS, (now - EVENT_CLAIM_RETENTION_SECONDS,))
    inserted: int = conn.execute(_CLAIM, (key, now)).rowcount
    return inserted == 1


_KEYED_MARKS = """
CREATE TABLE schedule_marks_by_key (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    schedule  TEXT NOT NULL,
    tick      REAL NOT NULL,
    PRIMARY KEY (namespace, name, schedule)
) WITHOUT ROWID
"""
_POSITIONAL_MARKS = (
    'SELECT m.namespace, m.name, m."trigger" AS position, m.tick, w.document'
    " FROM schedule_marks AS m JOIN workflows AS w"
    "   ON w.namespace = m.namespace AND w.name = m.name"
    "  AND w.version = (SELECT max(l.version) FROM workflows AS l"
    "                   WHERE l.namespace = m.namespace AND l.name = m.name)"
)


def migrate_to_v6(conn: sqlite3.Connection) -> None:
    """Index the claims by time and re-key the schedule marks (see the module docstring)."""
    conn.execute("CREATE INDEX IF NOT EXISTS events_by_claimed_at ON events (claimed_at)")
    conn.execute(_KEYED_MARKS)
    marks: dict[tuple[str, str, str], float] = {}
    for namespace, name, position, tick, document in conn.execute(_POSITIONAL_MARKS).fetchall():
        key = _key_at(json.loads(document), int(position))
        if key is not None:
            where = (namespace, name, key)
            marks[where] = max(marks.get(where, tick), tick)
    conn.executemany("INSERT INTO schedule_marks_by_key VALUES (?, ?, ?, ?)",
                     [(*where, tick) for where, tick in sorted(marks.items())])
    conn.execute("DROP TABLE schedule_marks")
    conn.execute("ALTER TABLE schedule_marks_by_key RENAME TO schedule_marks")


def _key_at(document: Any, position: int) -> str | None:
    triggers = document.get("spec", {}).get("triggers", []) if isinstance(document, dict) else []
    if not isinstance(triggers, list) or not 0 <= position < len(triggers):
        return None
    try:
        return schedule_key(ScheduleTrigger.model_validate(triggers[position]))
    except ValidationError:
        return None  # not a schedule (any more)
