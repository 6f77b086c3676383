"""State names: unique in the whole machine, at most 80 characters, readable when they can be.

Step Functions wants every state name unique across the machine (branches included) and
at most 80 characters long. A name is for people reading the console; no code of ours
parses it (the launcher reads the job from the message body). So a name is its readable
form (`job build`, `stage verify`) when that fits and is free; otherwise the readable form
is cut and given a short hash suffix (` @1a2b3c4d`), stable because it hashes the readable
form itself (and, for a repeated one, how many times it came before), never a counter or
the position in the workflow.
"""

from __future__ import annotations

import hashlib
from collections import Counter

MAX_STATE_NAME = 80
HASH_CHARACTERS = 8


class StateNames:
    """Hands out the machine's state names, one claim at a time, never the same name twice."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._asked: Counter[str] = Counter()

    def claim(self, readable: str) -> str:
        occurrence = self._asked[readable]
        self._asked[readable] += 1
        if occurrence == 0 and len(readable) <= MAX_STATE_NAME and readable not in self._taken:
            return self._take(readable)
        key = readable if occurrence == 0 else f"{readable}\n{occurrence}"
        while True:
            name = _shortened(readable, key)
            if name not in self._taken:
                return self._take(name)
            key += "\n"  # a readable name elsewhere happens to look like this one: rehash

    def _take(self, name: str) -> str:
        self._taken.add(name)
        return name


def _shortened(readable: str, key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:HASH_CHARACTERS]
    suffix = f" @{digest}"
    return readable[: MAX_STATE_NAME - len(suffix)].rstrip() + suffix
