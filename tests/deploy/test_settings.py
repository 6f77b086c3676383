"""What the operator gives is checked before any AWS call, and each problem is said in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import ConfigurationError
from chalicelib.deploy.settings import deploy_settings, destroy_settings, split_list
from chalicelib.domain.platforms import Platform


def given(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    package, designer = tmp_path / "package", tmp_path / "dist"
    package.mkdir(exist_ok=True)
    designer.mkdir(exist_ok=True)
    for file in (package / "sam.json", package / "deployment.zip", designer / "index.html"):
        file.write_text("x")
    values: dict[str, Any] = dict(stack="containerops", region="eu-west-1", subnets="subnet-0a1,subnet-0b2",
                                  security_groups="sg-0c3", package_dir=package, designer_dir=designer,
                                  environ={})
    values.update(overrides)
    return values


def test_lists_are_split_on_commas_and_spaces() -> None:
    assert split_list("subnet-1, subnet-2 subnet-3") == ("subnet-1", "subnet-2", "subnet-3")


def test_complete_settings_are_accepted(tmp_path: Path) -> None:
    settings = deploy_settings(**given(tmp_path))
    assert settings.subnets == ("subnet-0a1", "subnet-0b2") and settings.security_groups == ("sg-0c3",)
    assert settings.workspace_image is None and settings.package_bucket is None


def test_a_missing_stack_name_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="make deploy STACK=containerops"):
        deploy_settings(**given(tmp_path, stack=None))


def test_a_stack_name_cloudformation_refuses_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a CloudFormation stack name"):
        deploy_settings(**given(tmp_path, stack="my_stack"))


def test_missing_subnets_and_security_groups_are_both_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        deploy_settings(**given(tmp_path, subnets="", security_groups=None))
    assert "give SUBNETS=subnet-aaa,subnet-bbb" in str(caught.value)
    assert "give SECURITY_GROUPS=sg-ccc" in str(caught.value)


def test_ids_of_the_wrong_kind_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="sg-0c3 is not a subnet id"):
        deploy_settings(**given(tmp_path, subnets="sg-0c3"))


def test_without_a_region_anywhere_the_deploy_asks_for_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no AWS region is set: give REGION="):
        deploy_settings(**given(tmp_path, region=None))


def test_the_region_may_come_from_the_environment(tmp_path: Path) -> None:
    settings = deploy_settings(**given(tmp_path, region=None, environ={"AWS_REGION": "ap-south-1"}))
    assert settings.region == "ap-south-1"


def test_an_unbuilt_package_or_designer_says_which_make_target_builds_it(tmp_path: Path) -> None:
    values = given(tmp_path)
    (tmp_path / "package" / "deployment.zip").unlink()
    (tmp_path / "dist" / "index.html").unlink()
    with pytest.raises(ConfigurationError) as caught:
        deploy_settings(**values)
    assert "run `make package` first" in str(caught.value)
    assert "run `make frontend` first" in str(caught.value)


def test_without_eks_settings_there_is_no_cluster_and_jobs_default_to_fargate(tmp_path: Path) -> None:
    settings = deploy_settings(**given(tmp_path))
    assert (settings.eks_cluster, settings.eks_namespace, settings.default_platform) == (
        "", "containerops", Platform.FARGATE)


def test_an_eks_cluster_may_be_the_default_platform(tmp_path: Path) -> None:
    settings = deploy_settings(**given(tmp_path, eks_cluster="ci", eks_namespace="builds",
                                       default_platform="EKS"))
    assert (settings.eks_cluster, settings.eks_namespace, settings.default_platform) == (
        "ci", "builds", Platform.EKS)


def test_eks_as_the_default_platform_without_a_cluster_is_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="DEFAULT_PLATFORM=eks needs EKS_CLUSTER=name"):
        deploy_settings(**given(tmp_path, default_platform="eks"))


def test_a_platform_that_is_not_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="DEFAULT_PLATFORM=lambda is not a platform: write fargate"):
        deploy_settings(**given(tmp_path, default_platform="lambda"))


def test_names_eks_and_kubernetes_refuse_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        deploy_settings(**given(tmp_path, eks_cluster="my cluster", eks_namespace="Builds"))
    assert "EKS_CLUSTER=my cluster is not an EKS cluster name" in str(caught.value)
    assert "EKS_NAMESPACE=Builds is not a Kubernetes namespace name" in str(caught.value)


def test_destroy_needs_a_stack_and_a_region() -> None:
    with pytest.raises(ConfigurationError, match="no AWS region"):
        destroy_settings(stack="containerops", region=None, empty_designer_bucket=False, environ={})
