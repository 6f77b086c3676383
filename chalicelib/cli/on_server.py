"""The commands' work against a running server (`--server URL`): run, rerun, runs, logs, resume.

What the local commands do with the engine and the data directory, these do through the API
(`remote.ApiClient`), printing the same progress, summaries and exit codes; the server checks
definitions and executes the runs. Runs live in namespaces there, so the commands that name
a run take its `--namespace`.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.text import Text

from chalicelib.cli.common import (
    EXIT_INTERRUPTED,
    FOLLOW_SECONDS,
    PATIENCE_SECONDS,
    POLL_SECONDS,
    Abort,
    err,
    out,
    parse_params,
    report_invalid,
    required_namespace,
    translated_errors,
)
from chalicelib.cli.progress import LineProgress, progress_for
from chalicelib.cli.remote import (
    ApiClient,
    ServerUnreachable,
    identity,
    job_records,
    run_record,
)
from chalicelib.cli.run_output import show_resumed, show_run_result
from chalicelib.domain.loading import kind_of, parse_document
from chalicelib.domain.states import RunState
from chalicelib.engine.records import FROM_FAILURE, JobRecord, RerunScope, RunRecord
from chalicelib.errors import InvalidDefinition, NotFound, Problem

T = TypeVar("T")
MAX_FOLLOWED = 500  # unfinished runs `resume --server` follows per namespace

@contextmanager
def checked_by(client: ApiClient, source: str) -> Iterator[None]:
    """Problems the server found in a definition, reported against the file they came from."""
    try:
        yield
    except InvalidDefinition as exc:
        raise InvalidDefinition(exc.problems, f"{source} (checked by {client.base_url})") from exc


def read_documents(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    """Each file's document; exits 2 listing every file that cannot be read or parsed."""
    documents, failures = [], []
    for path in paths:
        try:
            documents.append((str(path), parse_document(path.read_text(encoding="utf-8"),
                                                         str(path))))
        except InvalidDefinition as exc:
            failures.append(exc)
        except OSError as exc:
            failures.append(InvalidDefinition([Problem("", exc.strerror or str(exc))], str(path)))
    if failures:
        report_invalid(failures)
        raise Abort("")
    return documents


def run_on_server(client: ApiClient, file: Path, component_files: tuple[Path, ...],
                  params: tuple[str, ...], output: str) -> None:
    """Publish, save and start on the server (which checks everything), then follow."""
    documents = read_documents([*component_files, file])
    workflows = [(source, d) for source, d in documents if kind_of(d) != "Component"]
    if not workflows:
        raise Abort(f"{file} holds no workflow")
    source, workflow = workflows[-1]
    with translated_errors():
        for component_source, document in documents:
            if kind_of(document) == "Component":
                with checked_by(client, component_source):
                    client.publish_component(document)
        with checked_by(client, source):
            namespace, name = identity(workflow)
            client.save_workflow(workflow)
            started = client.start_run(namespace, name, parse_params(params))
    follow_run_on_server(client, namespace, str(started["id"]), output)


def follow_run_on_server(client: ApiClient, namespace: str, run_id: str, output: str) -> None:
    """Poll the run document, show its jobs' changes; Ctrl-C cancels, a second one leaves."""
    with translated_errors():
        document = client.run(namespace, run_id)
        version = int(document["workflow_version"])
        definition = client.workflow(namespace, run_record(document).workflow, version)
    stage_names = [str(stage.get("name", "")) for stage in definition["spec"]["stages"]]
    if output == "text":
        err.print(Text(f"run {run_id} of {document['workflow']} v{version} on {client.base_url}",
                       style="bold"))
    progress = progress_for(output, out, job_records(document), stage_names)

    def leave() -> None:
        err.print(f"left run {run_id} running on {client.base_url}")
        sys.exit(EXIT_INTERRUPTED)

    cancelling = False
    patience = Patience(client)
    with progress, translated_errors():
        while True:
            try:
                progress.run_changed(run_record(document))
                for job in job_records(document):
                    progress.job_changed(job)
                if RunState(document["status"]).is_final:
                    break
                time.sleep(POLL_SECONDS)
                document = patience.ask(lambda: client.run(namespace, run_id)) or document
            except KeyboardInterrupt:
                if cancelling:
                    leave()
                cancelling = True
                err.print("cancelling the run on the server (Ctrl-C again to leave it running)")
                try:
                    client.cancel(namespace, run_id)
                except KeyboardInterrupt:
                    leave()
    final = document
    show_run_result(run_record(final), job_records(final), lambda: final, output)


