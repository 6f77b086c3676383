"""Position tokens carry a reader's state, and only the source that made them can read one:
any change, another attempt, another stream or another key makes it no token at all."""

from __future__ import annotations

import pytest

from chalicelib.logs.position_token import decode_token, encode_token
from chalicelib.logs.reader_view import ReadState

KEY = ("r1", "build", 1)
STREAM = "job/main/abc"
SECRET = b"s" * 32
STATE = ReadState(seq=42, shown_bytes=1234, last_ms=1_700_000_000_123, capped=False,
                  token="f/38291283746192837461928374619283746192837461928374/s")


def test_a_token_gives_back_the_state_it_was_made_from() -> None:
    token = encode_token(STATE, KEY, STREAM, SECRET)
    assert decode_token(token, KEY, STREAM, SECRET) == STATE
    assert len(token) < 2048  # LogService's limit on a cursor


def test_a_token_is_only_read_by_the_key_stream_and_attempt_it_was_made_for() -> None:
    token = encode_token(STATE, KEY, STREAM, SECRET)
    assert decode_token(token, KEY, STREAM, b"another key") is None
    assert decode_token(token, KEY, "job/main/other", SECRET) is None
    assert decode_token(token, ("r1", "build", 2), STREAM, SECRET) is None
    assert decode_token(token, ("r2", "build", 1), STREAM, SECRET) is None


def test_a_token_changed_anywhere_is_no_token() -> None:
    token = encode_token(STATE, KEY, STREAM, SECRET)
    for index in range(len(token) - 2):  # the last characters may be base64 padding
        changed = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1:]
        assert decode_token(changed, KEY, STREAM, SECRET) in (None, STATE), index
        # a change that decodes to the same bytes (base64's unused low bits) is the same token


@pytest.mark.parametrize("token", ["", "x", "====", "e30=", "bnVsbA==", "W10=", "\u00e9t\u00e9"])
def test_what_is_not_a_token_decodes_to_none(token: str) -> None:
    assert decode_token(token, KEY, STREAM, SECRET) is None
