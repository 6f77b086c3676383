"""`containerops tokens create|list|rotate|revoke` against the stack's token secret (moto): the
token is printed once, alone on stdout; its hash is what the authorizer then checks; rotating
overlaps; revoking ends it; mistakes exit 2 with one sentence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from chalicelib.aws.api_tokens import EMPTY_LIST, token_checker
from chalicelib.cli.main import main
from chalicelib.config import API_TOKENS_SECRET_VARIABLE
from chalicelib.domain.api_tokens import TOKEN_PATTERN, Refusal
from tests.aws import REGION, fake_aws_environment


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    fake_aws_environment(monkeypatch)
    monkeypatch.delenv(API_TOKENS_SECRET_VARIABLE, raising=False)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        arn: str = client.create_secret(Name="ApiTokenHashes-x1", SecretString=EMPTY_LIST)["ARN"]
        yield arn


def tokens(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["tokens", *args], env=env, catch_exceptions=False)


def check(secret: str, token: str) -> Any:
    return token_checker(secret).check(f"Bearer {token}")


def listed(secret: str) -> list[dict[str, Any]]:
    result = tokens("list", "--secret", secret, "--output", "json")
    assert result.exit_code == 0, result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_create_prints_the_token_alone_and_the_api_accepts_it(secret: str) -> None:
    result = tokens("create", "--secret", secret, "--name", "ci")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert TOKEN_PATTERN.fullmatch(token) and result.stdout == token + "\n"
    assert "shown only now" in result.stderr
    assert check(secret, token).name == "ci"


def test_the_secret_can_come_from_the_environment(secret: str) -> None:
    result = tokens("create", "--name", "deploy", env={API_TOKENS_SECRET_VARIABLE: secret})
    assert result.exit_code == 0, result.stderr
    assert check(secret, result.stdout.strip()).name == "deploy"


def test_list_shows_ids_names_and_times_but_never_a_token_or_hash(secret: str) -> None:
    made = tokens("create", "--secret", secret, "--name", "ci", "--expires-in", "90d").stdout.strip()
    [entry] = listed(secret)
    assert set(entry) == {"id", "name", "created_at", "expires_at"}
    assert entry["name"] == "ci" and entry["expires_at"] is not None and made.startswith(f"co_{entry['id']}_")
    table = tokens("list", "--secret", secret)
    assert entry["id"] in table.stdout and "ci" in table.stdout and made not in table.stdout


def test_list_of_a_fresh_stack_says_how_to_make_the_first_token(secret: str) -> None:
    result = tokens("list", "--secret", secret)
    assert result.exit_code == 0 and "tokens create" in result.stderr
    assert listed(secret) == []


def test_rotate_prints_a_new_token_and_both_work_during_the_overlap(secret: str) -> None:
    old = tokens("create", "--secret", secret, "--name", "ci").stdout.strip()
    [entry] = listed(secret)
    result = tokens("rotate", entry["id"], "--secret", secret, "--overlap", "2h")
    assert result.exit_code == 0, result.stderr
    new = result.stdout.strip()
    assert new != old and check(secret, new).name == "ci" and check(secret, old).name == "ci"
    assert "2h" in result.stderr
    ending = {e["id"]: e["expires_at"] for e in listed(secret)}
    assert ending[entry["id"]] is not None and len(ending) == 2


def test_rotate_without_overlap_ends_the_old_token_now(secret: str) -> None:
    old = tokens("create", "--secret", secret, "--name", "ci").stdout.strip()
    [entry] = listed(secret)
    new = tokens("rotate", entry["id"], "--secret", secret, "--overlap", "0").stdout.strip()
    assert check(secret, old) is Refusal.UNKNOWN and check(secret, new).name == "ci"


def test_revoke_ends_a_token(secret: str) -> None:
    token = tokens("create", "--secret", secret, "--name", "laptop").stdout.strip()
    [entry] = listed(secret)
    result = tokens("revoke", entry["id"], "--secret", secret)
    assert result.exit_code == 0 and f"revoked token {entry['id']} (laptop)" in result.stderr
    assert check(secret, token) is Refusal.UNKNOWN and listed(secret) == []


@pytest.mark.parametrize(("args", "message"), [
    (("revoke", "0123456789ab"), "no API token has the id"),
    (("rotate", "0123456789ab"), "no API token has the id"),
    (("create", "--name", "bad\nname"), "token name"),
    (("create", "--name", "ci", "--expires-in", "soon"), "--expires-in"),
    (("rotate", "0123456789ab", "--overlap", "-1h"), "--overlap"),
])
def test_a_mistake_exits_2_with_one_sentence(secret: str, args: tuple[str, ...], message: str) -> None:
    result = tokens(*args, "--secret", secret)
    assert result.exit_code == 2 and message in result.stderr


def test_a_secret_that_does_not_exist_is_named(secret: str) -> None:
    result = tokens("list", "--secret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-1")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_without_a_secret_the_command_says_which_option_names_it(secret: str) -> None:
    result = tokens("list")
    assert result.exit_code == 2 and "--secret" in result.stderr
