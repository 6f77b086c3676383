"""A run taken up from its stored records: what its expressions can see, and where its
stages stand.

The local driver calls these when it starts (or restarts) a run; a cloud handler calls
`run_context` whenever it plans a job, because every Lambda invocation starts from the
store. One function each, so a restarted driver and a handler see the same run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from chalicelib.domain.models import Workflow
from chalicelib.domain.scheduler import StageScheduler, layout_of
from chalicelib.domain.states import JobState
from chalicelib.engine.engine import RunContext, succeeded_outputs
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.engine.rules import passes


def run_context(
    run: RunRecord, jobs: Iterable[JobRecord], secrets: Mapping[str, str] | None = None
) -> RunContext:
    return RunContext(
        run_id=run.id, params=run.params, trigger=run.trigger,
        outputs=succeeded_outputs(jobs), secrets=dict(secrets or {}),
    )


def restored_scheduler(workflow: Workflow, jobs: Iterable[JobRecord]) -> StageScheduler:
    """The scheduler of the workflow with every stored job accounted for: finished jobs are
    done (passing or not, continue_on_error counted), running ones are running."""
    scheduler = StageScheduler(layout_of(workflow))
    records = list(jobs)
    for record in records:
        if record.status.is_final:
            scheduler.restore(record.name, passed=passes(workflow, record.name, record.status))
    for record in records:
        if record.status is JobState.RUNNING:
            scheduler.restore(record.name, running=True)
    return scheduler
