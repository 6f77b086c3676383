"""Runs started by events: an S3 object created, a CodeCommit branch created or pushed to.

For an event, the store's trigger index gives the workflows filed under its bucket or
repository (never a scan of every workflow); each whose triggers match it
(`domain.triggers`) gets at most one run, whose `trigger.*` are the event's fields.
EventBridge delivers at least once, so before a run is recorded the event is claimed for
that workflow (`Store.claim_event`, keyed by the event id and the workflow): a second
delivery, or a second invocation racing the first, starts nothing more. Every check that
can refuse the run (a disabled workflow, a required param without a default) runs before
the claim, and a refused run is logged, not raised: delivering the event again could not
change the answer, and the other workflows of the event still get theirs. What fails for
another reason (the store unreachable) raises, so Lambda tries the event again; the
workflows already claimed are then passed over. A crash between a claim and the run's
record loses that one run rather than starting it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chalicelib.domain.triggers import ObjectCreated, ReferenceChanged, TriggerEvent, starts_a_run
from chalicelib.engine.records import RunRecord
from chalicelib.services.run_refusals import CANNOT_START, why_not
from chalicelib.services.run_service import RunService
from chalicelib.store.base import Store, TriggeredWorkflow

log = logging.getLogger("containerops.triggers")


def claim_key(event: TriggerEvent, namespace: str, name: str) -> str:
    """One claim per event and workflow: the event's other workflows claim their own."""
    return f"{event.index_key.kind}:{event.event_id}:{namespace}/{name}"


class EventTriggers:
    def __init__(self, store: Store, runs: RunService, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._runs = runs
        self._clock = clock

    def object_created(self, created: ObjectCreated) -> list[RunRecord]:
        return self._start(created)

    def reference_changed(self, changed: ReferenceChanged) -> list[RunRecord]:
        if not changed.can_start_runs:
            log.info("%s %s %s of %s starts no run", changed.reference_type, changed.name,
                     changed.event, changed.repository)
            return []
        return self._start(changed)

    def _start(self, event: TriggerEvent) -> list[RunRecord]:
        key = event.index_key
        started: list[RunRecord] = []
        for found in self._store.workflows_triggered_by(key.kind, key.source):
            if starts_a_run(found.stored.workflow, event):
                run = self._start_one(found, event)
                if run is not None:
                    started.append(run)
        return started

    def _start_one(self, found: TriggeredWorkflow, event: TriggerEvent) -> RunRecord | None:
        metadata = found.stored.workflow.metadata
        namespace, name = metadata.namespace, metadata.name
        source = f"{event.index_key.kind} event {event.event_id}"
        if not found.enabled:
            log.info("%s starts no run of %s/%s: the workflow is disabled", source, namespace, name)
            return None
        try:
            new = self._runs.plan_start(namespace, name, {}, event.fields())
        except CANNOT_START as exc:
            log.warning("%s started no run of %s/%s: %s", source, namespace, name, why_not(exc))
            return None
        if not self._store.claim_event(claim_key(event, namespace, name), self._clock()):
            log.info("%s was seen before: no second run of %s/%s", source, namespace, name)
            return None
        run = self._runs.launch(new)
        log.info("%s started run %s of %s/%s", source, run.id, namespace, name)
        return run
