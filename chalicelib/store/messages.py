"""What every store says, and the page limits every store keeps.

The contract suite (`tests/store/contract.py`) pins these sentences and limits; the SQLite
and the DynamoDB store both take them from here, so a user sees the same message whichever
backend answers.
"""

from __future__ import annotations

from enum import StrEnum

MAX_RUNS_PAGE = 500
MAX_LOG_LINES_READ = 10_000
# The most run slots (a workflow's `concurrency`) a store keeps for one workflow: the
# DynamoDB store holds a workflow's slot holders in one item, which must stay under 400 KB.
MAX_RUN_SLOTS = 1_000


def unknown_component(namespace: str, name: str, version: str) -> str:
    return f"component {namespace}/{name}@{version} not found"


def immutable_component(ref: str) -> str:
    return (
        f"component {ref} is immutable and already published with a different definition;"
        " publish it under a new version"
    )


def unknown_workflow(namespace: str, name: str, version: int | None = None) -> str:
    which = "" if version is None else f" version {version}"
    return f"workflow {namespace}/{name}{which} not found"


def stale_workflow(ref: str, expected: int, latest: int, deleted: bool) -> str:
    """Why saving `ref` from version `expected` is refused, `latest` being the newest."""
    if deleted:
        return (
            f"workflow {ref} was deleted (its last version was {latest}), but you edited"
            f" version {expected} of it; save it as new to restore it"
        )
    if latest == 0:
        return f"workflow {ref} does not exist, but you edited version {expected} of it"
    if expected == 0:
        return f"workflow {ref} already exists (version {latest}); you saved it as new"
    return (
        f"workflow {ref} changed since you loaded it: you edited version {expected},"
        f" the latest is version {latest}"
    )


def unknown_run(run_id: str) -> str:
    return f"run {run_id} not found"


def run_exists(run_id: str) -> str:
    return f"run {run_id} already exists"


def run_names_other_runs(run_id: str, strays: list[str]) -> str:
    return f"jobs of run {run_id} name other runs: {', '.join(strays)}"


def job_of_unknown_run(run_id: str, job: str) -> str:
    return f"run {run_id} not found (saving job {job})"


def unknown_job(run_id: str, job: str) -> str:
    return f"run {run_id} has no job '{job}'"


def attempt_of_unknown_job(run_id: str, job: str, number: int) -> str:
    return f"job {job} of run {run_id} not found (saving attempt {number})"


def unknown_attempt(run_id: str, job: str, number: int) -> str:
    return f"attempt {number} of job {job} in run {run_id} not found"


def job_listed_twice(run_id: str, names: list[str]) -> str:
    return f"run {run_id} lists a job twice: {', '.join(names)}"


def outputs_too_large(what: str, size: int, limit: int) -> str:
    """A job or attempt record whose outputs break the protocol's cap (MAX_OUTPUTS_BYTES)."""
    return (
        f"{what} has {size} bytes of outputs, more than the {limit} a job may keep;"
        " the record was not saved"
    )


def store_unavailable(action: str, why: str) -> str:
    return f"the store cannot answer now ({why} while {action}); try again shortly"


def attempt_exists(run_id: str, job: str, number: int) -> str:
    return f"attempt {number} of job {job} in run {run_id} already exists"


def stale_state(what: str, actual: StrEnum | None, expected: StrEnum) -> str:
    """A conditional state change refused: `what` is no longer in the state `expected`."""
    now = "missing" if actual is None else actual.value
    return f"{what} is {now}, not {expected.value}: the change was refused (another writer moved it first)"


def bad_run_cursor(cursor: str) -> str:
    return f"not a run history cursor: {cursor!r}"


def bad_run_slot_limit(limit: int) -> str:
    return (
        f"a workflow's run slot limit must be between 1 and {MAX_RUN_SLOTS}, not {limit}"
    )


# A page of a fan-out job's instances (Store.list_instances) holds at most this many.
MAX_INSTANCES_PAGE = 500


def bad_instance_cursor(cursor: str) -> str:
    return f"not an instance page cursor (for this order and these states): {cursor!r}"


def instance_exists(run_id: str, name: str) -> str:
    return f"instance {name} of run {run_id} exists already: it was started once"


def unknown_group(run_id: str, job: str) -> str:
    return f"run {run_id} has no job '{job}' to hold instances"


def not_an_instance(name: str) -> str:
    return f"{name} is no instance record: its name, group and instance do not agree"
