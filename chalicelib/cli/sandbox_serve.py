"""`containerops serve --backend aws-sandbox`: the API and the designer on the serverless path
played on this machine (chalicelib/sandbox: moto for AWS, the Docker engine for the jobs), so
a user can draw, run and read workflows the way an AWS deployment would run them.

The definitions given with `--load` (files or folders, as `containerops load` reads them)
are registered first: every component, and every workflow AWS can run; one it cannot (host
mounts, say) is left out, saying why. Everything lives as long as the command: nothing is
kept when it stops. Secrets come from $CONTAINEROPS_SECRET_<NAME>, as locally.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from rich.text import Text

from chalicelib.cli.common import Abort, err, out, report_invalid, translated_errors
from chalicelib.cli.load import definition_files
from chalicelib.config import ConfigurationError, secrets_from_environment
from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.errors import InvalidDefinition
from chalicelib.sandbox import AwsSandbox
from chalicelib.sandbox.environment import require_moto
from chalicelib.services.definitions import read_definitions

WORKDIR_PREFIX = "containerops-sandbox-serve-"


def serve_in_sandbox(host: str, port: int, token: str | None, static_dir: Path,
                     load: tuple[Path, ...], announce: Callable[[str], None]) -> None:
    from chalicelib.server import serve_on_aws

    # moto answers through `responses`, which logs every request it lets through at INFO.
    logging.getLogger("responses").setLevel(logging.WARNING)
    try:
        require_moto()
    except ConfigurationError as exc:
        raise Abort(str(exc)) from exc
    loaded = read_definitions(definition_files(load), InMemoryCatalog()) if load else None
    if loaded is not None and loaded.failures:
        report_invalid(loaded.failures)
        raise Abort("")
    with (tempfile.TemporaryDirectory(prefix=WORKDIR_PREFIX) as workdir, translated_errors(),
          AwsSandbox(Path(workdir), secrets=secrets_from_environment()) as sandbox):
        if loaded is not None:
            for _, component in loaded.components:
                sandbox.put_component(component)
                out.print(Text(f"component {component.ref}"))
            for _, workflow in loaded.workflows:
                try:
                    version = sandbox.save_workflow(workflow)
                except InvalidDefinition as exc:
                    err.print(Text(f"workflow {workflow.ref} left out: it cannot run on AWS: "
                                   + "; ".join(map(str, exc.problems))))
                    continue
                out.print(Text(f"workflow {workflow.ref} v{version}"))
        serve_on_aws(sandbox.services, host, port, token, static_dir=static_dir, announce=announce)
