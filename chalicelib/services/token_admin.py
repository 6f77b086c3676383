"""Making, listing, rotating and revoking the API tokens of an AWS deployment.

What `containerops tokens ...` and the deploy (which makes the first token) call. Each change
is a function of the list (chalicelib/domain/api_tokens.py), applied by the store as one
atomic read-modify-write (`TokenHashStore.update`), so two administrators at once cannot lose
each other's change. Every write also drops the tokens that have expired. A change reaches the
authorizers within their cache time (chalicelib/services/token_check.py), without a redeploy.

Rotation overlaps: `rotate` makes a new token with the old one's name and lets the old one
live `overlap` seconds more, time to give the new one to whoever uses the old; `revoke` ends a
token at once. One token grants the whole API (there are no per-namespace rights).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from chalicelib.domain.api_tokens import IssuedToken, TokenHashes, TokenRecord, issue_token
from chalicelib.errors import InvalidRequest

DEFAULT_OVERLAP_SECONDS = 3600.0


class TokenHashStore(Protocol):
    def read(self) -> TokenHashes: ...

    def update(self, change: Callable[[TokenHashes], TokenHashes]) -> TokenHashes:
        """Apply `change` to the current list and store the result, atomically (the change may
        run again on a newer list if another writer got in first); the list stored."""
        ...


class TokenAdmin:
    def __init__(self, store: TokenHashStore, clock: Callable[[], float] = time.time) -> None:
        self._store, self._clock = store, clock

    def create(self, name: str, expires_in: float | None = None) -> IssuedToken:
        """A new token: its text is in the answer and nowhere else (only its hash is stored)."""
        now = self._clock()
        if expires_in is not None and expires_in <= 0:
            raise InvalidRequest("a token's lifetime must be positive")
        issued = issue_token(name, now, None if expires_in is None else now + expires_in)
        self._store.update(lambda hashes: hashes.pruned(now).adding(issued.record))
        return issued

    def list(self) -> list[TokenRecord]:
        return sorted(self._store.read().tokens, key=lambda t: (t.created_at, t.id))

    def rotate(self, token_id: str, overlap: float = DEFAULT_OVERLAP_SECONDS) -> IssuedToken:
        """A new token with `token_id`'s name and lifetime; the old one stays valid `overlap`
        seconds more (0: it ends now)."""
        if overlap < 0:
            raise InvalidRequest("the overlap of a rotation cannot be negative")
        now = self._clock()
        old = self._store.read().find(token_id)
        lifetime = None if old.expires_at is None else old.expires_at - old.created_at
        issued = issue_token(old.name, now, None if lifetime is None else now + lifetime)
        self._store.update(lambda hashes: hashes.expiring(token_id, now + overlap)
                           .pruned(now).adding(issued.record))
        return issued

    def revoke(self, token_id: str) -> TokenRecord:
        """The token removed: refused as soon as the authorizers' caches expire."""
        record = self._store.read().find(token_id)
        self._store.update(lambda hashes: hashes.without(token_id).pruned(self._clock()))
        return record
