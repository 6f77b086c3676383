"""The `containerops` command: validate, run, inspect and import workflows; build components.

`run`, `rerun`, `runs`, `logs`, `cancel` and `resume` take `--server URL` to drive a running
`containerops serve` instead of the local engine and data directory (token from
$CONTAINEROPS_API_TOKEN); their work there is in `on_server`. Global options (`--data-dir`)
go before or after the command (`global_options`).

Exit codes: 0 success; 1 the run failed or was cancelled; 2 bad input (invalid
definitions, unknown ids) or no container engine or server; 130 left running by a second
Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml
from rich.text import Text

from chalicelib.bootstrap import Services
from chalicelib.cli.cancel import cancel
from chalicelib.cli.common import (
    Abort,
    err,
    local_run,
    local_services,
    namespace_option,
    out,
    parse_params,
    pass_services,
    read_workflow_file,
    report_invalid,
    required_namespace,
    server_option,
    translated_errors,
)
from chalicelib.cli.compile import compile_command
from chalicelib.cli.global_options import accept_everywhere, global_options, local_data
from chalicelib.cli.load import load, register
from chalicelib.cli.on_server import (
    logs_on_server,
    rerun_on_server,
    resume_on_server,
    run_on_server,
    runs_on_server,
)
from chalicelib.cli.progress import LineProgress
from chalicelib.cli.remote import (
    ApiClient,
)
from chalicelib.cli.run_output import finish_run, show_resumed, show_runs
from chalicelib.cli.tokens import tokens
from chalicelib.config import ALLOW_MOUNTS_VARIABLE, served_mounts
from chalicelib.domain.loading import parse_document
from chalicelib.domain.models import dump_definition
from chalicelib.domain.platforms import DEFAULT_PLATFORM, Platform
from chalicelib.domain.states import RunState
from chalicelib.engine.records import EVERY_JOB, FROM_FAILURE, RerunKind, RerunScope
from chalicelib.errors import InvalidDefinition, NotFound
from chalicelib.services.definitions import read_definitions, save_workflow_if_changed
from chalicelib.store.base import RunFilter


@click.group()
@global_options
@click.pass_context
def main(ctx: click.Context, /, **options: Any) -> None:
    """ContainerOps: DevOps workflows built from containers.

    run, rerun, runs, logs, cancel and resume also drive a running `containerops serve` with
    --server URL (token from $CONTAINEROPS_API_TOKEN). Global options (--data-dir)
    may come before or after the command: `containerops serve --data-dir D`.
    """
    local = local_data(options)
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
@click.option("--all", "every_job", is_flag=True,
              help="Run every job again, reusing nothing (any finished run).")
@click.option("--job", "jobs", multiple=True, metavar="NAME",
              help="Run this job again, with every job that uses its outputs; the other jobs"
                   " that succeeded are reused (any finished run; repeat for more jobs).")
@click.option("--output", type=click.Choice(["text", "json"]), default="text")
@server_option
@namespace_option
def rerun(run_id: str, every_job: bool, jobs: tuple[str, ...], output: str, server: str | None,
          namespace: str | None) -> None:
    """Run a finished run again, as a new run of the same workflow version and params.

    With no option it re-runs from failure (a failed or cancelled run): jobs that succeeded
    are reused, the rest run again. --all runs every job again, in a fresh workspace.
    --job NAME runs that job again, and every job that takes its outputs; the others
    that succeeded are reused. Of a workflow's succeeded runs only the newest keeps its
    workspace: re-running a job of an older one runs again what ran before that job too.

    With --server URL (and the run's --namespace), the server re-runs it; progress,
    summary and exit code are the same as here, and Ctrl-C cancels the new run there.
    """
    scope = rerun_scope(every_job, jobs)
    if server is not None:
        rerun_on_server(ApiClient(server), required_namespace(namespace), run_id, output, scope)
        return
    services = local_services()
    with translated_errors():
        local_run(services.store.get_run(run_id), namespace)
        services.launcher.ping()
        record = services.driver.rerun(run_id, scope)
    finish_run(services, record.id, output)


def rerun_scope(every_job: bool, jobs: tuple[str, ...]) -> RerunScope:
    if every_job and jobs:
        raise Abort("--all already runs every job again; leave out --job, or --all")
    if every_job:
        return EVERY_JOB
    return RerunScope(RerunKind.JOBS, tuple(dict.fromkeys(jobs))) if jobs else FROM_FAILURE


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
@server_option
@click.option("--namespace", metavar="NS", default=None,
              help="With --server: follow only this namespace's runs (default: every one).")
def resume(server: str | None, namespace: str | None) -> None:
    """Finish runs a stopped process left behind: re-attach to their containers.

    With --server URL, follow that server's unfinished runs to their end (a server takes
    up what it left behind itself, as it starts again), showing the same lines.
    """
    if server is not None:
        resume_on_server(ApiClient(server), namespace)
        return
    if namespace is not None:
        raise Abort("--namespace is for --server: locally, resume finishes every unfinished run")
    services = local_services()
    with translated_errors():
        finished = services.driver.resume(LineProgress(out, show_run=True))
    for run in finished:
        show_resumed(run)
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
@click.option("--allow-mount", "allow_mounts", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help=f"A host folder jobs may mount (repeatable; default: ${ALLOW_MOUNTS_VARIABLE},"
                   " folders separated like PATH). No other host path is mounted; none given: no"
                   " host mount at all (aws-sandbox: none ever).")
def serve(host: str, port: int, token: str | None, static_dir: Path | None, backend: str,
          load_paths: tuple[Path, ...], allow_mounts: tuple[Path, ...]) -> None:
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
                            announce=click.echo, mounts=served_mounts(allow_mounts))


main.add_command(cancel)
main.add_command(load)
main.add_command(compile_command)
main.add_command(tokens)
accept_everywhere(main)  # last: every command is there now

if __name__ == "__main__":
    main()
