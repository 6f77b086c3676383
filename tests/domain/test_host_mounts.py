"""What a job may mount from its host (chalicelib/domain/host_mounts.py): the operator's roots,
their escapes (`..`, links, a root that is a link, a name that only starts like a root), the
engine's socket under any policy, and the own-account policy of `containerops run`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chalicelib.domain.host_mounts import (
    NO_HOST_MOUNTS,
    MountAdmitted,
    MountPolicy,
    MountRefused,
    is_within,
    mount_problems,
    written_source,
)
from tests.builders import action, job, stage, workflow


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "srv" / "data"
    (folder / "repo").mkdir(parents=True)
    return folder


def refused(verdict: object) -> str:
    assert isinstance(verdict, MountRefused), verdict
    return verdict.reason


# --- the roots of `containerops serve` ------------------------------------------------------

def test_a_folder_under_an_allowed_root_is_mounted_from_its_real_path(data: Path) -> None:
    policy = MountPolicy.allowing([data])
    assert policy.judge(f"{data}/repo") == MountAdmitted(os.path.realpath(data / "repo"))
    assert policy.judge(str(data)) == MountAdmitted(os.path.realpath(data))


def test_a_path_outside_every_root_is_refused_naming_it_the_roots_and_the_remedy(
    data: Path, tmp_path: Path
) -> None:
    reason = refused(MountPolicy.allowing([data]).judge(str(tmp_path)))
    assert str(tmp_path) in reason and str(data) in reason
    assert "outside the folders this server allows mounting" in reason
    assert "--allow-mount DIR" in reason


def test_dot_dot_cannot_climb_out_of_a_root(data: Path) -> None:
    reason = refused(MountPolicy.allowing([data]).judge(f"{data}/repo/../../elsewhere"))
    assert f"really {data.parent}/elsewhere" in reason


def test_dot_dot_that_stays_inside_a_root_is_fine(data: Path) -> None:
    assert MountPolicy.allowing([data]).judge(f"{data}/repo/../repo") == MountAdmitted(
        str(data / "repo"))


def test_a_link_inside_a_root_cannot_lead_out_of_it(data: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (data / "way-out").symlink_to(secret)
    reason = refused(MountPolicy.allowing([data]).judge(f"{data}/way-out"))
    assert f"really {secret}" in reason


def test_dot_dot_is_taken_after_the_link_it_follows_as_the_kernel_does(
    data: Path, tmp_path: Path
) -> None:
    """`root/link/..` is the parent of the link's target, not the root: a lexical clean-up
    would wrongly allow it."""
    deep = tmp_path / "outside" / "deep"
    deep.mkdir(parents=True)
    (data / "link").symlink_to(deep)
    reason = refused(MountPolicy.allowing([data]).judge(f"{data}/link/.."))
    assert f"really {tmp_path}/outside" in reason


def test_a_root_given_as_a_link_allows_its_target_and_nothing_beside_it(tmp_path: Path) -> None:
    real_root = tmp_path / "volumes" / "data"
    (real_root / "cache").mkdir(parents=True)
    (tmp_path / "volumes" / "other").mkdir()
    link = tmp_path / "data-link"
    link.symlink_to(real_root)
    policy = MountPolicy.allowing([link])

    assert policy.roots == (str(real_root),)
    assert policy.judge(f"{link}/cache") == MountAdmitted(str(real_root / "cache"))
    assert policy.judge(f"{real_root}/cache") == MountAdmitted(str(real_root / "cache"))
    refused(policy.judge(f"{link}/../other"))
    refused(policy.judge(str(tmp_path / "volumes" / "other")))


def test_a_name_that_only_starts_like_a_root_is_not_under_it(tmp_path: Path) -> None:
    (tmp_path / "srv" / "data").mkdir(parents=True)
    (tmp_path / "srv" / "data2").mkdir()
    policy = MountPolicy.allowing([tmp_path / "srv" / "data"])
    refused(policy.judge(str(tmp_path / "srv" / "data2")))
    assert not is_within("/srv/data2", "/srv/data")
    assert is_within("/srv/data/x", "/srv/data") and is_within("/srv/data", "/srv/data")
    assert is_within("/srv", "/")


def test_a_relative_source_is_refused() -> None:
    assert "not an absolute host path" in refused(MountPolicy.allowing(["/"]).judge("data/repo"))


def test_without_roots_no_host_path_is_mounted_and_the_reason_says_how_to_allow_one() -> None:
    reason = refused(NO_HOST_MOUNTS.judge("/tmp"))
    assert "this server allows no host mounts" in reason and "--allow-mount DIR" in reason
    assert MountPolicy.allowing([]) == MountPolicy(roots=())


def test_a_root_that_is_not_a_folder_cannot_be_allowed(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    for folder in (tmp_path / "missing", tmp_path / "file"):
        with pytest.raises(ValueError, match="is not a folder"):
            MountPolicy.allowing([folder])


# --- the engine's socket, under every policy ------------------------------------------------

@pytest.mark.parametrize("source", ["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run",
                                    "/", "/srv/any/docker.sock", "/run/../run/docker.sock"])
@pytest.mark.parametrize("policy", [MountPolicy.allowing(["/"]), MountPolicy.own_account()],
                         ids=["root-allowed", "own-account"])
def test_the_engine_socket_or_a_folder_holding_it_is_never_mounted(
    policy: MountPolicy, source: str
) -> None:
    assert "Docker engine's socket" in refused(policy.judge(source))


def test_a_link_to_the_engine_socket_is_refused(data: Path) -> None:
    (data / "engine").symlink_to("/var/run/docker.sock")
    (data / "run").symlink_to("/run")
    policy = MountPolicy.allowing([data])
    assert "Docker engine's socket" in refused(policy.judge(f"{data}/engine"))
    assert "Docker engine's socket" in refused(policy.judge(f"{data}/run"))


def test_the_socket_docker_host_names_is_refused_with_its_folder(tmp_path: Path) -> None:
    user_run = tmp_path / "run" / "user" / "1000"
    (user_run / "app").mkdir(parents=True)
    policy = MountPolicy.allowing([tmp_path], engine_sockets=[f"{user_run}/engine.sock"])
    assert "Docker engine's socket" in refused(policy.judge(str(user_run)))
    assert "Docker engine's socket" in refused(policy.judge(f"{user_run}/engine.sock"))
    assert policy.judge(f"{user_run}/app") == MountAdmitted(str(user_run / "app"))


# --- one's own machine (`containerops run`) -------------------------------------------------

def test_on_ones_own_machine_what_the_account_can_open_is_mounted(data: Path) -> None:
    assert MountPolicy.own_account().judge(str(data), read_only=False) == MountAdmitted(str(data))


def test_on_ones_own_machine_what_the_account_cannot_read_is_refused(data: Path) -> None:
    asked: list[tuple[str, int]] = []

    def no_access(path: str, mode: int) -> bool:
        asked.append((path, mode))
        return False

    reason = refused(MountPolicy.own_account(access=no_access).judge(str(data)))
    assert f"your account cannot read {data}" in reason
    assert asked == [(str(data), os.R_OK | os.X_OK)]


def test_a_writable_mount_needs_the_account_to_be_able_to_write(data: Path) -> None:
    def read_only_access(path: str, mode: int) -> bool:
        return not mode & os.W_OK

    policy = MountPolicy.own_account(access=read_only_access)
    assert policy.judge(str(data), read_only=True) == MountAdmitted(str(data))
    assert "cannot read and write" in refused(policy.judge(str(data), read_only=False))


def test_on_ones_own_machine_a_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    assert "does not exist" in refused(MountPolicy.own_account().judge(str(tmp_path / "nope")))


# --- at validation: the sources a definition writes out in full ----------------------------

def test_written_out_sources_are_judged_and_built_ones_wait_for_launch() -> None:
    assert written_source("/srv/data") == "/srv/data"
    assert written_source("${{ params.dir }}") is None
    assert written_source("/srv/${{ params.dir }}") is None


def test_a_refused_written_out_source_is_a_problem_at_its_path(data: Path) -> None:
    flow = workflow(stage("s", action("a", job("ok", mounts=[{"source": str(data), "target": "/d"}]),
                                      job("bad", mounts=[
                                          {"source": "${{ params.dir }}", "target": "/p"},
                                          {"source": "/etc", "target": "/etc-host"}]))),
                    params=[{"name": "dir"}])
    [problem] = mount_problems(flow, MountPolicy.allowing([data]))
    assert problem.path == "spec.stages[0].actions[0].jobs[1].mounts[1].source"
    assert "/etc is outside the folders" in problem.message
