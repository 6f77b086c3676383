"""The project's error hierarchy; every adapter translates its library's errors into these.

    ContainerOpsError
    ├── InvalidDefinition      a definition broke the schema or the rules; carries every Problem
    ├── InvalidRequest         a request that is malformed (bad JSON, bad cursor, bad id)
    │   └── PayloadTooLarge    a request body over the limit
    ├── Unauthorized           a missing or wrong token or webhook signature
    ├── NotFound               an id, name or version that does not exist
    ├── Conflict               an edit that lost a race or would change something immutable
    │   └── StaleWrite         a state change based on a state the record no longer has
    ├── EngineUnavailable      the container engine cannot be reached
    ├── StoreUnavailable       the store cannot answer now (throttled, unreachable); try again
    ├── ServiceUnavailable     an AWS service (Step Functions, ECS) cannot answer now; try again
    ├── WorkspaceError         a run's workspace layer could not be saved, read or applied safely
    ├── DeployFailed           a deploy or destroy of the stack could not go on (make deploy)
    └── LaunchError            a container could not be started (ImageNotFound is one kind)
        └── ImageNotFound

Only the API layer and the CLI turn these into HTTP statuses or exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: where (a dotted path) and what, in a sentence."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class ContainerOpsError(Exception):
    """Base of every error this project raises on purpose."""


class InvalidDefinition(ContainerOpsError):
    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{len(self.problems)} problem(s) in definition")


class InvalidRequest(ContainerOpsError):
    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(message)


class PayloadTooLarge(InvalidRequest):
    pass


class Unauthorized(ContainerOpsError):
    pass


class NotFound(ContainerOpsError):
    pass


class Conflict(ContainerOpsError):
    pass


class StaleWrite(Conflict):
    """A conditional state change was refused: the record is no longer in the state the
    writer read (another writer moved it first). Nothing was written."""


class EngineUnavailable(ContainerOpsError):
    pass


class StoreUnavailable(ContainerOpsError):
    """The store could not answer now (DynamoDB kept throttling, or could not be reached)
    even after the retries it allows; trying again later may succeed."""


class ServiceUnavailable(ContainerOpsError):
    """An AWS service the runs depend on (Step Functions, ECS) kept throttling, could not be
    reached, or refused the deployment's calls, even after the retries it allows; trying
    again later may succeed."""


class WorkspaceError(ContainerOpsError):
    """A run's shared workspace could not be restored or saved on AWS: a layer refused as
    unsafe (a member outside the workspace, a hard link, a device), a file that could not be
    read or written, or S3 refusing or not answering a layer's read, write, copy or delete.
    The message says which member, path or key, and why, in words."""


class DeployFailed(ContainerOpsError):
    """`make deploy` or `make destroy` stopped: the stack is in a state that must be dealt with
    first, CloudFormation rolled a change back, or an AWS service refused a step. The message
    says what happened and what to do, in words."""


class LaunchError(ContainerOpsError):
    pass


class ImageNotFound(LaunchError):
    def __init__(self, image: str) -> None:
        self.image = image
        super().__init__(f"image not found: {image}")
