"""Rendering a plan as Amazon States Language: the definition dict and its JSON text.

Every job state sends `{run_id, job, attempt, token}` to the launch queue and waits for
the token to be answered. `attempt` is 1-based like the store's attempt numbers:
`States.MathAdd($$.State.RetryCount, 1)` (Step Functions and moto both evaluate it;
`$$.State.RetryCount` is 0 on the first try). `run_id` is read from the execution input
(`{"run_id": ...}`), which every state keeps: Task, Parallel and Catch all have
`ResultPath: null`, so no job result ever enters the payload (outputs live in the store,
far from the 256 KiB payload limit).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.asl.plan import JobStep, MachinePlan, ParallelStep, RetryPolicy, Step

SEND_AND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
JOB_FAILED = "Job.Failed"  # the error the finaliser reports a failed attempt with
ATTEMPT_NUMBER = "States.MathAdd($$.State.RetryCount, 1)"


def render_machine(plan: MachinePlan) -> dict[str, Any]:
    chain = _chain(plan.steps, plan.queue_url)
    machine: dict[str, Any] = {
        "Comment": f"ContainerOps workflow {plan.workflow}",
        "StartAt": chain["StartAt"],
    }
    if plan.timeout_seconds is not None:
        machine["TimeoutSeconds"] = plan.timeout_seconds
    machine["States"] = chain["States"]
    return machine


def definition_text(definition: dict[str, Any], *, indent: int | None = None) -> str:
    """The JSON text of a definition: compact (what is deployed and measured) or indented."""
    if indent is None:
        return json.dumps(definition, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(definition, indent=indent, ensure_ascii=False) + "\n"


def _chain(steps: tuple[Step, ...], queue_url: str) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index, step in enumerate(steps):
        following = steps[index + 1].state if index + 1 < len(steps) else None
        if isinstance(step, JobStep):
            states.update(_job(step, following, queue_url))
        else:
            states[step.state] = _parallel(step, following, queue_url)
    return {"StartAt": steps[0].state, "States": states}


def _parallel(step: ParallelStep, following: str | None, queue_url: str) -> dict[str, Any]:
    return {
        "Type": "Parallel",
        "Branches": [_chain(branch, queue_url) for branch in step.branches],
        "ResultPath": None,
        **_transition(following),
    }


def _job(step: JobStep, following: str | None, queue_url: str) -> dict[str, Any]:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": SEND_AND_WAIT,
        "Parameters": {
            "QueueUrl": queue_url,
            "MessageBody": {
                "run_id.$": "$.run_id",
                "job": step.job,
                "attempt.$": ATTEMPT_NUMBER,
                "token.$": "$$.Task.Token",
            },
        },
        "ResultPath": None,
        "TimeoutSeconds": step.timeout_seconds,
    }
    if step.retry is not None:
        task["Retry"] = [_retry(step.retry)]
    states = {step.state: task}
    if step.continue_state is not None:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": step.continue_state}]
        states[step.continue_state] = {
            "Type": "Pass",
            "Comment": f"job {step.job} failed; continue_on_error lets the run go on",
            **_transition(following),
        }
    task.update(_transition(following))
    return states


def _retry(policy: RetryPolicy) -> dict[str, Any]:
    return {
        "ErrorEquals": [JOB_FAILED],
        "IntervalSeconds": policy.interval_seconds,
        "MaxAttempts": policy.max_attempts,
        "BackoffRate": policy.backoff_rate,
        "MaxDelaySeconds": policy.max_delay_seconds,
    }


def _transition(following: str | None) -> dict[str, Any]:
    return {"Next": following} if following is not None else {"End": True}
