"""The secret values of a run (chalicelib/cloud/run_secrets.py): those of the secrets its pinned
workflow version uses, fetched once per run, to mask its logs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chalicelib.cloud.run_secrets import RunSecrets
from chalicelib.errors import NotFound
from chalicelib.store.sqlite import SqliteStore
from tests.builders import action, job, stage, workflow
from tests.store.contract import job as job_record
from tests.store.contract import run


@dataclass
class CountingSecrets:
    known: dict[str, str]
    asked: list[list[str]] = field(default_factory=list)

    def values(self, names: list[str]) -> dict[str, str]:
        self.asked.append(list(names))
        return {name: self.known[name] for name in names if name in self.known}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """demo/ci version 1 uses TOKEN, version 2 uses KEY too; r1 is pinned to 1, r2 to 2."""
    with SqliteStore(tmp_path / "store.db") as store:
        store.save_workflow(workflow(stage("s", action("a", job("j", env={"T": "${{ secrets.TOKEN }}"})))))
        store.save_workflow(workflow(stage("s", action("a", job("j", env={
            "T": "Bearer ${{ secrets.TOKEN }}", "K": "${{ secrets.KEY }}"})))))
        store.create_run(run("r1"), [job_record("j", run_id="r1")])
        r2 = run("r2")
        r2.workflow_version = 2
        store.create_run(r2, [job_record("j", run_id="r2")])
        yield store


def test_the_values_are_those_of_the_secrets_the_runs_pinned_version_uses(store: SqliteStore) -> None:
    secrets = RunSecrets(store, CountingSecrets({"TOKEN": "tok-value", "KEY": "key-value", "X": "x-v"}))
    assert secrets.values("r1") == ("tok-value",)
    assert secrets.values("r2") == ("key-value", "tok-value")


def test_a_secret_the_secret_store_lacks_is_left_out(store: SqliteStore) -> None:
    assert RunSecrets(store, CountingSecrets({})).values("r2") == ()


def test_the_values_are_fetched_once_per_run_while_it_is_among_the_recent_ones(store: SqliteStore) -> None:
    counting = CountingSecrets({"TOKEN": "tok-value"})
    secrets = RunSecrets(store, counting, cached_runs=1)
    secrets.values("r1")
    secrets.values("r1")
    assert counting.asked == [["TOKEN"]]
    secrets.values("r2")  # r1 is no longer among the recent ones
    secrets.values("r1")
    assert counting.asked == [["TOKEN"], ["KEY", "TOKEN"], ["TOKEN"]]


def test_the_masker_masks_the_runs_values(store: SqliteStore) -> None:
    masker = RunSecrets(store, CountingSecrets({"TOKEN": "tok-value"})).masker("r1")
    assert masker.mask("auth tok-value") == "auth ***"


def test_an_unknown_run_is_not_found(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        RunSecrets(store, CountingSecrets({})).values("nope")
