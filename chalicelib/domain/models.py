"""The definition models: Component and Workflow, as users write them in YAML or JSON.

These pydantic models are the schema (DESIGN §2): they reject unknown fields and wrong
types, and `schemas/*.json` is generated from them. Rules that need more than one field
(links between jobs, known components) live in `validation`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.domain.platforms import PlatformName, platform_problem
from chalicelib.domain.quantities import parse_duration, parse_memory

API_VERSION: Literal["containerops/v1"] = "containerops/v1"

SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
JOB_NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})$"
KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$"
VERSION_PATTERN = r"^\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$"
ABSOLUTE_PATH_PATTERN = r"^/"
# What each pattern allows, in words: what a validation problem says instead of the pattern
# (domain/validation.py), so the API, the CLI and the designer never show a regular expression.
PATTERN_IN_WORDS = {
    SLUG_PATTERN: "use lower-case letters, digits and '-' (not first or last), at most 63 characters",
    JOB_NAME_PATTERN: ("use letters, digits, '_' and '-', starting with a letter or a digit, at most"
                       " 63 characters"),
    KEY_PATTERN: ("use letters, digits, '_' and '-', starting with a letter or '_', at most 128"
                  " characters"),
    VERSION_PATTERN: "write a version such as 1.2.0 (one to three numbers, then maybe -rc.1 or +build.5)",
    ABSOLUTE_PATH_PATTERN: "write an absolute path inside the container, starting with '/'",
}

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, description="lower-case letters, digits, '-'")]
Key = Annotated[str, Field(pattern=KEY_PATTERN, description="letters, digits, '_' and '-'")]
Scalar = str | int | float | bool
Duration = Annotated[
    str | int | float,
    Field(description="seconds, or text like 30s, 10m, 2h, 1h30m", examples=["10m"]),
]


class Strict(BaseModel):
    # strict: a YAML `true` is a boolean and `0` is not; no silent coercion of types
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


def _check_duration(value: str | int | float | None) -> str | int | float | None:
    if value is not None:
        parse_duration(value)
    return value


def _check_timeout(value: str | int | float | None) -> str | int | float | None:
    if value is not None and parse_duration(value) <= 0:
        raise ValueError("a timeout must be longer than 0s (leave it out for the default)")
    return value


def _check_platform(value: object) -> object:
    # Before the Literal's own check, whose message ("Input should be...") names no choice's meaning.
    if value is not None and (why := platform_problem(value)) is not None:
        raise ValueError(why)
    return value


PLATFORM_DESCRIPTION = ("where the job runs on AWS: fargate (an ECS task) or eks (a Kubernetes Job);"
                        " unset: the deployment's default. Locally every job runs on Docker")


class Resources(Strict):
    cpu_request: float | None = Field(default=None, gt=0, le=64)
    cpu_limit: float | None = Field(default=None, gt=0, le=64)
    memory_request: str | None = Field(default=None, examples=["128Mi"])
    memory_limit: str | None = Field(default=None, examples=["1Gi"])

    @field_validator("memory_request", "memory_limit")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None:
            parse_memory(value)
        return value

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        if self.cpu_request and self.cpu_limit and self.cpu_request > self.cpu_limit:
            raise ValueError("cpu_request is larger than cpu_limit")
        if self.memory_request and self.memory_limit and (
            parse_memory(self.memory_request) > parse_memory(self.memory_limit)
        ):
            raise ValueError("memory_request is larger than memory_limit")
        return self

    def merged_over(self, base: Resources) -> Resources:
        """These resources, with every unset field taken from `base`."""
        mine = self.model_dump(exclude_none=True)
        return Resources.model_validate({**base.model_dump(exclude_none=True), **mine})


# --- Component -------------------------------------------------------------------------

class ComponentMetadata(Strict):
    namespace: Slug
    name: Slug
    version: Annotated[str, Field(pattern=VERSION_PATTERN, examples=["1.2.0"])]
    description: str = ""


class InputSpec(Strict):
    name: Key
    type: Literal["string", "number", "boolean"] = "string"
    required: bool = False
    default: Scalar | None = None
    description: str = ""


class OutputSpec(Strict):
    name: Key
    type: Literal["string", "number", "boolean"] = "string"
    description: str = ""


class ComponentSpec(Strict):
    image: Annotated[str, Field(min_length=1, max_length=512)]
    command: list[str] | None = None
    data_format: Literal["pairs", "json"] = "pairs"
    inputs: list[InputSpec] = []
    outputs: list[OutputSpec] = []
    resources: Resources = Resources()
    timeout: Duration | None = None
    strict_result: bool = Field(
        default=False, description="fail the job when the container prints no CO_RESULT line"
    )

    _timeout = field_validator("timeout")(_check_timeout)


class Component(Strict):
    apiVersion: Literal["containerops/v1"] = API_VERSION
    kind: Literal["Component"] = "Component"
    metadata: ComponentMetadata
    spec: ComponentSpec

    @property
    def ref(self) -> str:
        m = self.metadata
        return f"{m.namespace}/{m.name}@{m.version}"

    def input_named(self, name: str) -> InputSpec | None:
        return next((item for item in self.spec.inputs if item.name == name), None)


# --- Workflow --------------------------------------------------------------------------

class WorkflowMetadata(Strict):
    namespace: Slug
    name: Slug
    description: str = ""


class Param(Strict):
    name: Key
    default: Scalar | None = None
    required: bool = Field(default=False, description="a run must give it when there is no default")
    description: str = ""


# --- triggers ----------------------------------------------------------------------

MAX_TRIGGERS = 20  # the store files a workflow under each trigger in one transaction
MAX_S3_KEY = 1024  # S3's longest key
BUCKET_PATTERN = r"[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?"
REPOSITORY_PATTERN = r"[A-Za-z0-9._-]{1,100}"
_BRANCH_FORBIDDEN = set(" ~^:?[\\")


def branch_problem(branch: str) -> str | None:
    """Why `branch` cannot name a branch (or a pattern of them), in words; None when it can."""
    if not branch:
        return "it is empty"
    if branch.startswith("refs/"):
        return "write the branch's short name (main, not refs/heads/main)"
    if any(c in _BRANCH_FORBIDDEN or not c.isprintable() for c in branch):
        return "it holds a space, a control character or one of ~ ^ : ? [ \\"
    if ".." in branch or branch.startswith("/") or branch.endswith(("/", ".lock")):
        return "git refuses '..', a leading or trailing '/' and a trailing '.lock'"
    return None


class ApiTrigger(Strict):
    type: Literal["api"]


class WebhookTrigger(Strict):
    type: Literal["webhook"]


class ScheduleTrigger(Strict):
    type: Literal["schedule"]
    cron: str = Field(examples=["0 3 * * *"])


class S3Trigger(Strict):
    """A run for each object created in `bucket` whose key starts with `prefix` and ends
    with `suffix` (both plain text, compared as written)."""

    type: Literal["s3"]
    bucket: str = Field(description="an S3 bucket name: lower-case letters, digits, '.' and '-'")
    prefix: str = Field(default="", max_length=MAX_S3_KEY, examples=["builds/"])
    suffix: str = Field(default="", max_length=MAX_S3_KEY, examples=[".tar.gz"])

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not re.fullmatch(BUCKET_PATTERN, value):
            raise ValueError(f"'{value}' is not an S3 bucket name: up to 63 lower-case letters, "
                             "digits, '.' and '-', starting and ending with a letter or digit")
        return value


class CodeCommitTrigger(Strict):
    """A run for each push to a branch of `repository` that one of `branches` matches
    (every branch when empty), for the changes named in `events`."""

    type: Literal["codecommit"]
    repository: str = Field(description="a CodeCommit repository name")
    branches: list[str] = Field(
        default=[], description="branch names or patterns: * is any text without '/', ** any text",
        examples=[["main", "release/*"]])
    events: list[Literal["referenceCreated", "referenceUpdated"]] = Field(
        default=["referenceCreated", "referenceUpdated"], min_length=1,
        description="a branch created, a branch updated (pushed to)")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not re.fullmatch(REPOSITORY_PATTERN, value) or value.endswith(".git"):
            raise ValueError(f"'{value}' is not a CodeCommit repository name: 1 to 100 letters, "
                             "digits, '.', '_' and '-', not ending in .git")
        return value

    @field_validator("branches")
    @classmethod
    def _branches(cls, value: list[str]) -> list[str]:
        for branch in value:
            if (why := branch_problem(branch)) is not None:
                raise ValueError(f"'{branch}' is not a branch name or pattern: {why}")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each event is listed once")
        return value


Trigger = Annotated[
    ApiTrigger | WebhookTrigger | ScheduleTrigger | S3Trigger | CodeCommitTrigger,
    Field(discriminator="type"),
]


class Retries(Strict):
    limit: int = Field(default=0, ge=0, le=10, description="extra attempts after a failure")
    backoff: Duration = Field(default="10s", description="wait before the first retry; doubles")

    _backoff = field_validator("backoff")(_check_duration)


class Mount(Strict):
    """A host folder mounted into the job's container (local driver only)."""

    source: str = Field(description="absolute host path; may use ${{ params.* }}")
    target: str = Field(pattern=ABSOLUTE_PATH_PATTERN, description="absolute path inside the container")
    read_only: bool = True


