"""DynamoDbStore against the store contract, on moto (see tests/store/dynamodb/harness.py).

What only the DynamoDB store has (big runs, item sizes, throttling, the TTL of event claims,
the shape of its writes) is tested in tests/store/dynamodb/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.store.dynamodb import DynamoDbStore
from tests.store.contract import StoreContract
from tests.store.dynamodb.harness import moto_dynamodb, new_store
from tests.store.instance_contract import InstanceContract


class TestDynamoDbStore(StoreContract):
    @pytest.fixture
    def store(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDbStore]:
        with moto_dynamodb(monkeypatch):
            store = new_store()
            yield store
            store.close()


class TestDynamoDbInstances(InstanceContract):
    @pytest.fixture
    def store(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDbStore]:
        with moto_dynamodb(monkeypatch):
            store = new_store()
            yield store
            store.close()
