"""Configuration read in one place (chalicelib/config.py): the backend, and every AWS
resource name from the environment the deployed template sets."""

from __future__ import annotations

import pytest

from chalicelib.config import AWS_VARIABLES, AwsSettings, Backend, ConfigurationError, EksSettings, backend
from chalicelib.domain.platforms import Platform


def every_variable(**overrides: str) -> dict[str, str]:
    return {name: f"value-of-{name.lower()}" for name in AWS_VARIABLES} | overrides


def test_the_local_backend_is_the_default() -> None:
    assert backend({}) is Backend.LOCAL
    assert backend({"CONTAINEROPS_BACKEND": " "}) is Backend.LOCAL


def test_the_backend_is_chosen_by_its_name_in_any_case() -> None:
    assert backend({"CONTAINEROPS_BACKEND": "AWS"}) is Backend.AWS


def test_an_unknown_backend_is_refused_naming_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"'gcp' is not a backend \(choose local, aws\)"):
        backend({"CONTAINEROPS_BACKEND": "gcp"})


def test_every_missing_resource_variable_is_named_at_once() -> None:
    environ = every_variable()
    del environ["CONTAINEROPS_RUNS_TABLE"], environ["CONTAINEROPS_LOG_GROUP"]
    with pytest.raises(ConfigurationError) as refused:
        AwsSettings.from_environment(environ)
    assert "CONTAINEROPS_RUNS_TABLE, CONTAINEROPS_LOG_GROUP" in str(refused.value)


def test_resource_names_come_from_their_variables_and_lists_are_split() -> None:
    settings = AwsSettings.from_environment(every_variable(
        CONTAINEROPS_RUNS_TABLE="containerops-runs",
        CONTAINEROPS_SUBNETS="subnet-1, subnet-2,",
        CONTAINEROPS_SECURITY_GROUPS="sg-1",
    ))
    assert settings.runs_table == "containerops-runs"
    assert settings.subnets == ("subnet-1", "subnet-2")
    assert settings.security_groups == ("sg-1",)
    assert settings.log_group == "value-of-containerops_log_group"


def test_every_variable_names_a_setting() -> None:
    optional = {"default_platform", "eks"}  # read from variables of their own, when set
    fields = set(AwsSettings.__dataclass_fields__) - optional
    assert {name.removeprefix("CONTAINEROPS_").lower() for name in AWS_VARIABLES} == fields


def test_a_deployment_without_an_eks_cluster_runs_jobs_on_fargate_only() -> None:
    settings = AwsSettings.from_environment(every_variable())
    assert (settings.eks, settings.default_platform, settings.platforms) == (
        None, Platform.FARGATE, frozenset({Platform.FARGATE}))


def test_an_eks_cluster_is_named_with_its_namespace_and_may_be_the_default() -> None:
    settings = AwsSettings.from_environment(every_variable(
        CONTAINEROPS_EKS_CLUSTER="builds", CONTAINEROPS_DEFAULT_PLATFORM="eks"))
    assert settings.eks == EksSettings("builds", "containerops", "")
    assert settings.default_platform is Platform.EKS
    assert settings.platforms == frozenset({Platform.FARGATE, Platform.EKS})


def test_eks_as_the_default_without_a_cluster_is_refused_saying_so() -> None:
    with pytest.raises(ConfigurationError, match="CONTAINEROPS_DEFAULT_PLATFORM=eks needs an EKS cluster"):
        AwsSettings.from_environment(every_variable(CONTAINEROPS_DEFAULT_PLATFORM="eks"))
