"""The `containerops` command: validate, run, inspect and import workflows; build components.

`run`, `runs`, `logs` and `cancel` take `--server URL` to drive a running `containerops
serve` instead of the local engine and data directory (token from $CONTAINEROPS_API_TOKEN).

Exit codes: 0 success; 1 the run failed or was cancelled; 2 bad input (invalid
definitions, unknown ids) or no container engine or server; 130 left running by a second
Ctrl-C.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import yaml
from rich.text import Text

from chalicelib.bootstrap import Services
from chalicelib.cli.common import (
    EXIT_INTERRUPTED,
    FOLLOW_SECONDS,
    PATIENCE_SECONDS,
    POLL_SECONDS,
    Abort,
    LocalData,
    err,
    local_services,
    namespace_option,
    out,
    pass_services,
    read_workflow_file,
    report_invalid,
    server_option,
    translated_errors,
)
from chalicelib.cli.compile import compile_command
from chalicelib.cli.load import load, register
from chalicelib.cli.progress import LineProgress, progress_for, state_text
from chalicelib.cli.remote import (
    ApiClient,
    ServerUnreachable,
    identity,
    job_records,
    run_record,
)
from chalicelib.cli.run_output import finish_run, show_run_result, show_runs
from chalicelib.cli.tokens import tokens
from chalicelib.domain.loading import kind_of, parse_document
from chalicelib.domain.models import dump_definition
from chalicelib.domain.platforms import DEFAULT_PLATFORM, Platform
from chalicelib.domain.states import RunState
from chalicelib.engine.records import JobRecord, RunRecord
from chalicelib.errors import ContainerOpsError, InvalidDefinition, NotFound, Problem
from chalicelib.services.definitions import read_definitions, save_workflow_if_changed
from chalicelib.store.base import RunFilter


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where runs and definitions are kept (default ~/.containerops, "
                   "or $CONTAINEROPS_DATA_DIR).")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """ContainerOps: DevOps workflows built from containers.

    run, runs, logs and cancel also drive a running `containerops serve` with
    --server URL (token from $CONTAINEROPS_API_TOKEN).
    """
    local = LocalData(data_dir)
    ctx.call_on_close(local.close)
    ctx.obj = local


# --- definitions ---------------------------------------------------------------------

@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_services
def validate(services: Services, files: tuple[Path, ...]) -> None:
    """Check component and workflow files; list every problem with its path."""
    loaded = read_definitions(list(files), services.catalog)
    for source, component in loaded.components:
        out.print(Text(f"{source}: ok (component {component.ref})", style="green"))
    for source, workflow in loaded.workflows:
        out.print(Text(f"{source}: ok (workflow {workflow.ref}, {len(workflow.jobs())} jobs)",
                       style="green"))
    if loaded.failures:
        report_invalid(loaded.failures)
        raise Abort("")


@main.command(name="import")
@click.argument("legacy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the converted workflow here instead of printing it.")
def import_legacy(legacy_file: Path, output_file: Path | None) -> None:
    """Convert an original ContainerOps flow file into a containerops/v1 Workflow."""
    from chalicelib.domain.legacy_import import import_legacy_flow

    with translated_errors():
        document = parse_document(legacy_file.read_text(encoding="utf-8"), str(legacy_file))
        try:
            result = import_legacy_flow(document)
        except InvalidDefinition as exc:
            raise InvalidDefinition(exc.problems, str(legacy_file)) from exc
    for warning in result.warnings:
        err.print(Text(f"warning: {warning}", style="yellow"))
    text = yaml.safe_dump(dump_definition(result.workflow), sort_keys=False, allow_unicode=True)
    if output_file:
        output_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {output_file}")
    else:
        click.echo(text, nl=False)


@main.group()
def component() -> None:
    """Register and build components."""


@component.command(name="add")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_services
def component_add(services: Services, files: tuple[Path, ...]) -> None:
    """Register component definitions (immutable per version) without building images."""
    register(services, list(files), workflows=False)


@component.command(name="build")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@pass_services
def component_build(services: Services, directory: Path) -> None:
    """Build the image of a component folder (component.yaml + Dockerfile) and register it."""
    from chalicelib.launch.docker_images import build_image

    definition_file = directory / "component.yaml"
    loaded = read_definitions([definition_file], services.catalog)
    if loaded.failures or not loaded.components:
        report_invalid(loaded.failures)
        raise Abort("" if loaded.failures else f"{definition_file} is not a component")
    _, definition = loaded.components[0]
    with translated_errors():
        for line in build_image(directory, definition.spec.image):
            err.print(Text(line, style="dim"))
        services.store.put_component(definition)
    out.print(f"built {definition.spec.image} and registered {definition.ref}")


# --- runs ----------------------------------------------------------------------------

def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Abort(f"--param '{pair}' should look like name=value")
        params[key] = value
    return params


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-c", "--component", "component_files", multiple=True,
              type=click.Path(path_type=Path), help="Component files this workflow may use.")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE")
@click.option("--output", type=click.Choice(["text", "json"]), default="text",
              help="json: print only the final run record.")
@click.option("--backend", type=click.Choice(["local", "aws-sandbox"]), default="local",
              show_default=True,
              help="aws-sandbox: run it the way AWS would (moto in-process, jobs on Docker).")
@click.option("--platform", type=click.Choice(["fargate", "eks"]), default=None,
              help="With aws-sandbox: where jobs that name no platform run (fargate: ECS tasks,"
                   " eks: Kubernetes Jobs on the sandbox's cluster). Default: fargate.")
@server_option
def run(file: Path, component_files: tuple[Path, ...], params: tuple[str, ...], output: str,
        backend: str, platform: str | None, server: str | None) -> None:
    """Run a workflow file on the local Docker engine, showing live progress.

    With --server URL the component files are published to that server (a version it
    already has is fine), the workflow is saved there (a new version only if it changed)
    and run there; progress, summary and exit code are the same as for a local run.
    Ctrl-C cancels the run on the server; a second Ctrl-C leaves it running there.

    With --backend aws-sandbox it runs through the serverless path on this machine
    (Step Functions, SQS, ECS, CloudWatch Logs played by moto, the jobs on Docker), with
    the same progress, summary and exit code; nothing is kept after it ends. --platform eks
    runs its jobs as Kubernetes Jobs there (a cluster's API played on 127.0.0.1).
    """
    if backend == "aws-sandbox":
        if server is not None:
            raise Abort("--backend aws-sandbox runs here; it cannot be combined with --server")
        from chalicelib.cli.sandbox_run import run_in_sandbox

        run_in_sandbox(file, component_files, parse_params(params), output,
                       platform=Platform(platform or DEFAULT_PLATFORM))
        return
    if platform is not None:
        raise Abort("--platform is for --backend aws-sandbox: locally every job runs on Docker")
    if server is not None:
        run_on_server(ApiClient(server), file, component_files, params, output)
        return
    services = local_services()
    loaded, workflow = read_workflow_file(file, component_files, services.catalog)
    with translated_errors():
        services.launcher.ping()
        for _, definition in loaded.components:
            services.store.put_component(definition)
        version = save_workflow_if_changed(services.store, workflow)
        record = services.driver.create_run(
            workflow.metadata.namespace, workflow.metadata.name, parse_params(params),
            version=version,
        )
    finish_run(services, record.id, output)


@main.command()
@click.argument("run_id")
@click.option("--output", type=click.Choice(["text", "json"]), default="text")
@pass_services
def rerun(services: Services, run_id: str, output: str) -> None:
    """Re-run a failed run: jobs that succeeded are reused, the rest run again."""
    with translated_errors():
        services.launcher.ping()
        record = services.driver.rerun_from_failure(run_id)
    finish_run(services, record.id, output)


@main.command()
@click.option("--workflow", help="namespace/name (with --server, NAME alone is fine too)")
@click.option("--status", type=click.Choice([s.value for s in RunState]), multiple=True)
@click.option("--limit", default=20, show_default=True)
@click.option("--output", type=click.Choice(["text", "json"]), default="text")
@server_option
@namespace_option
def runs(workflow: str | None, status: tuple[str, ...], limit: int, output: str,
         server: str | None, namespace: str | None) -> None:
    """The run history, newest first.

    With --server URL, the history of one namespace on that server: give it with
    --namespace NS or --workflow NS/NAME.
    """
    if server is not None:
        records = runs_on_server(ApiClient(server), namespace, workflow, status, limit)
        show_runs(records, output)
        return
    workflow_namespace, _, name = (workflow or "").partition("/")
    if namespace and workflow_namespace and namespace != workflow_namespace:
        raise Abort(f"--namespace {namespace} and --workflow {workflow} disagree")
    page = local_services().store.list_runs(RunFilter(
        namespace=workflow_namespace or namespace or None, workflow=name or None,
        statuses=tuple(RunState(s) for s in status), limit=limit,
    ))
    show_runs(page.runs, output)


@main.command()
@click.argument("run_id")
@click.argument("job", required=False)
@click.option("--attempt", type=int, help="Attempt number (default: the last).")
@click.option("--follow", is_flag=True,
              help="With --server: keep printing new lines until the jobs are done.")
@server_option
@namespace_option
def logs(run_id: str, job: str | None, attempt: int | None, follow: bool, server: str | None,
         namespace: str | None) -> None:
    """Print the logs of a run's jobs (or of one job).

    With --server URL (and the run's --namespace), the logs kept by that server;
    --follow then waits for new lines until the jobs are done.
    """
    if server is not None:
        logs_on_server(ApiClient(server), required_namespace(namespace), run_id, job, attempt,
                       follow)
        return
    if follow:
        raise Abort("--follow needs --server: a local run's logs are complete once it ends")
    services = local_services()
    store, log_source = services.store, services.logs
    with translated_errors():
        local_run(store.get_run(run_id), namespace)
        jobs = store.list_jobs(run_id)
        if job is not None and job not in {j.name for j in jobs}:
            raise NotFound(f"run {run_id} has no job '{job}'")
    for record in jobs:
        if job is not None and record.name != job:
            continue
        number = attempt or record.attempts
        if not number:
            continue
        if job is None:
            out.print(Text(f"== {record.name} (attempt {number}, {record.status})", style="bold"))
        after = 0
        while lines := log_source.read_logs(run_id, record.name, number, after, 1000):
            for line in lines:
                click.echo(line.text)
            after = lines[-1].seq


@main.command()
@click.argument("run_id")
@server_option
@namespace_option
def cancel(run_id: str, server: str | None, namespace: str | None) -> None:
    """Cancel a run: its containers are stopped, jobs not yet run are skipped.

    With --server URL (and the run's --namespace), the server that executes it cancels it.
    """
    if server is not None:
        client, where = ApiClient(server), required_namespace(namespace)
        with translated_errors():
            summary = client.cancel(where, run_id)
        out.print(Text(f"run {run_id}: cancel requested; now {summary['status']}"))
        return
    services = local_services()
    with translated_errors():
        if namespace is not None:
            local_run(services.store.get_run(run_id), namespace)
        services.driver.cancel(run_id)
        try:
            services.driver.execute(run_id)  # finishes it here if no live process holds it
        except ContainerOpsError:
            pass  # another process executes it and will record the cancel
        run = services.store.get_run(run_id)
    out.print(Text(f"run {run_id}: cancel requested; now {run.status}"))


@main.command()
@pass_services
def resume(services: Services) -> None:
    """Finish runs a stopped process left behind: re-attach to their containers."""
    with translated_errors():
        finished = services.driver.resume(LineProgress(out))
    for run in finished:
        line = Text(f"run {run.id} ")
        line.append_text(state_text(run.status))
        out.print(line)
    if not finished:
        out.print("no unfinished runs")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but a loopback one needs a token.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", envvar="CONTAINEROPS_API_TOKEN", show_envvar=True, default=None,
              help="Every API call must then carry 'Authorization: Bearer <token>' "
                   "(prefer the variable: a command line is visible to other users).")
@click.option("--static-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The designer's build to serve at / (default: frontend/dist of this checkout).")
@click.option("--backend", type=click.Choice(["local", "aws-sandbox"]), default="local",
              show_default=True,
              help="aws-sandbox: the API runs the way AWS would (moto in-process, jobs on Docker);"
                   " nothing is kept.")
@click.option("--load", "load_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="With aws-sandbox: component and workflow files or folders to register first.")
def serve(host: str, port: int, token: str | None, static_dir: Path | None, backend: str,
          load_paths: tuple[Path, ...]) -> None:
    """Serve the API and the designer, execute runs and start scheduled ones here."""
    import logging

    from chalicelib.server import STATIC_DIR
    from chalicelib.server import serve as serve_until_stopped

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if backend == "aws-sandbox":
        from chalicelib.cli.sandbox_serve import serve_in_sandbox

        serve_in_sandbox(host, port, token, static_dir or STATIC_DIR, load_paths, click.echo)
        return
    if load_paths:
        raise Abort("--load is for --backend aws-sandbox; locally, `containerops load` registers"
                    " definitions in the data directory")
    services = local_services()
    with translated_errors():
        serve_until_stopped(services, host, port, token, static_dir=static_dir or STATIC_DIR,
                            announce=click.echo)


# --- against a server (--server URL) ----------------------------------------------------

def local_run(run: RunRecord, namespace: str | None) -> RunRecord:
    """The run, unless --namespace names another one than its own."""
    if namespace is not None and run.namespace != namespace:
        raise NotFound(f"run {run.id} not found in namespace {namespace}")
    return run


def required_namespace(namespace: str | None) -> str:
    if not namespace:
        raise Abort("with --server, give the run's namespace with --namespace NS: "
                    "the API keeps runs per namespace")
    return namespace


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
    lost_since: float | None = None  # a restarting server loses nothing: wait for it a while
    with progress, translated_errors():
        while True:
            try:
                for job in job_records(document):
                    progress.job_changed(job)
                if RunState(document["status"]).is_final:
                    break
                time.sleep(POLL_SECONDS)
                try:
                    document = client.run(namespace, run_id)
                    lost_since = None
                except ServerUnreachable:
                    if lost_since is None:
                        lost_since = time.monotonic()
                        err.print(f"{client.base_url} does not answer; asking again for "
                                  f"{PATIENCE_SECONDS} s")
                    elif time.monotonic() - lost_since > PATIENCE_SECONDS:
                        raise
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


main.add_command(load)
main.add_command(compile_command)
main.add_command(tokens)

if __name__ == "__main__":
    main()