class Patience:
    """A server that stops answering is asked again for a while: a restarting one loses
    nothing, and carries on with its runs once it is back."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client
        self._lost_since: float | None = None

    def ask(self, call: Callable[[], T]) -> T | None:
        """The answer, or None while the server does not answer (ServerUnreachable once it
        has not for PATIENCE_SECONDS)."""
        try:
            answer = call()
        except ServerUnreachable:
            if self._lost_since is None:
                self._lost_since = time.monotonic()
                err.print(f"{self._client.base_url} does not answer; asking again for "
                          f"{PATIENCE_SECONDS} s")
            elif time.monotonic() - self._lost_since > PATIENCE_SECONDS:
                raise
            return None
        self._lost_since = None
        return answer


def rerun_on_server(client: ApiClient, namespace: str, run_id: str, output: str,
                    scope: RerunScope = FROM_FAILURE) -> None:
    """Re-run a finished run on the server (what runs again: `scope`; the rest is reused),
    then follow the new run as `run --server` does."""
    with translated_errors():
        started = client.rerun(namespace, run_id, scope)
    follow_run_on_server(client, namespace, str(started["id"]), output)


def resume_on_server(client: ApiClient, namespace: str | None) -> None:
    """Follow the server's unfinished runs (of `namespace`, else of every namespace) to
    their ends, showing what local `resume` shows.

    A server takes up the runs it left unfinished itself, as it starts again (re-attaching
    to their containers), so there is nothing to ask it: what a user who runs `resume`
    against it wants is to see those runs finish. Ctrl-C stops following; the server goes on.
    """
    with translated_errors():
        namespaces = [namespace] if namespace else client.namespaces()
        unfinished = [run for where in namespaces for run in runs_on_server(
            client, where, None, (RunState.QUEUED.value, RunState.RUNNING.value), MAX_FOLLOWED)]
    if not unfinished:
        out.print("no unfinished runs")
        return
    progress, patience = LineProgress(out, show_run=True), Patience(client)
    following = {run.id: run for run in unfinished}
    try:
        with translated_errors():
            while following:
                for run_id, run in list(following.items()):
                    document = patience.ask(functools.partial(client.run, run.namespace, run_id))
                    if document is None:
                        continue
                    record = run_record(document)
                    progress.run_changed(record)
                    for job in job_records(document):
                        progress.job_changed(job)
                    if record.status.is_final:
                        del following[run_id]
                        show_resumed(record)
                if following:
                    time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        err.print(f"stopped following; {client.base_url} goes on with {len(following)} run(s)")
        sys.exit(EXIT_INTERRUPTED)


def runs_on_server(client: ApiClient, namespace: str | None, workflow: str | None,
                   status: tuple[str, ...], limit: int) -> list[RunRecord]:
    """Up to `limit` runs of one namespace, newest first, page after page."""
    workflow_namespace, _, name = (workflow or "").rpartition("/")
    if namespace and workflow_namespace and namespace != workflow_namespace:
        raise Abort(f"--namespace {namespace} and --workflow {workflow} disagree")
    namespace = required_namespace(namespace or workflow_namespace)
    records: list[RunRecord] = []
    cursor = ""
    with translated_errors():
        while len(records) < limit:
            page = client.runs_page(namespace, workflow=name, status=",".join(status),
                                    limit=min(limit - len(records), 500), cursor=cursor)
            records.extend(run_record(summary) for summary in page["runs"])
            cursor = page.get("next_cursor") or ""
            if not cursor or not page["runs"]:
                break
    return records[:limit]


def logs_on_server(client: ApiClient, namespace: str, run_id: str, job: str | None,
                   attempt: int | None, follow: bool) -> None:
    with translated_errors():
        jobs = job_records(client.run(namespace, run_id))
        if job is not None and job not in {j.name for j in jobs}:
            raise NotFound(f"run {run_id} has no job '{job}'")
        for record in jobs:
            if job is None or record.name == job:
                print_job_logs(client, namespace, run_id, record, attempt, follow,
                               header=job is None)


def print_job_logs(client: ApiClient, namespace: str, run_id: str, record: JobRecord,
                   attempt: int | None, follow: bool, *, header: bool) -> None:
    """One job's lines (its last attempt unless told); with follow, every attempt to come."""
    if follow and not attempt:
        record = wait_for_attempt(client, namespace, run_id, record, 1)
    number = attempt or record.attempts
    while number:
        if header:
            out.print(Text(f"== {record.name} (attempt {number}, {record.status})", style="bold"))
        after = 0
        while True:
            page = client.logs(namespace, run_id, record.name, number, after,
                               follow=FOLLOW_SECONDS if follow else 0)
            for line in page["lines"]:
                click.echo(line["text"])
            after = int(page["next_after"])
            if page["done"] or not (page["lines"] or follow):
                break
        if not follow or attempt:
            return
        record = wait_for_attempt(client, namespace, run_id, record, number + 1)
        number = number + 1 if record.attempts > number else 0


def wait_for_attempt(client: ApiClient, namespace: str, run_id: str, record: JobRecord,
                     number: int) -> JobRecord:
    """The job once it has attempt `number` or can have no more (polling the run)."""
    while record.attempts < number and not record.status.is_final:
        time.sleep(POLL_SECONDS)
        jobs = {j.name: j for j in job_records(client.run(namespace, run_id))}
        record = jobs[record.name]
    return record
