"""CloudWatch Logs as the log store, on moto: the log contract, then what only it has to get
right: lines written by the container itself read back masked, cut and capped; positions
that hold across reads, tokens and CloudWatch's paging; appends within CloudWatch's limits."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.domain.protocol import MAX_LINE_BYTES, TRUNCATION_MARK
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.records import LogLine
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.logs.base import LogEntry, LogPosition
from chalicelib.logs.cloudwatch import EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, CloudWatchLogs
from chalicelib.logs.cloudwatch_streams import AttemptStreams, containerops_stream
from chalicelib.logs.position_token import encode_token
from chalicelib.logs.reader_view import ReadState, cap_note
from tests.logs.conftest import (
    GROUP,
    TASK_STREAM,
    RecordingClient,
    put_container_lines,
    stream_messages,
)
from tests.logs.contract import LogContract, entries
from tests.store.contract import EPOCH, at_once

SECRET = "hunter2-the-secret"
KEY = b"k" * 32


def logs_on(client: Any, streams: AttemptStreams, **options: Any) -> CloudWatchLogs:
    options.setdefault("token_key", KEY)
    return CloudWatchLogs(client, GROUP, streams, **options)


def container_line(seq: int, text: str, *, attempt: int = 1) -> LogLine:
    return LogLine("r1", "build", attempt, seq, EPOCH + seq - 1, text, text.startswith("[COUT]"), "")


def numbered(texts: list[str]) -> list[LogLine]:
    return [container_line(seq, text) for seq, text in enumerate(texts, 1)]


class TestCloudWatchLogs(LogContract):
    @pytest.fixture
    def logs(self, aws: Any, streams: AttemptStreams) -> Iterator[CloudWatchLogs]:
        yield logs_on(aws, streams)


# --- which stream, and where notes go ---------------------------------------------------

def test_the_lines_of_an_attempt_with_a_task_are_those_awslogs_wrote_to_the_task_stream(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, ["cloning", "[COUT] SHA = abc", "done"])
    assert logs_on(aws, streams).read_logs("r1", "build", 1) == numbered(
        ["cloning", "[COUT] SHA = abc", "done"])


def test_a_note_goes_into_the_task_stream_after_the_container_lines(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, ["one", "two"])
    logs = logs_on(aws, streams)
    note = "[containerops] stopped: timeout after 600s"
    assert logs.append_logs("r1", "build", 1, [LogEntry(EPOCH + 60, note)]) == [
        LogLine("r1", "build", 1, 3, EPOCH + 60, note, False, "")]
    assert stream_messages(aws, TASK_STREAM) == ["one", "two", note]
    assert [line.text for line in logs.read_logs("r1", "build", 1)] == ["one", "two", note]


def test_a_note_of_an_attempt_that_never_got_a_task_goes_into_a_stream_of_its_own(
    aws: Any, streams: AttemptStreams
) -> None:
    logs = logs_on(aws, streams)
    note = "[containerops] launch failed: image not found: demo/app:9"
    logs.append_logs("r1", "build", 2, [LogEntry(EPOCH, note)])
    assert stream_messages(aws, containerops_stream("r1", "build", 2)) == [note]
    assert [line.text for line in logs.read_logs("r1", "build", 2)] == [note]


def test_an_attempt_whose_container_has_not_written_yet_reads_as_empty_until_it_does(
    aws: Any, streams: AttemptStreams
) -> None:
    logs = logs_on(aws, streams)
    empty = logs.read_log_batch("r1", "build", 1)
    assert empty.lines == [] and empty.position.seq == 0
    assert logs.last_log_line("r1", "build", 1) is None
    put_container_lines(aws, ["first", "second"])
    assert logs.read_log_batch("r1", "build", 1, empty.position).lines == numbered(["first", "second"])


def test_an_attempt_that_was_never_recorded_has_no_lines_and_takes_none(
    aws: Any, streams: AttemptStreams
) -> None:
    logs = logs_on(aws, streams)
    assert logs.read_logs("r1", "build", 7) == []
    assert logs.last_log_line("r1", "build", 7) is None
    with pytest.raises(NotFound, match="attempt 7"):
        logs.append_logs("r1", "build", 7, entries(1))


# --- positions and tokens ----------------------------------------------------------------

TEXTS = [f"line {n}" for n in range(1, 31)]


def test_seq_is_the_position_a_reader_sees_and_the_same_for_every_reader(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, TEXTS)
    first, second = logs_on(aws, streams), logs_on(aws, streams)
    assert first.read_logs("r1", "build", 1) == second.read_logs("r1", "build", 1) == numbered(TEXTS)
    for after in (0, 1, 13, 29, 30, 45):
        assert logs_on(aws, streams).read_logs("r1", "build", 1, after_seq=after, limit=7) == (
            numbered(TEXTS)[after:after + 7])


def test_a_token_resumes_in_another_process_without_reading_from_the_head(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, TEXTS)
    batch = logs_on(aws, streams).read_log_batch("r1", "build", 1, limit=12)
    recording = RecordingClient(aws)
    other = logs_on(recording, streams)  # no tail cache: as another Lambda
    assert other.read_log_batch("r1", "build", 1, batch.position, limit=5).lines == numbered(TEXTS)[12:17]
    assert recording.named("get_log_events")[0]["nextToken"]


def test_a_key_given_as_a_function_is_asked_for_once_and_only_when_a_token_is_made(
    aws: Any, streams: AttemptStreams
) -> None:
    asked: list[int] = []

    def key() -> bytes:
        asked.append(1)
        return KEY

    put_container_lines(aws, TEXTS)
    logs = logs_on(aws, streams, token_key=key)
    logs.append_logs("r1", "build", 2, entries(3))
    assert asked == []  # writing needs no key
    batch = logs.read_log_batch("r1", "build", 1, limit=12)
    logs.read_log_batch("r1", "build", 1, batch.position, limit=5)
    assert asked == [1]
    # the token it made is one another process holding the same key goes on from
    other = logs_on(aws, streams)
    assert other.read_log_batch("r1", "build", 1, batch.position, limit=5).lines == numbered(TEXTS)[12:17]


def test_the_token_is_base64_json_holding_cloudwatchs_forward_token_and_the_seq(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, TEXTS)
    recording = RecordingClient(aws)
    position = logs_on(recording, streams).read_log_batch("r1", "build", 1, limit=4).position
    document = json.loads(base64.urlsafe_b64decode(position.token))
    seq, _, _, capped, forward = document["s"]
    assert (seq, capped) == (4, False) and position.seq == 4
    assert forward == recording.client.get_log_events(
        logGroupName=GROUP, logStreamName=TASK_STREAM, startFromHead=True, limit=4)["nextForwardToken"]


def _tampered(token: str) -> str:
    document = json.loads(base64.urlsafe_b64decode(token))
    document["s"][0] -= 3  # claims to stand three lines earlier than it does
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def _bad_tokens(good: str, other_attempt: str) -> dict[str, str]:
    state = ReadState(seq=10, token="f/not-a-cloudwatch-token")
    return {
        "garbage": "not a token",
        "not base64 of json": base64.urlsafe_b64encode(b"\xff\x00").decode(),
        "json of another shape": base64.urlsafe_b64encode(b'{"v": 1, "s": [1, 2]}').decode(),
        "cut short": good[: len(good) // 2],
        "tampered with": _tampered(good),
        "of another attempt": other_attempt,
        "signed with another key": encode_token(
            ReadState(seq=10), ("r1", "build", 1), TASK_STREAM, b"another key"),
        "refused by cloudwatch": encode_token(state, ("r1", "build", 1), TASK_STREAM, KEY),
    }


BAD_TOKENS = ["garbage", "not base64 of json", "json of another shape", "cut short", "tampered with",
              "of another attempt", "signed with another key", "refused by cloudwatch"]


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_still_gives_exactly_the_lines_after_after(
    aws: Any, streams: AttemptStreams, kind: str
) -> None:
    put_container_lines(aws, TEXTS)
    logs = logs_on(aws, streams)
    logs.append_logs("r1", "build", 2, entries(12))
    good = logs.read_log_batch("r1", "build", 1, limit=13).position.token
    other_attempt = logs.read_log_batch("r1", "build", 2, limit=10).position.token
    token = _bad_tokens(good, other_attempt)[kind]
    for reader in (logs, logs_on(aws, streams)):  # with this process's tail, and without
        batch = reader.read_log_batch("r1", "build", 1, LogPosition(10, token), limit=8)
        assert batch.lines == numbered(TEXTS)[10:18]
        assert reader.read_log_batch("r1", "build", 1, batch.position, limit=100).lines == (
            numbered(TEXTS)[18:])


def test_a_token_behind_after_skips_to_after_and_one_past_it_is_not_used(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, TEXTS)
    logs = logs_on(aws, streams)
    at_five = logs.read_log_batch("r1", "build", 1, limit=5).position
    at_twenty = logs.read_log_batch("r1", "build", 1, LogPosition(15), limit=5).position
    fresh = logs_on(aws, streams)
    assert fresh.read_log_batch("r1", "build", 1, LogPosition(9, at_five.token), limit=3).lines == (
        numbered(TEXTS)[9:12])
    assert fresh.read_log_batch("r1", "build", 1, LogPosition(9, at_twenty.token), limit=3).lines == (
        numbered(TEXTS)[9:12])


def test_a_reader_at_the_end_gets_nothing_until_a_line_comes_then_only_that_line(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, TEXTS[:3])
    recording = RecordingClient(aws)
    logs = logs_on(recording, streams)
    end = logs.read_log_batch("r1", "build", 1).position
    for _ in range(3):  # CloudWatch gives the same token back at the end of a stream
        again = logs.read_log_batch("r1", "build", 1, end)
        assert again.lines == [] and again.position.seq == 3
    put_container_lines(aws, ["later"], start=EPOCH + 3)
    assert logs.read_log_batch("r1", "build", 1, again.position).lines == [container_line(4, "later")]


@pytest.mark.parametrize("quirk", [{"empty_pages": True}, {"page_events": 3},
                                   {"empty_pages": True, "page_events": 2}])
def test_empty_and_short_pages_before_the_end_lose_and_repeat_no_line(
    aws: Any, streams: AttemptStreams, quirk: dict[str, Any]
) -> None:
    put_container_lines(aws, TEXTS)
    logs = logs_on(RecordingClient(aws, **quirk), streams)
    seen: list[LogLine] = []
    batch = logs.read_log_batch("r1", "build", 1, limit=7)
    while batch.lines:
        seen += batch.lines
        batch = logs.read_log_batch("r1", "build", 1, batch.position, limit=7)
    assert seen == numbered(TEXTS)
    assert logs_on(RecordingClient(aws, **quirk), streams).read_logs(
        "r1", "build", 1, after_seq=11, limit=4) == numbered(TEXTS)[11:15]


def test_no_page_asks_cloudwatch_for_more_than_ten_thousand_events(
    aws: Any, streams: AttemptStreams
) -> None:
    recording = RecordingClient(aws)
    logs = logs_on(recording, streams)
    many = [LogEntry(EPOCH + n / 1000, f"n{n}") for n in range(1, 25_001)]
    assert [line.seq for line in logs.append_logs("r1", "build", 2, many)] == list(range(1, 25_001))
    assert [len(call["logEvents"]) for call in recording.named("put_log_events")] == [
        10_000, 10_000, 5_000]
    fresh_recording = RecordingClient(aws)
    fresh = logs_on(fresh_recording, streams)
    assert [line.text for line in fresh.read_logs("r1", "build", 2, after_seq=12_000, limit=50_000)] == [
        f"n{n}" for n in range(12_001, 22_001)]
    assert max(call["limit"] for call in fresh_recording.named("get_log_events")) == 10_000
    assert fresh.last_log_line("r1", "build", 2) == LogLine(
        "r1", "build", 2, 25_000, EPOCH + 25, "n25000", False, "")


# --- what readers are shown ---------------------------------------------------------------

def test_every_secret_of_the_run_is_masked_in_what_is_read_and_in_the_notes_written(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, [f"login with {SECRET}", f"[COUT] TOKEN = {SECRET}"])
    logs = logs_on(aws, streams, masker_for=lambda run_id: SecretMasker((SECRET, "other-secret")))
    logs.append_logs("r1", "build", 1, [LogEntry(EPOCH + 5, f"[containerops] stopped {SECRET}")])
    assert [(line.text, line.is_cout) for line in logs.read_logs("r1", "build", 1)] == [
        ("login with ***", False), ("[COUT] TOKEN = ***", True), ("[containerops] stopped ***", False)]
    assert stream_messages(aws, TASK_STREAM)[2] == "[containerops] stopped ***"


def test_is_cout_is_read_from_the_masked_text_not_taken_from_the_writer(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, ["[COUT][COUT] = x", "[COUT] K = v"])
    logs = logs_on(aws, streams, masker_for=lambda run_id: SecretMasker(("[COUT][COUT] = x",)))
    logs.append_logs("r1", "build", 1, [LogEntry(EPOCH + 9, "[COUT] WRITTEN = yes", is_cout=False),
                                        LogEntry(EPOCH + 9, "plain", is_cout=True)])
    assert [line.is_cout for line in logs.read_logs("r1", "build", 1)] == [False, True, True, False]


def test_a_line_over_64_kib_is_cut_and_marked_as_the_local_path_cuts_it(
    aws: Any, streams: AttemptStreams
) -> None:
    exact = "a" * MAX_LINE_BYTES
    long = "b" * (MAX_LINE_BYTES - 1) + "é" + SECRET  # the cut falls inside the é
    put_container_lines(aws, [exact, long, "crlf\r"])
    shown = logs_on(aws, streams, masker_for=lambda run_id: SecretMasker((SECRET,))).read_logs(
        "r1", "build", 1)
    assert [line.text for line in shown] == [
        exact, "b" * (MAX_LINE_BYTES - 1) + "\ufffd" + TRUNCATION_MARK, "crlf"]


def test_past_the_cap_one_note_says_so_and_later_lines_are_not_shown(
    aws: Any, streams: AttemptStreams
) -> None:
    texts = [f"line {n:03}" for n in range(1, 21)]  # 8 bytes + a line break each: 9
    put_container_lines(aws, texts)
    recording = RecordingClient(aws)
    logs = logs_on(recording, streams, max_shown_bytes=50)
    note = LogLine("r1", "build", 1, 6, EPOCH + 5, cap_note(50), False, "")
    assert logs.read_logs("r1", "build", 1) == [*numbered(texts[:5]), note]
    assert logs.read_logs("r1", "build", 1, after_seq=3) == [*numbered(texts)[3:5], note]
    assert logs.last_log_line("r1", "build", 1) == note
    at_note = logs.read_log_batch("r1", "build", 1).position
    calls = len(recording.calls)
    assert logs.read_log_batch("r1", "build", 1, at_note).lines == []
    assert len(recording.calls) == calls  # a reader past the cap costs no call
    logs.append_logs("r1", "build", 1, [LogEntry(EPOCH + 30, "[containerops] stopped")])
    assert logs_on(aws, streams, max_shown_bytes=50).read_logs("r1", "build", 1)[-1] == note


def test_the_default_cap_is_the_local_one(aws: Any, streams: AttemptStreams) -> None:
    big = "x" * (MAX_LINE_BYTES - 1)  # 64 KiB with its line break
    put_container_lines(aws, [big] * 257)
    shown = logs_on(aws, streams).read_logs("r1", "build", 1, limit=1000)
    assert len(shown) == 257 and shown[-1].text == cap_note(16 * 1024 * 1024)


# --- appending -------------------------------------------------------------------------------

def test_appends_are_batched_within_cloudwatchs_call_limits(aws: Any, streams: AttemptStreams) -> None:
    recording = RecordingClient(aws)
    logs = logs_on(recording, streams)
    big = [LogEntry(EPOCH + n / 1000, f"{n:03} " + "z" * 100_000) for n in range(25)]
    huge = LogEntry(EPOCH + 1, "h" * 400_000)  # over CloudWatch's event size: clipped
    stored = logs.append_logs("r1", "build", 2, [*big, huge])
    assert [line.seq for line in stored] == list(range(1, 27))
    batches = [call["logEvents"] for call in recording.named("put_log_events")]
    assert len(batches) >= 3 and sum(len(batch) for batch in batches) == 26
    for batch in batches:
        assert sum(len(event["message"].encode()) + EVENT_OVERHEAD_BYTES for event in batch) <= (
            MAX_BATCH_BYTES)
    assert stored[-1].text == "h" * MAX_LINE_BYTES + TRUNCATION_MARK
    assert logs.read_logs("r1", "build", 2) == stored


def test_entries_out_of_time_order_are_stored_in_order_never_stamped_before_the_stream_end(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, ["container 1", "container 2"], start=EPOCH + 100)  # up to +101 s
    logs = logs_on(aws, streams)
    stored = logs.append_logs("r1", "build", 1, [
        LogEntry(EPOCH + 50, "early note"), LogEntry(EPOCH + 200, "late"),
        LogEntry(EPOCH + 150, "back in time")])
    assert [(line.seq, line.time, line.text) for line in stored] == [
        (3, EPOCH + 101, "early note"), (4, EPOCH + 200, "late"), (5, EPOCH + 200, "back in time")]
    assert logs_on(aws, streams).read_logs("r1", "build", 1)[2:] == stored


def test_the_stream_is_made_by_the_first_append_and_empty_entries_are_not_stored(
    aws: Any, streams: AttemptStreams
) -> None:
    recording = RecordingClient(aws)
    logs = logs_on(recording, streams)
    assert logs.append_logs("r1", "build", 2, [LogEntry(EPOCH, "")]) == []
    assert recording.calls == []
    logs.append_logs("r1", "build", 2, [LogEntry(EPOCH, "a"), LogEntry(EPOCH, ""), LogEntry(EPOCH, "b")])
    assert len(recording.named("create_log_stream")) == 1
    assert stream_messages(aws, containerops_stream("r1", "build", 2)) == ["a", "b"]


def test_writers_in_two_processes_and_the_container_never_share_a_number_or_lose_a_line(
    aws: Any, streams: AttemptStreams
) -> None:
    put_container_lines(aws, ["container says hi"])
    sinks = [logs_on(aws, streams), logs_on(aws, streams)]  # as two Lambdas: no shared lock

    def write(writer: int) -> list[LogLine]:
        stored: list[LogLine] = []
        for batch in range(8):
            stored += sinks[writer].append_logs("r1", "build", 1, [
                LogEntry(EPOCH + 1, f"writer {writer} batch {batch} line {n}") for n in range(3)])
        return stored

    results = at_once(2, write)
    returned = [line for result in results for line in result]  # type: ignore[union-attr]
    shown = logs_on(aws, streams).read_logs("r1", "build", 1)
    assert [line.seq for line in shown] == list(range(1, 50))
    assert sorted(returned) == sorted(shown[1:])  # each number returned is where its line is


def test_lines_cloudwatch_refuses_as_too_old_are_an_error_not_lost_silently(
    aws: Any, streams: AttemptStreams
) -> None:
    logs = logs_on(aws, streams)
    with pytest.raises(InvalidRequest, match="refused log lines"):
        logs.append_logs("r1", "build", 2, [LogEntry(EPOCH - 15 * 24 * 3600, "too old")])
