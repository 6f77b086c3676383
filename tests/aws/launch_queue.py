"""Reading the launch queue in tests of the state machines on moto: the next launch message a
machine sent (waiting a bounded time: moto executes on a background thread), or that none is
left."""

from __future__ import annotations

import json
import time
from typing import Any

DEADLINE_SECONDS = 30.0


def next_launch(sqs: Any, queue_url: str) -> dict[str, Any]:
    """The next launch message (deleted from the queue), waiting for it a bounded time."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1,
                                       WaitTimeSeconds=1).get("Messages", [])
        if messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            return dict(json.loads(messages[0]["Body"]))
    raise AssertionError(f"no launch message within {DEADLINE_SECONDS} s")


def queue_is_empty(sqs: Any, queue_url: str) -> bool:
    return not sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages")
