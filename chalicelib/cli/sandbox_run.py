"""`containerops run FILE --backend aws-sandbox`: a workflow file run through the serverless path
on this machine (chalicelib/sandbox: moto for AWS, the Docker engine for the job containers),
so a user sees how it behaves on AWS before deploying it.

The component files and the workflow are checked as for a local run, and as the API of an
AWS deployment checks them (what only the local driver can do, host mounts above all, is
refused, saying why); then they are registered in a fresh sandbox, the run is started as the
API starts one, and its jobs are shown as they change. What is printed at the end, and the
exit code, are those of a local run (`run_output.show_run_result`). Ctrl-C cancels the run; a
second one leaves at once, and the sandbox, which lives only as long as this command, stops
its containers on the way out. Secrets come from $CONTAINEROPS_SECRET_<NAME>, as locally.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.text import Text

from chalicelib.cli.common import (
    EXIT_INTERRUPTED,
    Abort,
    err,
    out,
    read_workflow_file,
    report_invalid,
    translated_errors,
)
from chalicelib.cli.progress import progress_for
from chalicelib.cli.run_output import show_run_result
from chalicelib.config import ConfigurationError, secrets_from_environment
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.cloud_rules import cloud_problems
from chalicelib.domain.platforms import DEFAULT_PLATFORM, Platform
from chalicelib.domain.states import JobState
from chalicelib.errors import InvalidDefinition
from chalicelib.sandbox import AwsSandbox
from chalicelib.sandbox.environment import require_moto
from chalicelib.services.reuse_origins import reuse_origins
from chalicelib.services.run_views import run_document

POLL_SECONDS = 0.2
WORKDIR_PREFIX = "containerops-sandbox-"


def run_in_sandbox(file: Path, component_files: Sequence[Path], params: Mapping[str, str],
                   output: str, *, platform: Platform = DEFAULT_PLATFORM) -> None:
    """Register, run and follow the workflow of `file` in an AWS sandbox; exits as `run` does."""
    try:
        require_moto()
    except ConfigurationError as exc:
        raise Abort(str(exc)) from exc
    loaded, workflow = read_workflow_file(file, component_files, InMemoryCatalog())
    problems = cloud_problems(workflow)
    if problems:
        report_invalid([InvalidDefinition(problems, f"{file} (on AWS)")])
        raise Abort("")
    with (tempfile.TemporaryDirectory(prefix=WORKDIR_PREFIX) as workdir, translated_errors(),
          AwsSandbox(Path(workdir), secrets=secrets_from_environment(),
                     default_platform=platform) as sandbox):
        for _, component in loaded.components:
            sandbox.put_component(component)
        version = sandbox.save_workflow(workflow)
        run = sandbox.start_run(workflow.metadata.namespace, workflow.metadata.name, params,
                                version=version)
        _follow(sandbox, run.id, [stage.name for stage in workflow.spec.stages], output)


def _follow(sandbox: AwsSandbox, run_id: str, stage_names: list[str], output: str) -> None:
    store = sandbox.services.store
    run = store.get_run(run_id)
    if output == "text":
        err.print(Text(f"run {run_id} of {run.namespace}/{run.workflow} v{run.workflow_version}",
                       style="bold"))
    progress = progress_for(output, out, store.list_jobs(run_id), stage_names)
    cancelling = False
    with progress:
        while True:
            try:
                # Settled first, then the jobs: the pass after the run's end sees what the end
                # wrote (the jobs it skipped), which a pass before it would miss.
                settled = sandbox.settled(run_id) is not None
                for job in store.list_jobs(run_id):
                    if job.status is not JobState.PENDING:  # as locally: changes only
                        progress.job_changed(job)
                if settled:
                    break
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                if cancelling:
                    err.print(f"left run {run_id}: the sandbox closes with this command, and stops"
                              " its containers")
                    sys.exit(EXIT_INTERRUPTED)
                cancelling = True
                err.print("cancelling the run (Ctrl-C again to leave at once)")
                sandbox.cancel(run_id)
    run = store.get_run(run_id)
    jobs = store.list_jobs(run_id)
    attempts = store.list_attempts(run_id)
    show_run_result(run, jobs, lambda: run_document(run, jobs, attempts,
                                                     reuse_origins(store, run, jobs)), output)
