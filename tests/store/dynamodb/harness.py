"""What the DynamoDB store's tests run on: moto in-process, made as strict as DynamoDB.

`moto_dynamodb` sets fake credentials and a region (nothing can reach AWS) and starts
`mock_aws`. moto applies a conditional write or a transaction in several Python steps
without a lock (a failed transaction even restores a copy of the whole table, wiping writes
that other threads made meanwhile), while DynamoDB applies each request atomically; so the
fixture serialises moto's handling of requests (`chalicelib.sandbox.moto_fixes`, which the
AWS sandbox uses too), which is what the concurrency tests need to measure the store rather
than moto. `botocore_handler` adds a handler to every botocore client made afterwards: the
tests use it to throttle calls (moto never throttles) and to watch the calls a store makes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from moto import mock_aws

from chalicelib.sandbox.moto_fixes import one_request_at_a_time
from chalicelib.store.dynamodb import (
    DynamoDbStore,
    StoreTables,
    TableNames,
    bind_tables,
    create_tables,
)
from chalicelib.store.dynamodb.boundary import DEFAULT_RETRY, RetryPolicy
from tests.aws import REGION, fake_aws_environment

NAMES = TableNames(
    definitions="test-definitions", runs="test-runs", events="test-events",
    runs_by_workflow_index="runs-by-workflow", runs_by_namespace_index="runs-by-namespace",
    runs_by_time_index="runs-by-time",
)


@contextmanager
def moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_aws_environment(monkeypatch)
    with mock_aws(), one_request_at_a_time():
        yield


class Sleeps:
    """An injected sleep that records the pauses instead of waiting."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


# Bound tables kept between tests: each new botocore client loads botocore's data files
# again (about 0.1 s), and moto, restarted by every test, empties the tables anyway.
_BOUND: dict[TableNames, StoreTables] = {}


def new_store(names: TableNames = NAMES, *, sleep: Callable[[float], None] | None = None,
              retry: RetryPolicy = DEFAULT_RETRY, exact_pauses: bool = False,
              fresh_clients: bool = False) -> DynamoDbStore:
    """A store on freshly created tables. `exact_pauses` makes each pause its ceiling;
    `fresh_clients` (needed for `botocore_handler` to reach the store) binds the tables anew."""
    tables = bind_tables(names, region=REGION) if fresh_clients else _BOUND.get(names)
    if tables is None:
        tables = _BOUND[names] = bind_tables(names, region=REGION)
    create_tables(tables)
    jitter = (lambda ceiling: ceiling) if exact_pauses else (lambda ceiling: 0.0)
    return DynamoDbStore(tables, sleep=sleep or Sleeps(), retry=retry, jitter=jitter)


@contextmanager
def botocore_handler(event: str, handler: Callable[..., Any]) -> Iterator[None]:
    """`handler` on `event` (e.g. "before-call.dynamodb.PutItem") of every client made inside."""
    entry = (event, handler)
    BUILTIN_HANDLERS.append(entry)
    try:
        yield
    finally:
        BUILTIN_HANDLERS.remove(entry)


class Throttle:
    """A before-call handler that answers `code` in DynamoDB's place, `times` times (while
    `times` is None: until switched off), to the calls whose JSON body `match` accepts."""

    def __init__(self, code: str, times: int | None = None,
                 match: Callable[[dict[str, Any]], bool] = lambda body: True,
                 cancellation_reasons: list[str] | None = None) -> None:
        self.code, self.left, self.match = code, times, match
        self.reasons = cancellation_reasons
        self.on = True
        self.refused = 0

    def __call__(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        body = json.loads(params.get("body") or b"{}")
        if not self.on or self.left == 0 or not self.match(body):
            return None
        if self.left is not None:
            self.left -= 1
        self.refused += 1
        parsed: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": "Rate of requests exceeds the allowed throughput."},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
        }
        if self.reasons is not None:
            parsed["CancellationReasons"] = [{"Code": code} for code in self.reasons]
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), parsed


class CallLog:
    """A before-parameter-build handler keeping each call's operation and parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, json.loads(json.dumps(params, default=str))))

    def named(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]


def raw_items(table: str) -> list[dict[str, Any]]:
    """Every item of a table as DynamoDB holds it (a plain boto3 scan)."""
    client = boto3.client("dynamodb", region_name=REGION)
    return list(client.scan(TableName=table, ConsistentRead=True)["Items"])
