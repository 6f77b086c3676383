"""The `containerops` command: validate, run, inspect and import workflows; build components.

Exit codes: 0 success; 1 the run failed or was cancelled; 2 bad input (invalid
definitions, unknown ids) or no container engine; 130 left running by a second Ctrl-C.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from chalicelib.bootstrap import Services
from chalicelib.cli.progress import LineProgress, LiveProgress, NoProgress, duration, state_text
from chalicelib.domain.loading import parse_document
from chalicelib.domain.models import dump_definition
from chalicelib.domain.states import RunState
from chalicelib.errors import ContainerOpsError, InvalidDefinition, NotFound
from chalicelib.services.definitions import read_definitions, save_workflow_if_changed
from chalicelib.services.run_views import run_document
from chalicelib.store.base import RunFilter

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class Abort(click.ClickException):
    """Bad input or an unusable environment, explained in one message; exits with 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        if self.message:
            err.print(Text(self.message, style="red"))


def report_invalid(failures: list[InvalidDefinition]) -> None:
    for failure in failures:
        err.print(Text(f"{failure.source or 'definition'}: {len(failure.problems)} problem(s)",
                       style="bold red"))
        for problem in failure.problems:
            err.print(Text(f"  {problem.path or '(document)'}: {problem.message}"))


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn the project's errors into one clear message and an exit code."""
    try:
        yield
    except InvalidDefinition as exc:
        report_invalid([exc])
        raise Abort("") from exc
    except ContainerOpsError as exc:
        raise Abort(str(exc)) from exc


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where runs and definitions are kept (default ~/.containerops, "
                   "or $CONTAINEROPS_DATA_DIR).")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """ContainerOps: DevOps workflows built from containers."""
    services = Services.open(data_dir)
    ctx.call_on_close(services.close)
    ctx.obj = services


pass_services = click.make_pass_decorator(Services)


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
    loaded = read_definitions(list(files), services.catalog)
    if loaded.failures:
        report_invalid(loaded.failures)
        raise Abort("")
    with translated_errors():
        for _, definition in loaded.components:
            services.store.put_component(definition)
            out.print(f"registered {definition.ref}")


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
@pass_services
def run(services: Services, file: Path, component_files: tuple[Path, ...],
        params: tuple[str, ...], output: str) -> None:
    """Run a workflow file on the local Docker engine, showing live progress."""
    loaded = read_definitions([*component_files, file], services.catalog)
    if loaded.failures:
        report_invalid(loaded.failures)
        raise Abort("")
    if not loaded.workflows:
        raise Abort(f"{file} holds no workflow")
    _, workflow = loaded.workflows[-1]
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


def finish_run(services: Services, run_id: str, output: str) -> None:
    """Execute the run with progress; Ctrl-C cancels it. Exits 0 only if it succeeded."""
    store = services.store
    run = store.get_run(run_id)
    stage_names = [s.name for s in store.get_workflow(
        run.namespace, run.workflow, run.workflow_version).workflow.spec.stages]
    if output == "text":
        err.print(Text(f"run {run_id} of {run.namespace}/{run.workflow} "
                       f"v{run.workflow_version}", style="bold"))
    progress: LiveProgress | LineProgress | NoProgress
    if output == "json":
        progress = NoProgress()
    elif out.is_terminal:
        progress = LiveProgress(out, store.list_jobs(run_id), stage_names)
    else:
        progress = LineProgress(out)
    result: dict[str, Any] = {}

    def execute() -> None:
        try:
            result["run"] = services.driver.execute(run_id, progress)
        except ContainerOpsError as exc:
            result["error"] = exc

    # A daemon thread, so a second Ctrl-C can leave at once: the run is then finished by
    # `containerops resume`, which re-attaches to its containers.
    worker = threading.Thread(target=execute, name=f"run-{run_id}", daemon=True)
    cancelling = False
    with progress:
        worker.start()
        while worker.is_alive():
            try:
                worker.join(0.2)
            except KeyboardInterrupt:
                if cancelling:
                    err.print(f"left run {run_id} running: `containerops resume` finishes it")
                    sys.exit(EXIT_INTERRUPTED)
                cancelling = True
                err.print("cancelling the run (Ctrl-C again to leave it running)")
                services.driver.cancel(run_id)
    if "error" in result:
        raise Abort(str(result["error"]))
    print_run_result(services, run_id, output)


def print_run_result(services: Services, run_id: str, output: str) -> None:
    store = services.store
    run = store.get_run(run_id)
    jobs = store.list_jobs(run_id)
    if output == "json":
        click.echo(json.dumps(run_document(run, jobs, store.list_attempts(run_id)), indent=2))
    else:
        summary = Text(f"run {run.id} ")
        summary.append_text(state_text(run.status))
        summary.append(f" in {duration(run.started_at, run.finished_at)}")
        if run.reason:
            summary.append(f": {run.reason}")
        out.print(summary)
        for job in jobs:
            if job.outputs:
                for key, value in job.outputs.items():
                    out.print(Text(f"  {job.name}.{key} = {value}"), soft_wrap=True)
    if run.status is not RunState.SUCCEEDED:
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--workflow", help="namespace/name")
@click.option("--status", type=click.Choice([s.value for s in RunState]), multiple=True)
@click.option("--limit", default=20, show_default=True)
@click.option("--output", type=click.Choice(["text", "json"]), default="text")
@pass_services
def runs(services: Services, workflow: str | None, status: tuple[str, ...], limit: int,
         output: str) -> None:
    """The run history, newest first."""
    namespace, _, name = (workflow or "").partition("/")
    page = services.store.list_runs(RunFilter(
        namespace=namespace or None, workflow=name or None,
        statuses=tuple(RunState(s) for s in status), limit=limit,
    ))
    if output == "json":
        from chalicelib.services.run_views import run_summary

        click.echo(json.dumps([run_summary(r) for r in page.runs], indent=2))
        return
    table = Table(box=None, header_style="bold")
    for column in ("run", "workflow", "version", "status", "started", "time"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason")
    from datetime import datetime

    for r in page.runs:
        started = datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(r.id, f"{r.namespace}/{r.workflow}", str(r.workflow_version),
                      state_text(r.status), started, duration(r.started_at, r.finished_at),
                      Text(r.reason, overflow="fold"))
    out.print(table)


@main.command()
@click.argument("run_id")
@click.argument("job", required=False)
@click.option("--attempt", type=int, help="Attempt number (default: the last).")
@pass_services
def logs(services: Services, run_id: str, job: str | None, attempt: int | None) -> None:
    """Print the logs of a run's jobs (or of one job)."""
    store = services.store
    with translated_errors():
        store.get_run(run_id)
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
        while lines := store.read_logs(run_id, record.name, number, after, 1000):
            for line in lines:
                click.echo(line.text)
            after = lines[-1].seq


@main.command()
@click.argument("run_id")
@pass_services
def cancel(services: Services, run_id: str) -> None:
    """Cancel a run: its containers are stopped, jobs not yet run are skipped."""
    with translated_errors():
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
@pass_services
def serve(services: Services, host: str, port: int, token: str | None,
          static_dir: Path | None) -> None:
    """Serve the API and the designer, execute runs and start scheduled ones here."""
    import logging

    from chalicelib.server import STATIC_DIR
    from chalicelib.server import serve as serve_until_stopped

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with translated_errors():
        serve_until_stopped(services, host, port, token, static_dir=static_dir or STATIC_DIR,
                            announce=click.echo)


if __name__ == "__main__":
    main()
