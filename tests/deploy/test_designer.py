"""The designer's files get the right Content-Type and cache policy."""

from __future__ import annotations

from pathlib import Path

from chalicelib.deploy.designer import cache_control, content_type, designer_files, site_config


def test_types_do_not_depend_on_the_machines_tables() -> None:
    assert content_type("index.html") == "text/html; charset=utf-8"
    assert content_type("assets/index-x.js") == "text/javascript; charset=utf-8"
    assert content_type("config.json") == "application/json"
    assert content_type("blob.unknownkind") == "application/octet-stream"


def test_hashed_assets_are_kept_for_a_year_and_the_page_and_config_revalidated() -> None:
    assert cache_control("assets/index-x.js") == "public, max-age=31536000, immutable"
    assert cache_control("index.html") == cache_control("config.json") == "no-cache"
    assert cache_control("favicon.svg") == "public, max-age=300"


def test_a_config_json_built_into_the_designer_is_replaced_by_the_stacks(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>")
    (tmp_path / "config.json").write_text('{"api": "elsewhere"}')
    assert [f.key for f in designer_files(tmp_path)] == ["index.html"]
    assert site_config("https://x/api/api") == b'{\n  "api": "https://x/api/api"\n}\n'
