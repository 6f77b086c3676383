"""The authorizer's check: a bearer header against the token list, which is read again only
once its cache time has passed (an injected clock: no test sleeps), kept a while when the
secret cannot be read, and never guessed at past that."""

from __future__ import annotations

import pytest

from chalicelib.domain.api_tokens import Refusal, TokenHashes, issue_token
from chalicelib.errors import ServiceUnavailable
from chalicelib.services.token_check import CachedTokenHashes, TokenChecker
from tests.fakes.token_hashes import InMemoryTokenHashes

NOW = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_listed_token_in_a_bearer_header_is_accepted() -> None:
    issued = issue_token("ci", NOW)
    checker = TokenChecker(InMemoryTokenHashes(TokenHashes((issued.record,))), Clock(NOW))
    assert checker.check(f"Bearer {issued.token}") == issued.record


@pytest.mark.parametrize(("header", "refusal"), [
    (None, Refusal.MISSING), ("", Refusal.MISSING), ("Basic dXNlcjpwYXNz", Refusal.MISSING),
    ("Bearer hunter2", Refusal.MALFORMED),
])
def test_a_request_without_a_usable_token_is_refused_without_reading_the_list(
        header: str | None, refusal: Refusal) -> None:
    source = InMemoryTokenHashes()
    assert TokenChecker(source, Clock(NOW)).check(header) is refusal
    assert source.reads == (1 if refusal is Refusal.MALFORMED else 0)


def test_an_expired_token_is_refused_by_the_checkers_clock() -> None:
    issued = issue_token("ci", NOW, NOW + 60)
    clock = Clock(NOW)
    checker = TokenChecker(InMemoryTokenHashes(TokenHashes((issued.record,))), clock)
    assert checker.check(f"Bearer {issued.token}") == issued.record
    clock.now = NOW + 60
    assert checker.check(f"Bearer {issued.token}") is Refusal.EXPIRED


def test_the_list_is_read_once_per_cache_time() -> None:
    source, clock = InMemoryTokenHashes(), Clock()
    cached = CachedTokenHashes(source, ttl=60, clock=clock)
    cached.read()
    clock.now = 59.9
    cached.read()
    assert source.reads == 1
    clock.now = 60
    cached.read()
    assert source.reads == 2


def test_a_revoked_token_is_refused_once_the_cache_time_has_passed() -> None:
    issued = issue_token("ci", NOW)
    source, monotonic = InMemoryTokenHashes(TokenHashes((issued.record,))), Clock()
    checker = TokenChecker(CachedTokenHashes(source, ttl=60, clock=monotonic), Clock(NOW))
    header = f"Bearer {issued.token}"
    assert checker.check(header) == issued.record
    source.hashes = source.hashes.without(issued.record.id)
    monotonic.now = 30
    assert checker.check(header) == issued.record  # this process has not looked again yet
    monotonic.now = 60
    assert checker.check(header) is Refusal.UNKNOWN


def test_a_new_token_is_accepted_once_the_cache_time_has_passed() -> None:
    source, monotonic = InMemoryTokenHashes(), Clock()
    checker = TokenChecker(CachedTokenHashes(source, ttl=60, clock=monotonic), Clock(NOW))
    checker.check("Bearer " + issue_token("warm", NOW).token)
    issued = issue_token("ci", NOW)
    source.hashes = source.hashes.adding(issued.record)
    assert checker.check(f"Bearer {issued.token}") is Refusal.UNKNOWN
    monotonic.now = 60
    assert checker.check(f"Bearer {issued.token}") == issued.record


def test_a_list_that_cannot_be_read_again_stays_in_use_for_a_while() -> None:
    issued = issue_token("ci", NOW)
    source, monotonic = InMemoryTokenHashes(TokenHashes((issued.record,))), Clock()
    cached = CachedTokenHashes(source, ttl=60, stale_limit=300, clock=monotonic)
    checker = TokenChecker(cached, Clock(NOW))
    assert checker.check(f"Bearer {issued.token}") == issued.record
    source.unreachable()
    monotonic.now = 299
    assert checker.check(f"Bearer {issued.token}") == issued.record
    monotonic.now = 300
    with pytest.raises(ServiceUnavailable):
        checker.check(f"Bearer {issued.token}")


def test_with_no_list_ever_read_an_unreadable_secret_lets_nobody_in() -> None:
    source = InMemoryTokenHashes()
    source.unreachable()
    with pytest.raises(ServiceUnavailable):
        TokenChecker(CachedTokenHashes(source, clock=Clock()), Clock(NOW)).check(
            "Bearer " + issue_token("ci", NOW).token)
