"""Reading a batch of log events at once (`LogIngest.read_events`, `SecretMasker.mask_all`)
gives exactly what reading them one by one gives (`accept(cut_line(...))`, `mask`): the same
outputs, result, limit broken, stored bytes and cap, from any state, for any lines."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.domain.protocol import MAX_LINE_BYTES, MAX_OUTPUT_VALUE_BYTES
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.ingest import IngestPolicy, IngestState, LogIngest, cut_line

SECRETS = ("topsecret", "tops", "K = v", "[COUT] X", "a\nb", "ab")  # overlapping, odd, too short
# Any text an event can hold: no lone surrogate (the batch decoder refuses those).
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
PIECES = st.sampled_from(["[COUT]", "[COUT] ", "[CO", "UT]", " = ", "=", "KEY", "CO_RESULT", "true",
                          "false", "topsecret", "tops", "K = v", "\r", "\x1b[32m", "━", "é", "😀",
                          " ", "\t", "CO_XML <a b=1/>"])
LINE = st.one_of(
    TEXT,
    st.lists(st.one_of(PIECES, TEXT), max_size=8).map("".join),
    # A line only the slow way can cut: over a quarter of the line limit in characters.
    st.builds(lambda unit, count, tail: unit * count + tail,
              st.sampled_from(["x", "é", "━", "[COUT] BIG = ", "😀"]),
              st.integers(MAX_LINE_BYTES // 4 - 2, MAX_LINE_BYTES + 10), st.sampled_from(["", "\r"])),
    st.just("[COUT] HUGE = " + "v" * (MAX_OUTPUT_VALUE_BYTES + 1)),
)
LINES = st.lists(LINE, max_size=25)


def one_by_one(policy: IngestPolicy, state: IngestState, messages: list[str]) -> IngestState:
    ingest = LogIngest(policy, state)
    for message in messages:
        ingest.accept(cut_line(message))
    return ingest.state


def in_batches(policy: IngestPolicy, state: IngestState, messages: list[str], size: int) -> IngestState:
    for start in range(0, len(messages), size):
        ingest = LogIngest(policy, state)
        ingest.read_events(messages[start:start + size])
        state = ingest.state
    return state


@settings(max_examples=300, deadline=None)
@given(LINES, st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=30),
       st.sampled_from([(), SECRETS]))
@example(["a\r", "[COUT] K = v\r", "b"], 300, 2, SECRETS)
@example(["xx[CO", "UT] K = 1", "[COUT] K = 2"], 1000, 5, ())
@example(["[COUT] X = 1 topsecret", "[COUT] Y = tops"], 1000, 5, SECRETS)
def test_a_batch_read_at_once_leaves_the_state_reading_it_line_by_line_leaves(
    messages: list[str], cap: int, batch_size: int, secrets: tuple[str, ...]
) -> None:
    policy = IngestPolicy(secrets, cap)
    assert in_batches(policy, IngestState(), messages, batch_size) == one_by_one(
        policy, IngestState(), messages)


@settings(max_examples=100, deadline=None)
@given(LINES, LINES, st.integers(min_value=0, max_value=400))
def test_a_batch_read_at_once_resumes_from_a_state_left_line_by_line(
    before: list[str], after: list[str], cap: int
) -> None:
    policy = IngestPolicy(SECRETS, cap)
    middle = one_by_one(policy, IngestState(), before)
    assert in_batches(policy, middle, after, 7) == one_by_one(policy, middle, after)


def test_an_empty_batch_changes_nothing() -> None:
    state = IngestState(stored_bytes=5, outputs={"K": "v"})
    ingest = LogIngest(IngestPolicy(), state)
    ingest.read_events([])
    assert ingest.state == state


@settings(max_examples=300, deadline=None)
@given(LINES, st.sampled_from([(), SECRETS, ("é", "━━", "x")]))
def test_masking_all_texts_at_once_masks_each_as_masking_it_alone_does(
    texts: list[str], secrets: tuple[str, ...]
) -> None:
    masker = SecretMasker(secrets)
    assert masker.mask_all(texts) == [masker.mask(text) for text in texts]


def test_masking_texts_holding_no_secret_gives_back_the_same_list() -> None:
    texts = ["plain", "text"]
    assert SecretMasker(SECRETS).mask_all(texts) is texts
    assert SecretMasker(()).mask_all(texts) is texts
