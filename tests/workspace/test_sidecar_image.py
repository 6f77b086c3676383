"""The sidecar image (`containerops/workspace:1`, infra/workspace-image) runs the sidecar on
its own Python (Debian's, older than this machine's): a restore and a save there, as root,
with folders of this machine as the layer store, the task's volume and the sidecars' own,
give the job's user a workspace holding what the earlier job saved. S3 itself is not
reached (the layers' S3 store is tested on moto); the image's boto3 makes its client."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import docker
import pytest

from chalicelib.workspace.store import FolderLayerStore
from chalicelib.workspace.sync import layers_prefix

pytestmark = pytest.mark.docker

IMAGE = "containerops/workspace:1"
ENVIRONMENT = {"CO_WORKSPACE_BUCKET": "unused", "CO_RUN_ID": "run-1", "CO_JOB": "build",
               "CO_ATTEMPT": "1", "CO_WORKSPACE_OWNER": "1000:1000"}
# The entry point's `main`, with the store a mounted folder instead of S3.
IN_IMAGE = ("import sys; from pathlib import Path;"
            " from chalicelib.workspace.sidecar import main;"
            " from chalicelib.workspace.store import FolderLayerStore;"
            " sys.exit(main(sys.argv[1:], __import__('os').environ,"
            " lambda bucket: FolderLayerStore(Path('/layers'))))")


@pytest.fixture
def engine(docker_engine: docker.DockerClient) -> docker.DockerClient:
    try:
        docker_engine.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"image {IMAGE} is missing: run `make images` first")
    return docker_engine


def sidecar(engine: docker.DockerClient, tmp_path: Path, step: str, *, entrypoint: list[str] | None = None,
            environment: dict[str, str] | None = None) -> tuple[int, str]:
    """One sidecar container, as the task runs it, with no network: its exit code and output."""
    folders = {name: tmp_path / name for name in ("layers", "workspace", "containerops")}
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    container = engine.containers.run(
        IMAGE, [step], entrypoint=entrypoint, detach=True, network_mode="none",
        environment=ENVIRONMENT if environment is None else environment,
        volumes={str(path): {"bind": f"/{name}", "mode": "rw"} for name, path in folders.items()})
    try:
        code = container.wait(timeout=60)["StatusCode"]
        return code, container.logs().decode()
    finally:
        container.remove(force=True)


def test_the_image_restores_what_a_job_saved_and_hands_it_to_the_jobs_user(
        engine: docker.DockerClient, tmp_path: Path) -> None:
    python = ["python3", "-c", IN_IMAGE]
    assert sidecar(engine, tmp_path, "restore", entrypoint=python)[0] == 0
    workspace = tmp_path / "workspace"
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("print('hi')\n")
    (workspace / "src" / "run").symlink_to("app.py")
    code, said = sidecar(engine, tmp_path, "save", entrypoint=python)
    assert code == 0, said
    assert "saved" in said
    [layer] = FolderLayerStore(tmp_path / "layers").keys(layers_prefix("run-1"))

    shutil.rmtree(workspace / "src")  # the next task's volume starts empty
    code, said = sidecar(engine, tmp_path, "restore", entrypoint=python)

    assert code == 0, said
    assert f"applied {layer.rsplit('/', 1)[-1]}: 3 files" in said
    assert (workspace / "src" / "app.py").read_text() == "print('hi')\n"
    assert os.readlink(workspace / "src" / "run") == "app.py"
    if os.geteuid() == 0:  # the files are handed to the job's user
        assert (workspace / "src" / "app.py").stat().st_uid == 1000
    assert stat.S_IMODE(workspace.stat().st_mode) == 0o777


def test_the_images_entry_point_says_which_variable_is_missing(
        engine: docker.DockerClient, tmp_path: Path) -> None:
    code, said = sidecar(engine, tmp_path, "restore", environment={"CO_WORKSPACE_BUCKET": "b"})
    assert code == 2
    assert said.startswith("workspace error: CO_RUN_ID is not set")


def test_the_images_boto3_makes_the_s3_store(engine: docker.DockerClient, tmp_path: Path) -> None:
    check = ("import os; os.environ['AWS_DEFAULT_REGION'] = 'us-east-1';"
             " from chalicelib.workspace.sidecar import s3_store; print(type(s3_store('b')).__name__)")
    code, said = sidecar(engine, tmp_path, check, entrypoint=["python3", "-c"])
    assert (code, said.strip()) == (0, "S3LayerStore")
