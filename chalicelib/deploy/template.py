"""The packaged template made deployable, as pure functions on its JSON: every function's
`CodeUri` (Chalice writes `./deployment.zip`) pointed at the bundle's S3 object, and the
stack's parameters from the settings. The SAM transform stays: CloudFormation expands it
(`CAPABILITY_AUTO_EXPAND`), which is what `aws cloudformation package` + `deploy` would do."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any

from chalicelib.deploy.settings import DeploySettings

Template = dict[str, Any]
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str


def content_key(stack: str, name: str, body: bytes) -> str:
    """`<stack>/<digest>-<name>`: the same bundle is uploaded once, and a changed one gets a
    new key, which is what makes CloudFormation update the functions' code."""
    return f"{stack}/{hashlib.sha256(body).hexdigest()[:20]}-{name}"


def located(template: Template, bundle: S3Location) -> Template:
    """A copy of `template` whose functions' code is the bundle at `bundle`."""
    result = copy.deepcopy(template)
    for resource in result.get("Resources", {}).values():
        if resource.get("Type") == SERVERLESS_FUNCTION:
            resource.setdefault("Properties", {})["CodeUri"] = {"Bucket": bundle.bucket, "Key": bundle.key}
    return result


def stack_parameters(settings: DeploySettings, workspace_image: str) -> list[dict[str, str]]:
    values = {
        "JobSubnets": ",".join(settings.subnets),
        "JobSecurityGroups": ",".join(settings.security_groups),
        "WorkspaceImage": workspace_image,
        "DesignerOrigin": settings.designer_origin,
        # always given, so that a deploy without EKS_CLUSTER removes the stack's EKS resources
        # rather than keeping the last deploy's cluster unseen
        "EksClusterName": settings.eks_cluster,
        "EksNamespace": settings.eks_namespace,
        "DefaultPlatform": settings.default_platform.value,
    }
    if settings.machine_prefix:
        values["MachineNamePrefix"] = settings.machine_prefix
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]


def api_base(endpoint_url: str) -> str:
    """The base the designer appends the API's paths to. Chalice's `EndpointURL` is the
    stage's URL (`https://<id>.execute-api.<region>.amazonaws.com/api/`: the stage is named
    `api`), and the app's routes start with `/api` too, so `/api/health` is at
    `<EndpointURL>api/health`, and the designer, which asks for `<base>/health`, needs
    `<EndpointURL>api`."""
    return endpoint_url.rstrip("/") + "/api"
