"""The models name no table until bound, and the tables they make follow the design in the
package's docstring."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from pynamodb.models import Model

from chalicelib.config import AWS_VARIABLES, AwsSettings
from chalicelib.store.dynamodb import DynamoDbStore, bind_tables, models
from tests.store.dynamodb.harness import NAMES, REGION, new_store

ITEM_MODELS = [models.ComponentItem, models.NamespaceItem, models.WorkflowHeadItem,
               models.WorkflowVersionItem, models.ScheduleMarkItem, models.RunSlotsItem,
               models.RunItem, models.JobItem, models.AttemptItem, models.TaskItem,
               models.EventClaimItem]


@pytest.mark.parametrize("model", ITEM_MODELS, ids=lambda m: m.__name__)
def test_no_model_names_a_table_before_a_store_binds_it(model: type[Model]) -> None:
    assert not hasattr(model, "Meta")


def test_each_binding_makes_its_own_classes_with_its_own_names() -> None:
    first = bind_tables(NAMES)
    other = bind_tables(models.TableNames("d", "r", "e", "w", "n", "t"))
    assert first.run is not other.run
    assert (first.run.Meta.table_name, other.run.Meta.table_name) == (NAMES.runs, "r")
    assert first.job.Meta.table_name == NAMES.runs and first.claim.Meta.table_name == NAMES.events


def test_run_slots_live_in_the_definitions_table_and_the_task_index_in_the_runs_table() -> None:
    tables = bind_tables(NAMES)
    assert tables.slots.Meta.table_name == NAMES.definitions
    assert tables.task.Meta.table_name == NAMES.runs
    assert tables.task._get_connection() is tables.attempt._get_connection()


def describe(table: str) -> dict[str, Any]:
    return dict(boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table)["Table"])


def keys_of(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def test_the_tables_follow_the_shared_design(aws: None) -> None:
    new_store()
    definitions, runs, events = (describe(n) for n in (NAMES.definitions, NAMES.runs, NAMES.events))
    for table in (definitions, runs):
        assert keys_of(table["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert definitions.get("GlobalSecondaryIndexes", []) == []
    assert keys_of(events["KeySchema"]) == [("pk", "HASH")]
    indexes = {i["IndexName"]: (keys_of(i["KeySchema"]), i["Projection"]["ProjectionType"])
               for i in runs["GlobalSecondaryIndexes"]}
    assert indexes == {
        NAMES.runs_by_workflow_index: ([("workflow_ref", "HASH"), ("created_order", "RANGE")], "ALL"),
        NAMES.runs_by_namespace_index: ([("namespace", "HASH"), ("created_order", "RANGE")], "ALL"),
        NAMES.runs_by_time_index: ([("run_shard", "HASH"), ("created_order", "RANGE")], "ALL"),
    }
    types = {a["AttributeName"]: a["AttributeType"] for a in runs["AttributeDefinitions"]}
    assert set(types.values()) == {"S"}
    for table in (definitions, runs, events):
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = boto3.client("dynamodb", region_name=REGION).describe_time_to_live(TableName=NAMES.events)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_a_store_from_the_environment_uses_the_names_the_template_set(aws: None) -> None:
    environ = {name: f"value-of-{name.lower()}" for name in AWS_VARIABLES}
    environ |= {"CONTAINEROPS_DEFINITIONS_TABLE": "prod-definitions", "CONTAINEROPS_RUNS_TABLE": "prod-runs",
                "CONTAINEROPS_RUNS_BY_TIME_INDEX": "prod-by-time"}
    store = DynamoDbStore.from_settings(AwsSettings.from_environment(environ), region=REGION)
    names = store.tables.names
    assert (names.definitions, names.runs, names.runs_by_time_index) == (
        "prod-definitions", "prod-runs", "prod-by-time")
    assert names.events == "value-of-containerops_events_table"
    assert store.tables.component.Meta.table_name == "prod-definitions"
