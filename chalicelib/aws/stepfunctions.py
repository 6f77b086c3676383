"""The `Executions` port on AWS Step Functions: one Standard state machine per workflow
version, one execution per run, and the answers to the job states' task tokens.

A machine's name comes from the workflow's namespace, name and version (`machine_name`), and
its ARN is derived from that name, the client's region and the account of the state-machine
role (the template creates both in one account), so a machine is found without listing.
`ensure_machine` describes the machine, creates it (tagged with the workflow and version) or
updates a definition or role that differs, and then remembers it in this process so the next
run of that version costs no call. Every caller is at-least-once (SQS, EventBridge, retried
Lambdas), so a second start of a run, a stop of an execution that ended and an answer to a
token already closed all change nothing and raise nothing. Calls are retried and translated in
`stepfunctions_errors.py`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.aws.stepfunctions_errors import (
    CLOSED_TOKEN_CODES,
    DEFAULT_RETRY,
    Retrying,
    RetryPolicy,
    error_code,
    full_jitter,
    translated,
)
from chalicelib.cloud.events import ExecutionEnded, execution_ended
from chalicelib.config import ConfigurationError
from chalicelib.domain.models import Workflow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeStateMachineOutputTypeDef, TagTypeDef

log = logging.getLogger("containerops.aws.stepfunctions")

MACHINE_PREFIX = "containerops"
MAX_NAME_LENGTH = 80  # state machines and executions alike
MAX_ERROR_LENGTH = 256
MAX_CAUSE_LENGTH = 32_768
HASH_LENGTH = 12
KNOWN_MACHINES = 512  # the in-process memory of machines known to be current
WORKFLOW_TAG = "containerops:workflow"
VERSION_TAG = "containerops:version"
STOP_ERROR = "Run.Stopped"

# What a part of a name may hold as it is: Step Functions allows more, but these are also
# the characters CloudWatch Logs accepts in a logged machine's name. No '_', which separates.
_PLAIN_PART = re.compile(r"[A-Za-z0-9-]+")
_NOT_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
_PREFIX = re.compile(r"[A-Za-z0-9-]{1,40}")
_ROLE_ARN = re.compile(r"arn:(?P<partition>[a-z0-9-]+):iam::(?P<account>\d{12}):role/.+")


def machine_name(namespace: str, name: str, version: int, prefix: str = MACHINE_PREFIX) -> str:
    """`<prefix>-<namespace>_<name>_v<version>` when that fits Step Functions' 80 characters;
    else cut to fit, with `_v<version>_<12 hex of a hash of all four>` at its end.

    Slugs hold no '_', so a full name maps back to one workflow version; a shortened name ends
    in hex, which a full one (ending in `v<digits>`) never does, so the two kinds never meet,
    and two shortened names share one only if their hashes collide."""
    full = f"{prefix}-{namespace}_{name}_v{version}"
    plain = all(_PLAIN_PART.fullmatch(part) for part in (prefix, namespace, name))
    if plain and len(full) <= MAX_NAME_LENGTH:
        return full
    identity = json.dumps([prefix, namespace, name, version]).encode()
    suffix = f"_v{version}_{hashlib.sha256(identity).hexdigest()[:HASH_LENGTH]}"
    # What is left is shared so that both the namespace and the name stay recognisable.
    room = MAX_NAME_LENGTH - len(prefix) - len("-_") - len(suffix)
    kept_namespace = namespace[: max(room - len(name), room // 2)]
    kept_name = name[: room - len(kept_namespace)]
    return _NOT_NAME_CHARACTERS.sub("-", f"{prefix}-{kept_namespace}_{kept_name}") + suffix


def execution_arn(machine_arn: str, run_id: str) -> str:
    """The ARN of the run's execution: `...:execution:<machine name>:<run id>`."""
    parts = machine_arn.split(":")
    if len(parts) != 7 or parts[2] != "states" or parts[5] != "stateMachine":
        raise ValueError(f"not the ARN of a state machine: {machine_arn}")
    return ":".join([*parts[:5], "execution", parts[6], run_id])


def _same_definition(stored: str, wanted: str) -> bool:
    try:
        return bool(json.loads(stored) == json.loads(wanted))
    except ValueError:  # not JSON: not ours either
        return False


