"""The API token list in memory, as the token services see a store of it: it counts its reads,
can be made to fail (Secrets Manager not answering), and can let another writer in between a
read and the write of a change (the race its update must survive)."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.api_tokens import TokenHashes
from chalicelib.errors import ContainerOpsError, ServiceUnavailable


class InMemoryTokenHashes:
    def __init__(self, hashes: TokenHashes | None = None) -> None:
        self.hashes = hashes or TokenHashes()
        self.reads = 0
        self.failure: ContainerOpsError | None = None
        self.interleaved: Callable[[TokenHashes], TokenHashes] | None = None  # another writer, once

    def read(self) -> TokenHashes:
        self.reads += 1
        if self.failure is not None:
            raise self.failure
        return self.hashes

    def update(self, change: Callable[[TokenHashes], TokenHashes]) -> TokenHashes:
        while True:
            seen = self.read()
            changed = change(seen)
            if self.interleaved is not None:  # someone else writes first: compute again
                self.hashes, self.interleaved = self.interleaved(self.hashes), None
            if self.hashes is seen:
                self.hashes = changed
                return changed

    def unreachable(self) -> None:
        self.failure = ServiceUnavailable("Secrets Manager cannot be reached")
