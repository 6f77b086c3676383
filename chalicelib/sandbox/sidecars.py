"""The workspace sidecars of the sandbox's tasks, run in-process on moto's S3.

On AWS, each job's task restores the run's workspace before the job and saves what it
changed after it with a sidecar image of ours (`chalicelib.workspace.sidecar`). Here the
sidecar's own entry point runs in the sandbox's process instead, with the same arguments and
environment, against the sandbox's S3 client, so what the sandbox proves of the workspace is
what that code does: the layers written, their order, what each job sees. The image itself
is not run here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from chalicelib.aws.workspace_layers import S3LayerStore
from chalicelib.sandbox.task_runner import SidecarRunner
from chalicelib.workspace import sidecar

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def in_process_sidecar(s3: S3Client) -> SidecarRunner:
    def run(argv: list[str], environ: Mapping[str, str], out: TextIO) -> int:
        return sidecar.main(argv, environ, store_factory=lambda bucket: S3LayerStore(s3, bucket), out=out)

    return run
