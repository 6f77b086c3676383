"""The keys of every item the DynamoDB store writes, and the sortable strings in them.

One place builds each partition and sort key, so the access patterns of the package
docstring can be read off this module. Names that go into keys are slugs (namespaces,
workflow and component names), job names (letters, digits, `_`, `-`), instance keys (a job
name, `.`, an index) and versions, none of which can hold the separators used here (`/`,
`@`, `#`); a task id (what follows the last
`/` of a container id) is a partition key of its own after a fixed prefix, never parsed. Run history sorts by
`created_order`, a string that sorts exactly like (created_at, run id); the history cursor
is that string of the last run of a page, base64 so that callers treat it as opaque.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib

from chalicelib.engine.instance_keys import split_instance_key
from chalicelib.store import messages

# --- the definitions table -----------------------------------------------------------

COMPONENTS_PK = "COMPONENTS"
NAMESPACES_PK = "NAMESPACES"
WORKFLOWS_PK = "WORKFLOWS"
_VERSION_DIGITS = 10  # zero-padded so that versions sort as numbers


def component_sk(namespace: str, name: str, version: str) -> str:
    return f"{namespace}/{name}@{version}"


def components_prefix(namespace: str | None, name: str | None) -> str | None:
    """The sort key prefix of a component listing (None: every component)."""
    if namespace is None:
        return None
    return f"{namespace}/" if name is None else f"{namespace}/{name}@"


def workflow_head_sk(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def workflows_prefix(namespace: str | None) -> str | None:
    return None if namespace is None else f"{namespace}/"


def workflow_pk(namespace: str, name: str) -> str:
    return f"WORKFLOW#{namespace}/{name}"


WORKFLOW_VERSION_PREFIX = "VERSION#"  # beside a workflow's schedule marks and run slots


def workflow_version_sk(version: int) -> str:
    return f"{WORKFLOW_VERSION_PREFIX}{version:0{_VERSION_DIGITS}d}"


def schedule_mark_sk(schedule: str) -> str:
    """Under the schedule's identity (domain.triggers.schedule_key). Marks of the releases
    that kept them by the trigger's position (SCHEDULE#<n>) are left unread."""
    return f"SCHEDULE#{schedule}"


RUN_SLOTS_SK = "SLOTS"  # under workflow_pk: one item per workflow


def trigger_pk(kind: str, source: str) -> str:
    """The partition of the workflows filed under one trigger key (domain.triggers.IndexKey);
    the sort key is the workflow's head sort key. Bucket and repository names hold no '#'."""
    return f"TRIGGER#{kind}#{source}"


# --- the runs table ------------------------------------------------------------------

RUN_SK = "RUN"
JOB_PREFIX = "JOB#"
ATTEMPT_PREFIX = "ATTEMPT#"
_ATTEMPT_DIGITS = 6
# Fixed: each run's shard is a hash of its id, so changing this needs every run rewritten.
RUN_SHARDS = 4


def run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


# Fan-out (design §2): an instance record (`test.3`) sits apart from the workflow's jobs,
# so `list_jobs` (JOB#) never reads one, under a zero-padded index so that its group's
# instances are in index order and a page after index i is a key range; its attempts sit
# apart from the jobs' attempts for the same reason (the run document reads those only).
# Each group's state counts are one item, COUNTS#<job>, changed in the transaction that
# changes an instance's state (see `instances`).
INSTANCE_PREFIX = "INSTANCE#"
INSTANCE_ATTEMPT_PREFIX = "IATTEMPT#"
COUNTS_PREFIX = "COUNTS#"
_INSTANCE_DIGITS = 6  # above MAX_INSTANCES (10,000) with room to spare


def job_sk(name: str) -> str:
    """A workflow job's sort key, or an instance's when `name` is an instance key."""
    instance = split_instance_key(name)
    if instance is not None:
        return instance_sk(instance.job, instance.index)
    return f"{JOB_PREFIX}{name}"


def instance_sk(job: str, index: int) -> str:
    return f"{instances_prefix(job)}{index:0{_INSTANCE_DIGITS}d}"


def instances_prefix(job: str) -> str:
    return f"{INSTANCE_PREFIX}{job}#"


def last_instance_sk(job: str) -> str:
    """Above every instance sort key of `job`: the top of a range of its instances."""
    return f"{instances_prefix(job)}{'9' * _INSTANCE_DIGITS}"


def counts_sk(job: str) -> str:
    return f"{COUNTS_PREFIX}{job}"


def attempts_prefix(job: str | None) -> str:
    """Of every workflow job's attempts (None), or of one job's or instance's."""
    if job is None:
        return ATTEMPT_PREFIX
    prefix = INSTANCE_ATTEMPT_PREFIX if split_instance_key(job) is not None else ATTEMPT_PREFIX
    return f"{prefix}{job}#"


def attempt_sk(job: str, number: int) -> str:
    return f"{attempts_prefix(job)}{number:0{_ATTEMPT_DIGITS}d}"


TASK_SK = "TASK"


def task_pk(task_id: str) -> str:
    """The partition of one container's index item (`task_id`: base.container_task_id)."""
    return f"TASK#{task_id}"


def workflow_ref(namespace: str, workflow: str) -> str:
    return f"{namespace}/{workflow}"


def run_shard(run_id: str) -> str:
    """The runs-by-time partition of a run: stable for the run, spread over RUN_SHARDS."""
    return str(zlib.crc32(run_id.encode()) % RUN_SHARDS)


def all_run_shards() -> list[str]:
    return [str(shard) for shard in range(RUN_SHARDS)]


def sortable_time(seconds: float) -> str:
    """16 hex digits that sort as the float does: the IEEE 754 bits, with the sign bit
    flipped for positive numbers and every bit flipped for negative ones. Exact, so
    `created_after` compares on the very float a run was created with."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", float(seconds)))
    bits = bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63
    return f"{bits:016x}"


def created_order(created_at: float, run_id: str) -> str:
    """Sorts like (created_at, run id). A bare `sortable_time(t)` sorts before every run
    created at t and after every run created before t, so it is an exact bound either way."""
    return f"{sortable_time(created_at)}#{run_id}"


_CREATED_ORDER = re.compile(r"^[0-9a-f]{16}#.+$", re.DOTALL)


def encode_cursor(order: str) -> str:
    return base64.urlsafe_b64encode(order.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The `created_order` a cursor names; ValueError (the shared sentence) when it is not one."""
    try:
        order = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise ValueError(messages.bad_run_cursor(cursor)) from exc
    if not _CREATED_ORDER.match(order):
        raise ValueError(messages.bad_run_cursor(cursor))
    return order
