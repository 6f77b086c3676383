"""The official `kubernetes` client pointed at the sandbox's harness as ContainerOps' EKS adapter
points it at a cluster (a bearer EKS token, no retries of its own), and the Jobs it creates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from kubernetes import client as k8s

from chalicelib.aws.eks_jobs import EksJobSettings, kubernetes_job
from chalicelib.aws.eks_token import eks_token
from tests.aws.ecs_builders import task_request

NAMESPACE = "containerops"
SETTINGS = EksJobSettings(workspace_bucket="containerops-workspaces",
                          workspace_image="containerops/workspace:1")


def token() -> str:
    """An EKS token as the launcher signs one (fake credentials: signing needs no request)."""
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing", aws_session_token="testing")
    return eks_token(sts, "containerops")


@dataclass
class Clients:
    batch: Any
    core: Any
    api_client: Any

    def close(self) -> None:
        self.api_client.close()


def clients(url: str, bearer: str | None = None) -> Clients:
    configuration = k8s.Configuration()
    configuration.host = url
    configuration.retries = 0
    if bearer is not None:
        configuration.api_key = {"authorization": bearer}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    api_client = k8s.ApiClient(configuration)
    return Clients(k8s.BatchV1Api(api_client), k8s.CoreV1Api(api_client), api_client)


def raw(call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The API's JSON answer, as the adapter reads it (`_preload_content=False`)."""
    document: dict[str, Any] = json.loads(call(*args, **kwargs, _preload_content=False).data)
    return document


def a_job(run_id: str = "run-1", attempt: int = 1, settings: EksJobSettings = SETTINGS,
          **plan: Any) -> dict[str, Any]:
    return kubernetes_job(task_request(run_id, attempt, **plan), settings)


def error_of(raised: Any) -> dict[str, Any]:
    """The Status an ApiException carries."""
    document: dict[str, Any] = json.loads(raised.value.body)
    return document
