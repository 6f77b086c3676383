"""The shared engine: every decision about a job that both drivers must make the same way.

Drivers decide *when* to launch and *how* to wait; this module decides *what*: the run's
params, whether a job is skipped (`if`), its resolved data and environment, its
resources and timeout, whether an attempt succeeded, whether to retry and after how
long, and what a re-run from failure reuses. Pure functions over definitions and
records; no containers, no store.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Protocol

from chalicelib.domain.catalog import ComponentCatalog, parse_component_ref
from chalicelib.domain.expressions import (
    ExpressionError,
    Reference,
    Value,
    as_text,
    evaluate,
    is_truthy,
    parse_condition,
    parse_template,
    render,
)
from chalicelib.domain.models import Component, Job, Resources, Workflow
from chalicelib.domain.platforms import PlatformName
from chalicelib.domain.protocol import (
    DataFormat,
    Verdict,
    data_variables,
    encode_data,
    judge,
)
from chalicelib.domain.quantities import parse_duration, parse_memory
from chalicelib.domain.states import JobState
from chalicelib.engine.aggregate import too_large_reference
from chalicelib.engine.records import JobRecord
from chalicelib.errors import InvalidDefinition, NotFound, Problem

DEFAULT_JOB_TIMEOUT = 3600.0
MAX_RETRY_DELAY = 600.0


# The outputs of instance `index` of fan-out job `job`, when it did its work (None when it
# did not, or has no record): a lookup, so a run's context never loads every instance.
InstanceOutputs = Callable[[str, int], Mapping[str, str] | None]


@dataclass(frozen=True)
class RunContext:
    """What expressions of a run can see. `matrix`: the values of the fan-out instance being
    planned (empty for a plain job); `instance_outputs`: how `jobs.X.instances[N].outputs.K`
    is answered (a fan-out job's own `jobs.X.outputs.K` are its record's JSON lists)."""

    run_id: str
    params: Mapping[str, str] = field(default_factory=dict)
    trigger: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    matrix: Mapping[str, str] = field(default_factory=dict)
    instance_outputs: InstanceOutputs | None = None

    def resolve(self, reference: Reference) -> Value:
        root, rest = reference.parts[0], reference.parts[1:]
        if root == "jobs" and len(rest) == 3 and rest[1] == "outputs":
            outputs = self.outputs.get(rest[0], {})
            too_large = too_large_reference(rest[0], rest[2], outputs)
            if too_large is not None:
                raise ExpressionError(too_large)
            return outputs.get(rest[2], "")
        if root == "jobs" and len(rest) == 5 and rest[1] == "instances" and rest[3] == "outputs":
            index = reference.index_at(3)
            found = self.instance_outputs(rest[0], index) if (
                self.instance_outputs is not None and index is not None) else None
            return (found or {}).get(rest[4], "")
        if root == "matrix" and len(rest) == 1:
            return self.matrix.get(rest[0], "")
        if root == "params" and len(rest) == 1:
            return self.params.get(rest[0], "")
        if root == "run" and rest == ("id",):
            return self.run_id
        if root == "secrets" and len(rest) == 1:
            return self.secrets.get(rest[0], "")
        if root == "trigger":
            return _dig(self.trigger, rest)
        return ""


def _dig(value: Any, path: tuple[str, ...]) -> Value:
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return ""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    # a mapping or list (e.g. a webhook's `head_commit`) reaches a component as JSON it can parse
    return json.dumps(value, separators=(",", ":"), default=str)


# --- params --------------------------------------------------------------------------

def resolve_params(workflow: Workflow, given: Mapping[str, str]) -> dict[str, str]:
    """The run's params: given values over defaults; unknown or missing ones are errors."""
    declared = {param.name: param for param in workflow.spec.params}
    problems = [
        Problem(f"params.{name}", f"unknown param '{name}' (declared: {', '.join(declared) or 'none'})")
        for name in given if name not in declared
    ]
    resolved: dict[str, str] = {}
    for name, param in declared.items():
        if name in given:
            resolved[name] = given[name]
        elif param.default is not None:
            resolved[name] = as_text(param.default)
        elif param.required:
            problems.append(Problem(f"params.{name}", f"param '{name}' is required"))
        else:
            resolved[name] = ""
    if problems:
        raise InvalidDefinition(problems, "params")
    return resolved


