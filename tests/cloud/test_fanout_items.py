"""The items a run's Distributed Maps read: one JSON file per distributed fan-out job, under the
key its ItemReader formats from the run id, one `{"instance": i}` per instance in order."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.asl import Target, build_compiled
from chalicelib.asl.plan import MachinePlan
from chalicelib.cloud.fanout_items import instance_items, item_files, items_body
from chalicelib.domain.catalog import InMemoryCatalog
from tests.builders import action, job, stage, workflow

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/containerops-launch"
BUCKET = "containerops-workspaces"


def plan_of(*jobs: dict[str, Any], bucket: str | None = BUCKET) -> MachinePlan:
    definition = workflow(stage("s", action("a", *jobs)))
    return build_compiled(definition, InMemoryCatalog(), Target(QUEUE_URL, items_bucket=bucket)).plan


def test_the_items_are_one_object_per_instance_in_instance_order() -> None:
    assert instance_items(3) == [{"instance": 0}, {"instance": 1}, {"instance": 2}]
    assert items_body(2) == b'[{"instance":0},{"instance":1}]'


def test_ten_thousand_instances_make_a_file_of_under_two_hundred_kilobytes() -> None:
    body = items_body(10_000)

    assert len(body) < 200_000
    assert json.loads(body)[-1] == {"instance": 9999}


def test_a_file_is_written_for_each_distributed_map_and_none_for_inline_ones() -> None:
    plan = plan_of(job("small", shards=3), job("large", shards=1000), job("wide", shards=50))

    files = item_files(plan, "run-7")

    assert [(f.job, f.bucket, f.key, f.instances) for f in files] == [
        ("large", BUCKET, "runs/run-7/fanout/large.json", 1000),
        ("wide", BUCKET, "runs/run-7/fanout/wide.json", 50),
    ]
    assert files[1].body == items_body(50)


def test_the_key_is_the_one_the_item_reader_formats_from_the_run_id() -> None:
    definition = build_compiled(workflow(stage("s", action("a", job("large", shards=1000)))),
                                InMemoryCatalog(), Target(QUEUE_URL, items_bucket=BUCKET)).definition
    key_expression = definition["States"]["job large"]["ItemReader"]["Parameters"]["Key.$"]

    [items] = item_files(plan_of(job("large", shards=1000)), "run-7")
    assert key_expression == "States.Format('runs/{}/fanout/large.json', $.run_id)"
    assert key_expression.split("'")[1].replace("{}", "run-7") == items.key


def test_a_workflow_without_fan_out_has_no_item_files() -> None:
    assert item_files(plan_of(job("plain")), "run-7") == []


def test_a_plan_with_a_distributed_map_but_no_bucket_makes_no_file_silently() -> None:
    with pytest.raises(ValueError, match="no items bucket"):
        item_files(plan_of(job("large", shards=1000), bucket=None), "run-7")
