"""What every `containerops` command shares: consoles, exit codes, error reporting, and
the local data directory opened on first use (`--server` commands never open it)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.text import Text

from chalicelib.bootstrap import Services
from chalicelib.cli.remote import TOKEN_VARIABLE
from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.models import Workflow
from chalicelib.engine.records import RunRecord
from chalicelib.errors import ContainerOpsError, InvalidDefinition, NotFound
from chalicelib.services.definitions import DefinitionSet, read_definitions

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130
POLL_SECONDS = 0.5  # how often `run --server` asks the server how its run is doing
FOLLOW_SECONDS = 10  # how long one `logs --follow --server` request waits for new lines
PATIENCE_SECONDS = 60  # how long `run --server` keeps asking a server that stopped answering

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class Abort(click.ClickException):
    """Bad input or an unusable environment, explained in one message; exits with 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        if self.message:
            err.print(Text(self.message, style="red"), soft_wrap=True)


def report_invalid(failures: list[InvalidDefinition]) -> None:
    for failure in failures:
        err.print(Text(f"{failure.source or 'definition'}: {len(failure.problems)} problem(s)",
                       style="bold red"), soft_wrap=True)
        for problem in failure.problems:  # one line each, whatever the width: grep finds it
            err.print(Text(f"  {problem.path or '(document)'}: {problem.message}"), soft_wrap=True)


def read_workflow_file(
    file: Path, component_files: Sequence[Path], catalog: ComponentCatalog
) -> tuple[DefinitionSet, Workflow]:
    """The workflow of `file`, checked with the components of `component_files` and
    `catalog`, and what was read; every problem printed, then Abort."""
    loaded = read_definitions([*component_files, file], catalog)
    if loaded.failures:
        report_invalid(loaded.failures)
        raise Abort("")
    if not loaded.workflows:
        raise Abort(f"{file} holds no workflow")
    return loaded, loaded.workflows[-1][1]


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


@dataclass
class LocalData:
    """The local data directory, opened on first use (`--server` commands never open it)."""

    data_dir: Path | None
    opened: Services | None = None

    @property
    def services(self) -> Services:
        if self.opened is None:
            with translated_errors():
                self.opened = Services.open(self.data_dir)
        return self.opened

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()


def local_services() -> Services:
    local = click.get_current_context().find_object(LocalData)
    if local is None:  # a command invoked without the group
        local = LocalData(None)
        click.get_current_context().call_on_close(local.close)
    return local.services


P = ParamSpec("P")
R = TypeVar("R")


def pass_services(command: Callable[Concatenate[Services, P], R]) -> Callable[P, R]:
    """Hand the command the local Services (opened now, closed with the group)."""

    @functools.wraps(command)
    def with_services(*args: P.args, **kwargs: P.kwargs) -> R:
        return command(local_services(), *args, **kwargs)

    return with_services


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Abort(f"--param '{pair}' should look like name=value")
        params[key] = value
    return params


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


server_option = click.option(
    "--server", metavar="URL", default=None,
    help=f"Drive a running `containerops serve` at URL (e.g. http://127.0.0.1:8080) instead "
         f"of the local engine; the token comes from ${TOKEN_VARIABLE}.")
namespace_option = click.option(
    "--namespace", metavar="NS", default=None,
    help="The run's namespace: needed with --server (the API keeps runs per namespace); "
         "locally, a run of another namespace is not found.")
