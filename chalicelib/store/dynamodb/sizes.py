"""What fits in one DynamoDB item, checked before writing so a refusal says why.

DynamoDB refuses an item over 400 KB with a ValidationException that names no field. The
store measures an item the way DynamoDB counts it (attribute names plus values, numbers by
their digits, maps and lists with their small overheads) and refuses a record that cannot fit
with a sentence: `InvalidRequest` for a job or attempt record (it is the writer's record that
breaks a limit, as the protocol caps a job's outputs at MAX_OUTPUTS_BYTES so a record within
the protocol always fits), `PayloadTooLarge` for a workflow or component document (it is the
body a user sent). Workflow documents are stored zlib-compressed: a 5,000-job workflow is a
few MB of JSON but compresses to tens of KB, so only an unusual document is refused.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from pydantic import BaseModel

from chalicelib.domain.protocol import MAX_OUTPUTS_BYTES
from chalicelib.errors import InvalidRequest, PayloadTooLarge
from chalicelib.store import messages

MAX_ITEM_BYTES = 400 * 1024
COMPRESSION_LEVEL = 6


def canonical_json(model: BaseModel) -> str:
    """A component as stored: sorted keys, no spaces, so equal documents are equal text."""
    document = model.model_dump(mode="json", by_alias=True)
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def ordered_json(model: BaseModel) -> str:
    """A workflow as stored: no spaces, keys in the order written (a matrix's axes number its
    instances, and `data` reads as the user wrote it)."""
    return json.dumps(model.model_dump(mode="json", by_alias=True), separators=(",", ":"))


def compress(text: str) -> bytes:
    return zlib.compress(text.encode(), COMPRESSION_LEVEL)


def decompress(blob: bytes) -> str:
    return zlib.decompress(blob).decode()


def item_bytes(attributes: dict[str, dict[str, Any]]) -> int:
    """The size DynamoDB counts for a serialized item (PynamoDB's `serialize()` shape)."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in attributes.items())


def _value_bytes(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        return len(str(data).lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in data)
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(len(str(n)) // 2 + 2 for n in data)
    return sum(len(b) for b in data)  # BS


def outputs_bytes(outputs: dict[str, str]) -> int:
    """Measured as the protocol measures them (OutputCollector.total_bytes)."""
    return sum(len(value.encode()) for value in outputs.values())


def check_outputs(what: str, outputs: dict[str, str]) -> None:
    size = outputs_bytes(outputs)
    if size > MAX_OUTPUTS_BYTES:
        raise InvalidRequest(messages.outputs_too_large(what, size, MAX_OUTPUTS_BYTES))


def check_record(what: str, attributes: dict[str, dict[str, Any]]) -> None:
    size = item_bytes(attributes)
    if size > MAX_ITEM_BYTES:
        raise InvalidRequest(
            f"{what} would take {size} bytes in the store, more than the {MAX_ITEM_BYTES}"
            " one DynamoDB item may hold; the record was not saved"
        )


def check_document(what: str, attributes: dict[str, dict[str, Any]], *, compressed: bool) -> None:
    size = item_bytes(attributes)
    if size > MAX_ITEM_BYTES:
        how = " even compressed" if compressed else ""
        raise PayloadTooLarge(
            f"{what} takes {size} bytes{how}, more than the {MAX_ITEM_BYTES} one stored version"
            " may hold; split it into smaller definitions"
        )
