"""Making, listing, rotating and revoking API tokens over a store of their hashes: each change
is applied atomically (a writer that got in first is not undone), and rotation overlaps."""

from __future__ import annotations

import pytest

from chalicelib.domain.api_tokens import Refusal, TokenHashes, issue_token
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.services.token_admin import TokenAdmin
from tests.fakes.token_hashes import InMemoryTokenHashes

NOW = 1_800_000_000.0
HOUR = 3600.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> InMemoryTokenHashes:
    return InMemoryTokenHashes()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(store: InMemoryTokenHashes, clock: Clock) -> TokenAdmin:
    return TokenAdmin(store, clock)


def test_a_created_token_checks_out_and_only_its_hash_is_stored(
        admin: TokenAdmin, store: InMemoryTokenHashes) -> None:
    issued = admin.create("ci")
    assert store.hashes.check(issued.token, NOW) == issued.record
    assert issued.token not in store.hashes.render()
    assert admin.list() == [issued.record]


def test_a_token_can_be_made_to_expire(admin: TokenAdmin, store: InMemoryTokenHashes) -> None:
    issued = admin.create("visitor", expires_in=HOUR)
    assert issued.record.expires_at == int(NOW + HOUR)
    assert store.hashes.check(issued.token, NOW + HOUR) is Refusal.EXPIRED


def test_a_lifetime_must_be_positive(admin: TokenAdmin) -> None:
    with pytest.raises(InvalidRequest, match="positive"):
        admin.create("ci", expires_in=0)


def test_rotation_keeps_the_old_token_valid_for_the_overlap_then_only_the_new_one(
        admin: TokenAdmin, store: InMemoryTokenHashes, clock: Clock) -> None:
    old = admin.create("ci")
    clock.now = NOW + 100
    new = admin.rotate(old.record.id, overlap=HOUR)
    assert new.record.name == "ci" and new.record.id != old.record.id
    assert store.hashes.check(old.token, NOW + 100 + HOUR - 1) == store.hashes.find(old.record.id)
    assert store.hashes.check(new.token, NOW + 100 + HOUR - 1) == new.record
    assert store.hashes.check(old.token, NOW + 100 + HOUR) is Refusal.EXPIRED
    assert store.hashes.check(new.token, NOW + 100 + HOUR) == new.record
    # Past the overlap, the next change drops the old token from the list altogether.
    clock.now = NOW + 100 + HOUR
    admin.create("deploy")
    assert old.record.id not in {t.id for t in admin.list()}


def test_a_rotation_without_overlap_ends_the_old_token_now(
        admin: TokenAdmin, store: InMemoryTokenHashes) -> None:
    old = admin.create("ci")
    new = admin.rotate(old.record.id, overlap=0)
    assert store.hashes.check(old.token, NOW) is Refusal.UNKNOWN
    assert [t.id for t in admin.list()] == [new.record.id]


def test_a_rotated_token_keeps_the_lifetime_of_the_one_it_replaces(
        admin: TokenAdmin, clock: Clock) -> None:
    old = admin.create("ci", expires_in=30 * 24 * HOUR)
    clock.now = NOW + 24 * HOUR
    new = admin.rotate(old.record.id)
    assert new.record.expires_at == int(NOW + 24 * HOUR + 30 * 24 * HOUR)


def test_a_revoked_token_is_refused_at_once_in_the_list(
        admin: TokenAdmin, store: InMemoryTokenHashes) -> None:
    kept, revoked = admin.create("ci"), admin.create("laptop")
    assert admin.revoke(revoked.record.id) == revoked.record
    assert store.hashes.check(revoked.token, NOW) is Refusal.UNKNOWN
    assert store.hashes.check(kept.token, NOW) == kept.record


def test_an_unknown_token_cannot_be_rotated_or_revoked(admin: TokenAdmin) -> None:
    with pytest.raises(NotFound):
        admin.rotate("0123456789ab")
    with pytest.raises(NotFound):
        admin.revoke("0123456789ab")


def test_a_change_made_while_another_writer_got_in_first_keeps_both(
        admin: TokenAdmin, store: InMemoryTokenHashes) -> None:
    elsewhere = issue_token("made-elsewhere", NOW)
    store.interleaved = lambda hashes: hashes.adding(elsewhere.record)
    mine = admin.create("ci")
    assert {t.id for t in admin.list()} == {elsewhere.record.id, mine.record.id}


def test_the_list_is_in_the_order_the_tokens_were_made(admin: TokenAdmin, clock: Clock) -> None:
    names = []
    for minute, name in enumerate(["c", "a", "b"]):
        clock.now = NOW + 60 * minute
        names.append(admin.create(name).record.name)
    assert [t.name for t in admin.list()] == names == ["c", "a", "b"]


def test_a_store_starting_with_no_token_lists_none() -> None:
    assert TokenAdmin(InMemoryTokenHashes(TokenHashes())).list() == []
