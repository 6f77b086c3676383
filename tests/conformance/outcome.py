"""What a run came to, in the terms both backends must agree on: `Outcome`.

The run's status and reason; per job its status, reason, attempts, exit code and outputs;
per attempt its status, reason and exit code; plus the few observations a scenario adds
(the last log line a reader sees, say). Times and ids are left out, and two things that
must differ between a Docker container and an ECS task are normalised, nothing else:

- the run's own id (and the id of the run it re-runs), wherever a reason or an observation
  quotes it, becomes `<run>` (`<first run>` for the run re-run);
- an attempt's container id (a Docker id, whole or its 12-character short form, or an ECS
  task ARN, whole or its task id) becomes `<container>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from chalicelib.engine.records import AttemptRecord, JobRecord, RunRecord

RUN_PLACEHOLDER = "<run>"
FIRST_RUN_PLACEHOLDER = "<first run>"
CONTAINER_PLACEHOLDER = "<container>"
DOCKER_SHORT_ID = 12


@dataclass(frozen=True)
class AttemptOutcome:
    status: str
    reason: str
    exit_code: int | None


@dataclass(frozen=True)
class JobOutcome:
    status: str
    reason: str
    attempts: int
    exit_code: int | None
    outputs: Mapping[str, str]
    attempt_outcomes: tuple[AttemptOutcome, ...]


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str
    jobs: Mapping[str, JobOutcome]
    observations: Mapping[str, str] = field(default_factory=dict)
    # Which run this was, for a re-run or a look at its logs: never compared.
    run_id: str = field(default="", compare=False)

    def job(self, name: str) -> JobOutcome:
        return self.jobs[name]

    def observed(self, key: str, value: str) -> Outcome:
        """This outcome with one more observation (normalised like the reasons)."""
        return replace(self, observations={**self.observations, key: value})


@dataclass(frozen=True)
class Normaliser:
    """Replaces the ids that must differ between backends with placeholders."""

    replacements: Sequence[tuple[str, str]]

    @classmethod
    def for_run(cls, run: RunRecord, attempts: Iterable[AttemptRecord]) -> Normaliser:
        pairs: list[tuple[str, str]] = []
        for attempt in attempts:
            pairs.extend((name, CONTAINER_PLACEHOLDER) for name in container_names(attempt.container_id))
        pairs.append((run.id, RUN_PLACEHOLDER))
        if run.rerun_of:
            pairs.append((run.rerun_of, FIRST_RUN_PLACEHOLDER))
        # Longest first, so a short form never replaces part of its long form.
        return cls(sorted(set(pairs), key=lambda pair: -len(pair[0])))

    def __call__(self, text: str) -> str:
        for value, placeholder in self.replacements:
            if value:
                text = text.replace(value, placeholder)
        return text


def container_names(container_id: str | None) -> list[str]:
    """The spellings of a container id a reason may quote."""
    if not container_id:
        return []
    if container_id.startswith("arn:"):
        return [container_id, container_id.rsplit("/", 1)[-1]]
    return [container_id, container_id[:DOCKER_SHORT_ID]]


def outcome_of(run: RunRecord, jobs: Sequence[JobRecord], attempts: Sequence[AttemptRecord]) -> Outcome:
    """The outcome of a finished run, read from its records."""
    normal = Normaliser.for_run(run, attempts)
    by_job: dict[str, list[AttemptRecord]] = {}
    for attempt in sorted(attempts, key=lambda a: (a.job, a.number)):
        by_job.setdefault(attempt.job, []).append(attempt)
    return Outcome(
        status=str(run.status),
        reason=normal(run.reason),
        jobs={job.name: JobOutcome(
            status=str(job.status),
            reason=normal(job.reason),
            attempts=job.attempts,
            exit_code=job.exit_code,
            outputs={key: normal(value) for key, value in sorted(job.outputs.items())},
            attempt_outcomes=tuple(
                AttemptOutcome(str(a.status), normal(a.reason), a.exit_code)
                for a in by_job.get(job.name, [])
            ),
        ) for job in sorted(jobs, key=lambda j: (j.stage, j.action, j.position))},
        run_id=run.id,
    )


def normalised(outcome: Outcome, run: RunRecord, attempts: Iterable[AttemptRecord],
               key: str, value: str) -> Outcome:
    """`outcome` with an observation made of this run, normalised like its reasons."""
    return outcome.observed(key, Normaliser.for_run(run, attempts)(value))


def with_stopped_exit_codes_unknown(outcome: Outcome) -> Outcome:
    """The outcome as EKS can tell it: an attempt stopped by ContainerOps (a cancel, another
    job's failure) or by its deadline has no exit code, because Kubernetes removes the pod
    of a Job it stops, and its containers' exit status with it (README, "Jobs on EKS"). Its
    state and reason are the same."""

    def stopped(attempt: AttemptOutcome) -> bool:
        return attempt.status == "cancelled" or attempt.reason.startswith("timeout")

    jobs = {}
    for name, job in outcome.jobs.items():
        attempts = tuple(replace(attempt, exit_code=None) if stopped(attempt) else attempt
                         for attempt in job.attempt_outcomes)
        last_stopped = bool(job.attempt_outcomes) and stopped(job.attempt_outcomes[-1])
        jobs[name] = replace(job, attempt_outcomes=attempts,
                             exit_code=None if last_stopped else job.exit_code)
    return replace(outcome, jobs=jobs)
