"""`make deploy` and `make destroy` against a moto server on 127.0.0.1: the stack is created,
the designer is uploaded with a config.json naming the API, the first token is made once,
a second deploy updates without a new token, a deploy naming an EKS cluster checks it first
and says what is left to do on it, and destroy removes the stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from chalicelib.aws.api_tokens import token_admin, token_checker
from chalicelib.config import ConfigurationError
from chalicelib.deploy.deploy import AwsClients, Deployed, deploy, destroy
from chalicelib.deploy.images import RegistryLogin
from chalicelib.deploy.main import summary
from chalicelib.deploy.settings import DeploySettings, DestroySettings
from chalicelib.deploy.stack import Stacks
from chalicelib.deploy.template import stack_parameters
from chalicelib.domain.api_tokens import TokenRecord
from chalicelib.domain.platforms import Platform
from chalicelib.errors import DeployFailed
from tests.deploy.conftest import REGION
from tests.deploy.moto_stack import MotoStandIns


class RecordingPusher:
    def __init__(self) -> None:
        self.pushed: list[tuple[str, str, RegistryLogin]] = []

    def push(self, local_image: str, remote_image: str, login: RegistryLogin) -> None:
        self.pushed.append((local_image, remote_image, login))


@pytest.fixture
def run_deploy(clients: AwsClients, settings: DeploySettings) -> Callable[..., Deployed]:
    stand_ins = MotoStandIns(clients, settings.stack)

    def run(chosen: DeploySettings = settings, pusher: RecordingPusher | None = None) -> Deployed:
        stand_ins.parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack_parameters(chosen, "-")}
        return deploy(chosen, clients, pusher or RecordingPusher(), say=lambda _: None,
                      prepare=stand_ins.prepare, stacks=Stacks(clients.cloudformation, sleep=lambda _: None),
                      clock=lambda: 1_700_000_000.0)

    return run


def objects(clients: AwsClients, bucket: str) -> dict[str, dict[str, str]]:
    listed = clients.s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    found = {}
    for item in listed:
        head = clients.s3.head_object(Bucket=bucket, Key=item["Key"])
        found[item["Key"]] = {"type": head["ContentType"], "cache": head.get("CacheControl", "")}
    return found


def physical(clients: AwsClients, logical_id: str) -> str:
    found = clients.cloudformation.describe_stack_resource(StackName="containerops-test",
                                                           LogicalResourceId=logical_id)
    return found["StackResourceDetail"]["PhysicalResourceId"]


def status(clients: AwsClients, stack: str) -> str:
    return clients.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def test_a_first_deploy_creates_the_stack(run_deploy: Callable[..., Deployed], clients: AwsClients) -> None:
    result = run_deploy()
    assert result.created
    assert status(clients, "containerops-test") == "CREATE_COMPLETE"
    assert result.designer_url.startswith("https://")


def test_the_designer_is_uploaded_with_its_types_caches_and_config(
        run_deploy: Callable[..., Deployed], clients: AwsClients) -> None:
    result = run_deploy()
    bucket = physical(clients, "DesignerBucket")
    uploaded = objects(clients, bucket)
    assert uploaded == {
        "config.json": {"type": "application/json", "cache": "no-cache"},
        "index.html": {"type": "text/html; charset=utf-8", "cache": "no-cache"},
        "assets/index-Ab12.js": {"type": "text/javascript; charset=utf-8",
                                 "cache": "public, max-age=31536000, immutable"},
        "assets/index-Cd34.css": {"type": "text/css; charset=utf-8",
                                  "cache": "public, max-age=31536000, immutable"},
        "favicon.svg": {"type": "image/svg+xml", "cache": "public, max-age=300"},
    }
    config = json.loads(clients.s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert config == {"api": result.api_url}
    api_id = physical(clients, "RestAPI")
    assert result.api_url == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/api/api"


def test_index_and_config_are_invalidated_on_the_distribution(
        run_deploy: Callable[..., Deployed], clients: AwsClients) -> None:
    run_deploy()
    outputs = {o["OutputKey"]: o["OutputValue"] for o in
               clients.cloudformation.describe_stacks(StackName="containerops-test")["Stacks"][0]["Outputs"]}
    listed = clients.cloudfront.list_invalidations(DistributionId=outputs["DesignerDistributionId"])
    [summary] = listed["InvalidationList"]["Items"]
    made = clients.cloudfront.get_invalidation(DistributionId=outputs["DesignerDistributionId"],
                                               Id=summary["Id"])["Invalidation"]
    assert sorted(made["InvalidationBatch"]["Paths"]["Items"]) == ["/config.json", "/index.html"]


def test_the_first_deploy_makes_a_token_the_api_accepts(run_deploy: Callable[..., Deployed],
                                                        clients: AwsClients) -> None:
    result = run_deploy()
    assert result.token
    checker = token_checker(result.token_secret, clients.secretsmanager)
    accepted = checker.check(f"Bearer {result.token}")
    assert isinstance(accepted, TokenRecord) and accepted.name == "deploy"
    assert not isinstance(checker.check("Bearer co_not-the-token"), TokenRecord)


def test_a_second_deploy_updates_the_stack_without_a_new_token(run_deploy: Callable[..., Deployed],
                                                                clients: AwsClients) -> None:
    first = run_deploy()
    second = run_deploy()
    assert not second.created and second.token is None
    assert second.changed and status(clients, "containerops-test") == "UPDATE_COMPLETE"
    assert [t.name for t in token_admin(first.token_secret, clients.secretsmanager).list()] == ["deploy"]


def test_without_a_workspace_image_the_local_one_is_pushed_to_ecr(
        run_deploy: Callable[..., Deployed], clients: AwsClients, settings: DeploySettings) -> None:
    pusher = RecordingPusher()
    result = run_deploy(replace(settings, workspace_image=None), pusher)
    [(local, remote, login)] = pusher.pushed
    uri = clients.ecr.describe_repositories(repositoryNames=["containerops/workspace"])["repositories"][0]
    assert (local, remote) == ("containerops/workspace:1", f"{uri['repositoryUri']}:1")
    assert result.workspace_image == remote and login.username == "AWS"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in
                  clients.cloudformation.describe_stacks(StackName="containerops-test")["Stacks"][0]["Parameters"]}
    assert parameters["WorkspaceImage"] == remote


def test_destroy_empties_the_workspace_bucket_and_deletes_the_stack(
        run_deploy: Callable[..., Deployed], clients: AwsClients) -> None:
    run_deploy()
    workspace = physical(clients, "WorkspaceBucket")
    clients.s3.put_object(Bucket=workspace, Key="runs/r1/layers/a.tar", Body=b"layer")
    said: list[str] = []

    removed = destroy(DestroySettings("containerops-test", REGION), clients, say=said.append,
                      stacks=Stacks(clients.cloudformation, sleep=lambda _: None))

    assert removed
    assert f"emptied the workspace bucket {workspace} (1 objects)" in said
    summaries = clients.cloudformation.list_stacks()["StackSummaries"]
    assert {s["StackName"]: s["StackStatus"] for s in summaries} == {"containerops-test": "DELETE_COMPLETE"}
    assert any("kept the designer bucket" in line for line in said)


def test_destroy_deletes_the_designer_bucket_when_asked(run_deploy: Callable[..., Deployed],
                                                        clients: AwsClients) -> None:
    run_deploy()
    designer = physical(clients, "DesignerBucket")

    destroy(DestroySettings("containerops-test", REGION, empty_designer_bucket=True), clients,
            say=lambda _: None, stacks=Stacks(clients.cloudformation, sleep=lambda _: None))

    assert designer not in [b["Name"] for b in clients.s3.list_buckets()["Buckets"]]


def test_destroy_of_a_stack_that_is_not_there_says_so(clients: AwsClients) -> None:
    said: list[str] = []
    assert not destroy(DestroySettings("nothing-here", REGION), clients, say=said.append)
    assert said == [f"there is no stack nothing-here in account 123456789012, region {REGION}"]


def test_a_stack_whose_creation_failed_must_be_destroyed_first(
        run_deploy: Callable[..., Deployed], clients: AwsClients, settings: DeploySettings) -> None:
    class RolledBack(Stacks):
        def status(self, name: str) -> str | None:
            return "ROLLBACK_COMPLETE"

    with pytest.raises(DeployFailed, match=r"ROLLBACK_COMPLETE.*make destroy STACK=containerops-test"):
        deploy(settings, clients, RecordingPusher(), say=lambda _: None,
               stacks=RolledBack(clients.cloudformation, sleep=lambda _: None))


def stack_parameters_of(clients: AwsClients, stack: str) -> dict[str, str]:
    described = clients.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}


def resources_of(clients: AwsClients, stack: str) -> set[str]:
    listed = clients.cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {r["LogicalResourceId"] for r in listed}


def test_a_deploy_without_a_cluster_makes_nothing_for_eks(run_deploy: Callable[..., Deployed],
                                                          clients: AwsClients) -> None:
    result = run_deploy()
    assert result.eks is None and "kubectl" not in summary(result)
    assert stack_parameters_of(clients, "containerops-test")["EksClusterName"] == ""
    made = resources_of(clients, "containerops-test")
    assert {"CheckEksJobs", "FluentBitRole", "EksClusterPolicy"} & made == set()


def test_a_deploy_with_a_cluster_makes_the_eks_check_and_says_what_is_left_on_the_cluster(
        run_deploy: Callable[..., Deployed], clients: AwsClients, settings: DeploySettings) -> None:
    clients.eks.create_cluster(name="ci", version="1.33", roleArn="arn:aws:iam::123456789012:role/eks",
                               resourcesVpcConfig={})
    said: list[str] = []
    with_a_cluster = replace(settings, eks_cluster="ci", default_platform=Platform.EKS)
    result = deploy(with_a_cluster, clients, RecordingPusher(), say=said.append,
                    prepare=_stand_ins(clients, settings, "ci"),
                    stacks=Stacks(clients.cloudformation, sleep=lambda _: None),
                    clock=lambda: 1_700_000_000.0)

    assert "EKS cluster ci: Kubernetes 1.33, authentication mode ?; jobs run in namespace containerops, by" \
           " default on eks" in said
    parameters = stack_parameters_of(clients, "containerops-test")
    assert (parameters["EksClusterName"], parameters["EksNamespace"], parameters["DefaultPlatform"]) == (
        "ci", "containerops", "eks")
    assert {"CheckEksJobs", "CheckEksJobsRole", "FluentBitRole", "EksClusterPolicy"} <= resources_of(
        clients, "containerops-test")
    assert result.eks is not None
    assert result.eks.log_group == physical(clients, "JobLogGroup") and result.eks.region == REGION
    assert result.eks.fluent_bit_role.endswith(physical(clients, "FluentBitRole"))
    printed = summary(result)
    assert "kubectl apply -f infra/eks/" in printed
    assert f'"log_group": "{result.eks.log_group}", "region": "{REGION}"' in printed


def test_a_deploy_naming_a_cluster_that_is_not_there_stops_before_the_stack(
        clients: AwsClients, settings: DeploySettings) -> None:
    with pytest.raises(ConfigurationError, match="there is no EKS cluster gone in region us-east-1"):
        deploy(replace(settings, eks_cluster="gone"), clients, RecordingPusher(), say=lambda _: None,
               prepare=_stand_ins(clients, settings, "gone"),
               stacks=Stacks(clients.cloudformation, sleep=lambda _: None))
    assert clients.cloudformation.list_stacks()["StackSummaries"] == []


def _stand_ins(clients: AwsClients, settings: DeploySettings, cluster: str) -> Callable[..., dict]:  # type: ignore[type-arg]
    return MotoStandIns(clients, settings.stack, parameters={"EksClusterName": cluster}).prepare
