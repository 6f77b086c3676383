"""The SQS event source of the launcher in the sandbox: what Lambda does with the launch queue.

Each poll receives up to ten messages (without waiting: moto would hold its one lock for the
whole wait, and the pump is woken when a message is sent), hands them to the launcher as one
SQS event, and deletes those the launcher did not report in `batchItemFailures`; the others
(and every message of a batch whose invocation failed) become visible again after the
queue's visibility timeout and are delivered again, as Lambda's event source would.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from chalicelib.sandbox.aws_events import queue_arn, sqs_batch
from chalicelib.sandbox.lambdas import LambdaFunctions

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef

log = logging.getLogger("containerops.sandbox")

BATCH_SIZE = 10  # the event source's default, and SQS's most per receive


class LaunchQueue:
    def __init__(self, client: SQSClient, queue_url: str, functions: LambdaFunctions, region: str) -> None:
        self._client = client
        self._url = queue_url
        self._arn = queue_arn(queue_url, region)
        self._functions = functions
        self._region = region

    def poll(self) -> bool:
        messages = self._client.receive_message(QueueUrl=self._url, MaxNumberOfMessages=BATCH_SIZE,
                                                WaitTimeSeconds=0, AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return False
        try:
            failed = self._functions.launch_jobs(sqs_batch(messages, self._arn, self._region))
        except Exception:
            return True  # logged by the function; the whole batch comes back later
        done: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
            for n, message in enumerate(messages) if message["MessageId"] not in failed]
        if done:
            self._client.delete_message_batch(QueueUrl=self._url, Entries=done)
        return True

    def drain_tokens(self) -> list[str]:
        """Take every message off the queue (the sandbox closes): the task tokens they carry."""
        tokens: list[str] = []
        while messages := self._client.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=BATCH_SIZE, WaitTimeSeconds=0,
                VisibilityTimeout=0).get("Messages", []):
            for message in messages:
                self._client.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
                try:
                    token = json.loads(message["Body"]).get("token")
                except (ValueError, AttributeError):
                    continue
                if isinstance(token, str):
                    tokens.append(token)
        return tokens
