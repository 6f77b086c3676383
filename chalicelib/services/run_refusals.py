"""The errors that refuse one run of a trigger for good, and their reason in words.

A trigger (a schedule tick, an S3 or CodeCommit event) that cannot start its run logs the
reason and goes on with the rest: asking again would get the same answer. These are the
errors starting a run raises then: its params (InvalidDefinition, InvalidRequest), a
disabled workflow (Conflict), a workflow deleted since it was found (NotFound). Anything
else (the store or AWS unreachable) is worth another try and is not caught.
"""

from __future__ import annotations

from chalicelib.errors import Conflict, InvalidDefinition, InvalidRequest, NotFound

CANNOT_START = (InvalidDefinition, InvalidRequest, Conflict, NotFound)


def why_not(error: Exception) -> str:
    """The reason a run did not start, in words (every problem of a definition)."""
    if isinstance(error, InvalidDefinition):
        return "; ".join(map(str, error.problems)) or str(error)
    return str(error)
