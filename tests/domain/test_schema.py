"""The published JSON Schemas: committed files match the models, and they describe DESIGN §2.

No JSON Schema validator is installed, so `_violations` below checks the subset of
draft 2020-12 these schemas use ($ref, anyOf/oneOf, type, const, required, properties,
additionalProperties, items, pattern, bounds); it is itself tested on bad documents.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.domain.models import Component, Workflow
from chalicelib.domain.schema import (
    DIALECT,
    REGENERATE_COMMAND,
    component_schema,
    render,
    workflow_schema,
    write_schemas,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"

DESIGN_COMPONENT = yaml.safe_load("""
apiVersion: containerops/v1
kind: Component
metadata: {namespace: demo, name: python-pytest, version: 1.2.0, description: runs pytest}
spec:
  image: demo/python-pytest:1.2.0
  command: [pytest, -q]
  data_format: pairs
  inputs:  [{name: git-url, type: string, required: true}, {name: version, default: py3k}]
  outputs: [{name: CO_XML_CONTENT, type: string}]
  resources: {cpu_request: 0.25, cpu_limit: 1, memory_request: 128Mi, memory_limit: 1Gi}
  timeout: 10m
""")

DESIGN_WORKFLOW = yaml.safe_load("""
apiVersion: containerops/v1
kind: Workflow
metadata: {namespace: demo, name: tidb-ci}
spec:
  params: [{name: branch, default: master}]
  env: {GOFLAGS: -mod=mod}
  timeout: 2h
  concurrency: 1
  triggers: [{type: api}, {type: webhook}, {type: schedule, cron: "0 3 * * *"},
             {type: s3, bucket: b, prefix: builds/},
             {type: codecommit, repository: r, branches: [master]}]
  stages:
    - name: test
      sequencing: parallel
      actions:
        - name: unit
          jobs:
            - name: go-test
              component: demo/golang-test@1.2.0
              data: {repo: "${{ trigger.repository }}", ref: "${{ params.branch }}"}
              outputs: [COVERAGE]
              if: "${{ jobs.detect.outputs.CHANGED == 'true' }}"
              retries: {limit: 2, backoff: 10s}
              timeout: 30m
              continue_on_error: false
""")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    return schema


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


def _violations(
    schema: dict[str, Any], value: Any, root: dict[str, Any], path: str = ""
) -> list[str]:
    schema = _resolve(schema, root)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            branches = [_violations(branch, value, root, path) for branch in schema[combinator]]
            if not any(not found for found in branches):
                return [f"{path}: matches no branch of {combinator}", *min(branches, key=len)]
    kind = schema.get("type")
    if kind is not None:
        is_bool = isinstance(value, bool)
        if not isinstance(value, _TYPES[kind]) or (is_bool and kind in ("integer", "number")):
            return [f"{path}: expected {kind}, got {value!r}"]
    found = []
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: expected {schema['const']!r}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        found.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{path}: below minimum")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        found.append(f"{path}: not above exclusive minimum")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{path}: above maximum")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{path}: too few items")
        for index, item in enumerate(value):
            found += _violations(schema.get("items", {}), item, root, f"{path}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        found += [f"{path}: missing '{key}'" for key in required if key not in value]
        for key, item in value.items():
            extra = schema.get("additionalProperties", True)
            if key in properties:
                found += _violations(properties[key], item, root, f"{path}.{key}")
            elif extra is False:
                found.append(f"{path}: unknown field '{key}'")
            elif isinstance(extra, dict):
                found += _violations(extra, item, root, f"{path}.{key}")
    return found


@pytest.mark.parametrize("file_name", ["component.schema.json", "workflow.schema.json"])
def test_committed_schema_files_match_the_models(tmp_path: Path, file_name: str) -> None:
    write_schemas(tmp_path)
    committed = SCHEMAS_DIR / file_name
    assert committed.exists(), f"schemas/{file_name} is missing: run `{REGENERATE_COMMAND}`"
    assert committed.read_text(encoding="utf-8") == (tmp_path / file_name).read_text(
        encoding="utf-8"
    ), f"schemas/{file_name} is out of date with the models: run `{REGENERATE_COMMAND}`"


def test_write_schemas_writes_both_files_sorted_and_ending_in_a_newline(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "out")
    assert [path.name for path in written] == ["component.schema.json", "workflow.schema.json"]
    text = written[1].read_text(encoding="utf-8")
    assert text == render(workflow_schema())
    assert text.endswith("}\n") and text.startswith('{\n  "$defs"')


def test_schemas_declare_draft_2020_12_an_id_and_a_title() -> None:
    for schema, file_name in ((component_schema(), "component"), (workflow_schema(), "workflow")):
        assert schema["$schema"] == DIALECT == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(f"/{file_name}.schema.json")
        assert schema["title"].startswith("ContainerOps ")


def test_top_level_definitions_require_metadata_and_spec() -> None:
    for schema in (component_schema(), workflow_schema()):
        assert set(schema["required"]) == {"metadata", "spec"}
        assert schema["additionalProperties"] is False
    assert workflow_schema()["properties"]["kind"]["const"] == "Workflow"
    assert component_schema()["properties"]["kind"]["const"] == "Component"


def test_job_schema_names_the_condition_if_and_forbids_unknown_fields() -> None:
    job = workflow_schema()["$defs"]["Job"]
    assert "if" in job["properties"] and "if_" not in job["properties"]
    assert job["required"] == ["name"]
    assert job["additionalProperties"] is False


@pytest.mark.parametrize(
    "schema", [component_schema(), workflow_schema()], ids=["component", "workflow"]
)
def test_every_object_in_the_schemas_forbids_unknown_fields(schema: dict[str, Any]) -> None:
    # A matrix's axes are the user's names: its other fields are allowed, each typed (a list).
    lenient = [
        name for name, definition in schema["$defs"].items()
        if "properties" in definition and definition.get("additionalProperties") is not False
        and not (name == "Matrix" and definition["additionalProperties"].get("type") == "array")
    ]
    assert lenient == []


def test_workflow_schema_accepts_the_design_example() -> None:
    assert _violations(workflow_schema(), DESIGN_WORKFLOW, workflow_schema()) == []
    Workflow.model_validate(DESIGN_WORKFLOW)


def test_component_schema_accepts_the_design_example() -> None:
    assert _violations(component_schema(), DESIGN_COMPONENT, component_schema()) == []
    Component.model_validate(DESIGN_COMPONENT)


def test_workflow_schema_rejects_an_unknown_job_field_and_a_missing_name() -> None:
    document = yaml.safe_load(yaml.safe_dump(DESIGN_WORKFLOW))
    job = document["spec"]["stages"][0]["actions"][0]["jobs"][0]
    job["endpoint"] = "legacy/field:1"
    del job["name"]
    found = _violations(workflow_schema(), document, workflow_schema())
    assert ".spec.stages[0].actions[0].jobs[0]: unknown field 'endpoint'" in found
    assert ".spec.stages[0].actions[0].jobs[0]: missing 'name'" in found


def test_workflow_schema_rejects_a_trigger_of_unknown_type_and_a_bad_stage_name() -> None:
    document = yaml.safe_load(yaml.safe_dump(DESIGN_WORKFLOW))
    document["spec"]["triggers"].append({"type": "ftp"})
    document["spec"]["stages"][0]["name"] = "Not A Slug"
    found = _violations(workflow_schema(), document, workflow_schema())
    assert any(line.startswith(".spec.triggers[5]: matches no branch") for line in found)
    bad_name = ".spec.stages[0].name: 'Not A Slug' does not match"
    assert any(line.startswith(bad_name) for line in found)
