"""The Fargate size of a job's resources: the smallest valid pair covering the limit, else the
request, else the smallest size; rounded up, memory raising the CPU when it must."""

from __future__ import annotations

import pytest

from chalicelib.aws.fargate import FARGATE_SIZES, LARGEST, FargateSize, fargate_size
from chalicelib.domain.models import Resources
from chalicelib.errors import LaunchError


def resources(**fields: object) -> Resources:
    return Resources.model_validate(fields)


@pytest.mark.parametrize(("fields", "cpu", "memory"), [
    # nothing asked: Fargate's smallest size
    ({}, 256, 512),
    # exact pairs are kept
    ({"cpu_limit": 0.25, "memory_limit": "512Mi"}, 256, 512),
    ({"cpu_limit": 1, "memory_limit": "8Gi"}, 1024, 8192),
    ({"cpu_limit": 16, "memory_limit": "120Gi"}, 16384, 122880),
    # the limit wins over the request; the request is used when there is no limit
    ({"cpu_request": 0.25, "cpu_limit": 2}, 2048, 4096),
    ({"memory_request": "1Gi", "memory_limit": "3Gi"}, 512, 3072),
    ({"cpu_request": 1}, 1024, 2048),
    ({"memory_request": "2Gi"}, 256, 2048),
    # CPU rounds up to the next size
    ({"cpu_limit": 0.1}, 256, 512),
    ({"cpu_limit": 0.26}, 512, 1024),
    ({"cpu_limit": 0.5}, 512, 1024),
    ({"cpu_limit": 1.5}, 2048, 4096),
    ({"cpu_limit": 4.001}, 8192, 16384),
    ({"cpu_limit": 9}, 16384, 32768),
    # memory rounds up within the CPU's steps (1024, then 4096, then 8192)
    ({"memory_limit": "513Mi"}, 256, 1024),
    ({"memory_limit": "1G"}, 256, 1024),  # 10^9 bytes is 954 MiB
    ({"memory_limit": "1025Mi"}, 256, 2048),
    ({"cpu_limit": 0.5, "memory_limit": "1537Mi"}, 512, 2048),
    ({"cpu_limit": 8, "memory_limit": "16385Mi"}, 8192, 20480),
    ({"cpu_limit": 16, "memory_limit": "32769Mi"}, 16384, 40960),
    # memory too large for the CPU raises the CPU, to the first one that can hold it
    ({"cpu_limit": 0.25, "memory_limit": "2049Mi"}, 512, 3072),
    ({"cpu_limit": 0.25, "memory_limit": "4097Mi"}, 1024, 5120),
    ({"cpu_limit": 0.5, "memory_limit": "8193Mi"}, 2048, 9216),
    ({"memory_limit": "16385Mi"}, 4096, 17408),
    ({"memory_limit": "30721Mi"}, 8192, 32768),
    ({"memory_limit": "60Gi"}, 8192, 61440),
    ({"memory_limit": "61441Mi"}, 16384, 65536),
])
def test_the_size_is_the_smallest_valid_pair_covering_what_the_job_asks(
        fields: dict[str, object], cpu: int, memory: int) -> None:
    assert fargate_size(resources(**fields)) == FargateSize(cpu, memory)


ALL_PAIRS = [(cpu, memory) for cpu, memories in FARGATE_SIZES for memory in memories]


@pytest.mark.parametrize(("cpu", "memory"), ALL_PAIRS)
def test_every_valid_pair_asked_exactly_is_the_size(cpu: int, memory: int) -> None:
    assert fargate_size(resources(cpu_limit=cpu / 1024, memory_limit=f"{memory}Mi")) == (
        FargateSize(cpu, memory))


def test_the_table_is_fargates() -> None:
    assert len(ALL_PAIRS) == 3 + 4 + 7 + 13 + 23 + 12 + 12
    assert FargateSize(16384, 122880) == LARGEST
    assert all(list(memories) == sorted(memories) for _, memories in FARGATE_SIZES)


@pytest.mark.parametrize(("fields", "asked"), [
    ({"cpu_limit": 16.5}, "16.5 vCPU and 512Mi"),
    ({"cpu_limit": 32, "memory_limit": "4Gi"}, "32 vCPU and 4Gi"),
    ({"memory_limit": "122881Mi"}, "0.25 vCPU and 122881Mi of memory (122881 MiB)"),
    ({"cpu_limit": 16, "memory_limit": "121Gi"}, "16 vCPU and 121Gi of memory (123904 MiB)"),
    ({"memory_request": "1Ti"}, "0.25 vCPU and 1Ti"),
])
def test_more_than_the_largest_size_is_a_launch_error_saying_what_was_asked(
        fields: dict[str, object], asked: str) -> None:
    with pytest.raises(LaunchError) as raised:
        fargate_size(resources(**fields))
    assert asked in str(raised.value)
    assert "the largest Fargate size (16 vCPU with 122880 MiB)" in str(raised.value)
