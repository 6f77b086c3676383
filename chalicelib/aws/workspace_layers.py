"""S3 as the `LayerStore` of runs' workspaces (chalicelib/workspace/store.py): one bucket, a
run's layers under its `runs/<run id>/` prefix.

Listing is paginated; a layer is read as S3's body streams it (never held whole); written in
one PutObject when small, else by the client's managed upload (multipart, parts in parallel);
copied by the managed copy, which turns an object past the threshold (and any past the 5 GB
a single CopyObject allows) into a multipart copy; a prefix is deleted 1,000 keys a request.
botocore's retries handle throttling and S3's own failures; what is left becomes a
WorkspaceError here, naming the bucket and key and saying in words what S3 answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, BinaryIO

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.layers import Readable
from chalicelib.workspace.store import LayerStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

DELETE_BATCH = 1_000  # the most keys one DeleteObjects takes
CONTENT_TYPE = "application/gzip"
MISSING_BUCKET = frozenset({"NoSuchBucket"})
MISSING_KEY = frozenset({"NoSuchKey", "404", "NotFound"})
DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId",
                    "SignatureDoesNotMatch", "ExpiredToken"})
BUSY = frozenset({"SlowDown", "503", "ServiceUnavailable", "InternalError", "500",
                  "RequestTimeout", "Throttling", "ThrottlingException"})


class S3LayerStore(LayerStore):
    def __init__(self, client: S3Client, bucket: str, transfer: TransferConfig | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._transfer = transfer or TransferConfig()

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        with self._errors("list", prefix):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
            for page in pages:
                found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)

    def open_read(self, key: str) -> AbstractContextManager[Readable]:
        return self._opened(key)

    @contextmanager
    def _opened(self, key: str) -> Iterator[Readable]:
        # Errors while the body streams (a reset connection, a read timeout) are S3's too.
        with self._errors("read", key):
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
            try:
                yield body
            finally:
                body.close()

    def write(self, key: str, file: BinaryIO, size: int | None = None) -> None:
        with self._errors("write", key):
            if size is not None and size < self._transfer.multipart_threshold:
                self._client.put_object(Bucket=self._bucket, Key=key, Body=file, ContentLength=size,
                                        ContentType=CONTENT_TYPE)
            else:
                self._client.upload_fileobj(file, self._bucket, key, Config=self._transfer,
                                            ExtraArgs={"ContentType": CONTENT_TYPE})

    def copy(self, source: str, destination: str) -> None:
        with self._errors(f"copy {self._where(source)} to", destination, missing=source):
            self._client.copy({"Bucket": self._bucket, "Key": source}, self._bucket, destination,
                              Config=self._transfer)

    def delete_prefix(self, prefix: str) -> int:
        keys = self.keys(prefix)
        deleted = 0
        for start in range(0, len(keys), DELETE_BATCH):
            batch: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in keys[start:start + DELETE_BATCH]]
            with self._errors("delete the objects under", prefix):
                answer = self._client.delete_objects(Bucket=self._bucket,
                                                     Delete={"Objects": batch, "Quiet": True})
            refused = answer.get("Errors", [])
            if refused:
                described = "; ".join(f"{item.get('Key')}: {item.get('Code')} ({item.get('Message')})"
                                      for item in refused[:3])
                raise WorkspaceError(f"could not delete {len(refused)} of the objects under "
                                     f"{self._where(prefix)}: {described}")
            deleted += len(batch)
        return deleted

    def _where(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"

    @contextmanager
    def _errors(self, doing: str, key: str, missing: str | None = None) -> Iterator[None]:
        """botocore's and boto3's errors as WorkspaceError: "could not <doing> s3://bucket/key:
        <what S3 said>" (`missing`: the key a "not found" is about, when not `key`). The
        project's own errors pass through."""
        try:
            yield
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            words = self._in_words(exc, missing or key)
            raise WorkspaceError(f"could not {doing} {self._where(key)}: {words}") from exc

    def _in_words(self, exc: Exception, key: str) -> str:
        if not isinstance(exc, ClientError):
            if isinstance(exc, BotoCoreError):
                return f"S3 could not be reached ({exc.__class__.__name__}: {exc})"
            return f"the transfer failed ({exc})"
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or "no code"
        message = str(error.get("Message", "")) or "no message"
        said = f"({code}: {message})"
        if code in MISSING_BUCKET:
            return f"the bucket {self._bucket} does not exist {said}"
        if code in MISSING_KEY:
            return f"there is no object {key} in the bucket {self._bucket} {said}"
        if code in DENIED:
            return f"S3 denied access {said}"
        if code in BUSY:
            return f"S3 is busy or failed on its side, still so after its retries {said}"
        return f"S3 refused the request {said}"
