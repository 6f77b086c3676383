"""API tokens of an AWS deployment: their form, their salted hashes, and the list of hashes.

A token is `co_<id>_<secret>`: a public id of 12 hex digits (what `containerops tokens list`
shows, what the authorizer names as the caller, what a revocation takes) and a secret of 256
random bits (43 URL-safe base64 characters). Only a salted SHA-256 of the whole token is kept
(`TokenRecord`), never the token: it is shown once, when it is made. A fast hash is enough
here because the token is random and long: nothing can be guessed from a hash of 256 random
bits, so the slow hashes made for passwords (bcrypt, scrypt) would only slow every check down.
The salt still makes every record differ, even for a token pasted twice.

`TokenHashes` is the whole list, as the deployment's secret holds it (JSON, `render`/`parse`):
several tokens are valid at once, which is how a rotation overlaps (the new token is made, the
old one expires a little later or is revoked). A token checks out when its id is listed, its
hash matches (compared in constant time) and it has not expired. A revoked token is simply no
longer listed. Pure code: the secret is read and written by chalicelib/aws/api_tokens.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from chalicelib.config import ConfigurationError
from chalicelib.errors import InvalidRequest, NotFound

TOKEN_PREFIX = "co_"
ID_HEX_DIGITS = 12
SECRET_BYTES = 32
TOKEN_PATTERN = re.compile(r"co_(?P<id>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
SALT_BYTES = 16
DOCUMENT_FORMAT = "containerops-api-tokens/1"
MAX_TOKENS = 100  # a secret holds 64 KiB; a record is about 250 bytes
MAX_NAME = 64
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@-]*")


class Refusal(StrEnum):
    """Why a request's token was refused (for the authorizer's log: never the token itself)."""

    MISSING = "no bearer token"
    MALFORMED = "not a ContainerOps token"
    UNKNOWN = "unknown or revoked token"
    EXPIRED = "expired token"


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    created_at: int  # epoch seconds
    expires_at: int | None
    salt: str  # hex
    sha256: str  # hex of SHA-256(salt + token)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(_digest(bytes.fromhex(self.salt), token), bytes.fromhex(self.sha256))

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": _iso(self.created_at),
                "expires_at": None if self.expires_at is None else _iso(self.expires_at),
                "salt": self.salt, "sha256": self.sha256}

    @classmethod
    def from_json(cls, raw: Any) -> TokenRecord:
        if not isinstance(raw, dict):
            raise ValueError("a token record is not an object")
        expires = raw.get("expires_at")
        record = cls(id=str(raw["id"]), name=str(raw["name"]), created_at=_epoch(raw["created_at"]),
                     expires_at=None if expires is None else _epoch(expires),
                     salt=str(raw["salt"]), sha256=str(raw["sha256"]))
        if not re.fullmatch(r"[0-9a-f]{12}", record.id):
            raise ValueError(f"token id {record.id!r} is not 12 hex digits")
        if not (_is_hex(record.salt, SALT_BYTES) and _is_hex(record.sha256, hashlib.sha256().digest_size)):
            raise ValueError(f"token {record.id} has no salted SHA-256 hash")
        return record


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the only moment its text exists outside the caller's hands."""

    token: str
    record: TokenRecord


@dataclass(frozen=True)
class TokenHashes:
    tokens: tuple[TokenRecord, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TokenHashes:
        """The list a secret holds; a secret that holds anything else is a misconfiguration."""
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
                raise ValueError(f"it is not a {DOCUMENT_FORMAT} document")
            tokens = document.get("tokens")
            if not isinstance(tokens, list):
                raise ValueError("its 'tokens' is not a list")
            return cls(tuple(TokenRecord.from_json(raw) for raw in tokens))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"the API token secret does not hold a token list: {exc}") from None

    def render(self) -> str:
        return json.dumps({"format": DOCUMENT_FORMAT, "tokens": [t.as_json() for t in self.tokens]},
                          indent=1)

    def check(self, token: str, now: float) -> TokenRecord | Refusal:
        """The record `token` is, or why it is refused."""
        match = TOKEN_PATTERN.fullmatch(token)
        if match is None:
            return Refusal.MALFORMED
        record = next((t for t in self.tokens if t.id == match["id"]), None)
        if record is None or not record.matches(token):
            return Refusal.UNKNOWN
        if record.expired(now):
            return Refusal.EXPIRED
        return record

    def find(self, token_id: str) -> TokenRecord:
        for record in self.tokens:
            if record.id == token_id:
                return record
        raise NotFound(f"no API token has the id {token_id!r} (containerops tokens list shows them)")

    def adding(self, record: TokenRecord) -> TokenHashes:
        if len(self.tokens) >= MAX_TOKENS:
            raise InvalidRequest(f"there are already {MAX_TOKENS} API tokens: revoke some first")
        if any(t.id == record.id for t in self.tokens):
            raise InvalidRequest(f"an API token with the id {record.id} exists already")
        return TokenHashes((*self.tokens, record))

    def without(self, token_id: str) -> TokenHashes:
        self.find(token_id)
        return TokenHashes(tuple(t for t in self.tokens if t.id != token_id))

    def expiring(self, token_id: str, at: float) -> TokenHashes:
        """The list with that token ending at `at` (sooner, never later, than it would)."""
        record = self.find(token_id)
        ends = int(at) if record.expires_at is None else min(int(at), record.expires_at)
        return TokenHashes(tuple(replace(t, expires_at=ends) if t.id == token_id else t
                                 for t in self.tokens))

    def pruned(self, now: float) -> TokenHashes:
        """Without the tokens that have expired: they can never check out again."""
        return TokenHashes(tuple(t for t in self.tokens if not t.expired(now)))


def issue_token(name: str, now: float, expires_at: float | None = None, *,
                random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> IssuedToken:
    """A new token named `name` (a label for people: ci, deploy, alice@laptop) and its record."""
    if len(name) > MAX_NAME or not NAME_PATTERN.fullmatch(name):
        raise InvalidRequest(f"a token name is 1 to {MAX_NAME} letters, digits, spaces or . _ @ -,"
                             " starting with a letter or digit")
    if expires_at is not None and int(expires_at) <= int(now):
        raise InvalidRequest("a token must expire after it is made")
    token_id = random_bytes(ID_HEX_DIGITS // 2).hex()
    secret = _urlsafe(random_bytes(SECRET_BYTES))
    token = f"{TOKEN_PREFIX}{token_id}_{secret}"
    salt = random_bytes(SALT_BYTES)
    record = TokenRecord(id=token_id, name=name, created_at=int(now),
                         expires_at=None if expires_at is None else int(expires_at),
                         salt=salt.hex(), sha256=_digest(salt, token).hex())
    return IssuedToken(token, record)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when there is none."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _digest(salt: bytes, token: str) -> bytes:
    return hashlib.sha256(salt + token.encode("utf-8")).digest()


def _urlsafe(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _is_hex(text: str, size: int) -> bool:
    return re.fullmatch(f"[0-9a-f]{{{2 * size}}}", text) is not None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: Any) -> int:
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a time")
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
