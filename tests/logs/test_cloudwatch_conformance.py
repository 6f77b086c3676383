"""The same container output, logged by the local path into SQLite and written by `awslogs`
into CloudWatch, gives the same log pages to the API's readers (LogService), cursor aside:
the same lines, numbers, times, `[COUT]` marks, masking, cuts and cap note. Streams aside
too: the local path knows each line's stream, CloudWatch keeps none (awslogs sends the text
alone), so its lines say "" where the local ones say "stdout"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.domain.protocol import MAX_LINE_BYTES
from chalicelib.domain.states import AttemptState
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.ingest import IngestPolicy, LogIngest
from chalicelib.local.log_writer import LogWriter
from chalicelib.logs.base import LogSource
from chalicelib.logs.cloudwatch import CloudWatchLogs
from chalicelib.logs.cloudwatch_streams import AttemptStreams
from chalicelib.services.log_service import LogRequest, LogService
from chalicelib.store.sqlite import SqliteStore
from tests.logs.conftest import GROUP, put_container_lines
from tests.store.contract import EPOCH

SECRET = "s3cr3t-value"
CAP = 80_000


def container_output() -> list[str]:
    """What the job prints: plain and [COUT] lines, a secret, a line over 64 KiB with a
    secret across the cut, a CRLF line, then enough to pass the cap."""
    head = [f"step {n}: working" for n in range(1, 31)]
    special = [
        f"[COUT] TOKEN = {SECRET}",
        f"connecting with password {SECRET} to db",
        "x" * (MAX_LINE_BYTES - 5) + SECRET + " the tail is cut",
        "windows line\r",
        "[COUT] CO_RESULT = true",
        "  indented, with trailing spaces  ",
    ]
    tail = [f"step {n}: {'y' * 40}" for n in range(31, 400)]
    return head + special + tail


def logged_locally(store: SqliteStore, texts: list[str]) -> None:
    now = [EPOCH]
    writer = LogWriter(store, "r1", "build", 1, LogIngest(IngestPolicy((SECRET,), CAP)),
                       clock=lambda: now[0])
    for n, text in enumerate(texts):
        now[0] = EPOCH + n  # a second apart, as the container lines in CloudWatch
        writer.feed("stdout", "", (text + "\n").encode())
    writer.close()


def pages(service: LogService, *, limit: int, after: int = 0, cursors: bool,
          streams: bool = False) -> list[dict[str, Any]]:
    """Every page from `after` on, each as the API sends it, cursor (and streams) left out."""
    documents: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = service.read(LogRequest("demo", "r1", "build", 1, after=after, limit=limit,
                                       cursor=cursor if cursors else ""))
        document = page.as_document()
        document.pop("cursor")
        if not streams:
            for line in document["lines"]:
                line.pop("stream")
        documents.append(document)
        if page.done:
            return documents
        after, cursor = page.next_after, page.cursor


@pytest.mark.parametrize("limit", [2, 7, 1000, 5000])
def test_sqlite_and_cloudwatch_give_the_same_pages_of_the_same_output(
    aws: Any, records: SqliteStore, streams: AttemptStreams, limit: int
) -> None:
    texts = container_output()
    logged_locally(records, texts)
    put_container_lines(aws, texts)
    attempt = records.get_attempt("r1", "build", 1)
    records.save_attempt(replace(attempt, status=AttemptState.SUCCEEDED))
    cloudwatch = CloudWatchLogs(aws, GROUP, streams, max_shown_bytes=CAP,
                                masker_for=lambda run_id: SecretMasker((SECRET,)))
    local = LogService(records, records)

    def service(logs: LogSource) -> LogService:
        return LogService(records, logs)

    expected = pages(local, limit=limit, cursors=False)
    assert pages(service(cloudwatch), limit=limit, cursors=True) == expected
    assert pages(service(cloudwatch), limit=limit, cursors=False) == expected
    for after in (0, 29, 33, 200):
        assert pages(service(cloudwatch), limit=limit, after=after, cursors=True) == pages(
            local, limit=limit, after=after, cursors=False)
    shown = [line for document in expected for line in document["lines"]]
    assert shown[-1]["text"].startswith("[containerops] log limit of 80000 bytes reached")
    assert not any(SECRET in line["text"] for line in shown)
    assert [line["seq"] for line in shown] == list(range(1, len(shown) + 1))
    local_streams = [line["stream"] for page in pages(local, limit=limit, cursors=False,
                                                        streams=True) for line in page["lines"]]
    assert local_streams == ["stdout"] * (len(shown) - 1) + [""]  # the cap note is ours
    cloud_streams = {line["stream"] for page in pages(service(cloudwatch), limit=limit,
                                                      cursors=True, streams=True)
                     for line in page["lines"]}
    assert cloud_streams == {""}
