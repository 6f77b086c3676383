"""The trigger functions of app.py as deployed (aws mode), on moto: an S3 "Object Created" or a
CodeCommit push event handed to `object_created` / `reference_changed`, and the minute's
schedule event to `start_scheduled_runs`, start their runs through DynamoDB and Step
Functions (an execution named by the run id); a duplicate starts nothing more, and an event
that cannot be read is dropped with a log line rather than raised (no retries of Lambda's)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

import app as application
from chalicelib.aws.bootstrap import AwsClients, AwsServices
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import RunState
from chalicelib.sandbox import moto_fixes
from chalicelib.sandbox.resources import SandboxClients, create_resources
from chalicelib.store.dynamodb import DynamoDbStore
from tests.aws import REGION, fake_aws_environment
from tests.builders import single_job_doc
from tests.cloud.test_trigger_events import codecommit_event, s3_event


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsServices]:
    fake_aws_environment(monkeypatch)
    with mock_aws(), moto_fixes.one_request_at_a_time():
        session = boto3.session.Session(region_name=REGION)
        clients = SandboxClients(ecs=session.client("ecs"), ec2=session.client("ec2"),
                                 logs=session.client("logs"), secrets=session.client("secretsmanager"),
                                 sqs=session.client("sqs"), s3=session.client("s3"), region=REGION)
        settings = create_resources(clients, "triggers", {})
        built = AwsServices.build(settings, AwsClients(
            clients.ecs, session.client("stepfunctions"), clients.logs, clients.secrets, clients.s3,
            region=REGION), token_key=b"k" * 32)
        application.use_aws(built)
        try:
            yield built
        finally:
            application._aws = None


def save(services: AwsServices, name: str, *triggers: dict[str, Any], created_at: float | None = None,
         **spec: Any) -> None:
    document = single_job_doc(spec__triggers=list(triggers), **{f"spec__{k}": v for k, v in spec.items()})
    document["metadata"]["name"] = name
    store = services.store if created_at is None else DynamoDbStore(
        services.store.tables, clock=lambda: created_at)
    store.save_workflow(Workflow.model_validate(document))


def executions(services: AwsServices) -> list[str]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sorted(e["name"] for m in sfn.list_state_machines()["stateMachines"]
                  for e in sfn.list_executions(stateMachineArn=m["stateMachineArn"])["executions"])


def started(services: AwsServices) -> list[tuple[str, RunState, dict[str, Any]]]:
    return sorted((r.workflow, r.status, r.trigger) for r in services.store.list_runs().runs)


def test_an_object_created_event_starts_an_execution_of_each_matching_workflow_once(
    services: AwsServices,
) -> None:
    save(services, "build", {"type": "s3", "bucket": "uploads", "prefix": "builds/"})
    save(services, "docs", {"type": "s3", "bucket": "uploads", "prefix": "docs/"})
    event = s3_event("builds/my+app%2B%2B.zip")

    application.object_created(event, None)
    application.object_created(event, None)  # EventBridge delivered it twice

    [(workflow, status, trigger)] = started(services)
    assert (workflow, status) == ("build", RunState.RUNNING)
    assert trigger == {"type": "s3", "bucket": "uploads", "key": "builds/my app++.zip", "size": 5,
                       "etag": "b1946ac92492d2347c6235b4d2611184"}
    assert executions(services) == [services.store.list_runs().runs[0].id]


def test_a_push_event_starts_a_run_and_a_deleted_branch_or_a_tag_starts_none(
    services: AwsServices,
) -> None:
    save(services, "ci", {"type": "codecommit", "repository": "app", "branches": ["main"]})

    application.reference_changed(codecommit_event("referenceDeleted", commitId=None), None)
    application.reference_changed({**codecommit_event("referenceCreated", referenceType="tag",
                                                      referenceName="main"), "id": "tag-1"}, None)
    assert started(services) == []

    application.reference_changed(codecommit_event(), None)
    application.reference_changed(codecommit_event(), None)
    [(_, status, trigger)] = started(services)
    assert status is RunState.RUNNING
    assert trigger == {"type": "codecommit", "repository": "app", "branch": "main",
                       "commit": "5e3c1f0a9d", "event": "referenceUpdated"}


def test_a_disabled_workflow_starts_nothing_on_aws(services: AwsServices) -> None:
    save(services, "build", {"type": "s3", "bucket": "uploads"})
    services.store.set_workflow_enabled("demo", "build", False)
    application.object_created(s3_event(), None)
    assert started(services) == [] and executions(services) == []


def test_an_event_that_cannot_be_read_is_dropped_with_a_log_line_not_raised(
    services: AwsServices, caplog: pytest.LogCaptureFixture,
) -> None:
    save(services, "build", {"type": "s3", "bucket": "uploads"})
    broken = s3_event()
    del broken["detail"]["object"]["key"]
    with caplog.at_level(logging.ERROR, logger="containerops.cloud"):
        application.object_created(broken, None)
        application.reference_changed(s3_event(), None)  # the wrong source
    assert started(services) == []
    assert "S3 event 17793124-05d4-b198-2fde-7ededc63b103 dropped: the event has no" in caplog.text
    assert "CodeCommit event 17793124-05d4-b198-2fde-7ededc63b103 dropped: expected an event" \
           " from aws.codecommit" in caplog.text


def test_a_run_that_cannot_start_on_aws_is_logged_and_the_event_is_done(
    services: AwsServices, caplog: pytest.LogCaptureFixture,
) -> None:
    save(services, "needs-input", {"type": "s3", "bucket": "uploads"},
         params=[{"name": "target", "required": True}])
    with caplog.at_level(logging.WARNING, logger="containerops.triggers"):
        application.object_created(s3_event(), None)  # returns: nothing for Lambda to retry
    assert started(services) == []
    assert "param 'target' is required" in caplog.text


def test_the_minute_schedule_event_starts_the_run_a_cron_owes_once(services: AwsServices) -> None:
    save(services, "hourly", {"type": "schedule", "cron": "0 * * * *"},
         created_at=time.time() - 2 * 3600)  # an hourly tick has passed since it was saved
    tick = {"version": "0", "id": "tick-1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-03-01T12:00:00Z", "region": REGION,
            "resources": [], "detail": {}}

    application.start_scheduled_runs(tick, None)
    application.start_scheduled_runs(tick, None)  # the same minute's event delivered again

    [(workflow, status, trigger)] = started(services)
    assert (workflow, status, trigger["type"], trigger["cron"]) == (
        "hourly", RunState.RUNNING, "schedule", "0 * * * *")
    assert len(executions(services)) == 1
