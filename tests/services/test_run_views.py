"""The run's documents: the detail says what started the run (its trigger, nested fields and
all), the history's summaries leave the trigger out."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.services.run_views import run_document, run_summary
from tests.store.contract import job, run

PUSH = {"type": "webhook", "event": "push", "ref": "refs/heads/main",
        "repository": {"full_name": "team/app"}, "sender": {"login": "ana"}}


def test_the_run_document_carries_the_trigger_as_it_was_recorded() -> None:
    record = replace(run("r1"), trigger=PUSH)
    document = run_document(record, [job("build")], [])
    assert document["trigger"] == PUSH
    assert document["params"] == {"branch": "main"}


def test_a_summary_leaves_the_trigger_out() -> None:
    assert "trigger" not in run_summary(replace(run("r1"), trigger=PUSH))
