"""What sets each run-engine function off, as deployed (the packaged template): the launch
queue's mapping to launch_jobs, the job log group's subscription to ingest_logs with the
permission CloudWatch Logs needs, the EventBridge rules Chalice writes from app.py's
patterns, narrowed by the template to this stack's cluster and state machines (the run
engine's) or to this account and region (the S3 and CodeCommit triggers'), and the
schedules of the timeout sweep and of the schedule triggers."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import CloudWatchEventConfig

import app
from chalicelib.aws.stepfunctions import MACHINE_PREFIX, machine_name
from chalicelib.cloud import lambda_events, trigger_events
from chalicelib.cloud.events import TASK_GROUP_PREFIX, task_group
from tests.infra.templates import Template, function_environment, functions, referenced_resources

SQS_VISIBILITY_PER_TIMEOUT = 6  # AWS's advice for a queue a Lambda consumes
# What the template adds to each app.py pattern (`detail` keys): only this stack's events.
NARROWED_BY: dict[str, dict[str, Any]] = {
    "task_stopped": {"clusterArn": [{"Fn::GetAtt": ["JobCluster", "Arn"]}]},
    "execution_ended": {"stateMachineArn": [{"prefix": {"Fn::Sub": (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${MachineNamePrefix}-")}}]},
}
# What it adds at the top of the trigger rules' patterns: only events of this account and
# region (an S3 event's account is the bucket owner's; events forwarded from other accounts
# keep theirs).
THIS_ACCOUNT_AND_REGION = {"account": [{"Ref": "AWS::AccountId"}], "region": [{"Ref": "AWS::Region"}]}
NARROWED_AT_TOP: dict[str, dict[str, Any]] = {
    "object_created": THIS_ACCOUNT_AND_REGION,
    "reference_changed": THIS_ACCOUNT_AND_REGION,
}


EVENT_RULES = [s for s in app.app.event_sources if isinstance(s, CloudWatchEventConfig)]


def of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == resource_type}


def stack_resource(template: Template, variable: str) -> str:
    (name,) = referenced_resources(function_environment(template)[variable])
    return name


def function_of(template: Template, handler: str) -> str:
    (name,) = [n for n, r in functions(template).items() if r["Properties"]["Handler"] == handler]
    return name


def event_of(template: Template, handler: str, event_type: str) -> dict[str, Any]:
    """The properties of the one event a function has (SAM makes an EventBridge rule of it)."""
    events = functions(template)[function_of(template, handler)]["Properties"]["Events"]
    (event,) = events.values()
    assert event["Type"] == event_type
    properties: dict[str, Any] = event["Properties"]
    return properties


def rule_of(template: Template, handler: str) -> dict[str, Any]:
    pattern: dict[str, Any] = event_of(template, handler, "CloudWatchEvent")["Pattern"]
    return pattern


def properties_of(template: Template, handler: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][function_of(template, handler)]["Properties"]
    return properties


# --- the launch queue ----------------------------------------------------------------

def test_the_launch_queue_is_mapped_to_launch_jobs_and_nothing_else_is_mapped(
        packaged_template: Template) -> None:
    (mapping,) = of_type(packaged_template, "AWS::Lambda::EventSourceMapping").values()
    queue = stack_resource(packaged_template, "CONTAINEROPS_LAUNCH_QUEUE_URL")
    properties = mapping["Properties"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert properties["FunctionName"] == {"Ref": function_of(packaged_template, "app.launch_jobs")}
    assert properties.get("Enabled", True) is True


def test_launches_come_in_batches_of_ten_that_report_each_failed_message(packaged_template: Template) -> None:
    (mapping,) = of_type(packaged_template, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["BatchSize"] == 10
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_launch_handler_answers_in_the_shape_the_mapping_reads() -> None:
    # An empty batch touches no launcher: only the answer's shape is looked at here.
    assert lambda_events.launch_batch(None, {"Records": []}) == {"batchItemFailures": []}  # type: ignore[arg-type]


def test_a_launch_stays_hidden_for_six_timeouts_of_its_consumer(packaged_template: Template) -> None:
    queue = stack_resource(packaged_template, "CONTAINEROPS_LAUNCH_QUEUE_URL")
    timeout = properties_of(packaged_template, "app.launch_jobs")["Timeout"]
    visibility = packaged_template["Resources"][queue]["Properties"]["VisibilityTimeout"]
    assert visibility >= SQS_VISIBILITY_PER_TIMEOUT * timeout


# --- the job log group ---------------------------------------------------------------

def test_every_job_log_event_goes_to_ingest_logs_and_no_other_group_is_subscribed(
        packaged_template: Template) -> None:
    (subscription,) = of_type(packaged_template, "AWS::Logs::SubscriptionFilter").values()
    log_group = stack_resource(packaged_template, "CONTAINEROPS_LOG_GROUP")
    properties = subscription["Properties"]
    assert properties["LogGroupName"] == {"Ref": log_group}
    assert properties["FilterPattern"] == ""
    ingest = function_of(packaged_template, "app.ingest_logs")
    assert properties["DestinationArn"] == {"Fn::GetAtt": [ingest, "Arn"]}


def test_cloudwatch_logs_may_invoke_ingest_logs_for_the_job_log_group_of_this_account_only(
        packaged_template: Template) -> None:
    ingest = function_of(packaged_template, "app.ingest_logs")
    permissions = [r["Properties"] for r in of_type(packaged_template, "AWS::Lambda::Permission").values()
                   if ingest in referenced_resources(r["Properties"]["FunctionName"])]
    log_group = stack_resource(packaged_template, "CONTAINEROPS_LOG_GROUP")
    assert permissions == [{
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": [ingest, "Arn"]},
        "Principal": "logs.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": [log_group, "Arn"]},
        "SourceAccount": {"Ref": "AWS::AccountId"},
    }]


def test_the_subscription_is_made_after_the_permission_it_needs(packaged_template: Template) -> None:
    # CloudWatch Logs test-invokes the destination when the filter is created.
    (subscription,) = of_type(packaged_template, "AWS::Logs::SubscriptionFilter").values()
    permissions = set(of_type(packaged_template, "AWS::Lambda::Permission"))
    depends = subscription.get("DependsOn", [])
    assert set(depends if isinstance(depends, list) else [depends]) & permissions


def test_launch_jobs_and_ingest_logs_have_no_event_of_chalices(packaged_template: Template) -> None:
    for handler in ("app.launch_jobs", "app.ingest_logs"):
        assert "Events" not in properties_of(packaged_template, handler)


# --- the EventBridge rules -----------------------------------------------------------

@pytest.mark.parametrize("source", EVENT_RULES, ids=lambda source: source.name)
def test_each_rule_is_app_pys_pattern_narrowed_to_this_stack(
        packaged_template: Template, source: CloudWatchEventConfig) -> None:
    wanted: dict[str, Any] = dict(source.event_pattern)
    if source.name in NARROWED_BY:
        wanted["detail"] = {**wanted["detail"], **NARROWED_BY[source.name]}
    wanted.update(NARROWED_AT_TOP.get(source.name, {}))
    assert rule_of(packaged_template, source.handler_string) == wanted


def test_every_rule_of_app_py_is_narrowed(packaged_template: Template) -> None:
    assert {source.name for source in EVENT_RULES} == set(NARROWED_BY) | set(NARROWED_AT_TOP)


def test_the_task_rule_matches_stopped_tasks_in_the_group_every_job_task_is_started_with(
        packaged_template: Template) -> None:
    detail = rule_of(packaged_template, "app.task_stopped")["detail"]
    assert detail["lastStatus"] == ["STOPPED"]
    (group,) = detail["group"]
    assert group == {"prefix": TASK_GROUP_PREFIX + ":"}
    assert task_group("run-1", "build", 1).startswith(group["prefix"])
    cluster = stack_resource(packaged_template, "CONTAINEROPS_CLUSTER")
    assert detail["clusterArn"] == [{"Fn::GetAtt": [cluster, "Arn"]}]


def test_the_execution_rule_matches_the_end_of_every_run_of_the_stacks_machines(
        packaged_template: Template) -> None:
    detail = rule_of(packaged_template, "app.execution_ended")["detail"]
    assert set(detail["status"]) == {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}  # not RUNNING
    ((prefix,),) = [[p["prefix"]["Fn::Sub"] for p in detail["stateMachineArn"]]]
    assert prefix.endswith(":stateMachine:${MachineNamePrefix}-")
    assert packaged_template["Parameters"]["MachineNamePrefix"]["Default"] == MACHINE_PREFIX
    for prefix_given in (MACHINE_PREFIX, "containerops-staging"):
        assert machine_name("default", "ci", 3, prefix_given).startswith(prefix_given + "-")
        # a shortened name too
        assert machine_name("n" * 60, "w" * 60, 3, prefix_given).startswith(prefix_given + "-")


# --- the timeout sweep ---------------------------------------------------------------

def test_the_timeout_sweep_runs_every_minute(packaged_template: Template) -> None:
    # The job states' compiled TimeoutSeconds backstop a missed sweep; a minute is the lateness.
    schedule = event_of(packaged_template, "app.sweep_running_jobs", "Schedule")
    assert schedule == {"Schedule": "rate(1 minute)"}


# --- the triggers --------------------------------------------------------------------

def test_the_s3_rule_matches_objects_created_in_buckets_of_this_account_and_region(
        packaged_template: Template) -> None:
    rule = rule_of(packaged_template, "app.object_created")
    assert rule["source"] == [trigger_events.S3_SOURCE]
    assert rule["detail-type"] == [trigger_events.OBJECT_CREATED]
    assert {key: rule[key] for key in THIS_ACCOUNT_AND_REGION} == THIS_ACCOUNT_AND_REGION
    assert "detail" not in rule  # which buckets, prefixes and suffixes: the workflows say


def test_the_codecommit_rule_lets_through_only_branches_created_or_pushed_to(
        packaged_template: Template) -> None:
    rule = rule_of(packaged_template, "app.reference_changed")
    assert rule["source"] == [trigger_events.CODECOMMIT_SOURCE]
    assert rule["detail-type"] == [trigger_events.REPOSITORY_CHANGED]
    assert rule["detail"] == {"event": ["referenceCreated", "referenceUpdated"],
                              "referenceType": ["branch"]}  # no deletes, no tags
    assert {key: rule[key] for key in THIS_ACCOUNT_AND_REGION} == THIS_ACCOUNT_AND_REGION


def test_the_schedule_triggers_are_checked_every_minute(packaged_template: Template) -> None:
    # Cron has minutes for its finest field: a check a minute misses no tick.
    schedule = event_of(packaged_template, "app.start_scheduled_runs", "Schedule")
    assert schedule == {"Schedule": "rate(1 minute)"}

