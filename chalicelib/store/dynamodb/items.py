"""Records to items and back: the one place that knows which attribute holds which field.

Numbers come back from DynamoDB as it normalised them (1700000000.0 reads as the integer
1700000000), so every field is given back its record's type here. Outputs are DynamoDB maps
(see StringMapAttribute), params and the trigger JSON text (they may nest anything JSON can).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.records import AttemptRecord, JobRecord, RerunScope, RunRecord
from chalicelib.store.base import StoredComponent, StoredWorkflow, WorkflowSettings
from chalicelib.store.dynamodb import keys
from chalicelib.store.dynamodb.models import (
    AttemptItem,
    ComponentItem,
    CountsItem,
    JobItem,
    RunItem,
    StoreTables,
    WorkflowHeadItem,
    WorkflowVersionItem,
)
from chalicelib.store.dynamodb.sizes import decompress


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


# --- definitions ---------------------------------------------------------------------

def stored_component(item: ComponentItem) -> StoredComponent:
    return StoredComponent(
        component=Component.model_validate_json(item.document),
        deprecated=bool(item.deprecated),
        created_at=float(item.created_at),
    )


def stored_workflow(item: WorkflowVersionItem) -> StoredWorkflow:
    return StoredWorkflow(
        workflow=Workflow.model_validate_json(decompress(item.document)),
        version=int(item.version),
        created_at=float(item.created_at),
    )


def workflow_settings(head: WorkflowHeadItem) -> WorkflowSettings:
    return WorkflowSettings(enabled=bool(head.enabled), webhook_secret=head.webhook_secret)


# --- runs ----------------------------------------------------------------------------

def run_fields(run: RunRecord) -> dict[str, Any]:
    """Every attribute of a whole run item but its key and `cancel_requested`."""
    return {
        "id": run.id,
        "namespace": run.namespace,
        "workflow": run.workflow,
        "workflow_version": run.workflow_version,
        "status": run.status.value,
        "created_at": run.created_at,
        "params": run.params,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "reason": run.reason,
        "rerun_of": run.rerun_of,
        "rerun_scope": run.rerun_scope.as_document() if run.rerun_scope is not None else None,
        "workflow_ref": keys.workflow_ref(run.namespace, run.workflow),
        "created_order": keys.created_order(run.created_at, run.id),
        "run_shard": keys.run_shard(run.id),
    }


def run_item(tables: StoreTables, run: RunRecord) -> RunItem:
    return tables.run(keys.run_pk(run.id), keys.RUN_SK, **run_fields(run))


def run_placeholder(tables: StoreTables, run_id: str, token: str) -> RunItem:
    """What holds a big run's id while its jobs are written: no index keys, so no history
    lists it, and `creating` set, so every read treats it as missing."""
    return tables.run(keys.run_pk(run_id), keys.RUN_SK, id=run_id, creating=token)


def run_actions(tables: StoreTables, run: RunRecord) -> list[Action]:
    """SET every field of `run_fields` (REMOVE the ones that are None), never touching
    `cancel_requested`: a runner's save cannot undo a cancel it has not seen."""
    model = tables.run
    return [model.get_attributes()[name].set(value) for name, value in run_fields(run).items()]


def run_record(item: RunItem) -> RunRecord:
    return RunRecord(
        id=item.id,
        namespace=item.namespace or "",
        workflow=item.workflow or "",
        workflow_version=int(item.workflow_version),
        status=RunState(item.status),
        created_at=float(item.created_at),
        params=dict(item.params or {}),
        trigger=dict(item.trigger or {}),
        started_at=_float(item.started_at),
        finished_at=_float(item.finished_at),
        reason=item.reason or "",
        rerun_of=item.rerun_of,
        cancel_requested=bool(item.cancel_requested),
        rerun_scope=RerunScope.from_document(item.rerun_scope),
    )


def job_item(tables: StoreTables, job: JobRecord, creating: str | None = None) -> JobItem:
    return tables.job(
        keys.run_pk(job.run_id), keys.job_sk(job.name),
        run_id=job.run_id, name=job.name, stage=job.stage, action=job.action,
        position=job.position, status=job.status.value, reason=job.reason,
        outputs=dict(job.outputs), exit_code=job.exit_code, attempts=job.attempts,
        started_at=job.started_at, finished_at=job.finished_at, creating=creating,
        grp=job.group, instance=job.instance,
    )


def job_record(item: JobItem) -> JobRecord:
    return JobRecord(
        run_id=item.run_id, name=item.name, stage=int(item.stage), action=int(item.action),
        position=int(item.position), status=JobState(item.status), reason=item.reason or "",
        outputs=dict(item.outputs or {}), exit_code=_int(item.exit_code),
        attempts=int(item.attempts), started_at=_float(item.started_at),
        finished_at=_float(item.finished_at), group=item.grp, instance=_int(item.instance),
    )


def counts_item(tables: StoreTables, run_id: str, job: str, counts: Mapping[JobState, int],
                creating: str | None = None) -> CountsItem:
    """The counts item of a group whose recorded instances are `counts` (a new run's)."""
    item = tables.counts(keys.run_pk(run_id), keys.counts_sk(job), creating=creating)
    for state, n in counts.items():
        if n:
            setattr(item, state.value, n)
    return item


def instance_counts(item: CountsItem | None) -> dict[JobState, int]:
    """The states some recorded instances are in, and how many (counters at 0 left out)."""
    if item is None:
        return {}
    found = {state: int(getattr(item, state.value) or 0) for state in JobState}
    return {state: n for state, n in found.items() if n > 0}


def attempt_item(tables: StoreTables, attempt: AttemptRecord) -> AttemptItem:
    a = attempt
    return tables.attempt(
        keys.run_pk(a.run_id), keys.attempt_sk(a.job, a.number),
        run_id=a.run_id, job=a.job, number=a.number, status=a.status.value,
        container_id=a.container_id, exit_code=a.exit_code, reason=a.reason,
        outputs=dict(a.outputs), ready_at=a.ready_at, started_at=a.started_at,
        finished_at=a.finished_at, log_bytes=a.log_bytes, log_truncated=a.log_truncated,
        stdout_bytes=a.stdout_bytes, stderr_bytes=a.stderr_bytes,
        reported_result=a.reported_result, output_violation=a.output_violation,
        task_token=a.task_token or None, log_position=a.log_position or None,
    )


def attempt_record(item: AttemptItem) -> AttemptRecord:
    return AttemptRecord(
        run_id=item.run_id, job=item.job, number=int(item.number),
        status=AttemptState(item.status), container_id=item.container_id,
        exit_code=_int(item.exit_code), reason=item.reason or "",
        outputs=dict(item.outputs or {}), ready_at=_float(item.ready_at),
        started_at=_float(item.started_at), finished_at=_float(item.finished_at),
        log_bytes=int(item.log_bytes), log_truncated=bool(item.log_truncated),
        stdout_bytes=int(item.stdout_bytes), stderr_bytes=int(item.stderr_bytes),
        reported_result=item.reported_result, output_violation=item.output_violation or "",
        task_token=item.task_token or "", log_position=item.log_position or "",
    )


def job_what(run_id: str, job: str) -> str:
    return f"job {job} of run {run_id}"


def attempt_what(run_id: str, job: str, number: int) -> str:
    return f"attempt {number} of job {job} in run {run_id}"
