"""Fixtures of the DynamoDB store's own tests: moto started, a store on empty tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.store.dynamodb import DynamoDbStore
from tests.store.dynamodb.harness import Sleeps, moto_dynamodb, new_store


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_dynamodb(monkeypatch):
        yield


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def store(aws: None, sleeps: Sleeps) -> DynamoDbStore:
    return new_store(sleep=sleeps)
