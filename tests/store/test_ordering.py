"""The version order every store lists component versions in."""

from __future__ import annotations

from chalicelib.store.ordering import version_order


def test_versions_sort_as_numbers_with_pre_releases_first() -> None:
    versions = ["1.10.0", "1.0.0", "2", "1.2.0", "1.0.0-rc1", "0.9", "1.0.0+build5", "weird"]
    assert sorted(versions, key=version_order) == [
        "weird", "0.9", "1.0.0-rc1", "1.0.0", "1.0.0+build5", "1.2.0", "1.10.0", "2"]
