"""API tokens: made random and shown once, kept only as salted hashes, checked in constant
time, several valid at once, and refused when missing, malformed, unknown, revoked or expired."""

from __future__ import annotations

import json

import pytest

from chalicelib.config import ConfigurationError
from chalicelib.domain.api_tokens import (
    MAX_TOKENS,
    TOKEN_PATTERN,
    Refusal,
    TokenHashes,
    bearer_token,
    issue_token,
)
from chalicelib.errors import InvalidRequest, NotFound

NOW = 1_800_000_000.0
DAY = 86400.0


def test_a_token_is_random_long_and_names_its_record() -> None:
    issued = issue_token("ci", NOW)
    assert TOKEN_PATTERN.fullmatch(issued.token)
    assert issued.token.startswith(f"co_{issued.record.id}_")
    assert len(issued.token) == 3 + 12 + 1 + 43  # 256 random bits after the id
    assert issue_token("ci", NOW).token != issued.token


def test_only_a_salted_hash_of_the_token_is_kept() -> None:
    issued = issue_token("ci", NOW)
    stored = TokenHashes((issued.record,)).render()
    secret = issued.token.split("_", 2)[2]
    assert issued.token not in stored and secret not in stored
    assert issued.record.matches(issued.token)
    # The same token issued twice would not be stored the same way: every record has its salt.
    again = issue_token("ci", NOW, random_bytes=lambda n: b"\x01" * n)
    twin = issue_token("ci", NOW, random_bytes=lambda n: b"\x01" * n if n != 16 else b"\x02" * n)
    assert again.token == twin.token and again.record.sha256 != twin.record.sha256


def test_a_listed_token_checks_out() -> None:
    issued = issue_token("ci", NOW)
    assert TokenHashes((issued.record,)).check(issued.token, NOW) == issued.record


@pytest.mark.parametrize("text", ["", "secret", "co_", "co_0123456789ab", "Bearer co_x",
                                  "co_0123456789AB_" + "a" * 43, "co_0123456789ab_" + "a" * 42,
                                  "co_0123456789ab_" + "a" * 43 + " "])
def test_anything_but_a_containerops_token_is_malformed(text: str) -> None:
    assert TokenHashes((issue_token("ci", NOW).record,)).check(text, NOW) is Refusal.MALFORMED


def test_an_unknown_token_is_refused() -> None:
    listed, other = issue_token("ci", NOW), issue_token("ci", NOW)
    assert TokenHashes((listed.record,)).check(other.token, NOW) is Refusal.UNKNOWN


def test_a_token_whose_secret_part_is_wrong_is_refused_though_its_id_is_listed() -> None:
    issued = issue_token("ci", NOW)
    forged = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    assert TokenHashes((issued.record,)).check(forged, NOW) is Refusal.UNKNOWN


def test_a_revoked_token_is_refused_and_the_others_still_check_out() -> None:
    first, second = issue_token("ci", NOW), issue_token("deploy", NOW)
    hashes = TokenHashes((first.record, second.record)).without(first.record.id)
    assert hashes.check(first.token, NOW) is Refusal.UNKNOWN
    assert hashes.check(second.token, NOW) == second.record


def test_a_token_expires_at_its_time() -> None:
    issued = issue_token("ci", NOW, NOW + DAY)
    hashes = TokenHashes((issued.record,))
    assert hashes.check(issued.token, NOW + DAY - 1) == issued.record
    assert hashes.check(issued.token, NOW + DAY) is Refusal.EXPIRED


def test_during_a_rotation_the_old_and_new_tokens_both_check_out_until_the_old_one_ends() -> None:
    old, new = issue_token("ci", NOW), issue_token("ci", NOW + 10)
    hashes = TokenHashes((old.record,)).expiring(old.record.id, NOW + 3600).adding(new.record)
    assert hashes.check(old.token, NOW + 3599) == hashes.find(old.record.id)
    assert hashes.check(new.token, NOW + 3599) == new.record
    assert hashes.check(old.token, NOW + 3600) is Refusal.EXPIRED
    assert hashes.check(new.token, NOW + 3600) == new.record


def test_ending_a_token_never_lengthens_its_life() -> None:
    issued = issue_token("ci", NOW, NOW + 60)
    assert TokenHashes((issued.record,)).expiring(issued.record.id, NOW + DAY).find(
        issued.record.id).expires_at == int(NOW + 60)


def test_expired_tokens_are_pruned_and_the_rest_kept() -> None:
    ended, living = issue_token("a", NOW, NOW + 60), issue_token("b", NOW)
    assert TokenHashes((ended.record, living.record)).pruned(NOW + 60).tokens == (living.record,)


def test_the_list_round_trips_through_its_json() -> None:
    hashes = TokenHashes((issue_token("ci", NOW).record, issue_token("bob@laptop", NOW, NOW + DAY).record))
    assert TokenHashes.parse(hashes.render()) == hashes
    assert TokenHashes.parse('{"format": "containerops-api-tokens/1", "tokens": []}') == TokenHashes()


@pytest.mark.parametrize("text", [
    "", "not json", "[]", '{"tokens": []}', '{"format": "containerops-api-tokens/1"}',
    '{"format": "containerops-api-tokens/1", "tokens": [{"id": "x"}]}',
    '{"format": "containerops-api-tokens/1", "tokens": [{"id": "0123456789ab", "name": "a",'
    ' "created_at": "2027-01-15T08:00:00Z", "expires_at": null, "salt": "zz", "sha256": "00"}]}',
])
def test_a_secret_holding_anything_else_is_a_misconfiguration(text: str) -> None:
    with pytest.raises(ConfigurationError, match="does not hold a token list"):
        TokenHashes.parse(text)


def test_the_stored_record_says_when_in_words() -> None:
    record = issue_token("ci", 1_800_000_000, 1_800_086_400).record
    assert json.loads(TokenHashes((record,)).render())["tokens"][0]["created_at"] == "2027-01-15T08:00:00Z"
    assert record.as_json()["expires_at"] == "2027-01-16T08:00:00Z"


@pytest.mark.parametrize("name", ["", " ci", "a" * 65, "ci\nadmin", "<script>"])
def test_a_token_name_is_a_short_label(name: str) -> None:
    with pytest.raises(InvalidRequest, match="token name"):
        issue_token(name, NOW)


def test_a_token_cannot_expire_before_it_is_made() -> None:
    with pytest.raises(InvalidRequest, match="expire after"):
        issue_token("ci", NOW, NOW)


def test_the_list_has_a_bound() -> None:
    full = TokenHashes(tuple(issue_token("ci", NOW).record for _ in range(MAX_TOKENS)))
    with pytest.raises(InvalidRequest, match="revoke some"):
        full.adding(issue_token("ci", NOW).record)
    assert len(full.render().encode()) < 64 * 1024  # a secret's value holds 64 KiB


def test_an_unknown_id_is_not_found() -> None:
    with pytest.raises(NotFound, match="tokens list"):
        TokenHashes().without("0123456789ab")


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer co_x", "co_x"), ("bearer  co_x ", "co_x"), ("BEARER co_x", "co_x"),
    (None, None), ("", None), ("Bearer", None), ("Bearer   ", None), ("Basic dXNlcjpwYXNz", None),
    ("co_x", None),
])
def test_the_token_is_read_from_a_bearer_authorization(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