# --- planning a job ------------------------------------------------------------------

@dataclass(frozen=True)
class MountPlan:
    source: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class JobPlan:
    """Everything needed to launch one attempt of a job, already resolved."""

    job: str
    image: str
    command: list[str] | None
    data: dict[str, str]
    data_format: DataFormat
    env: dict[str, str]
    mounts: tuple[MountPlan, ...]
    resources: Resources
    timeout: float
    strict_result: bool
    retry_limit: int
    retry_backoff: float
    continue_on_error: bool
    secret_values: tuple[str, ...] = ()
    # The platform the definition names for it on AWS (the job's, else its workflow's); None:
    # the deployment's default decides (chalicelib.domain.platforms). The local driver ignores it.
    platform: PlatformName | None = None
    # A fan-out instance's CO_INSTANCE_* and CO_SHARD_* (engine/fanout.py); empty for a plain job.
    instance_variables: Mapping[str, str] = field(default_factory=dict)

    def environment(self, run_id: str, attempt: int) -> dict[str, str]:
        """The container's environment: user env, CO_<KEY>s, then the reserved names."""
        return {
            **self.env,
            **data_variables(self.data),
            **self.instance_variables,
            "CO_DATA": encode_data(self.data, self.data_format),
            "CO_RUN_ID": run_id,
            "CO_JOB": self.job,
            "CO_ATTEMPT": str(attempt),
        }

    @property
    def memory_request_bytes(self) -> int | None:
        value = self.resources.memory_request
        return parse_memory(value) if value else None

    @property
    def memory_limit_bytes(self) -> int | None:
        value = self.resources.memory_limit
        return parse_memory(value) if value else None


@dataclass(frozen=True)
class Skip:
    job: str
    reason: str


def component_of(job: Job, catalog: ComponentCatalog) -> Component | None:
    if job.component is None:
        return None
    ref = parse_component_ref(job.component)
    component = catalog.find(ref) if ref else None
    if component is None:
        raise NotFound(f"component {job.component} of job '{job.name}' is not registered")
    return component


def plan_job(
    workflow: Workflow, job: Job, component: Component | None, context: RunContext
) -> JobPlan | Skip:
    """Decide whether the job runs and, if it does, with exactly what."""
    if job.if_ is not None and not is_truthy(evaluate(parse_condition(job.if_), context.resolve)):
        return Skip(job.name, f"condition is false: {job.if_}")
    spec = component.spec if component else None
    data = {
        item.name: as_text(item.default) for item in (spec.inputs if spec else []) if item.default is not None
    }
    data.update({key: _render(value, context) for key, value in job.data.items()})
    env = {key: _render(value, context) for key, value in {**workflow.spec.env, **job.env}.items()}
    base_resources = spec.resources if spec else Resources()
    return JobPlan(
        job=job.name,
        image=spec.image if spec else (job.image or ""),
        command=job.command or (spec.command if spec else None),
        data=data,
        data_format=spec.data_format if spec else "pairs",
        env=env,
        mounts=tuple(
            MountPlan(_render(m.source, context), m.target, m.read_only) for m in job.mounts
        ),
        resources=job.resources.merged_over(base_resources),
        timeout=job_timeout_seconds(job, component),
        strict_result=spec.strict_result if spec else False,
        retry_limit=job.retries.limit,
        retry_backoff=parse_duration(job.retries.backoff),
        continue_on_error=job.continue_on_error,
        secret_values=tuple(value for value in context.secrets.values() if value),
        platform=job.platform or workflow.spec.platform,
    )


def job_timeout_seconds(job: Job, component: Component | None) -> float:
    """How long one attempt may run: the job's timeout, else its component's, else the default.

    The workflow's timeout bounds the whole run (the driver or the state machine enforces
    it), not each job. The ASL compiler sizes each job state's backstop from this too.
    """
    source = job.timeout or (component.spec.timeout if component else None)
    return parse_duration(source) if source else DEFAULT_JOB_TIMEOUT


