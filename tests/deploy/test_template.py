"""The packaged template made deployable: the bundle's location, the parameters, the API base."""

from __future__ import annotations

from pathlib import Path

from chalicelib.deploy.settings import DeploySettings
from chalicelib.deploy.template import S3Location, api_base, content_key, located, stack_parameters
from chalicelib.domain.platforms import Platform


def test_every_function_gets_the_bundle_in_s3_and_the_input_is_left_alone() -> None:
    template = {"Resources": {
        "Api": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "./deployment.zip"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    }}
    result = located(template, S3Location("packages", "stack/abc-deployment.zip"))
    assert result["Resources"]["Api"]["Properties"]["CodeUri"] == {"Bucket": "packages",
                                                                   "Key": "stack/abc-deployment.zip"}
    assert result["Resources"]["Queue"] == {"Type": "AWS::SQS::Queue", "Properties": {}}
    assert template["Resources"]["Api"]["Properties"]["CodeUri"] == "./deployment.zip"


def test_a_package_key_changes_with_its_content() -> None:
    assert content_key("s", "deployment.zip", b"a") == content_key("s", "deployment.zip", b"a")
    assert content_key("s", "deployment.zip", b"a") != content_key("s", "deployment.zip", b"b")
    assert content_key("s", "deployment.zip", b"a").startswith("s/")


def test_the_parameters_join_the_lists_and_name_the_image() -> None:
    settings = DeploySettings(stack="s", region="eu-west-1", subnets=("subnet-1", "subnet-2"),
                              security_groups=("sg-1",), package_dir=Path("."), designer_dir=Path("."),
                              machine_prefix="containerops-prod")
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack_parameters(settings, "img:1")} == {
        "JobSubnets": "subnet-1,subnet-2", "JobSecurityGroups": "sg-1", "WorkspaceImage": "img:1",
        "DesignerOrigin": "", "MachineNamePrefix": "containerops-prod",
        "EksClusterName": "", "EksNamespace": "containerops", "DefaultPlatform": "fargate"}


def test_the_eks_cluster_namespace_and_default_platform_are_parameters() -> None:
    settings = DeploySettings(stack="s", region="eu-west-1", subnets=("subnet-1",), security_groups=("sg-1",),
                              package_dir=Path("."), designer_dir=Path("."), eks_cluster="ci",
                              eks_namespace="builds", default_platform=Platform.EKS)
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack_parameters(settings, "img:1")}
    assert (parameters["EksClusterName"], parameters["EksNamespace"], parameters["DefaultPlatform"]) == (
        "ci", "builds", "eks")


def test_the_api_base_is_the_stage_url_and_the_routes_prefix() -> None:
    assert api_base("https://abc.execute-api.eu-west-1.amazonaws.com/api/") == \
        "https://abc.execute-api.eu-west-1.amazonaws.com/api/api"
