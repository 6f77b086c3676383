"""Event triggers: which workflows an S3 object or a CodeCommit push starts, and what the run sees.

Pure decisions on plain values; reading AWS's event shapes into them is
`chalicelib/cloud/trigger_events.py`. An `s3` trigger matches an object created in its
bucket whose key starts with its `prefix` and ends with its `suffix`. A `codecommit`
trigger matches a branch of its repository created or updated (as its `events` allow)
whose name one of its `branches` matches, or any branch when it lists none; a deleted
reference or a tag starts nothing. Branch patterns: `*` is any text without a `/`, `**`
any text at all, every other character is itself (`release/*` matches `release/1.2` but
not `release/1.2/fix`; `release/**` matches both). What a run started by an event sees
as `trigger.*` is `fields()` of the event.

`index_keys` says under which (kind, source) a store files a workflow, so that an event
finds the workflows it may start without reading every workflow: an S3 bucket, a
CodeCommit repository, and one key for every workflow that has a schedule.

`schedule_key` is a schedule trigger's identity, under which a store keeps the last tick acted
on for it (its mark): what the trigger is (its cron, spaces aside, and any other field it
has but its type), not where it stands in `spec.triggers`, so that a new version that
reorders the triggers, or adds one before it, neither skips a tick nor runs one again. Two
identical triggers of one workflow are one schedule (one run a tick, as an event matching two
triggers starts one run); a trigger whose cron changes is a new schedule, which owes nothing
from before its version was saved.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from chalicelib.domain.models import CodeCommitTrigger, S3Trigger, ScheduleTrigger, Workflow

EVERY_SCHEDULE = ""  # the source of the schedule index key: schedules have no event source


class TriggerKind(StrEnum):
    SCHEDULE = "schedule"
    S3 = "s3"
    CODECOMMIT = "codecommit"


@dataclass(frozen=True, order=True)
class IndexKey:
    kind: TriggerKind
    source: str  # the bucket, the repository, or EVERY_SCHEDULE


def index_keys(workflow: Workflow) -> frozenset[IndexKey]:
    """The keys a store files this workflow (version) under."""
    found: set[IndexKey] = set()
    for trigger in workflow.spec.triggers:
        if isinstance(trigger, S3Trigger):
            found.add(IndexKey(TriggerKind.S3, trigger.bucket))
        elif isinstance(trigger, CodeCommitTrigger):
            found.add(IndexKey(TriggerKind.CODECOMMIT, trigger.repository))
        elif isinstance(trigger, ScheduleTrigger):
            found.add(IndexKey(TriggerKind.SCHEDULE, EVERY_SCHEDULE))
    return frozenset(found)


# A key longer than this is kept as its digest: a DynamoDB sort key holds 1 KiB at most.
MAX_SCHEDULE_KEY_CHARS = 200


def schedule_key(trigger: ScheduleTrigger) -> str:
    """The trigger's identity, as readable text: `{"cron":"0 3 * * *"}`."""
    fields = trigger.model_dump(mode="json", exclude={"type"})
    fields["cron"] = " ".join(trigger.cron.split())
    key = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    if len(key) > MAX_SCHEDULE_KEY_CHARS:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def schedules_of(workflow: Workflow) -> dict[str, ScheduleTrigger]:
    """The workflow's schedules by their keys, each once, in the order first written."""
    found: dict[str, ScheduleTrigger] = {}
    for trigger in workflow.spec.triggers:
        if isinstance(trigger, ScheduleTrigger):
            found.setdefault(schedule_key(trigger), trigger)
    return found


# --- S3 --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ObjectCreated:
    """An object created in a bucket; `key` is the object's key itself (decoded)."""

    event_id: str
    bucket: str
    key: str
    size: int
    etag: str

    @property
    def index_key(self) -> IndexKey:
        return IndexKey(TriggerKind.S3, self.bucket)

    def matches(self, trigger: object) -> bool:
        return (isinstance(trigger, S3Trigger) and trigger.bucket == self.bucket
                and self.key.startswith(trigger.prefix) and self.key.endswith(trigger.suffix))

    def fields(self) -> dict[str, Any]:
        return {"type": "s3", "bucket": self.bucket, "key": self.key, "size": self.size,
                "etag": self.etag}


# --- CodeCommit ------------------------------------------------------------------------

class ReferenceEvent(StrEnum):
    CREATED = "referenceCreated"
    UPDATED = "referenceUpdated"
    DELETED = "referenceDeleted"


BRANCH = "branch"  # the referenceType of a branch; a tag's is "tag"


@dataclass(frozen=True)
class ReferenceChanged:
    """A branch or tag of a repository created, updated (pushed to) or deleted."""

    event_id: str
    repository: str
    event: ReferenceEvent
    reference_type: str
    name: str  # the short name: main, not refs/heads/main
    commit: str  # the commit it points to now; "" once deleted

    @property
    def index_key(self) -> IndexKey:
        return IndexKey(TriggerKind.CODECOMMIT, self.repository)

    @property
    def can_start_runs(self) -> bool:
        """A deleted branch has nothing to build, and tags are not branches."""
        return self.event is not ReferenceEvent.DELETED and self.reference_type == BRANCH

    def matches(self, trigger: object) -> bool:
        return (isinstance(trigger, CodeCommitTrigger) and self.can_start_runs
                and trigger.repository == self.repository and self.event.value in trigger.events
                and (not trigger.branches
                     or any(branch_matches(pattern, self.name) for pattern in trigger.branches)))

    def fields(self) -> dict[str, Any]:
        return {"type": "codecommit", "repository": self.repository, "branch": self.name,
                "commit": self.commit, "event": self.event.value}


def branch_matches(pattern: str, branch: str) -> bool:
    return _branch_regex(pattern).fullmatch(branch) is not None


@lru_cache(maxsize=512)
def _branch_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*|\*)", pattern)
    wildcards = {"**": ".*", "*": "[^/]*"}
    return re.compile("".join(wildcards.get(part) or re.escape(part) for part in parts), re.DOTALL)


# --- both ------------------------------------------------------------------------------

TriggerEvent = ObjectCreated | ReferenceChanged


def starts_a_run(workflow: Workflow, event: TriggerEvent) -> bool:
    """Whether any trigger of the workflow matches the event (one run however many do)."""
    return any(event.matches(trigger) for trigger in workflow.spec.triggers)
