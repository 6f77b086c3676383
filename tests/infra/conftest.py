"""The two templates the infra tests read: the merge template as written (infra/), and the
packaged template Chalice makes from it and the app (once per session, in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.templates import Template, load_merge_template, package_without_dependencies


@pytest.fixture(scope="session")
def merge_template() -> Template:
    return load_merge_template()


@pytest.fixture(scope="session")
def packaged_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    workdir: Path = tmp_path_factory.mktemp("chalice-package")
    return package_without_dependencies(workdir)


@pytest.fixture(params=["merge template", "packaged template"])
def any_template(request: pytest.FixtureRequest, merge_template: Template,
                 packaged_template: Template) -> Template:
    """Each sentence about IAM holds for what is written and for what gets deployed (which
    adds Chalice's own resources)."""
    return merge_template if request.param == "merge template" else packaged_template
