"""Rendering a plan as Amazon States Language: the definition dict and its JSON text.

Every job state sends `{run_id, job, attempt, token}` to the launch queue and waits for
the token to be answered. `attempt` is 1-based like the store's attempt numbers:
`States.MathAdd($$.State.RetryCount, 1)` (Step Functions and moto both evaluate it;
`$$.State.RetryCount` is 0 on the first try). `run_id` is read from the execution input
(`{"run_id": ...}`), which every state keeps: Task, Parallel and Catch all have
`ResultPath: null`, so no job result ever enters the payload (outputs live in the store,
far from the 256 KiB payload limit).

A fan-out job (shape in `build`) is, in order: for an inline Map, a Pass writing the indices
into `$.instances`; the Map, whose ItemSelector gives each item `{run_id, instance}` (the
index: the item itself inline, its `instance` field when read from S3); in it, the
instance's Task sending `{run_id, job, instance, attempt, token}` (with `OutputPath: null`,
so that the Map's collected results stay a few bytes per instance, far from the payload
limit a Distributed Map's results are held to without a ResultWriter); then the group's
end, a Task sending `{run_id, job, group_end: true, attempt: 1, token}`. The launcher tells
the three messages apart by `instance` and `group_end` (a plain job's message has neither).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.asl.plan import FanOutStep, JobStep, MachinePlan, MapMode, ParallelStep, RetryPolicy, Step

SEND_AND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
JOB_FAILED = "Job.Failed"  # the error the finaliser reports a failed attempt with
ATTEMPT_NUMBER = "States.MathAdd($$.State.RetryCount, 1)"
GET_ITEMS = "arn:aws:states:::s3:getObject"
ITEMS_PATH = "$.instances"  # where an inline Map's items are in the payload
INSTANCE_FIELD = "instance"  # the index in a launch message, an item's selection and an S3 item
GROUP_END_FIELD = "group_end"


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


def _chain(steps: Sequence[Step], queue_url: str) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index, step in enumerate(steps):
        following = _entry(steps[index + 1]) if index + 1 < len(steps) else None
        if isinstance(step, JobStep):
            states.update(_job(step, following, queue_url))
        elif isinstance(step, FanOutStep):
            states.update(_fan_out(step, following, queue_url))
        else:
            states[step.state] = _parallel(step, following, queue_url)
    return {"StartAt": _entry(steps[0]), "States": states}


def _entry(step: Step) -> str:
    """The state a step starts at: an inline fan-out's items Pass comes before its Map."""
    if isinstance(step, FanOutStep) and step.items_state is not None:
        return step.items_state
    return step.state


def _parallel(step: ParallelStep, following: str | None, queue_url: str) -> dict[str, Any]:
    return {
        "Type": "Parallel",
        "Branches": [_chain(branch, queue_url) for branch in step.branches],
        "ResultPath": None,
        **_transition(following),
    }


def _job(step: JobStep, following: str | None, queue_url: str) -> dict[str, Any]:
    body = {"run_id.$": "$.run_id", "job": step.job, "attempt.$": ATTEMPT_NUMBER, "token.$": "$$.Task.Token"}
    return _task(step, body, following, queue_url,
                 caught=f"job {step.job} failed; continue_on_error lets the run go on")


def _fan_out(step: FanOutStep, following: str | None, queue_url: str) -> dict[str, Any]:
    states: dict[str, Any] = {}
    inline = step.mode is MapMode.INLINE
    if step.items_state is not None:
        states[step.items_state] = {
            "Type": "Pass",
            "Comment": f"the instances of job {step.job}, 0 to {step.instances - 1}",
            "Result": list(range(step.instances)),
            "ResultPath": ITEMS_PATH,
            "Next": step.state,
        }
    instance_body = {"run_id.$": "$.run_id", "job": step.job, f"{INSTANCE_FIELD}.$": f"$.{INSTANCE_FIELD}",
                     "attempt.$": ATTEMPT_NUMBER, "token.$": "$$.Task.Token"}
    processor = _task(step.instance, instance_body, None, queue_url,
                      caught=f"an instance of job {step.job} failed; the others go on", quiet=True)
    config: dict[str, Any] = ({"Mode": "INLINE"} if inline
                              else {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
    fan_out: dict[str, Any] = {
        "Type": "Map",
        "Comment": (f"job {step.job}: {step.instances:,} instances, at most {step.max_concurrency:,} at once"
                    f" ({step.mode} map)"),
        "ItemProcessor": {"ProcessorConfig": config, "StartAt": step.instance.state, "States": processor},
    }
    if inline:
        fan_out["ItemsPath"] = ITEMS_PATH
    else:
        fan_out["ItemReader"] = {
            "Resource": GET_ITEMS,
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": step.items_bucket or "",
                           "Key.$": f"States.Format('{step.items_key}', $.run_id)"},
        }
    item = "$$.Map.Item.Value" if inline else f"$$.Map.Item.Value.{INSTANCE_FIELD}"
    fan_out["ItemSelector"] = {"run_id.$": "$.run_id", f"{INSTANCE_FIELD}.$": item}
    fan_out["MaxConcurrency"] = step.max_concurrency
    if step.tolerated_failures is not None:
        fan_out["ToleratedFailureCount"] = step.tolerated_failures
    elif not inline:  # not failing fast: every instance runs, the group's end judges
        fan_out["ToleratedFailurePercentage"] = 100
    fan_out["ResultPath"] = None
    fan_out["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": step.end.state}]
    fan_out["Next"] = step.end.state
    states[step.state] = fan_out
    end_body = {"run_id.$": "$.run_id", "job": step.job, GROUP_END_FIELD: True, "attempt": 1,
                "token.$": "$$.Task.Token"}
    states.update(_task(step.end, end_body, following, queue_url,
                        caught=f"job {step.job} failed; continue_on_error lets the run go on"))
    return states


def _task(step: JobStep, body: dict[str, Any], following: str | None, queue_url: str, *,
          caught: str, quiet: bool = False) -> dict[str, Any]:
    """A callback Task sending `body` (and its caught-failure Pass, commented `caught`);
    `quiet` ones give `{}` as their output (`OutputPath: null`)."""
    silence: dict[str, Any] = {"OutputPath": None} if quiet else {}
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": SEND_AND_WAIT,
        "Parameters": {"QueueUrl": queue_url, "MessageBody": body},
        "ResultPath": None,
        **silence,
        "TimeoutSeconds": step.timeout_seconds,
    }
    if step.retry is not None:
        task["Retry"] = [_retry(step.retry)]
    states = {step.state: task}
    if step.continue_state is not None:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": step.continue_state}]
        states[step.continue_state] = {"Type": "Pass", "Comment": caught, **silence, **_transition(following)}
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
