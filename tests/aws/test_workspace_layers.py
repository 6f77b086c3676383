"""S3 as the store of runs' workspace layers (chalicelib/aws/workspace_layers.py), on moto:
listing past one page, small and multipart writes and copies, deleting past one batch, the
sidecar's default store, and S3's refusals in words."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws

from chalicelib.aws.workspace_layers import S3LayerStore
from chalicelib.errors import WorkspaceError
from chalicelib.workspace.sidecar import OK, main
from chalicelib.workspace.sync import restore, run_prefix, save
from tests.aws import REGION, fake_aws_environment
from tests.workspace.trees import tree, write_tree

BUCKET = "containerops-workspaces"
RUN = "20261125-173005-4f9a1c2e"
MIB = 1024 * 1024
# S3's smallest part is 5 MiB: the smallest threshold that still makes a multipart transfer.
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield s3


@pytest.fixture
def store(client: Any) -> S3LayerStore:
    return S3LayerStore(client, BUCKET, SMALL_PARTS)


def read(store: S3LayerStore, key: str) -> bytes:
    with store.open_read(key) as body:
        chunks = []
        while chunk := body.read(64 * 1024):
            chunks.append(chunk)
        return b"".join(chunks)


def test_keys_are_listed_past_one_page_in_ascending_order(client: Any, store: S3LayerStore) -> None:
    keys = [f"runs/{RUN}/layers/{n:020d}-job-1.tar.gz" for n in range(1_005)]
    for key in reversed(keys):
        client.put_object(Bucket=BUCKET, Key=key, Body=b"")
    client.put_object(Bucket=BUCKET, Key="runs/other/layers/x.tar.gz", Body=b"")
    assert store.keys(run_prefix(RUN)) == keys


def test_a_small_layer_is_written_in_one_put_and_read_back(client: Any, store: S3LayerStore) -> None:
    store.write("runs/r/layers/a.tar.gz", io.BytesIO(b"a layer"), 7)
    assert read(store, "runs/r/layers/a.tar.gz") == b"a layer"
    head = client.head_object(Bucket=BUCKET, Key="runs/r/layers/a.tar.gz")
    assert head["ContentType"] == "application/gzip" and "-" not in head["ETag"]


def test_a_large_layer_is_uploaded_and_copied_in_parts(client: Any, store: S3LayerStore) -> None:
    data = os.urandom(12 * MIB)
    store.write("runs/r/layers/big.tar.gz", io.BytesIO(data), len(data))
    assert client.head_object(Bucket=BUCKET, Key="runs/r/layers/big.tar.gz")["ETag"].endswith('-3"')
    store.copy("runs/r/layers/big.tar.gz", "runs/r2/layers/big.tar.gz")
    assert client.head_object(Bucket=BUCKET, Key="runs/r2/layers/big.tar.gz")["ETag"].endswith('-3"')
    assert read(store, "runs/r2/layers/big.tar.gz") == data
    assert read(store, "runs/r/layers/big.tar.gz") == data


def test_a_layer_of_unknown_size_goes_through_the_managed_upload(store: S3LayerStore) -> None:
    store.write("runs/r/layers/a.tar.gz", io.BytesIO(b"size unknown"))
    assert read(store, "runs/r/layers/a.tar.gz") == b"size unknown"


def test_deleting_a_prefix_deletes_past_one_batch_and_nothing_else(client: Any, store: S3LayerStore) -> None:
    for n in range(1_001):
        client.put_object(Bucket=BUCKET, Key=f"runs/{RUN}/layers/{n:020d}-job-1.tar.gz", Body=b"")
    client.put_object(Bucket=BUCKET, Key="runs/other/layers/x.tar.gz", Body=b"")
    assert store.delete_prefix(run_prefix(RUN)) == 1_001
    assert store.keys("runs/") == ["runs/other/layers/x.tar.gz"]


def test_a_job_sees_its_upstreams_files_through_s3(store: S3LayerStore, tmp_path: Path) -> None:
    clone, build = tmp_path / "clone", tmp_path / "build"
    restore(store, RUN, clone / "ws", clone / "state.json", owner=None)
    write_tree(clone / "ws", {"repo/app.py": "app", "repo/big.bin": "x" * (6 * MIB)})
    saved = save(store, RUN, "clone", 1, clone / "ws", clone / "state.json", lambda: 1)
    assert saved.key is not None
    summary = restore(store, RUN, build / "ws", build / "state.json", owner=None)
    assert (summary.layers, summary.files) == (1, 3)
    assert tree(build / "ws") == tree(clone / "ws")


def test_the_sidecars_default_store_is_s3(client: Any, tmp_path: Path) -> None:
    environment = {"CO_WORKSPACE_BUCKET": BUCKET, "CO_RUN_ID": RUN, "CO_JOB": "clone", "CO_ATTEMPT": "1",
                   "CO_WORKSPACE_DIR": str(tmp_path / "ws"),
                   "CO_WORKSPACE_STATE": str(tmp_path / "state.json"),
                   "CO_WORKSPACE_OWNER": f"{os.getuid()}:{os.getgid()}"}
    out = io.StringIO()
    assert main(["restore"], environment, out=out) == OK
    write_tree(tmp_path / "ws", {"file.txt": "x"})
    assert main(["save"], environment, out=out) == OK
    [listed] = client.list_objects_v2(Bucket=BUCKET, Prefix=run_prefix(RUN))["Contents"]
    assert listed["Key"].endswith("-clone-1.tar.gz")


def test_a_missing_bucket_is_a_workspace_error_in_words(client: Any) -> None:
    store = S3LayerStore(client, "no-such-bucket")
    with pytest.raises(WorkspaceError) as refused:
        store.keys(run_prefix(RUN))
    assert str(refused.value).startswith(f"could not list s3://no-such-bucket/runs/{RUN}/: "
                                         "the bucket no-such-bucket does not exist (NoSuchBucket: ")
    with pytest.raises(WorkspaceError, match="the bucket no-such-bucket does not exist"):
        store.write("runs/r/layers/a.tar.gz", io.BytesIO(b"a"), 1)


def test_a_missing_layer_is_a_workspace_error_naming_it(store: S3LayerStore) -> None:
    with pytest.raises(WorkspaceError, match=re.escape(
            f"could not read s3://{BUCKET}/runs/r/gone.tar.gz: "
            f"there is no object runs/r/gone.tar.gz in the bucket {BUCKET}")):
        read(store, "runs/r/gone.tar.gz")
    with pytest.raises(WorkspaceError, match=re.escape(
            f"could not copy s3://{BUCKET}/runs/r/gone.tar.gz to s3://{BUCKET}/runs/r2/gone.tar.gz: "
            "there is no object runs/r/gone.tar.gz")):
        store.copy("runs/r/gone.tar.gz", "runs/r2/gone.tar.gz")
