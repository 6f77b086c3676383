"""What `chalice package` bundles for the Lambda (requirements.txt): the API's runtime
libraries at the versions pyproject.toml pins, and none of the CLI's or the local driver's."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.infra.templates import ROOT

LOCAL_ONLY = {"click", "rich", "docker"}  # the CLI and the local Docker driver
CHALICE_ADDS_ITSELF = {"chalice"}  # chalice package puts its own runtime in the bundle
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)$")


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        assert match, f"{line!r} is not an exact pin"
        found[normalised(match[1])] = match[2]
    return found


def bundled() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return pins([line for line in lines if line.strip() and not line.lstrip().startswith("#")])


def project_dependencies() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return pins(project["dependencies"])


def test_every_runtime_dependency_of_the_api_is_bundled_at_the_projects_version() -> None:
    wanted = {n: v for n, v in project_dependencies().items() if n not in LOCAL_ONLY | CHALICE_ADDS_ITSELF}
    assert {n: bundled().get(n) for n in wanted} == wanted


def test_nothing_local_only_or_chalice_itself_is_bundled() -> None:
    assert set(bundled()) & (LOCAL_ONLY | CHALICE_ADDS_ITSELF) == set()


def test_the_api_imports_without_the_cli_and_docker_libraries() -> None:
    blocked = ", ".join(repr(name) for name in sorted(LOCAL_ONLY))
    program = f"import sys\nfor name in ({blocked},):\n    sys.modules[name] = None\nimport app\n"
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
