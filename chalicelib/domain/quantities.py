"""Parsing of human quantities in definitions: durations ("90s", "1h30m") and memory ("128Mi")."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T|k)?$")
_MEMORY_UNITS = {
    None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
    "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
}


def parse_duration(text: str | int | float) -> float:
    """Seconds in a duration: a number of seconds, or units like "10m", "1h30m", "500ms"."""
    if isinstance(text, bool):
        raise ValueError("a duration is a number of seconds or text like '10m'")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    compact = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", compact):
        return float(compact)
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(compact):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(compact) or not compact:
        raise ValueError(f"'{text}' is not a duration; write it like 30s, 10m, 2h or 1h30m")
    return total


def parse_memory(text: str | int) -> int:
    """Bytes in a memory quantity written the Kubernetes way: 512Mi, 1Gi, 1G, or plain bytes."""
    match = _MEMORY.match(str(text).strip())
    if not match:
        raise ValueError(f"'{text}' is not a memory quantity; write it like 128Mi or 1Gi")
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])
