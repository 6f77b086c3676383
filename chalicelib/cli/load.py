"""`containerops load`: put component and workflow files into the registry, idempotently.

A component version already registered with the same content is left alone (a changed
one is refused: versions are immutable); a workflow gets a new version only when its
definition changed. Folders are searched for `*/component.yaml` and `*.yaml` workflows.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from chalicelib.bootstrap import Services
from chalicelib.cli.common import Abort, out, pass_services, report_invalid, translated_errors
from chalicelib.services.definitions import read_definitions, save_workflow_if_changed


def definition_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.rglob("component.yaml"))
            files += sorted(p for p in path.rglob("*.yaml")
                            if p.name != "component.yaml" and "legacy" not in p.parts)
        else:
            files.append(path)
    return files


def register(services: Services, files: list[Path], *, workflows: bool = True) -> None:
    """Register the components (and, unless told not to, the workflows) of these files."""
    loaded = read_definitions(files, services.catalog)
    if loaded.failures:
        report_invalid(loaded.failures)
        raise Abort("")
    with translated_errors():
        for _, component in loaded.components:
            services.store.put_component(component)
            out.print(Text(f"component {component.ref}"))
        for _, workflow in loaded.workflows if workflows else ():
            version = save_workflow_if_changed(services.store, workflow)
            out.print(Text(f"workflow {workflow.ref} v{version}"))


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@pass_services
def load(services: Services, paths: tuple[Path, ...]) -> None:
    """Register component and workflow files (or folders of them) in the registry."""
    register(services, definition_files(paths))
