"""S3 as the place a run's Distributed Map items are written (`cloud.ports.ItemFiles`): one
PutObject per items file, before the run's execution starts.

The body is the compact JSON `cloud.fanout_items` makes (about 18 bytes an instance, 180 KB
at 10,000), so one PutObject suffices. Writing the same key again with the same bytes (a
submit repeated after a failed start) is harmless. botocore's retries handle throttling;
what is left becomes ServiceUnavailable, naming the object and saying what S3 answered, so
the dispatcher puts the run back in the queue as for any start that could not be made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CONTENT_TYPE = "application/json"


class S3ItemFiles:
    def __init__(self, client: S3Client) -> None:
        self._client = client

    def put(self, bucket: str, key: str, body: bytes) -> None:
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            said = f"{error.get('Code') or 'no code'}: {error.get('Message') or 'no message'}"
            raise ServiceUnavailable(
                f"the items of a Distributed Map could not be written to s3://{bucket}/{key} ({said})"
            ) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(
                f"the items of a Distributed Map could not be written to s3://{bucket}/{key}:"
                f" S3 could not be reached ({type(exc).__name__}: {exc})") from exc
