"""The Fargate size of a job: the smallest valid Fargate CPU/memory pair that covers what the
job asks for.

A job asks in Kubernetes terms (`Resources`: vCPU as a number, memory as a quantity such as
`1Gi`); Fargate only runs a fixed table of CPU/memory pairs. The size covers the limit (a
container may grow to it), else the request, else Fargate's smallest size; both are rounded
UP to a pair, and memory too large for a CPU raises the CPU, because Fargate pairs a CPU with a
range of memory only. A job larger than Fargate's largest pair cannot run there: LaunchError,
saying what was asked. Pure code: no boto3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.domain.models import Resources
from chalicelib.domain.quantities import parse_memory
from chalicelib.errors import LaunchError

CPU_UNITS_PER_VCPU = 1024
MIB = 1024**2
DEFAULT_VCPU = 0.25
DEFAULT_MEMORY = "512Mi"


def _memory_range(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


# CPU units -> the memory sizes (MiB) Fargate runs with it, both ascending (Linux tasks).
FARGATE_SIZES: tuple[tuple[int, tuple[int, ...]], ...] = (
    (256, (512, 1024, 2048)),
    (512, _memory_range(1024, 4096, 1024)),
    (1024, _memory_range(2048, 8192, 1024)),
    (2048, _memory_range(4096, 16384, 1024)),
    (4096, _memory_range(8192, 30720, 1024)),
    (8192, _memory_range(16384, 61440, 4096)),
    (16384, _memory_range(32768, 122880, 8192)),
)


@dataclass(frozen=True)
class FargateSize:
    """A valid Fargate pair: CPU units (1024 = 1 vCPU) and memory in MiB, as the task
    definition's `cpu` and `memory` take them."""

    cpu: int
    memory: int

    @property
    def vcpu(self) -> float:
        return self.cpu / CPU_UNITS_PER_VCPU


LARGEST = FargateSize(FARGATE_SIZES[-1][0], FARGATE_SIZES[-1][1][-1])


def cpu_units(vcpu: float) -> int:
    """CPU units of a vCPU amount, rounded up (the rounding of `round` keeps 0.1 * 1024's
    float error from adding a unit)."""
    return math.ceil(round(vcpu * CPU_UNITS_PER_VCPU, 6))


def memory_mib(quantity: str) -> int:
    """MiB of a memory quantity, rounded up: 1G (10^9 bytes) is 954 MiB."""
    return -(-parse_memory(quantity) // MIB)


def fargate_size(resources: Resources) -> FargateSize:
    """The smallest valid pair with at least the CPU and the memory the job asks for."""
    vcpu = resources.cpu_limit or resources.cpu_request or DEFAULT_VCPU
    memory = resources.memory_limit or resources.memory_request or DEFAULT_MEMORY
    wanted_cpu, wanted_memory = cpu_units(vcpu), memory_mib(memory)
    for cpu, memories in FARGATE_SIZES:
        if cpu < wanted_cpu:
            continue
        for size in memories:
            if size >= wanted_memory:
                return FargateSize(cpu, size)
    raise LaunchError(
        f"the job asks for {vcpu:g} vCPU and {memory} of memory ({wanted_memory} MiB), more than"
        f" the largest Fargate size ({LARGEST.vcpu:g} vCPU with {LARGEST.memory} MiB)"
    )