def _render(value: object, context: RunContext) -> str:
    if not isinstance(value, str):
        return as_text(value if isinstance(value, int | float | bool) else str(value))
    return render(parse_template(value), context.resolve)


# --- attempts ------------------------------------------------------------------------

@dataclass(frozen=True)
class AttemptEnd:
    """How an attempt's container ended, as the driver observed it."""

    exit_code: int | None
    timed_out: bool = False
    cancelled: bool = False
    oom_killed: bool = False
    launch_error: str = ""
    stop_reason: str = ""  # why it was stopped, when it was (cancelled)
    # What the job wrote to the run's workspace could not be kept for the jobs after it
    # (on AWS, the workspace sidecar failed to save its layer): the words why.
    workspace_error: str = ""
    # Why the container had still not started when the attempt's timeout ended it (on EKS,
    # the scheduler's message for a pod no node could take): part of the timeout's reason.
    waiting_reason: str = ""


class ReportedOutput(Protocol):
    """What an attempt's log said about its result: the CO_RESULT it reported, and the first
    output limit it broke (empty when none)."""

    @property
    def reported_result(self) -> bool | None: ...

    @property
    def violation(self) -> str: ...


def judge_attempt(plan: JobPlan, end: AttemptEnd, collector: ReportedOutput) -> Verdict:
    if end.launch_error:
        return Verdict(False, end.launch_error)
    if end.cancelled:
        return Verdict(False, "cancelled")
    if end.timed_out:
        return Verdict(False, f"timeout ({end.waiting_reason})" if end.waiting_reason else "timeout")
    if end.oom_killed:
        limit = plan.resources.memory_limit
        return Verdict(False, f"out of memory (limit {limit})" if limit else "out of memory")
    verdict = judge(
        end.exit_code if end.exit_code is not None else -1,
        collector.reported_result,
        strict_result=plan.strict_result,
        limit_violation=collector.violation,
    )
    if verdict.succeeded and end.workspace_error:
        # Its work did not reach the workspace the later jobs read: it did not do its job.
        return Verdict(False, end.workspace_error)
    return verdict


def retry_delay(plan: JobPlan, attempt: int, *, cancelled: bool) -> float | None:
    """Seconds to wait before the next attempt, or None when the job should not retry.

    The backoff doubles with each attempt. A cancelled attempt is never retried.
    """
    if cancelled or attempt > plan.retry_limit:
        return None
    return float(min(plan.retry_backoff * 2.0 ** (attempt - 1), MAX_RETRY_DELAY))


# --- re-run from failure -------------------------------------------------------------

def succeeded_outputs(jobs: Iterable[JobRecord]) -> dict[str, dict[str, str]]:
    """The jobs that did their work (succeeded, or were reused), with their outputs: what
    later jobs of a run link to, and what a re-run from failure reuses."""
    return {
        job.name: dict(job.outputs)
        for job in jobs
        if job.status in (JobState.SUCCEEDED, JobState.REUSED)
    }


class SecretMasker:
    """Replaces every secret value in text with `***` before it is stored or shown."""

    def __init__(self, values: tuple[str, ...]) -> None:
        self._values = sorted({v for v in values if len(v) >= 3}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "***")
        return text

    def mask_all(self, texts: list[str], joined: str | None = None) -> list[str]:
        """`mask` of each text: `texts` itself when none holds a secret. For a batch of
        lines (`joined`: them joined, when the caller has it): one search of them all for
        each secret finds the few that hold one, and only those are masked (`mask` leaves a
        text holding no secret as it is). A match across two texts costs a needless `mask`."""
        if not self._values or not texts:
            return texts
        joined = "".join(texts) if joined is None else joined
        starts: list[int] = []
        holding: set[int] = set()
        for value in self._values:
            at = joined.find(value)
            if at >= 0 and not starts:
                starts = list(accumulate(map(len, texts), initial=0))
            while at >= 0:
                holding.add(bisect_right(starts, at) - 1)
                at = joined.find(value, at + 1)
        if not holding:
            return texts
        masked = list(texts)
        for index in holding:
            masked[index] = self.mask(masked[index])
        return masked
