"""Schedule triggers: checking cron expressions and finding the tick a schedule owes a run for.

Cron expressions have the five classic fields (minute hour day-of-month month day-of-week)
and are read in UTC, as EventBridge reads them on the cloud path. A schedule owes at most
one run at a time: ticks missed while nothing was watching (the server was down) collapse
into the latest one, as a missed nightly build is wanted once, not once per missed night.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from croniter import CroniterBadDateError, CroniterError, croniter

CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_PROBE_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def cron_problem(cron: str) -> str | None:
    """Why `cron` is not a usable cron expression, in words; None when it is one."""
    fields = cron.split()
    if len(fields) != len(CRON_FIELDS):
        return f"it has {len(fields)} field(s), not 5 ({' '.join(CRON_FIELDS)})"
    if not _parses(cron):
        return _first_bad_field(fields)
    try:
        croniter(cron, _PROBE_TIME).get_next(float)
    except CroniterBadDateError:
        return "it never matches a date"
    return None


def _parses(cron: str) -> bool:
    try:
        croniter.expand(cron)
    except (CroniterError, ValueError, TypeError):
        return False
    return True


def _first_bad_field(fields: list[str]) -> str:
    # croniter's own messages echo the expression or hold a traceback: name the field instead.
    for index, (name, value) in enumerate(zip(CRON_FIELDS, fields, strict=True)):
        alone = ["*"] * len(CRON_FIELDS)
        alone[index] = value
        if not _parses(" ".join(alone)):
            return f"its {name} field '{value}' is not valid"
    return "its day-of-month and day-of-week fields do not combine"


def due_tick(cron: str, last_mark: float | None, now: float, created_at: float) -> float | None:
    """The latest tick of `cron` in (last_mark, now], or in (created_at, now] when no tick was
    acted on yet; None when there is none (or `cron` is unusable)."""
    since = created_at if last_mark is None else last_mark
    if now <= since:
        return None
    # Ticks fall on whole minutes, and get_prev is strictly before its start: starting one
    # second past `now` (floored) makes a tick at exactly `now` count.
    start = datetime.fromtimestamp(math.floor(now) + 1, UTC)
    try:
        tick = croniter(cron, start).get_prev(float)
    except (CroniterError, ValueError, TypeError):
        return None
    return tick if since < tick <= now else None
