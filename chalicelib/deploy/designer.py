"""The designer put in its bucket: every file of the built SPA with its Content-Type and a
cache policy, `config.json` naming the API, then a CloudFront invalidation of the two files
that are not content-addressed. Vite names the files under `assets/` by their content, so
they may be cached for a year; `index.html` and `config.json` must be asked for again each
time, or a deploy would leave browsers on the old page or the old API."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.deploy.aws_errors import translated

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

CONFIG_KEY = "config.json"
INVALIDATED = ("/index.html", "/config.json")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # may be stored, but asked for again before each use
SHORT = "public, max-age=300"
# mimetypes reads the machine's tables; these must not depend on the machine.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".map": "application/json", ".svg": "image/svg+xml",
    ".png": "image/png", ".ico": "image/x-icon", ".woff2": "font/woff2", ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8", ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True)
class DesignerFile:
    key: str
    path: Path
    content_type: str
    cache_control: str


def content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    if key in ("index.html", CONFIG_KEY):
        return REVALIDATE
    return IMMUTABLE if key.startswith("assets/") else SHORT


def designer_files(dist: Path) -> Iterator[DesignerFile]:
    """The built designer's files, as the bucket will hold them (a config.json built into the
    designer is left out: the deploy writes the one naming this stack's API)."""
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        if key != CONFIG_KEY:
            yield DesignerFile(key, path, content_type(key), cache_control(key))


def site_config(api: str) -> bytes:
    return (json.dumps({"api": api}, indent=2) + "\n").encode("utf-8")


def upload_designer(s3: S3Client, bucket: str, dist: Path, api: str) -> list[str]:
    """Upload the designer, index.html last (so it never names an asset not yet there); the keys."""
    files = sorted(designer_files(dist), key=lambda f: f.key == "index.html")
    with translated(f"uploading the designer to {bucket}"):
        s3.put_object(Bucket=bucket, Key=CONFIG_KEY, Body=site_config(api),
                      ContentType=content_type(CONFIG_KEY), CacheControl=cache_control(CONFIG_KEY))
        for file in files:
            s3.put_object(Bucket=bucket, Key=file.key, Body=file.path.read_bytes(),
                          ContentType=file.content_type, CacheControl=file.cache_control)
    return [CONFIG_KEY, *(f.key for f in files)]


def invalidate(cloudfront: CloudFrontClient, distribution_id: str,
               clock: Callable[[], float] = time.time) -> str:
    """Ask CloudFront to drop index.html and config.json; the invalidation's id."""
    with translated(f"invalidating the designer's distribution {distribution_id}"):
        answer = cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch={
            "Paths": {"Quantity": len(INVALIDATED), "Items": list(INVALIDATED)},
            "CallerReference": f"containerops-deploy-{clock():.6f}",
        })
    return answer["Invalidation"]["Id"]


def empty_bucket(s3: S3Client, bucket: str) -> int:
    """Delete every object (and every version, should versioning be on) of `bucket`; how many."""
    deleted = 0
    with translated(f"emptying the bucket {bucket}"):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                      if "Key" in v and "VersionId" in v]
            if doomed:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})  # type: ignore[typeddict-item]
                deleted += len(doomed)
    return deleted
