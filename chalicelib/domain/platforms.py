"""Which container platform an attempt runs on in the cloud, and who decides it.

On AWS a job runs either as an ECS task on Fargate or as a Kubernetes `batch/v1` Job on the
deployment's EKS cluster. A workflow may name a platform for all its jobs (`spec.platform`)
and a job for itself (`platform`, which wins over the workflow's); when neither does, the
deployment's configured default decides (`CONTAINEROPS_DEFAULT_PLATFORM`, read by
`chalicelib.config`, Fargate unless set). The local driver ignores the choice: locally every
job runs on Docker, whatever it names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Platform(StrEnum):
    FARGATE = "fargate"
    EKS = "eks"


# The values a definition may write: the models' field type, so the JSON Schema lists them.
PlatformName = Literal["fargate", "eks"]
DEFAULT_PLATFORM = Platform.FARGATE


def platform_problem(value: object) -> str | None:
    """Why `value` names no platform, in words; None when it names one."""
    if isinstance(value, str) and value in {p.value for p in Platform}:
        return None
    return (f"{value!r} is not a platform: write fargate (an ECS task on Fargate) or eks (a"
            " Kubernetes Job on the deployment's EKS cluster)")


def chosen_platform(job: str | None, workflow: str | None, default: Platform) -> Platform:
    """The platform an attempt runs on: the job's, else its workflow's, else the default."""
    named = job or workflow
    return Platform(named) if named else default
