"""`containerops tokens create|list|rotate|revoke`: the bearer tokens of the API of an AWS
deployment, whose salted hashes the stack keeps in its secret `ApiTokenHashes`.

Every command takes that secret with `--secret` (the stack's output `ApiTokenHashesArn`) or
`$CONTAINEROPS_API_TOKENS_SECRET`, and the AWS credentials of whoever runs it (boto3's usual
chain; an ARN names the region). `create` and `rotate` print the new token alone on stdout,
once (`TOKEN=$(containerops tokens create --name ci)`): only its hash is stored. A change
reaches the API within two minutes, without a redeploy (chalicelib/api/authorizer.py). The
local server (`containerops serve --token`) has one token of its own and needs none of this.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from chalicelib.cli.common import Abort, err, out, translated_errors
from chalicelib.cli.tables import print_table
from chalicelib.config import API_TOKENS_SECRET_VARIABLE
from chalicelib.domain.api_tokens import TokenRecord
from chalicelib.domain.quantities import parse_duration
from chalicelib.services.token_admin import DEFAULT_OVERLAP_SECONDS, TokenAdmin


def admin_for(secret: str) -> TokenAdmin:
    from chalicelib.aws.api_tokens import token_admin

    return token_admin(secret)

secret_option = click.option(
    "--secret", envvar=API_TOKENS_SECRET_VARIABLE, required=True, metavar="ARN",
    help="The stack's token secret: its output ApiTokenHashesArn (or $CONTAINEROPS_API_TOKENS_SECRET).")


def _duration(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise Abort(f"{option}: {exc}") from exc


def _when(epoch: int | None) -> str:
    return "never" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


@click.group()
def tokens() -> None:
    """The bearer tokens of the API on AWS: make, list, rotate and revoke them."""


@tokens.command()
@secret_option
@click.option("--name", required=True, help="Who or what uses it: ci, deploy, alice@laptop.")
@click.option("--expires-in", default=None, metavar="DURATION",
              help="Its lifetime (90d, 12h); default: until revoked.")
def create(secret: str, name: str, expires_in: str | None) -> None:
    """Make a token; it is printed once, on stdout."""
    with translated_errors():
        issued = admin_for(secret).create(name, _duration("--expires-in", expires_in))
    click.echo(issued.token)
    until = "revoked" if issued.record.expires_at is None else _when(issued.record.expires_at)
    err.print(f"made token {issued.record.id} ({name}), valid until {until}; it is shown only now")


@tokens.command(name="list")
@secret_option
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_tokens(secret: str, output: str) -> None:
    """The tokens that are valid or still overlapping (never their text)."""
    with translated_errors():
        records = admin_for(secret).list()
    if output == "json":
        click.echo(json.dumps([_listed(r) for r in records], indent=2))
        return
    if not records:
        err.print("no tokens: `containerops tokens create --name NAME` makes one")
        return
    print_table(out, ("id", "name", "created", "expires"), [
        (record.id, record.name, _when(record.created_at), _when(record.expires_at))
        for record in records
    ])


@tokens.command()
@secret_option
@click.argument("token_id")
@click.option("--overlap", default=None, metavar="DURATION",
              help="How long the old token stays valid (default 1h; 0 ends it now).")
def rotate(secret: str, token_id: str, overlap: str | None) -> None:
    """Replace a token with a new one (printed once, on stdout); the old one ends after the overlap."""
    seconds = _duration("--overlap", overlap)
    with translated_errors():
        issued = admin_for(secret).rotate(token_id, DEFAULT_OVERLAP_SECONDS if seconds is None else seconds)
    click.echo(issued.token)
    old_one = "which ends now" if seconds == 0 else f"which stays valid for {overlap or '1h'} more"
    err.print(f"made token {issued.record.id} ({issued.record.name}) to replace {token_id}, {old_one};"
              " the new one is shown only now")


@tokens.command()
@secret_option
@click.argument("token_id")
def revoke(secret: str, token_id: str) -> None:
    """End a token now (the API refuses it within two minutes)."""
    with translated_errors():
        record = admin_for(secret).revoke(token_id)
    err.print(f"revoked token {record.id} ({record.name})")


def _listed(record: TokenRecord) -> dict[str, Any]:
    return {key: value for key, value in record.as_json().items()
            if key in ("id", "name", "created_at", "expires_at")}
