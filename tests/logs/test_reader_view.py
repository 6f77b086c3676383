"""What a reader is shown of a raw stream is what the local path stores of the same output
(the line assembler, then the engine's ingest policy): the same cut, masking, `[COUT]`
marks and cap note, for any lines."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.domain.protocol import MAX_LINE_BYTES, LineAssembler
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.ingest import IngestPolicy, LogIngest, cut_line
from chalicelib.logs.reader_view import STREAM_HEAD, LineView

KEY = ("r1", "build", 1)
# Any line a container can print to one event: no line break, no lone surrogate.
LINE_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"))


def assembled(text: str, max_bytes: int) -> str:
    [line] = LineAssembler(max_bytes).feed("", text.encode() + b"\n")
    return line.text


@given(LINE_TEXT, st.integers(min_value=1, max_value=40))
def test_an_event_is_cut_exactly_as_the_line_assembler_cuts_the_same_line(text: str, limit: int) -> None:
    assert cut_line(text, limit) == assembled(text, limit)


def test_a_line_of_exactly_the_limit_is_kept_whole_and_one_byte_more_is_cut() -> None:
    assert cut_line("a" * MAX_LINE_BYTES) == "a" * MAX_LINE_BYTES
    assert cut_line("a" * (MAX_LINE_BYTES + 1)) == assembled("a" * (MAX_LINE_BYTES + 1), MAX_LINE_BYTES)


SOME_LINES = st.lists(st.one_of(
    LINE_TEXT.map(lambda text: text[:30]),
    st.sampled_from(["[COUT] KEY = value", "[COUT] CO_RESULT = true", "pass=topsecret!", "[COUT]"]),
), max_size=40)


@settings(max_examples=200)
@given(SOME_LINES, st.integers(min_value=1, max_value=300))
@example(["a\r", "[COUT] K = v\r", "b"], 300)
def test_the_lines_shown_are_the_lines_the_ingest_policy_keeps(lines: list[str], cap: int) -> None:
    secrets = ("topsecret", "K = v")
    ingest = LogIngest(IngestPolicy(secrets, cap))
    kept = [(one.text, one.is_cout) for text in lines
            for one in ingest.accept(assembled(text, MAX_LINE_BYTES))]
    view = LineView(KEY, SecretMasker(secrets), cap)
    state, shown = STREAM_HEAD, []
    for n, text in enumerate(lines):
        state, line = view.advance(state, n, text)
        if line is not None:
            shown.append((line.text, line.is_cout))
    assert shown == kept
    assert state.capped == ingest.state.truncated