# --- fan-out (chalicelib/domain/fanout.py expands it) --------------------------------

MAX_INSTANCES = 10_000  # instances of one fan-out job
PERCENTAGE_PATTERN = r"^(100|[0-9]{1,2})(\.[0-9]+)?%$"


class Matrix(BaseModel):
    """Named axes (every field but `include` and `exclude`, in the order written), whose
    values form a cartesian product; `exclude` drops the combinations an entry matches,
    `include` adds one combination per entry."""

    # extra="allow": the axes are the user's names; each must be a list of scalars
    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)

    include: list[dict[str, Scalar]] = Field(
        default=[], description="one more combination per entry (keys beyond the axes allowed)")
    exclude: list[dict[str, Scalar]] = Field(
        default=[], description="drops every combination whose values match each key of an entry")
    __pydantic_extra__: dict[str, list[Scalar]] = Field(init=False)

    def axes(self) -> list[tuple[str, list[Scalar]]]:
        """The axes, in the order written."""
        return list((self.__pydantic_extra__ or {}).items())


def _check_shards(value: int | None) -> int | None:
    # the upper bound is the instance limit, which validation states for the whole fan-out
    if value is not None and value < 1:
        raise ValueError("shards must be at least 1")
    return value


def _check_max_parallel(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ValueError("max_parallel must be at least 1 (leave it out for no limit of the job's own)")
    return value


def _check_allowed_failures(value: int | str | None) -> int | str | None:
    if isinstance(value, int) and value < 0:
        raise ValueError("allowed_failures must be a count of 0 or more, or a percentage such as '10%'")
    if isinstance(value, str) and (
        not re.fullmatch(PERCENTAGE_PATTERN, value) or float(value[:-1]) > 100
    ):
        raise ValueError(f"'{value}' is not a percentage from 0% to 100% (write e.g. '10%'),"
                         " nor a count")
    return value


class Job(Strict):
    name: Annotated[str, Field(pattern=JOB_NAME_PATTERN)]
    component: str | None = Field(default=None, description="namespace/name@version")
    image: str | None = Field(default=None, description="a plain image instead of a component")
    command: list[str] | None = None
    data: dict[str, Scalar] = {}
    env: dict[str, str] = {}
    outputs: list[Key] = Field(default=[], description="outputs this job declares beyond its component's")
    if_: str | None = Field(default=None, alias="if")
    retries: Retries = Retries()
    timeout: Duration | None = None
    continue_on_error: bool = False
    resources: Resources = Resources()
    mounts: list[Mount] = []
    platform: PlatformName | None = Field(
        default=None, description=PLATFORM_DESCRIPTION + " (the job's wins over its workflow's)")
    matrix: Matrix | None = Field(
        default=None, description="fan out: one instance per combination of the axes' values")
    shards: int | None = Field(
        default=None, description=f"fan out: split the job (each matrix combination) into this many"
                                  f" instances, 1 to {MAX_INSTANCES:,}")
    max_parallel: int | None = Field(
        default=None, description="a fan-out job: at most this many instances at once (default: no"
                                  " limit of the job's own)")
    fail_fast: bool | None = Field(
        default=None, description="a fan-out job: once more instances failed than allowed, start no"
                                  " more and stop the running ones (default true)")
    allowed_failures: int | str | None = Field(
        default=None, description="a fan-out job: how many instances may fail with the job still"
                                  " succeeding: a count, or a percentage of the instances ('10%')",
        examples=[2, "10%"])

    _timeout = field_validator("timeout")(_check_timeout)
    _platform = field_validator("platform", mode="before")(_check_platform)
    _shards = field_validator("shards")(_check_shards)
    _max_parallel = field_validator("max_parallel")(_check_max_parallel)
    _allowed_failures = field_validator("allowed_failures")(_check_allowed_failures)

    @model_validator(mode="after")
    def _component_or_image(self) -> Job:
        if (self.component is None) == (self.image is None):
            raise ValueError("a job names exactly one of 'component' or 'image'")
        return self


class Action(Strict):
    name: Slug
    jobs: list[Job] = Field(min_length=1, description="run one after another")


class Stage(Strict):
    name: Slug
    sequencing: Literal["parallel", "sequence"] = "parallel"
    actions: list[Action] = Field(min_length=1)


class WorkflowSpec(Strict):
    params: list[Param] = []
    env: dict[str, str] = {}
    timeout: Duration | None = None
    concurrency: int | None = Field(default=None, ge=1)
    triggers: list[Trigger] = Field(default=[ApiTrigger(type="api")], max_length=MAX_TRIGGERS)
    platform: PlatformName | None = Field(default=None, description=PLATFORM_DESCRIPTION + " (for every job)")
    stages: list[Stage] = Field(min_length=1)

    _timeout = field_validator("timeout")(_check_timeout)
    _platform = field_validator("platform", mode="before")(_check_platform)


class Workflow(Strict):
    apiVersion: Literal["containerops/v1"] = API_VERSION
    kind: Literal["Workflow"] = "Workflow"
    metadata: WorkflowMetadata
    spec: WorkflowSpec

    @property
    def ref(self) -> str:
        return f"{self.metadata.namespace}/{self.metadata.name}"

    def jobs(self) -> list[Job]:
        return [job for stage in self.spec.stages for action in stage.actions for job in action.jobs]

    def job_named(self, name: str) -> Job | None:
        return next((job for job in self.jobs() if job.name == name), None)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def dump_definition(model: Component | Workflow) -> dict[str, Any]:
    """The definition as a plain document, with apiVersion and kind always present."""
    document = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return {"apiVersion": model.apiVersion, "kind": model.kind, **document}
