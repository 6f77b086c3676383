"""The run record as a document: what `run --output json` prints and the API answers.

The detail document also carries the run's trigger (what started it); summaries, which
fill the history's pages, leave it out. A reused job says where it did its work
(`reused_from`: the run and attempt, found by `reuse_origins`; null for every other job,
and for a reused one whose origin is gone).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord
from chalicelib.engine.rerun import scope_of
from chalicelib.services.reuse_origins import ReuseOrigin


def run_summary(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow": f"{run.namespace}/{run.workflow}",
        "workflow_version": run.workflow_version,
        "status": str(run.status),
        "reason": run.reason,
        "params": run.params,
        "rerun_of": run.rerun_of,
        # What the re-run runs again ({"scope": "failed" | "all" | "jobs", "jobs": [...]});
        # null for a run that is no re-run.
        "rerun_scope": _scope_document(run),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        # Asked to stop: while the status is still `running`, its containers are being
        # stopped (what the run view and the CLI show as "cancelling…").
        "cancel_requested": run.cancel_requested,
    }


def _scope_document(run: RunRecord) -> dict[str, Any] | None:
    scope = scope_of(run)
    return scope.as_document() if scope is not None else None


def run_document(
    run: RunRecord, jobs: list[JobRecord], attempts: list[AttemptRecord],
    reused_from: Mapping[str, ReuseOrigin] | None = None,
    fan_out: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """`fan_out`: the summary of each fan-out job (instance_views.fan_out_summary), by name;
    the document never lists instances (they are paged: instance_service)."""
    by_job: dict[str, list[AttemptRecord]] = {}
    for attempt in attempts:
        by_job.setdefault(attempt.job, []).append(attempt)
    origins = reused_from or {}
    return {
        **run_summary(run),
        # What started it (`trigger.*`: a webhook's whole body, say), here and not in the
        # summary, so that a page of the history stays small.
        "trigger": run.trigger,
        "jobs": [_with_fan_out(_job_document(job, by_job.get(job.name, []), origins.get(job.name)),
                               (fan_out or {}).get(job.name))
                 for job in jobs],
    }


def _with_fan_out(document: dict[str, Any], summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """A fan-out job's entry gains `fan_out`; any other job's has no such key."""
    if summary is not None:
        document["fan_out"] = dict(summary)
    return document


def _job_document(
    job: JobRecord, attempts: list[AttemptRecord], origin: ReuseOrigin | None
) -> dict[str, Any]:
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
        "reused_from": origin.as_document() if origin is not None else None,
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