class StepFunctionsExecutions:
    def __init__(
        self,
        client: SFNClient,
        role_arn: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        prefix: str = MACHINE_PREFIX,
        retry: RetryPolicy = DEFAULT_RETRY,
        jitter: Callable[[float], float] = full_jitter,
    ) -> None:
        """`prefix` starts every machine name: two deployments sharing an account and a
        region need different ones, or they would update each other's machines."""
        role = _ROLE_ARN.fullmatch(role_arn)
        if role is None:
            raise ConfigurationError(f"the state-machine role is not an IAM role ARN: {role_arn!r}")
        if not _PREFIX.fullmatch(prefix):
            raise ConfigurationError(f"a machine name prefix is 1-40 letters, digits or '-': {prefix!r}")
        self._client = client
        self._role_arn = role_arn
        self._prefix = prefix
        self._arn_head = (f"arn:{role['partition']}:states:{client.meta.region_name}:"
                          f"{role['account']}:stateMachine:")
        self._retrying = Retrying(sleep, retry, jitter)
        self._current: OrderedDict[str, str] = OrderedDict()  # machine ARN -> its definition

    # --- machines ---------------------------------------------------------------------
    def machine_arn(self, workflow: Workflow, version: int) -> str:
        """Where the machine of this workflow version is (or will be), without a call."""
        return self._arn_head + machine_name(workflow.metadata.namespace, workflow.metadata.name,
                                             version, self._prefix)

    def ensure_machine(self, workflow: Workflow, version: int, definition: str) -> str:
        arn = self.machine_arn(workflow, version)
        if self._current.get(arn) == definition:
            return arn
        doing = f"making the state machine of {workflow.ref} version {version} current"
        with translated(doing):
            stored = self._describe(arn, doing)
            if stored is None:
                arn = self._create(workflow, version, definition, doing)
            elif not (_same_definition(stored["definition"], definition)
                      and stored["roleArn"] == self._role_arn):
                self._update(arn, definition, doing)
        self._remember(arn, definition)
        return arn

    def _describe(self, arn: str, doing: str) -> DescribeStateMachineOutputTypeDef | None:
        try:
            return self._retrying.call(doing, lambda: self._client.describe_state_machine(
                stateMachineArn=arn))
        except ClientError as exc:
            if error_code(exc) != "StateMachineDoesNotExist":
                raise
            return None

    def _create(self, workflow: Workflow, version: int, definition: str, doing: str) -> str:
        name = machine_name(workflow.metadata.namespace, workflow.metadata.name, version, self._prefix)
        tags: list[TagTypeDef] = [{"key": WORKFLOW_TAG, "value": workflow.ref},
                                  {"key": VERSION_TAG, "value": str(version)}]
        try:
            created = self._retrying.call(doing, lambda: self._client.create_state_machine(
                name=name, definition=definition, roleArn=self._role_arn, type="STANDARD", tags=tags))
        except ClientError as exc:
            # Another handler created it first with another definition (an identical one
            # is answered as created): ours is the one this code compiles, so it wins.
            if error_code(exc) != "StateMachineAlreadyExists":
                raise
            arn = self._arn_head + name
            self._update(arn, definition, doing)
            return arn
        return str(created["stateMachineArn"])

    def _update(self, arn: str, definition: str, doing: str) -> None:
        log.info("updating the definition of state machine %s", arn)
        self._retrying.call(doing, lambda: self._client.update_state_machine(
            stateMachineArn=arn, definition=definition, roleArn=self._role_arn))

    def _remember(self, arn: str, definition: str) -> None:
        self._current[arn] = definition
        self._current.move_to_end(arn)
        while len(self._current) > KNOWN_MACHINES:
            self._current.popitem(last=False)

    # --- executions -------------------------------------------------------------------
    def start(self, machine_arn: str, run_id: str) -> None:
        doing = f"starting the execution of run {run_id}"
        with translated(doing):
            try:
                self._retrying.call(doing, lambda: self._client.start_execution(
                    stateMachineArn=machine_arn, name=run_id, input=json.dumps({"run_id": run_id})))
            except ClientError as exc:
                if error_code(exc) != "ExecutionAlreadyExists":
                    raise
                log.debug("run %s has an execution already", run_id)

    def stop(self, machine_arn: str, run_id: str, cause: str) -> None:
        doing = f"stopping the execution of run {run_id}"
        with translated(doing):
            try:
                self._retrying.call(doing, lambda: self._client.stop_execution(
                    executionArn=execution_arn(machine_arn, run_id), error=STOP_ERROR,
                    cause=cause[:MAX_CAUSE_LENGTH]))
            except ClientError as exc:
                if error_code(exc) != "ExecutionDoesNotExist":
                    raise
                log.debug("run %s has no execution to stop", run_id)

    def end_of(self, machine_arn: str, run_id: str) -> ExecutionEnded | None:
        doing = f"describing the execution of run {run_id}"
        with translated(doing):
            try:
                described = self._retrying.call(doing, lambda: self._client.describe_execution(
                    executionArn=execution_arn(machine_arn, run_id)))
            except ClientError as exc:
                if error_code(exc) != "ExecutionDoesNotExist":
                    raise
                return None
        # DescribeExecution tells an execution as its status change event does (the same fields).
        return execution_ended({"source": "aws.states", "detail": {
            "name": described.get("name"), "status": described.get("status"),
            "error": described.get("error"), "cause": described.get("cause"),
            "stopDate": described.get("stopDate")}})

    # --- answers to job states --------------------------------------------------------
    def succeed(self, token: str) -> None:
        self._answer("answering a job state: passed", lambda: self._client.send_task_success(
            taskToken=token, output="{}"))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._answer(f"answering a job state: {error}", lambda: self._client.send_task_failure(
            taskToken=token, error=error[:MAX_ERROR_LENGTH], cause=cause[:MAX_CAUSE_LENGTH]))

    def _answer(self, doing: str, call: Callable[[], object]) -> None:
        with translated(doing):
            try:
                self._retrying.call(doing, call)
            except ClientError as exc:
                code = error_code(exc)
                if code not in CLOSED_TOKEN_CODES:
                    raise
                # The state ended before this answer (a timeout, a stopped execution, a
                # duplicate event): there is nothing left to tell it.
                log.debug("%s: the token was closed already (%s)", doing, code)
