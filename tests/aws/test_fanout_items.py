"""S3 as the place of a run's Distributed Map items (chalicelib/aws/fanout_items.py), on moto:
the object the ItemReader reads, rewritten harmlessly, and S3's refusals in words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.aws.fanout_items import S3ItemFiles
from chalicelib.cloud.fanout_items import items_body
from chalicelib.errors import ServiceUnavailable
from tests.aws import REGION, fake_aws_environment

BUCKET = "containerops-workspaces"
KEY = "runs/20261201-180000-4f9a1c2e/fanout/test.json"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield s3


def test_the_items_are_written_as_the_json_the_item_reader_reads(client: Any) -> None:
    S3ItemFiles(client).put(BUCKET, KEY, items_body(3))
    stored = client.get_object(Bucket=BUCKET, Key=KEY)
    assert json.loads(stored["Body"].read()) == [{"instance": 0}, {"instance": 1}, {"instance": 2}]
    assert stored["ContentType"] == "application/json"


def test_writing_the_same_items_again_is_harmless(client: Any) -> None:
    items = S3ItemFiles(client)
    items.put(BUCKET, KEY, items_body(2))
    items.put(BUCKET, KEY, items_body(2))
    assert client.get_object(Bucket=BUCKET, Key=KEY)["Body"].read() == items_body(2)


def test_a_missing_bucket_is_said_in_words(client: Any) -> None:
    with pytest.raises(ServiceUnavailable, match=r"s3://nope/runs/.*NoSuchBucket"):
        S3ItemFiles(client).put("nope", KEY, items_body(1))
