"""Starting, listing, cancelling and re-running runs: what the API and the local driver share.

`RunRecorder` is the one place a run is laid out: the workflow version it pins, its params
(given values over defaults; every missing or unknown one reported at once), its trigger
and a pending record per job; and the one place a re-run from failure is allowed or not.
The local driver records runs through it and executes them itself. `RunService` adds what
the API needs on top: a disabled workflow starts nothing, every run it records is handed to
the `RunDispatcher`, run history is read from query values, and a run is only visible under
its own namespace. Ids and the clock are injected so tests are deterministic.

A re-run's scope (what runs again: chalicelib/engine/rerun.py) is checked here: from failure
only for a run that failed or was cancelled, `all` and `jobs` for any finished run (a run
still queued or running has no result to re-run yet); a job named that the pinned version
does not have is an invalid request naming it. The jobs named are kept in the order of the
definition, once each, whatever order they were given in.
"""

from __future__ import annotations

import math
import secrets as token_source
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.expressions import as_text
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import RunState
from chalicelib.engine.engine import resolve_params
from chalicelib.engine.records import FROM_FAILURE, JobRecord, RerunKind, RerunScope, RunRecord
from chalicelib.engine.rerun import unknown_jobs
from chalicelib.errors import Conflict, InvalidRequest, NotFound
from chalicelib.services.dispatch import RunDispatcher
from chalicelib.services.instance_service import (
    InstanceQuery,
    fan_out_summaries,
    instances_page,
    pinned_workflow,
)
from chalicelib.services.reuse_origins import reuse_origins
from chalicelib.services.run_views import run_document
from chalicelib.store.base import RunFilter, RunPage, Store

Clock = Callable[[], float]
IdMaker = Callable[[float], str]

DEFAULT_PAGE = 50
MAX_PAGE = 500


def new_run_id(now: float) -> str:
    """Sortable and readable: 20261125-173005-4f9a1c2e."""
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{token_source.token_hex(4)}"


@dataclass(frozen=True)
class NewRun:
    """A run laid out but not yet stored: checks that can fail have all passed."""

    run: RunRecord
    jobs: tuple[JobRecord, ...]
    workflow: Workflow


class RunRecorder:
    """Lays out runs and stores them; executes nothing."""

    def __init__(self, store: Store, *, clock: Clock = time.time, new_id: IdMaker = new_run_id) -> None:
        self.store = store
        self._clock = clock
        self._new_id = new_id

    def plan(
        self,
        namespace: str,
        workflow: str,
        params: Mapping[str, str],
        *,
        version: int | None = None,
        trigger: Mapping[str, Any] | None = None,
        rerun_of: str | None = None,
        rerun_scope: RerunScope | None = None,
    ) -> NewRun:
        """The run of `version` (latest when None); InvalidDefinition lists every bad param."""
        stored = self.store.get_workflow(namespace, workflow, version)
        now = self._clock()
        run = RunRecord(
            id=self._new_id(now), namespace=namespace, workflow=workflow,
            workflow_version=stored.version, status=RunState.QUEUED, created_at=now,
            params=resolve_params(stored.workflow, params),
            trigger=dict(trigger or {"type": "api"}),
            rerun_of=rerun_of,
            rerun_scope=rerun_scope if rerun_of is not None else None,
        )
        jobs = tuple(
            JobRecord(run.id, job.name, s, a, p)
            for s, stage in enumerate(stored.workflow.spec.stages)
            for a, action in enumerate(stage.actions)
            for p, job in enumerate(action.jobs)
        )
        return NewRun(run, jobs, stored.workflow)

    def plan_rerun(self, run_id: str, scope: RerunScope = FROM_FAILURE) -> NewRun:
        """A new run of the same pinned version, params and trigger, re-running what `scope`
        says (the executor reuses the rest through `rerun_of`, engine.rerun.reused_jobs).
        InvalidRequest naming the jobs the version does not have; Conflict from failure
        unless the run failed or was cancelled, and for any scope while it has not ended."""
        previous = self.store.get_run(run_id)
        stored = self.store.get_workflow(previous.namespace, previous.workflow, previous.workflow_version)
        if scope.kind is RerunKind.JOBS:
            scope = _in_definition_order(scope, stored.workflow)
        if not previous.status.is_final:
            raise Conflict(f"run {run_id} is {previous.status}; only a finished run can be re-run")
        if scope.kind is RerunKind.FAILED and previous.status is RunState.SUCCEEDED:
            raise Conflict(
                f"run {run_id} is {previous.status}; only a failed or cancelled run can be re-run "
                "from failure (re-run all its jobs, or some of them, instead)"
            )
        return self.plan(
            previous.namespace, previous.workflow, previous.params,
            version=previous.workflow_version, trigger=previous.trigger, rerun_of=previous.id,
            rerun_scope=scope,
        )

    def record(self, new: NewRun) -> RunRecord:
        self.store.create_run(new.run, new.jobs)
        return new.run


