import pytest

from semverlite import Version, bump, compare_versions, parse_version


def test_parse_reads_the_three_numbers_and_the_prerelease():
    assert parse_version("v1.4.2-rc.1") == Version(1, 4, 2, "rc.1")


def test_parse_rejects_text_that_is_not_a_version():
    with pytest.raises(ValueError, match="not a semantic version"):
        parse_version("1.4")


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.2.0", "1.10.0", -1),
        ("2.0.0", "2.0.0-rc.1", 1),
        ("1.0.0-alpha.2", "1.0.0-alpha.10", -1),
    ],
)
def test_compare_orders_versions_by_precedence(left, right, expected):
    assert compare_versions(left, right) == expected


def test_bump_resets_the_lower_parts_and_drops_the_prerelease():
    assert bump("1.4.2-rc.1", "minor") == "1.5.0"
    assert bump("1.4.2", "major") == "2.0.0"
    assert bump("1.4.2", "patch") == "1.4.3"


def test_bump_rejects_an_unknown_part():
    with pytest.raises(ValueError, match="unknown version part"):
        bump("1.0.0", "build")


def test_version_prints_as_it_is_written():
    assert str(parse_version("3.0.1-beta")) == "3.0.1-beta"
