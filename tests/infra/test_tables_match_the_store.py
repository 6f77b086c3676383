"""The stack makes the tables the DynamoDB store is written against: for each table, the
key, the attributes, the indexes (named as the API's environment names them) and the TTL of
the store's PynamoDB models are those of the template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from pynamodb.models import Model

from chalicelib.store.dynamodb import bind_tables
from chalicelib.store.dynamodb.models import StoreTables, TableNames
from tests.infra.templates import Template, function_environment, resource_for_variable

TABLE_VARIABLES = {
    "definitions": "CONTAINEROPS_DEFINITIONS_TABLE",
    "runs": "CONTAINEROPS_RUNS_TABLE",
    "events": "CONTAINEROPS_EVENTS_TABLE",
}


def store_tables(template: Template) -> StoreTables:
    """The store's models, bound to the index names the template gives the API."""
    environment = function_environment(template)
    return bind_tables(TableNames(
        definitions="definitions", runs="runs", events="events",
        runs_by_workflow_index=environment["CONTAINEROPS_RUNS_BY_WORKFLOW_INDEX"],
        runs_by_namespace_index=environment["CONTAINEROPS_RUNS_BY_NAMESPACE_INDEX"],
        runs_by_time_index=environment["CONTAINEROPS_RUNS_BY_TIME_INDEX"],
    ), region="us-east-1")


def model_of(tables: StoreTables, table: str) -> type[Model]:
    return {"definitions": tables.component, "runs": tables.run, "events": tables.claim}[table]


def keys(key_schema: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {(key["AttributeName"], key["KeyType"]) for key in key_schema}


def attributes(definitions: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {(a["AttributeName"], a["AttributeType"]) for a in definitions}


def template_table(template: Template, table: str) -> dict[str, Any]:
    _, resource = resource_for_variable(template, TABLE_VARIABLES[table])
    properties: dict[str, Any] = resource["Properties"]
    return properties


@pytest.mark.parametrize("table", sorted(TABLE_VARIABLES))
def test_each_table_has_the_key_and_attributes_of_the_stores_models(
    merge_template: Template, table: str
) -> None:
    schema = model_of(store_tables(merge_template), table)._get_schema()
    properties = template_table(merge_template, table)
    assert keys(properties["KeySchema"]) == keys(schema["key_schema"])
    assert attributes(properties["AttributeDefinitions"]) == attributes(schema["attribute_definitions"])


@pytest.mark.parametrize("table", sorted(TABLE_VARIABLES))
def test_each_table_has_the_indexes_the_store_queries(merge_template: Template, table: str) -> None:
    schema = model_of(store_tables(merge_template), table)._get_schema()
    expected = {index["index_name"]: (keys(index["key_schema"]), index["projection"]["ProjectionType"])
                for index in schema["global_secondary_indexes"]}
    found = {index["IndexName"]: (keys(index["KeySchema"]), index["Projection"]["ProjectionType"])
             for index in template_table(merge_template, table).get("GlobalSecondaryIndexes", [])}
    assert found == expected


def test_the_events_table_expires_claims_on_the_stores_ttl_attribute(merge_template: Template) -> None:
    claim = store_tables(merge_template).claim
    ttl_attributes = [name for name, attribute in claim.get_attributes().items()
                      if type(attribute).__name__ == "TTLAttribute"]
    assert template_table(merge_template, "events")["TimeToLiveSpecification"] == {
        "AttributeName": ttl_attributes[0], "Enabled": True}
    assert len(ttl_attributes) == 1
