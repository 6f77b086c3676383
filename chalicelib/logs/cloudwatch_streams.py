"""Which CloudWatch Logs stream of the job log group holds an attempt's lines.

One stream per attempt, and readers and writers pick it the same way:

- the attempt got a task (its record keeps the task ARN, or id, as `container_id`): the
  stream `awslogs` makes on Fargate, `<stream prefix>/<container name>/<task id>`. The
  container writes it; ContainerOps's notes (a stop, a timeout) go into it too, after the
  container's own lines, so a reader sees one log in one order;
- the attempt runs on EKS (its `container_id` is `eks:<namespace>/<Job>`): the stream Fluent
  Bit writes, `eks/<container name>/<run>/<job>/<attempt>` (`cloud.events.eks_stream`);
- the attempt never got a task (a launch error): `containerops/<run>/<job>/<attempt>`,
  written by ContainerOps only.

So a note is in the container's stream when the attempt has one, else in the ContainerOps
stream; once an attempt has a task, readers read only the task's stream. Hence the rule for
writers: note into an attempt before its task exists only when no task will follow (the
launch failed). The stream prefix of the task definitions must not be `containerops`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.cloud.events import eks_stream, is_eks_ref
from chalicelib.errors import NotFound
from chalicelib.store.base import Store

# run id, job, attempt number -> the stream, or None when the attempt does not exist (yet)
StreamResolver = Callable[[str, str, int], "str | None"]

CONTAINEROPS_STREAM_PREFIX = "containerops"


def containerops_stream(run_id: str, job: str, attempt: int) -> str:
    return f"{CONTAINEROPS_STREAM_PREFIX}/{run_id}/{job}/{attempt}"


def awslogs_stream(stream_prefix: str, container_name: str, container_id: str) -> str:
    """The stream the `awslogs` driver names for a Fargate task: the task id is the last
    part of the task ARN (`arn:aws:ecs:region:account:task/cluster/<id>`)."""
    return f"{stream_prefix}/{container_name}/{container_id.rsplit('/', 1)[-1]}"


@dataclass(frozen=True)
class AttemptStreams:
    """The resolver of aws mode: the attempt's record in the store says whether it has a task.

    `stream_prefix` and `container_name` are the task definitions' `awslogs-stream-prefix`
    and job container name."""

    store: Store
    stream_prefix: str
    container_name: str

    def __post_init__(self) -> None:
        if self.stream_prefix == CONTAINEROPS_STREAM_PREFIX:
            raise ValueError(f"the awslogs stream prefix must not be '{CONTAINEROPS_STREAM_PREFIX}'")

    def __call__(self, run_id: str, job: str, attempt: int) -> str | None:
        try:
            record = self.store.get_attempt(run_id, job, attempt)
        except NotFound:
            return None
        if record.container_id and is_eks_ref(record.container_id):
            return eks_stream(self.container_name, run_id, job, attempt)
        if record.container_id:
            return awslogs_stream(self.stream_prefix, self.container_name, record.container_id)
        return containerops_stream(run_id, job, attempt)
