"""The workspace sidecars' entry point: `python -m chalicelib.workspace.sidecar restore|save`.

In each Fargate task of a run, a restore container runs before the job and a save container
after it, both with the task volume the job sees as /workspace. They are configured by the
environment only:

    CO_WORKSPACE_BUCKET  the bucket holding runs' layers                 (required)
    CO_RUN_ID            the run whose workspace this is                 (required)
    CO_JOB, CO_ATTEMPT   the job and attempt saving a layer              (required by save)
    CO_WORKSPACE_DIR     the workspace folder             (default /workspace)
    CO_WORKSPACE_STATE   restore's snapshot, outside it   (default /containerops/workspace-snapshot.json)
    CO_WORKSPACE_OWNER   uid:gid the restored files are handed to (default 1000:1000)

Each step prints one line a person reads in the task's log. A failure prints one line
starting `workspace error: ` and exits 1; a bad command or configuration exits 2. `main`
takes its arguments, environment, store and output, so the sandbox and the tests run it
in-process with any `LayerStore`; only the default store factory imports boto3.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from chalicelib.errors import WorkspaceError
from chalicelib.workspace.layers import LayerSummary
from chalicelib.workspace.store import LayerStore
from chalicelib.workspace.sync import restore, save, segment_problem

COMMANDS = ("restore", "save")
BUCKET, RUN_ID, JOB, ATTEMPT = "CO_WORKSPACE_BUCKET", "CO_RUN_ID", "CO_JOB", "CO_ATTEMPT"
WORKSPACE_DIR, STATE_FILE, OWNER = "CO_WORKSPACE_DIR", "CO_WORKSPACE_STATE", "CO_WORKSPACE_OWNER"
DEFAULT_WORKSPACE_DIR = "/workspace"
DEFAULT_STATE_FILE = "/containerops/workspace-snapshot.json"
DEFAULT_OWNER = "1000:1000"
USAGE = "python -m chalicelib.workspace.sidecar restore|save"
OK, FAILED, BAD_CONFIGURATION = 0, 1, 2

StoreFactory = Callable[[str], LayerStore]


class BadConfiguration(Exception):
    """The command or the environment cannot be run as given (exit 2)."""


@dataclass(frozen=True)
class Settings:
    command: str
    bucket: str
    run_id: str
    workspace: Path
    state_file: Path
    owner: tuple[int, int]
    job: str = ""
    attempt: int = 0

    @classmethod
    def read(cls, argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
        if len(argv) != 1 or argv[0] not in COMMANDS:
            given = " ".join(argv) or "nothing"
            raise BadConfiguration(f"the command is restore or save ({USAGE}), not {given}")
        command = argv[0]

        def required(name: str, meaning: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise BadConfiguration(f"{name} is not set ({meaning})")
            return value

        run_id = _segment(RUN_ID, "run id", required(RUN_ID, "the run whose workspace this is"))
        settings = cls(
            command=command,
            bucket=required(BUCKET, "the S3 bucket holding the runs' workspace layers"),
            run_id=run_id,
            workspace=Path(environ.get(WORKSPACE_DIR) or DEFAULT_WORKSPACE_DIR),
            state_file=Path(environ.get(STATE_FILE) or DEFAULT_STATE_FILE),
            owner=_owner(environ.get(OWNER) or DEFAULT_OWNER),
        )
        if command == "restore":
            return settings
        job = _segment(JOB, "job", required(JOB, "the job whose changes are saved"))
        attempt_text = required(ATTEMPT, "the attempt number of the job, from 1")
        if not attempt_text.isdigit() or int(attempt_text) < 1:
            raise BadConfiguration(f"{ATTEMPT} is {attempt_text!r}, not an attempt number from 1")
        return replace(settings, job=job, attempt=int(attempt_text))


def _segment(name: str, what: str, value: str) -> str:
    problem = segment_problem(what, value)
    if problem:
        raise BadConfiguration(f"{name}: {problem}")
    return value


def _owner(text: str) -> tuple[int, int]:
    uid, separator, gid = text.partition(":")
    if not separator or not uid.isdigit() or not gid.isdigit():
        raise BadConfiguration(f"{OWNER} is {text!r}, not uid:gid in numbers (like {DEFAULT_OWNER})")
    return int(uid), int(gid)


def s3_store(bucket: str) -> LayerStore:
    """The deployment's store: S3 through boto3, imported only here."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    from chalicelib.aws.workspace_layers import S3LayerStore

    try:
        client = boto3.client("s3", config=Config(retries={"mode": "standard", "max_attempts": 8}))
    except BotoCoreError as exc:
        raise WorkspaceError(f"cannot make an S3 client: {exc}") from exc
    return S3LayerStore(client, bucket)


def main(argv: Sequence[str], environ: Mapping[str, str], store_factory: StoreFactory = s3_store,
         out: TextIO = sys.stdout, *, clock_ns: Callable[[], int] = time.time_ns) -> int:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        settings = Settings.read(argv, environ)
    except BadConfiguration as exc:
        say(f"workspace error: {exc}")
        return BAD_CONFIGURATION
    try:
        store = store_factory(settings.bucket)
        if settings.command == "restore":
            _restore(store, settings, say)
        else:
            _save(store, settings, say, clock_ns)
    except WorkspaceError as exc:
        say(f"workspace error: {exc}")
        return FAILED
    return OK


def _restore(store: LayerStore, settings: Settings, say: Callable[[str], None]) -> None:
    def applied(key: str, layer: LayerSummary) -> None:
        deleted = f", {layer.deleted:,} deleted" if layer.deleted else ""
        say(f"applied {key.rpartition('/')[2]}: {_count(layer.files, 'file')}, "
            f"{_size(layer.bytes)}{deleted}")

    done = restore(store, settings.run_id, settings.workspace, settings.state_file, settings.owner,
                   on_layer=applied)
    if not done.layers:
        say(f"nothing to restore: no job of run {settings.run_id} has saved a layer yet, "
            f"{settings.workspace} starts empty ({done.seconds:.2f} s)")
        return
    say(f"restored {_count(done.layers, 'layer')}: {_count(done.files, 'file')}, {_size(done.bytes)} "
        f"in {done.seconds:.2f} s")


def _save(store: LayerStore, settings: Settings, say: Callable[[str], None],
          clock_ns: Callable[[], int]) -> None:
    done = save(store, settings.run_id, settings.job, settings.attempt, settings.workspace,
                settings.state_file, clock_ns)
    if not done.had_snapshot:
        say(f"no snapshot from restore at {settings.state_file}: everything in {settings.workspace} "
            "counted as new")
    if done.key is None:
        say(f"nothing to save: {settings.job} changed nothing in {settings.workspace} "
            f"({done.seconds:.2f} s)")
        return
    deleted = f", {done.deleted:,} deleted" if done.deleted else ""
    say(f"saved {_count(done.files, 'file')}, {_size(done.bytes)}{deleted} as {done.key} "
        f"({_size(done.layer_bytes)} compressed) in {done.seconds:.2f} s")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _size(number: int) -> str:
    """Bytes as a person reads them: 512 B, 5.2 MB (powers of 1,000)."""
    if number < 1000:
        return f"{number} B"
    value, units = number / 1000, ["kB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value, units = value / 1000, units[1:]
    return f"{value:,.1f} {units[0]}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
