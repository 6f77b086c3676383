"""The port through which the API hands runs to whatever executes them.

Locally, `containerops serve` provides a dispatcher that runs them on the local driver in
background threads; on AWS, one that starts a Step Functions execution. The API never
executes a run itself: it records it (queued) and submits it.
"""

from __future__ import annotations

from typing import Protocol


class RunDispatcher(Protocol):
    def submit(self, run_id: str) -> None:
        """Execute the queued run, when its workflow's `concurrency` allows."""

    def cancel(self, run_id: str) -> None:
        """Stop the run's containers now (its cancel flag is already set in the store)."""


class RecordingDispatcher:
    """Executes nothing; remembers what was submitted (for API tests without containers)."""

    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.cancelled: list[str] = []

    def submit(self, run_id: str) -> None:
        self.submitted.append(run_id)

    def cancel(self, run_id: str) -> None:
        self.cancelled.append(run_id)
