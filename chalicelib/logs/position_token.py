"""The opaque `LogPosition.token` of stream-backed log sources: a `ReadState`, signed.

A token is URL-safe base64 of `{"v": 1, "s": [seq, shown_bytes, last_ms, capped,
cloudwatch_token], "m": mac}`; `mac` is an HMAC-SHA256 (first 16 bytes) of the state together
with the attempt and the stream name, under the source's key. The key makes a token
unforgeable: a token that was cut, edited, made for another attempt or stream, or made
under another key (another process without the shared key) decodes to None, and the
source then reads from the head and skips, which is slower but never wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from chalicelib.logs.reader_view import AttemptKey, ReadState

VERSION = 1
_MAC_BYTES = 16


def encode_token(state: ReadState, key: AttemptKey, stream: str, secret: bytes) -> str:
    fields = [state.seq, state.shown_bytes, state.last_ms, state.capped, state.token]
    document = {"v": VERSION, "s": fields, "m": _b64(_mac(fields, key, stream, secret))}
    return _b64(json.dumps(document, separators=(",", ":")).encode())


def decode_token(token: str, key: AttemptKey, stream: str, secret: bytes) -> ReadState | None:
    """The state a token carries, or None when it is not one this key made for this stream."""
    if not token:
        return None
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if not isinstance(document, dict) or document.get("v") != VERSION:
            return None
        fields = document["s"]
        mac = base64.urlsafe_b64decode(str(document["m"]).encode("ascii"))
    except (ValueError, KeyError, binascii.Error):  # not even a token
        return None
    if not _well_formed(fields):
        return None
    if not hmac.compare_digest(mac, _mac(fields, key, stream, secret)):
        return None
    seq, shown_bytes, last_ms, capped, cloudwatch_token = fields
    return ReadState(seq, shown_bytes, last_ms, capped, cloudwatch_token)


def _well_formed(fields: Any) -> bool:
    if not isinstance(fields, list) or len(fields) != 5:
        return False
    *numbers, capped, cloudwatch_token = fields
    return (all(type(n) is int and n >= 0 for n in numbers) and type(capped) is bool
            and isinstance(cloudwatch_token, str))


def _mac(fields: list[Any], key: AttemptKey, stream: str, secret: bytes) -> bytes:
    signed = json.dumps([list(key), stream, fields], separators=(",", ":")).encode()
    return hmac.new(secret, signed, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")
