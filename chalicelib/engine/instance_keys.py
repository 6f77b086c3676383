"""The names of fan-out instances: `<job>.<index>`, and back.

An instance of a fan-out job is stored as a job record of its own named `test.3` (design
§2): a job name never holds a `.` (letters, digits, `_`, `-`), and `.` is valid in
CloudWatch stream names, Docker labels, URLs and state names, so the key is never mistaken
for a workflow job and needs no escaping anywhere. The index is written in decimal without
leading zeros, so each instance has exactly one key (`test.03` is no instance key).
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = "."


@dataclass(frozen=True)
class InstanceName:
    """What an instance key names: the fan-out job (its group) and the instance's index."""

    job: str
    index: int


def instance_key(job: str, index: int) -> str:
    """`test.3`: the record name of instance `index` of fan-out job `job`."""
    if index < 0:
        raise ValueError(f"an instance index is never negative, not {index}")
    if SEPARATOR in job:
        raise ValueError(f"'{job}' is an instance key, not a job name")
    return f"{job}{SEPARATOR}{index}"


def split_instance_key(name: str) -> InstanceName | None:
    """The job and index `name` names when it is an instance key; None for a job name."""
    job, separator, digits = name.rpartition(SEPARATOR)
    if not separator or not job or SEPARATOR in job or not digits.isascii() or not digits.isdigit():
        return None
    if digits != str(int(digits)):  # leading zeros: not the one key of that instance
        return None
    return InstanceName(job, int(digits))


def is_instance_key(name: str) -> bool:
    return split_instance_key(name) is not None
