"""The log ingest policy (chalicelib/engine/ingest.py): masking, `[COUT]`, the storage cap and
the output limits, as a state an attempt record keeps and a later process resumes from."""

from __future__ import annotations

from chalicelib.domain.protocol import MAX_LINE_BYTES, MAX_OUTPUT_VALUE_BYTES, TRUNCATION_MARK
from chalicelib.engine.ingest import (
    IngestPolicy,
    IngestState,
    Kept,
    LogIngest,
    cut_line,
)
from chalicelib.engine.records import AttemptRecord

SECRET = "s3cr3t-value-42"


def test_a_line_is_stored_masked_and_read_for_outputs() -> None:
    ingest = LogIngest(IngestPolicy(secrets=(SECRET,)))
    assert ingest.accept(f"token {SECRET}") == [Kept("token ***")]
    assert ingest.accept(f"[COUT] TOKEN = {SECRET}") == [Kept("[COUT] TOKEN = ***", is_cout=True)]
    assert ingest.state.outputs == {"TOKEN": "***"}


def test_the_result_a_component_reports_is_kept() -> None:
    ingest = LogIngest(IngestPolicy())
    ingest.accept("[COUT] CO_RESULT = false")
    assert ingest.reported_result is False and ingest.state.reported_result is False


def test_past_the_cap_one_note_is_stored_and_later_lines_are_only_read() -> None:
    ingest = LogIngest(IngestPolicy(max_stored_bytes=20))
    assert ingest.accept("0123456789") == [Kept("0123456789")]  # 11 bytes with its newline
    note = ingest.accept("0123456789")
    assert len(note) == 1 and note[0].is_note
    assert note[0].text == ("[containerops] log limit of 20 bytes reached: later lines are not"
                            " stored ([COUT] lines are still read)")
    assert ingest.accept("[COUT] LATE = yes") == []
    assert ingest.state.outputs == {"LATE": "yes"}
    assert ingest.state.truncated and ingest.state.stored_bytes == 11


def test_an_output_over_its_limit_is_kept_as_the_attempts_violation() -> None:
    ingest = LogIngest(IngestPolicy())
    ingest.accept("[COUT] BIG = " + "x" * (MAX_OUTPUT_VALUE_BYTES + 1))
    assert ingest.violation.startswith("output BIG is")
    assert "BIG" not in ingest.state.outputs


def test_the_state_round_trips_through_the_attempt_record() -> None:
    state = IngestState(stored_bytes=123, truncated=True, outputs={"K": "v"}, reported_result=True,
                        violation="outputs exceed 262144 bytes in all at K")
    record = AttemptRecord(run_id="r", job="j", number=1)
    state.save_into(record)
    assert (record.log_bytes, record.log_truncated, record.outputs, record.reported_result,
            record.output_violation) == (123, True, {"K": "v"}, True, state.violation)
    assert IngestState.of(record) == state


def test_a_resumed_ingest_carries_on_exactly_where_the_last_one_stopped() -> None:
    policy = IngestPolicy(max_stored_bytes=40_000)
    first = LogIngest(policy)
    first.accept("[COUT] A = 1")
    first.accept("[COUT] BIG = " + "x" * (MAX_OUTPUT_VALUE_BYTES + 1))  # stored, but too big
    resumed = LogIngest(policy, first.state)
    assert resumed.violation == first.violation != ""
    assert resumed.state == first.state
    assert resumed.accept("y" * 8_000)[0].is_note  # what was stored before counts


def test_an_ingest_resumed_past_the_cap_stores_no_second_note() -> None:
    resumed = LogIngest(IngestPolicy(max_stored_bytes=10), IngestState(stored_bytes=10, truncated=True))
    assert resumed.accept("more") == []


def test_an_ingest_resumed_exactly_at_the_cap_notes_it_with_the_next_line() -> None:
    resumed = LogIngest(IngestPolicy(max_stored_bytes=10), IngestState(stored_bytes=10))
    assert [kept.is_note for kept in resumed.accept("more")] == [True]


def test_after_the_cap_even_a_line_that_would_fit_is_not_stored() -> None:
    ingest = LogIngest(IngestPolicy(max_stored_bytes=20))
    ingest.accept("0123456789")
    assert ingest.accept("a line too long for the rest")[0].is_note
    assert ingest.accept("x") == []


def test_a_whole_line_over_the_limit_is_cut_and_marked() -> None:
    long = "é" * MAX_LINE_BYTES
    cut = cut_line(long)
    assert cut.endswith(TRUNCATION_MARK)
    assert len(cut.removesuffix(TRUNCATION_MARK).encode()) <= MAX_LINE_BYTES
    assert cut_line("short") == "short"
