"""Fan-out instances as documents: a group's summary in the run document, and one
instance as a line of an instances page (design §4).

The summary's `counts` has every state the run view draws, each present (0 when none):
the recorded instances per state, and the instances never recorded, which are `pending`
while the group has not ended and `not_started` once it has (a cancelled or halted group
writes no record for what it never started: design §2). So the counts always add up to
`instances`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.fanout import Instance
from chalicelib.domain.models import Job
from chalicelib.domain.states import JobState
from chalicelib.engine.instance_keys import instance_key
from chalicelib.engine.records import JobRecord

# The keys of `counts`, in the order the run view lists them.
COUNTED = ("succeeded", "failed", "running", "pending", "cancelled", "skipped", "reused",
           "not_started")


def fan_out_summary(job: Job, instances: int, group: JobRecord,
                    counts: Mapping[JobState, int]) -> dict[str, Any]:
    summary = dict.fromkeys(COUNTED, 0)
    for state, n in counts.items():
        summary[state.value] += n
    unrecorded = max(0, instances - sum(counts.values()))
    summary["not_started" if group.status.is_final else "pending"] += unrecorded
    return {"instances": instances, "counts": summary, "max_parallel": job.max_parallel}


def instance_document(job: str, described: Instance | None, record: JobRecord | None,
                      index: int) -> dict[str, Any]:
    """A recorded instance (`record`), or one not yet recorded (pending, from the
    definition); `described` is the definition's instance (None when the pinned version
    has no such index, which a record made by another version could name)."""
    return {
        "index": index,
        "key": instance_key(job, index),
        "values": dict(described.values) if described is not None else {},
        "shard": described.shard if described is not None else None,
        "status": str(record.status) if record is not None else JobState.PENDING.value,
        "reason": record.reason if record is not None else "",
        "attempts": record.attempts if record is not None else 0,
        "exit_code": record.exit_code if record is not None else None,
        "started_at": record.started_at if record is not None else None,
        "finished_at": record.finished_at if record is not None else None,
        "outputs": dict(record.outputs) if record is not None else {},
    }


def instances_page_document(documents: Sequence[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"instances": list(documents), "next_cursor": next_cursor}
