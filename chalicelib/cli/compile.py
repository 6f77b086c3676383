"""`containerops compile`: a workflow file as the Step Functions state machine it deploys as.

Components are found the way `run` finds them (the `-c` files, then the registry of the
data directory). The machine is printed as indented JSON, or with `--check` only
compiled and summed up in one line; problems (the definition's, or a Step Functions limit
the machine would pass) are listed like `validate` lists them, and exit 2. The launch
queue URL comes from `--queue-url`, else $CONTAINEROPS_LAUNCH_QUEUE_URL (the variable the
aws backend reads it from), else a placeholder that says so; the bucket a Distributed Map
reads its instances from, from `--items-bucket`, else $CONTAINEROPS_WORKSPACE_BUCKET, else a
placeholder too.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from chalicelib.asl import Target, compile_workflow
from chalicelib.asl.render import definition_text
from chalicelib.bootstrap import Services
from chalicelib.cli.common import err, out, pass_services, read_workflow_file, translated_errors
from chalicelib.config import LAUNCH_QUEUE_URL_VARIABLE
from chalicelib.domain.catalog import LayeredCatalog
from chalicelib.domain.cloud_rules import cloud_problems
from chalicelib.errors import InvalidDefinition

QUEUE_URL_VARIABLE = LAUNCH_QUEUE_URL_VARIABLE
PLACEHOLDER_QUEUE_URL = "https://sqs.REGION.amazonaws.com/ACCOUNT/PLACEHOLDER-set-CONTAINEROPS_LAUNCH_QUEUE_URL"
ITEMS_BUCKET_VARIABLE = "CONTAINEROPS_WORKSPACE_BUCKET"
PLACEHOLDER_ITEMS_BUCKET = "placeholder-set-containerops-workspace-bucket"


@click.command(name="compile")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-c", "--component", "component_files", multiple=True,
              type=click.Path(path_type=Path), help="Component files this workflow may use.")
@click.option("--queue-url", envvar=QUEUE_URL_VARIABLE, show_envvar=True, default=None,
              help="The launch queue the job states send to (default: a placeholder).")
@click.option("--items-bucket", envvar=ITEMS_BUCKET_VARIABLE, show_envvar=True, default=None,
              help="The bucket a Distributed Map reads its instances from (default: a placeholder).")
@click.option("--check", is_flag=True,
              help="Only compile and check the limits; print one line instead of the machine.")
@pass_services
def compile_command(services: Services, file: Path, component_files: tuple[Path, ...],
                    queue_url: str | None, items_bucket: str | None, check: bool) -> None:
    """Print the Step Functions state machine (ASL JSON) a workflow file compiles to."""
    loaded, workflow = read_workflow_file(file, component_files, services.catalog)
    if not queue_url:
        err.print(Text(f"warning: no --queue-url and no ${QUEUE_URL_VARIABLE}: the machine sends "
                       "to a placeholder queue URL", style="yellow"))
    for problem in cloud_problems(workflow):  # the API refuses these on AWS; say so now
        err.print(Text(f"warning: {file}: {problem}", style="yellow"))
    target = Target(queue_url or PLACEHOLDER_QUEUE_URL, items_bucket=items_bucket or PLACEHOLDER_ITEMS_BUCKET)
    with translated_errors():
        try:
            compiled = compile_workflow(workflow, LayeredCatalog(loaded.catalog, services.catalog),
                                        target)
        except InvalidDefinition as exc:
            raise InvalidDefinition(exc.problems, str(file)) from exc
    if check:
        figures = compiled.figures
        fan_outs = "".join(f"; job {job}: {count:,} instances, {mode} map"
                           for job, count, mode in figures.fan_outs)
        out.print(Text(
            f"{file}: ok, would deploy {workflow.ref} as a state machine of {figures.states} "
            f"states, {figures.definition_bytes:,} bytes, at most {figures.worst_case_events:,} "
            f"history events per run{fan_outs}", style="green"))
    else:
        click.echo(definition_text(compiled.definition, indent=2), nl=False)
