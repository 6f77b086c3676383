"""The run record as a document: what `run --output json` prints and the API answers."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord


def run_summary(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow": f"{run.namespace}/{run.workflow}",
        "workflow_version": run.workflow_version,
        "status": str(run.status),
        "reason": run.reason,
        "params": run.params,
        "rerun_of": run.rerun_of,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def run_document(
    run: RunRecord, jobs: list[JobRecord], attempts: list[AttemptRecord]
) -> dict[str, Any]:
    by_job: dict[str, list[AttemptRecord]] = {}
    for attempt in attempts:
        by_job.setdefault(attempt.job, []).append(attempt)
    return {
        **run_summary(run),
        "jobs": [_job_document(job, by_job.get(job.name, [])) for job in jobs],
    }


def _job_document(job: JobRecord, attempts: list[AttemptRecord]) -> dict[str, Any]:
    return {
        "name": job.name,
        "stage": job.stage,
        "action": job.action,
        "status": str(job.status),
        "reason": job.reason,
        "attempts": job.attempts,
        "exit_code": job.exit_code,
        "outputs": job.outputs,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "attempt_history": [
            {
                "number": a.number,
                "status": str(a.status),
                "exit_code": a.exit_code,
                "reason": a.reason,
                "started_at": a.started_at,
                "finished_at": a.finished_at,
                "log_truncated": a.log_truncated,
            }
            for a in attempts
        ],
    }