class RunService:
    """Runs as the API sees them: recorded queued, then submitted to the dispatcher."""

    def __init__(
        self,
        store: Store,
        dispatcher: RunDispatcher,
        *,
        clock: Clock = time.time,
        new_id: IdMaker = new_run_id,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.recorder = RunRecorder(store, clock=clock, new_id=new_id)

    # --- starting ---------------------------------------------------------------------
    def start(
        self,
        namespace: str,
        name: str,
        params: Mapping[str, str],
        trigger: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """Queue a run of the workflow's latest version and submit it."""
        return self.launch(self.plan_start(namespace, name, params, trigger))

    def plan_start(
        self,
        namespace: str,
        name: str,
        params: Mapping[str, str],
        trigger: Mapping[str, Any] | None = None,
    ) -> NewRun:
        """Every check `start` makes, without storing anything (webhooks claim in between)."""
        self._require_enabled(namespace, name)
        return self.recorder.plan(namespace, name, params, trigger=trigger)

    def launch(self, new: NewRun) -> RunRecord:
        run = self.recorder.record(new)
        self.dispatcher.submit(run.id)
        return run

    def rerun(self, namespace: str, run_id: str, scope: RerunScope = FROM_FAILURE) -> RunRecord:
        previous = self.get(namespace, run_id)
        self._require_enabled(previous.namespace, previous.workflow)
        return self.launch(self.recorder.plan_rerun(previous.id, scope))

    def rerun_from_failure(self, namespace: str, run_id: str) -> RunRecord:
        return self.rerun(namespace, run_id, FROM_FAILURE)

    def _require_enabled(self, namespace: str, name: str) -> None:
        if not self.store.get_workflow_settings(namespace, name).enabled:
            raise Conflict(f"workflow {namespace}/{name} is disabled")

    # --- reading ----------------------------------------------------------------------
    def get(self, namespace: str, run_id: str) -> RunRecord:
        """The run, if it belongs to `namespace`; another namespace's run is not found."""
        run = self.store.get_run(run_id)
        if run.namespace != namespace:
            raise NotFound(f"run {run_id} not found")
        return run

    def detail(self, namespace: str, run_id: str) -> dict[str, Any]:
        run = self.get(namespace, run_id)
        jobs = self.store.list_jobs(run_id)
        workflow = pinned_workflow(self.store, run)
        # list_job_attempts: the instances' attempts are read with their pages, not here.
        return run_document(run, jobs, self.store.list_job_attempts(run_id),
                            reuse_origins(self.store, run, jobs),
                            fan_out_summaries(self.store, run, workflow, jobs))

    def instances(self, namespace: str, run_id: str, job: str, query: InstanceQuery) -> dict[str, Any]:
        """A page of a fan-out job's instances (instance_service.instances_page)."""
        return instances_page(self.store, self.get(namespace, run_id), job, query)

    def list_runs(self, namespace: str, query: RunQuery) -> RunPage:
        run_filter = query.to_filter(namespace)
        try:
            return self.store.list_runs(run_filter)
        except ValueError as exc:  # the store could not read the cursor
            raise InvalidRequest(f"'cursor' is not a cursor this API gave: {exc}") from exc

    # --- cancelling -------------------------------------------------------------------
    def cancel(self, namespace: str, run_id: str) -> RunRecord:
        """Set the cancel flag (whoever executes the run honours it), then have the
        dispatcher stop its containers now. A finished run is left as it was."""
        self.get(namespace, run_id)
        run = self.store.request_cancel(run_id)
        if not run.status.is_final:
            self.dispatcher.cancel(run_id)
        return run


@dataclass(frozen=True)
class RunQuery:
    """Run history query values as they arrive (strings), checked by `to_filter`.

    Times are UNIX seconds or ISO 8601 (a time without a zone is UTC); `created_after` is
    inclusive and `created_before` exclusive. A status may be repeated or comma-separated.
    """

    workflow: str | None = None
    statuses: Sequence[str] = ()
    created_after: str | None = None
    created_before: str | None = None
    limit: int = DEFAULT_PAGE
    cursor: str | None = None

    def to_filter(self, namespace: str) -> RunFilter:
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidRequest(f"'limit' must be between 1 and {MAX_PAGE}")
        return RunFilter(
            namespace=namespace,
            workflow=self.workflow or None,
            statuses=parse_statuses(self.statuses),
            created_after=parse_time("created_after", self.created_after),
            created_before=parse_time("created_before", self.created_before),
            limit=self.limit,
            cursor=self.cursor or None,
        )


def parse_statuses(values: Sequence[str]) -> tuple[RunState, ...]:
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    known = [state.value for state in RunState]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidRequest(
            f"unknown run status {', '.join(repr(n) for n in unknown)} (one of: {', '.join(known)})"
        )
    return tuple(dict.fromkeys(RunState(name) for name in names))


def parse_time(key: str, value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise InvalidRequest(f"'{key}' must be a finite number of UNIX seconds")
        return seconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"'{key}' must be UNIX seconds or an ISO 8601 time such as 2026-11-25T17:30:00Z"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _in_definition_order(scope: RerunScope, workflow: Workflow) -> RerunScope:
    unknown = unknown_jobs(workflow, scope.jobs)
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        raise InvalidRequest(f"workflow {workflow.ref} has no job {names} to re-run "
                             f"(its jobs: {', '.join(job.name for job in workflow.jobs())})")
    asked = set(scope.jobs)
    return RerunScope(RerunKind.JOBS, tuple(job.name for job in workflow.jobs() if job.name in asked))


RERUN_FIELDS = ("scope", "jobs")


def rerun_scope_from_request(body: Mapping[str, Any]) -> RerunScope:
    """The scope a re-run request asks for: `{}` (or no body) is from failure, as is
    `{"scope": "failed"}`; `{"scope": "all"}`; `{"scope": "jobs", "jobs": [names]}`."""
    unknown = sorted(set(body) - set(RERUN_FIELDS))
    if unknown:
        raise InvalidRequest(f"unknown field(s) in the body: {', '.join(map(str, unknown))};"
                             f" expected {', '.join(RERUN_FIELDS)}")
    given = body.get("scope", RerunKind.FAILED.value)
    kinds = [kind.value for kind in RerunKind]
    if given not in kinds:
        raise InvalidRequest(f"'scope' must be one of {', '.join(kinds)}")
    kind = RerunKind(given)
    jobs = body.get("jobs")
    if kind is not RerunKind.JOBS:
        if jobs is not None:
            raise InvalidRequest(f"'jobs' goes with \"scope\": \"jobs\" only (not with \"{kind}\")")
        return RerunScope(kind)
    if not isinstance(jobs, list) or not all(isinstance(name, str) for name in jobs):
        raise InvalidRequest("'jobs' must be a list of the names of the jobs to re-run")
    if not jobs:
        raise InvalidRequest("'jobs' is empty: name at least one job to re-run")
    return RerunScope(RerunKind.JOBS, tuple(dict.fromkeys(jobs)))


def params_from_request(body: Mapping[str, Any]) -> dict[str, str]:
    """The `params` of a start request: an object of scalar values (as text)."""
    unknown = sorted(set(body) - {"params"})
    if unknown:
        raise InvalidRequest(f"unknown field(s) in the body: {', '.join(unknown)} (expected: params)")
    given = body.get("params", {})
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise InvalidRequest("'params' must be an object of name: value")
    bad = sorted(name for name, value in given.items() if isinstance(value, dict | list))
    if bad:
        raise InvalidRequest(f"param(s) {', '.join(bad)} must be a string, number or boolean")
    return {str(name): as_text(value) for name, value in given.items()}
