"""The items of a run's Distributed Maps: what the dispatcher writes to S3 before it starts
the run's execution, one JSON file per fan-out job the compiler made distributed.

A file is `runs/<run id>/fanout/<job>.json` in the target's items bucket (the runs' workspace
bucket, so the bucket's expiry of `runs/` removes it with the run's workspace) and holds a
JSON array with one object per instance, in instance order: `[{"instance": 0}, {"instance":
1}, ...]`. The Map reads the index from each item's `instance` field (`render`), never from
its position, so a later change may list fewer instances (say, only those a re-run does not
reuse) without changing the machine. Objects rather than bare numbers: Step Functions'
JSON item reader is documented for arrays of objects. Nothing here touches S3: the items
are data (pure), made from the compiled plan so that a file is written exactly for each
Distributed Map the machine has, under the key its ItemReader reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chalicelib.asl.plan import MachinePlan
from chalicelib.asl.render import INSTANCE_FIELD


@dataclass(frozen=True)
class ItemFile:
    """One Distributed Map's items: the S3 object to write before the execution starts."""

    job: str
    bucket: str
    key: str
    body: bytes
    instances: int


def instance_items(count: int) -> list[dict[str, int]]:
    """The items of a fan-out job of `count` instances, in instance order."""
    return [{INSTANCE_FIELD: index} for index in range(count)]


def items_body(count: int) -> bytes:
    """The items as the compact JSON the ItemReader reads (about 18 bytes an instance)."""
    return json.dumps(instance_items(count), separators=(",", ":")).encode()


def item_files(plan: MachinePlan, run_id: str) -> list[ItemFile]:
    """Every item file the run's machine reads, in stage order; none when it has no
    Distributed Map. A plan without an items bucket was refused by the compiler's limits."""
    files = []
    for step in plan.distributed_steps():
        if step.items_bucket is None or step.items_key is None:
            raise ValueError(f"job {step.job!r} is a Distributed Map with no items bucket")
        files.append(ItemFile(job=step.job, bucket=step.items_bucket,
                              key=step.items_key.format(run_id), body=items_body(step.instances),
                              instances=step.instances))
    return files
