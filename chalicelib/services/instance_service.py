"""A fan-out job's instances as the API reads them: the group summaries of the run detail
and the pages of `GET …/runs/{id}/jobs/{job}/instances` (design §4).

The instance count and each instance's values come from the run's pinned workflow version
(`domain.fanout`); the states from the store's records (`Store.list_instances`,
`instance_counts`), so the run detail costs one count read per fan-out job and never lists
an instance. Decisions taken here, where the design is silent:

- A page is always failed first, then running, then the rest in index order (with a state
  filter: the same order within the states asked for; one state is plain index order).
- Instances never recorded are `pending` and appear only when `pending` is asked for,
  after every recorded instance of the page's states, in index order; they are found as
  the gaps between the recorded indexes, read in index order from where the page starts.
- `state` may be repeated or comma-separated; an unknown state, a limit outside 1..500
  and a cursor this API did not give are invalid requests (400). The cursor is opaque.
- A job the pinned version does not have, or that does not fan out, is not found (404).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.fanout import Instance, expand, is_fan_out
from chalicelib.domain.models import Job, Workflow
from chalicelib.domain.states import JobState
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.services.instance_views import (
    fan_out_summary,
    instance_document,
    instances_page_document,
)
from chalicelib.store import messages
from chalicelib.store.base import Store
from chalicelib.store.instance_pages import InstanceOrder, encode_cursor

DEFAULT_INSTANCES_PAGE = 100
MAX_INSTANCES_PAGE = messages.MAX_INSTANCES_PAGE
# Recorded instances read at a time while looking for the pending ones between them.
_GAP_READ = 500


@dataclass(frozen=True)
class InstanceQuery:
    """The query values of an instances page as they arrive (strings), checked here."""

    states: Sequence[str] = ()
    cursor: str | None = None
    limit: int = DEFAULT_INSTANCES_PAGE

    def parsed_states(self) -> tuple[JobState, ...]:
        names = [name.strip() for given in self.states for name in given.split(",") if name.strip()]
        known = {state.value: state for state in JobState}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise InvalidRequest(
                f"'state' must be one of {', '.join(known)}; not {', '.join(map(repr, unknown))}")
        return tuple(dict.fromkeys(known[name] for name in names))


def pinned_workflow(store: Store, run: RunRecord) -> Workflow:
    return store.get_workflow(run.namespace, run.workflow, run.workflow_version).workflow


def fan_out_summaries(store: Store, run: RunRecord, workflow: Workflow,
                      jobs: Sequence[JobRecord]) -> dict[str, dict[str, Any]]:
    """The `fan_out` entry of each fan-out job of the run document, by job name."""
    summaries: dict[str, dict[str, Any]] = {}
    for record in jobs:
        job = workflow.job_named(record.name)
        if job is None or not is_fan_out(job):
            continue
        counts = store.instance_counts(run.id, job.name)
        summaries[job.name] = fan_out_summary(job, len(expand(job)), record, counts)
    return summaries


def fan_out_job(workflow: Workflow, run: RunRecord, name: str) -> Job:
    job = workflow.job_named(name)
    if job is None:
        raise NotFound(messages.unknown_job(run.id, name))
    if not is_fan_out(job):
        raise NotFound(f"job '{name}' of run {run.id} does not fan out: it has no instances")
    return job


def instances_page(store: Store, run: RunRecord, name: str, query: InstanceQuery) -> dict[str, Any]:
    if not 1 <= query.limit <= MAX_INSTANCES_PAGE:
        raise InvalidRequest(f"'limit' must be between 1 and {MAX_INSTANCES_PAGE}")
    states = query.parsed_states()
    job = fan_out_job(pinned_workflow(store, run), run, name)
    instances = expand(job)
    recorded_states = [state for state in states if state is not JobState.PENDING] if states else None
    wants_pending = JobState.PENDING in states
    cursor = _Cursor.decode(query.cursor) if query.cursor else _Cursor()
    documents: list[dict[str, Any]] = []
    if cursor.pending_after is None and (recorded_states is None or recorded_states):
        try:
            page = store.list_instances(run.id, name, states=recorded_states or None,
                                        order=InstanceOrder.FAILED_FIRST,
                                        cursor=cursor.store, limit=query.limit)
        except ValueError as exc:
            raise InvalidRequest(f"'cursor' is not a cursor this API gave: {exc}") from exc
        documents = [instance_document(name, _described(instances, r.instance), r, r.instance or 0)
                     for r in page.instances]
        if page.next_cursor is not None:
            return instances_page_document(documents, _Cursor(store=page.next_cursor).encode())
    if not wants_pending:
        return instances_page_document(documents, None)
    after = -1 if cursor.pending_after is None else cursor.pending_after
    room = query.limit - len(documents)
    pending: list[int] = []
    for index in _unrecorded(store, run.id, name, after, len(instances)):
        if len(pending) == room + 1:
            break
        pending.append(index)
    documents.extend(instance_document(name, instances[i], None, i) for i in pending[:room])
    more = len(pending) > room
    last = pending[room - 1] if room > 0 and more else after
    return instances_page_document(documents, _Cursor(pending_after=last).encode() if more else None)


def _described(instances: Sequence[Instance], index: int | None) -> Instance | None:
    return instances[index] if index is not None and 0 <= index < len(instances) else None


def _unrecorded(store: Store, run_id: str, job: str, after: int, count: int) -> Iterator[int]:
    """The indexes after `after` (below `count`) that have no record, in order."""
    recorded = sum(store.instance_counts(run_id, job).values())
    if not recorded:
        yield from range(after + 1, count)
        return
    if recorded >= count:  # every instance has its record: nothing is pending
        return
    # The store's cursor of an index-order page of every state that left off at `after`.
    next_index, cursor = after + 1, (encode_cursor(0, after) if after >= 0 else None)
    while True:
        page = store.list_instances(run_id, job, cursor=cursor, limit=_GAP_READ)
        for record in page.instances:
            index = record.instance or 0
            if index < next_index:
                continue
            yield from range(next_index, min(index, count))
            next_index = index + 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    yield from range(next_index, count)


@dataclass(frozen=True)
class _Cursor:
    """Where a page left off: in the recorded instances (the store's cursor), or among the
    pending ones after an index."""

    store: str | None = None
    pending_after: int | None = None

    def encode(self) -> str:
        value = {"s": self.store} if self.pending_after is None else {"p": self.pending_after}
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> _Cursor:
        try:
            value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (ValueError, TypeError) as exc:
            raise InvalidRequest("'cursor' is not a cursor this API gave") from exc
        if isinstance(value, dict) and isinstance(value.get("s"), str) and len(value) == 1:
            return cls(store=value["s"])
        pending = value.get("p") if isinstance(value, dict) else None
        if isinstance(pending, int) and not isinstance(pending, bool) and pending >= -1 and len(value) == 1:
            return cls(pending_after=pending)
        raise InvalidRequest("'cursor' is not a cursor this API gave")
