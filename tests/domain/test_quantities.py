"""Durations ("90s", "1h30m") and memory quantities ("128Mi") as users write them."""

from __future__ import annotations

import pytest

from chalicelib.domain.quantities import parse_duration, parse_memory


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        ("1m30s", 90.0),
        ("1h0m5s", 3605.0),
        ("1.5h", 5400.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("0", 0.0),
        ("  10m  ", 600.0),
    ],
)
def test_duration_text_is_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("number", "seconds"), [(90, 90.0), (1.5, 1.5), (0, 0.0)])
def test_duration_number_is_seconds(number: int | float, seconds: float) -> None:
    assert parse_duration(number) == seconds


@pytest.mark.parametrize(
    "text", ["", "  ", "10x", "m", "ten minutes", "10 m", "1h 30m", "-5s", "s10", "10m!", "1e3"]
)
def test_malformed_duration_is_rejected_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="write it like 30s, 10m, 2h or 1h30m"):
        parse_duration(text)


def test_negative_number_of_seconds_is_rejected() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        parse_duration(-1)


def test_boolean_is_not_a_duration() -> None:
    with pytest.raises(ValueError, match="number of seconds"):
        parse_duration(True)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512", 512),
        (2048, 2048),
        ("1Ki", 1024),
        ("128Mi", 128 * 1024**2),
        ("1Gi", 1024**3),
        ("1Ti", 1024**4),
        ("1.5Gi", 3 * 1024**3 // 2),
        ("1k", 1000),
        ("1K", 1000),
        ("1M", 1000**2),
        ("1G", 1000**3),
        ("2T", 2 * 1000**4),
        (" 64Mi ", 64 * 1024**2),
    ],
)
def test_memory_is_read_the_kubernetes_way(text: str | int, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "Mi", "1MB", "1 Gi", "-1Mi", "1mi", "lots", "1e9"])
def test_malformed_memory_is_rejected_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="write it like 128Mi or 1Gi"):
        parse_memory(text)
