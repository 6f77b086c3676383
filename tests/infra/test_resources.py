"""What the rest of the stack promises, as the merge template declares it: the launch queue
and its dead-letter queue, the state-machine role, the ECS cluster and its two task roles,
the job log group, the designer's and the workspaces' buckets, and the outputs an operator
reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.templates import (
    NAME_PREFIX,
    Template,
    function_environment,
    permission_statements,
    referenced_resources,
    resource_for_variable,
    statements,
)

MAX_SQS_RETENTION = 14 * 24 * 3600


def properties(template: Template, variable: str) -> dict[str, Any]:
    props: dict[str, Any] = resource_for_variable(template, variable)[1]["Properties"]
    return props


def trusted_services(template: Template, role: str) -> set[str]:
    trust = [s for s in statements(template) if s.owner == role and "Principal" in s.body]
    return {s.body["Principal"]["Service"] for s in trust}


def granted(template: Template, role: str) -> list[tuple[set[str], set[str]]]:
    return [(set(s.actions), referenced_resources(s.resources))
            for s in permission_statements(template) if s.owner == role]


def test_the_launch_queue_sends_messages_it_cannot_deliver_to_a_dead_letter_queue(
        merge_template: Template) -> None:
    redrive = properties(merge_template, "CONTAINEROPS_LAUNCH_QUEUE_URL")["RedrivePolicy"]
    (dlq,) = referenced_resources(redrive["deadLetterTargetArn"])
    assert merge_template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"
    assert 1 < redrive["maxReceiveCount"] <= 10


def test_the_dead_letter_queue_keeps_messages_longer_than_the_launch_queue(merge_template: Template) -> None:
    # SQS counts a dead letter's age from its first enqueue, so the DLQ must keep it longer.
    launch = properties(merge_template, "CONTAINEROPS_LAUNCH_QUEUE_URL")
    (dlq,) = referenced_resources(launch["RedrivePolicy"]["deadLetterTargetArn"])
    kept = merge_template["Resources"][dlq]["Properties"]["MessageRetentionPeriod"]
    assert kept == MAX_SQS_RETENTION
    assert kept > launch["MessageRetentionPeriod"]


def test_the_state_machine_role_may_only_send_to_the_launch_queue_and_run_fan_outs(
        merge_template: Template) -> None:
    role, _ = resource_for_variable(merge_template, "CONTAINEROPS_STATE_MACHINE_ROLE_ARN")
    queue, _ = resource_for_variable(merge_template, "CONTAINEROPS_LAUNCH_QUEUE_URL")
    bucket, _ = resource_for_variable(merge_template, "CONTAINEROPS_WORKSPACE_BUCKET")
    assert trusted_services(merge_template, role) == {"states.amazonaws.com"}
    # a Distributed Map's child executions and its items (tests/infra/test_state_machine_role.py)
    assert granted(merge_template, role) == [
        ({"sqs:SendMessage"}, {queue}), ({"states:StartExecution"}, {"MachineNamePrefix"}),
        ({"states:DescribeExecution", "states:StopExecution"}, {"MachineNamePrefix"}),
        ({"s3:GetObject"}, {bucket})]


def test_the_task_role_grants_only_the_runs_workspace_layers(merge_template: Template) -> None:
    role, resource = resource_for_variable(merge_template, "CONTAINEROPS_TASK_ROLE_ARN")
    bucket, _ = resource_for_variable(merge_template, "CONTAINEROPS_WORKSPACE_BUCKET")
    # EKS Pod Identity too, with a cluster only (tests/infra/test_eks_stack.py)
    assert trusted_services(merge_template, role) == {"ecs-tasks.amazonaws.com", "pods.eks.amazonaws.com"}
    assert granted(merge_template, role) == [({"s3:ListBucket"}, {bucket}),
                                             ({"s3:GetObject", "s3:PutObject"}, {bucket})]
    by_sid = {s.sid: s for s in permission_statements(merge_template) if s.owner == role}
    assert by_sid["ListRunLayers"].body["Condition"] == {"StringLike": {"s3:prefix": "runs/*"}}
    (layers,) = by_sid["ReadAndAddRunLayers"].resources
    assert layers == {"Fn::Sub": "${WorkspaceBucket.Arn}/runs/*"}
    assert "ManagedPolicyArns" not in resource["Properties"]


def test_the_task_execution_role_pulls_images_writes_job_logs_and_reads_containerops_secrets(
        merge_template: Template) -> None:
    role, _ = resource_for_variable(merge_template, "CONTAINEROPS_TASK_EXECUTION_ROLE_ARN")
    log_group, _ = resource_for_variable(merge_template, "CONTAINEROPS_LOG_GROUP")
    assert trusted_services(merge_template, role) == {"ecs-tasks.amazonaws.com"}
    by_sid = {s.sid: s for s in permission_statements(merge_template) if s.owner == role}
    assert set(by_sid["PullJobImages"].actions) == {
        "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}
    assert referenced_resources(by_sid["WriteJobLogs"].resources) == {log_group}
    assert by_sid["ReadJobSecrets"].actions == ["secretsmanager:GetSecretValue"]
    (secrets,) = by_sid["ReadJobSecrets"].resources
    assert secrets["Fn::Sub"].endswith(f":secret:{NAME_PREFIX}*")
    assert set(by_sid) == {"AuthorizeImagePulls", "PullJobImages", "WriteJobLogs", "ReadJobSecrets"}


def test_the_cluster_runs_on_fargate_and_fargate_spot(merge_template: Template) -> None:
    cluster = properties(merge_template, "CONTAINEROPS_CLUSTER")
    assert set(cluster["CapacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}
    assert resource_for_variable(merge_template, "CONTAINEROPS_CLUSTER")[1]["Type"] == "AWS::ECS::Cluster"


def test_job_logs_expire(merge_template: Template) -> None:
    retention = properties(merge_template, "CONTAINEROPS_LOG_GROUP")["RetentionInDays"]
    (parameter,) = referenced_resources(retention)
    assert merge_template["Parameters"][parameter]["Default"] in (
        merge_template["Parameters"][parameter]["AllowedValues"])


@pytest.mark.parametrize("variable", ["CONTAINEROPS_DESIGNER_BUCKET", "CONTAINEROPS_WORKSPACE_BUCKET"])
def test_the_buckets_are_private_and_encrypted(merge_template: Template, variable: str) -> None:
    bucket = properties(merge_template, variable)
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_the_workspaces_of_runs_that_did_not_succeed_expire(merge_template: Template) -> None:
    (rule,) = properties(merge_template, "CONTAINEROPS_WORKSPACE_BUCKET")["LifecycleConfiguration"]["Rules"]
    assert (rule["Status"], rule["Prefix"]) == ("Enabled", "runs/")
    (parameter,) = referenced_resources(rule["ExpirationInDays"])
    assert merge_template["Parameters"][parameter]["Default"] >= 1
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_every_resource_the_api_is_told_about_is_also_an_output(merge_template: Template) -> None:
    outputs = [o["Value"] for o in merge_template["Outputs"].values()]
    output_names = set().union(*(referenced_resources(v) for v in outputs))
    environment = function_environment(merge_template)
    told = set().union(*(referenced_resources(v) for v in environment.values()))
    assert told - set(merge_template["Parameters"]) - output_names == set()


def test_the_designer_is_served_over_https_by_its_distribution_from_the_private_bucket(
        merge_template: Template) -> None:
    resources = merge_template["Resources"]
    config = resources["DesignerDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["DesignerBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["DesignerOriginAccessControl", "Id"]}
    access = resources["DesignerOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (access["OriginAccessControlOriginType"], access["SigningBehavior"]) == ("s3", "always")
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DefaultRootObject"] == "index.html"


def test_a_designer_route_reloaded_in_the_browser_gets_the_app(merge_template: Template) -> None:
    config = merge_template["Resources"]["DesignerDistribution"]["Properties"]["DistributionConfig"]
    fallbacks = {answer["ErrorCode"]: (answer["ResponseCode"], answer["ResponsePagePath"])
                 for answer in config["CustomErrorResponses"]}
    # S3 answers 403 for a key that is not there when the reader may not list the bucket.
    assert fallbacks == {403: (200, "/index.html"), 404: (200, "/index.html")}


def test_the_designer_bucket_answers_only_its_distribution(merge_template: Template) -> None:
    policy = merge_template["Resources"]["DesignerBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "DesignerBucket"}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "s3:GetObject")
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${DesignerDistribution}")
    assert "DesignerUrl" in merge_template["Outputs"]
