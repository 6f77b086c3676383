"""Checking a request's bearer token against the deployment's token hashes, as the API
Gateway authorizer does it on every request it is asked about.

The hashes come from a `TokenHashSource` (the Secrets Manager secret on AWS). Reading it for
every request would cost a call and its latency each time, so `CachedTokenHashes` keeps what
it read for `ttl` seconds: a token made or revoked takes effect in this process within that
time, without a redeploy. When the secret cannot be read, the last list read stays in use for
at most `stale_limit` seconds (a revoked token lives that much longer during an outage); past
that the check fails closed: no list, no access. Clocks are injected, so tests never sleep.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.api_tokens import Refusal, TokenHashes, TokenRecord, bearer_token
from chalicelib.errors import ContainerOpsError

log = logging.getLogger("containerops.api")

CACHE_SECONDS = 60.0
STALE_LIMIT_SECONDS = 300.0


class TokenHashSource(Protocol):
    def read(self) -> TokenHashes: ...


@dataclass
class _Held:
    hashes: TokenHashes
    read_at: float


class CachedTokenHashes:
    """A source read again only once what it gave is `ttl` seconds old."""

    def __init__(self, source: TokenHashSource, *, ttl: float = CACHE_SECONDS,
                 stale_limit: float = STALE_LIMIT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._source, self._ttl, self._stale_limit, self._clock = source, ttl, stale_limit, clock
        self._held: _Held | None = None
        self._lock = threading.Lock()

    def read(self) -> TokenHashes:
        with self._lock:
            now = self._clock()
            held = self._held
            if held is not None and now - held.read_at < self._ttl:
                return held.hashes
            try:
                hashes = self._source.read()
            except ContainerOpsError as exc:
                if held is not None and now - held.read_at < self._stale_limit:
                    log.warning("the API token list could not be read again (%s): the one read"
                                " %.0f s ago stays in use", exc, now - held.read_at)
                    return held.hashes
                raise
            self._held = _Held(hashes, now)
            return hashes


class TokenChecker:
    def __init__(self, source: TokenHashSource, clock: Callable[[], float] = time.time) -> None:
        self._source, self._clock = source, clock

    def check(self, authorization: str | None) -> TokenRecord | Refusal:
        """The token record an `Authorization` header carries, or why it is refused. Errors
        reading the list (ServiceUnavailable, ConfigurationError) are raised: no access."""
        token = bearer_token(authorization)
        if token is None:
            return Refusal.MISSING
        return self._source.read().check(token, self._clock())
