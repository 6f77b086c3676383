"""Where a re-run's reused jobs did their work: the run and the attempt whose outputs they carry.

A re-run reuses only jobs that succeeded (or were themselves reused) in the run it re-runs
(chalicelib/engine/rerun.py), so the work of a reused job was done further back along
`rerun_of`: in the nearest run of that chain where the job *succeeded*, by that job's last
attempt (a job succeeds by its last attempt; the ones before failed). That is what the run
view links to, so the attempt's log is one click away however many re-runs ago it ran.

Read from the records, not stored with the reuse: the chain's runs are final, so the answer
never changes, and both drivers and both stores give it alike. A few store reads per run of
the chain, for all its reused jobs at once; the walk stops at `MAX_CHAIN` runs, at a run that
is gone, and at a loop (which no driver makes: guarded all the same).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.states import JobState
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.errors import NotFound
from chalicelib.store.base import Store

MAX_CHAIN = 100


@dataclass(frozen=True)
class ReuseOrigin:
    run_id: str
    attempt: int

    def as_document(self) -> dict[str, Any]:
        return {"run": self.run_id, "attempt": self.attempt}


def reuse_origins(store: Store, run: RunRecord, jobs: Iterable[JobRecord]) -> dict[str, ReuseOrigin]:
    """For each reused job of `run`, the run and attempt it did its work in (when found)."""
    wanted = {job.name for job in jobs if job.status is JobState.REUSED}
    found: dict[str, ReuseOrigin] = {}
    seen = {run.id}
    source = run.rerun_of
    while wanted and source is not None and source not in seen and len(seen) <= MAX_CHAIN:
        seen.add(source)
        try:
            earlier = store.get_run(source)
            their_jobs = {job.name: job for job in store.list_jobs(source)}
        except NotFound:
            break
        for name in sorted(wanted):
            job = their_jobs.get(name)
            if job is not None and job.status is JobState.SUCCEEDED and job.attempts > 0:
                found[name] = ReuseOrigin(source, job.attempts)
                wanted.discard(name)
            elif job is None or job.status is not JobState.REUSED:
                wanted.discard(name)  # no work to point to: the records do not say where
        source = earlier.rerun_of
    return found
