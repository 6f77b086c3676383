"""The DynamoDB tables are the ones the store is written against (the design in
chalicelib/store/dynamodb/__init__.py):
each table found through the API's environment variable that names it, with its key, its
indexes, its TTL, on-demand billing, point-in-time recovery and encryption."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.templates import Template, function_environment, resource_for_variable

Key = tuple[tuple[str, str, str], ...]  # (attribute, type, HASH | RANGE)


@dataclass(frozen=True)
class Index:
    name_variable: str
    key: Key
    projection: str = "ALL"


@dataclass(frozen=True)
class TableDesign:
    key: Key
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None


PK_SK: Key = (("pk", "S", "HASH"), ("sk", "S", "RANGE"))
DESIGN = {
    "CONTAINEROPS_DEFINITIONS_TABLE": TableDesign(key=PK_SK),
    "CONTAINEROPS_RUNS_TABLE": TableDesign(
        key=PK_SK,
        indexes=(
            Index("CONTAINEROPS_RUNS_BY_WORKFLOW_INDEX",
                  (("workflow_ref", "S", "HASH"), ("created_order", "S", "RANGE"))),
            Index("CONTAINEROPS_RUNS_BY_NAMESPACE_INDEX",
                  (("namespace", "S", "HASH"), ("created_order", "S", "RANGE"))),
            Index("CONTAINEROPS_RUNS_BY_TIME_INDEX",
                  (("run_shard", "S", "HASH"), ("created_order", "S", "RANGE"))),
        ),
    ),
    "CONTAINEROPS_EVENTS_TABLE": TableDesign(key=(("pk", "S", "HASH"),), ttl_attribute="expires_at"),
}


def table(template: Template, variable: str) -> dict[str, Any]:
    name, resource = resource_for_variable(template, variable)
    assert resource["Type"] == "AWS::DynamoDB::Table", name
    properties: dict[str, Any] = resource["Properties"]
    return properties


def key_of(key_schema: list[dict[str, str]], attribute_types: dict[str, str]) -> Key:
    return tuple((k["AttributeName"], attribute_types[k["AttributeName"]], k["KeyType"]) for k in key_schema)


def attribute_types(properties: dict[str, Any]) -> dict[str, str]:
    return {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}


@pytest.mark.parametrize("variable", sorted(DESIGN))
def test_each_table_has_the_designed_key(merge_template: Template, variable: str) -> None:
    properties = table(merge_template, variable)
    assert key_of(properties["KeySchema"], attribute_types(properties)) == DESIGN[variable].key


@pytest.mark.parametrize("variable", sorted(DESIGN))
def test_each_table_has_exactly_the_designed_indexes(merge_template: Template, variable: str) -> None:
    properties = table(merge_template, variable)
    environment = function_environment(merge_template)
    types = attribute_types(properties)
    found = {
        gsi["IndexName"]: (key_of(gsi["KeySchema"], types), gsi["Projection"]["ProjectionType"])
        for gsi in properties.get("GlobalSecondaryIndexes", [])
    }
    designed = {environment[i.name_variable]: (i.key, i.projection) for i in DESIGN[variable].indexes}
    assert found == designed
    assert "LocalSecondaryIndexes" not in properties


@pytest.mark.parametrize("variable", sorted(DESIGN))
def test_each_table_defines_only_attributes_its_keys_use(merge_template: Template, variable: str) -> None:
    design = DESIGN[variable]
    used = {a for a, _, _ in design.key} | {a for i in design.indexes for a, _, _ in i.key}
    assert set(attribute_types(table(merge_template, variable))) == used


@pytest.mark.parametrize("variable", sorted(DESIGN))
def test_only_the_events_table_expires_items(merge_template: Template, variable: str) -> None:
    ttl = table(merge_template, variable).get("TimeToLiveSpecification")
    expected = DESIGN[variable].ttl_attribute
    if expected is None:
        assert ttl is None
    else:
        assert ttl == {"AttributeName": expected, "Enabled": True}


@pytest.mark.parametrize("variable", sorted(DESIGN))
def test_each_table_is_on_demand_recoverable_and_encrypted(merge_template: Template, variable: str) -> None:
    properties = table(merge_template, variable)
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize("variable", sorted(DESIGN))
def test_each_table_outlives_the_stack(merge_template: Template, variable: str) -> None:
    name, resource = resource_for_variable(merge_template, variable)
    assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain"), name


def test_the_three_tables_are_distinct(merge_template: Template) -> None:
    names = {resource_for_variable(merge_template, v)[0] for v in DESIGN}
    assert len(names) == 3
