"""`containerops cancel`: ask a run to stop, and show "cancelling…" until it has.

The command returns once the run has ended, that is once its containers are stopped and
removed (the driver writes the run's end after that), and prints how it ended: usually
`cancelled`, or what it came to if it ended first. `--no-wait` returns as soon as the cancel
is recorded. Locally, a run no live process executes is finished here (its containers are
stopped, the jobs not yet run skipped); one that another process executes (`containerops
run` in another terminal, `containerops serve`) is stopped by that process, and this one
waits for the end it writes. A run that had already ended is left as it was.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.text import Text

from chalicelib.bootstrap import Services
from chalicelib.cli.common import (
    EXIT_INTERRUPTED,
    POLL_SECONDS,
    err,
    local_run,
    local_services,
    namespace_option,
    out,
    required_namespace,
    server_option,
    translated_errors,
)
from chalicelib.cli.progress import CANCELLING, state_text
from chalicelib.cli.remote import ApiClient, run_record
from chalicelib.engine.records import RunRecord


@click.command()
@click.argument("run_id")
@click.option("--no-wait", is_flag=True,
              help="Return once the cancel is recorded, without waiting for the run to stop.")
@server_option
@namespace_option
def cancel(run_id: str, no_wait: bool, server: str | None, namespace: str | None) -> None:
    """Cancel a run: its containers are stopped, jobs not yet run are skipped.

    Shows "cancelling…" until the run's containers are gone, then how it ended. With
    --server URL (and the run's --namespace), the server that executes it cancels it.
    """
    if server is not None:
        client, where = ApiClient(server), required_namespace(namespace)
        with translated_errors():
            asked = run_record(client.cancel(where, run_id))
            ended = asked if no_wait else wait_for_end(
                asked, lambda: run_record(client.run(where, run_id)))
    else:
        services = local_services()
        with translated_errors():
            asked = local_run(services.store.get_run(run_id), namespace)
            if not asked.status.is_final:
                services.driver.cancel(run_id)
                asked = services.store.get_run(run_id)
            ended = asked if no_wait else wait_for_end(asked, lambda: finish_here(services, run_id))
    show_end(asked, ended)


def finish_here(services: Services, run_id: str) -> RunRecord:
    """The run, finished by this process if no live one executes it (else as it stands)."""
    finished = services.driver.execute_if_free(run_id)
    return finished if finished is not None else services.store.get_run(run_id)


def wait_for_end(run: RunRecord, current: Callable[[], RunRecord]) -> RunRecord:
    """The run once it has ended, asking `current()` again until it has; Ctrl-C stops
    waiting (the cancel goes on)."""
    if run.status.is_final:
        return run
    try:
        with cancelling_shown(run.id):
            while not (run := current()).status.is_final:
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        err.print(f"stopped waiting: run {run.id} is still being cancelled")
        sys.exit(EXIT_INTERRUPTED)
    return run


@contextmanager
def cancelling_shown(run_id: str) -> Iterator[None]:
    """"cancelling…" while the block runs: a spinner on a terminal, else one line."""
    message = Text(f"run {run_id}: {CANCELLING}")
    if out.is_terminal:
        with out.status(message):
            yield
    else:
        out.print(message)
        yield


def show_end(asked: RunRecord, ended: RunRecord) -> None:
    line = Text(f"run {ended.id} ")
    if asked.status.is_final:
        line.append("had already ended (")
        line.append_text(state_text(ended.status))
        line.append("): nothing to cancel")
    elif ended.status.is_final:
        line.append_text(state_text(ended.status))
        if ended.reason and ended.reason != str(ended.status):
            line.append(f": {ended.reason}")
    else:
        line.append(f"{CANCELLING} (cancel requested; it stops shortly)")
    out.print(line, soft_wrap=True)
