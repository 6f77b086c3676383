"""The local driver keeps jobs to the host folders its policy allows (chalicelib/domain/
host_mounts.py), on a scripted fake engine: a refused mount fails its job before any
container starts, held or not; an allowed one reaches the engine as its real path; a run
whose definition writes out a refused mount is not created; a container a previous process
started with a mount refused now is stopped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.catalog import InMemoryCatalog
from chalicelib.domain.host_mounts import MountPolicy
from chalicelib.domain.models import Workflow
from chalicelib.domain.states import AttemptState, JobState, RunState
from chalicelib.engine.engine import JobPlan, RunContext, plan_job
from chalicelib.engine.records import AttemptRecord, RunRecord
from chalicelib.errors import InvalidDefinition
from chalicelib.launch.base import ContainerRef, ContainerSpec, Started
from chalicelib.local.attempt import LABEL_JOB, AttemptSettings, container_spec
from chalicelib.local.driver import LocalDriver
from chalicelib.store.sqlite import SqliteStore, open_store
from tests.builders import action, job, stage, workflow
from tests.fakes.launcher import FakeLauncher, Script, hangs


@dataclass
class Host:
    store: SqliteStore
    launcher: FakeLauncher
    data_dir: Path
    allowed: Path

    def driver(self, *, warm_start: bool = False, mounts: MountPolicy | None = None) -> LocalDriver:
        return LocalDriver(self.store, self.launcher, InMemoryCatalog(), self.data_dir,
                           logs=self.store, warm_start=warm_start, container_user="1000:1000",
                           mounts=mounts or MountPolicy.allowing([self.allowed]))

    def run(self, flow: Workflow, *, warm_start: bool = False, **params: str) -> RunRecord:
        self.store.save_workflow(flow)
        driver = self.driver(warm_start=warm_start)
        created = driver.create_run(flow.metadata.namespace, flow.metadata.name, params)
        return driver.execute(created.id)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    allowed = tmp_path / "allowed"
    (allowed / "repo").mkdir(parents=True)
    (tmp_path / "private").mkdir()
    store = open_store(tmp_path / "data")
    yield Host(store, FakeLauncher(), tmp_path / "data", allowed)
    store.close()


def two_jobs(mounted: dict[str, Any]) -> Workflow:
    """`prepare`, then `use`, which mounts `mounted`; the source is the param `dir`."""
    return workflow(
        stage("first", action("a", job("prepare"))),
        stage("second", action("b", job("use", mounts=[mounted]))),
        params=[{"name": "dir", "required": True}],
    )


FROM_PARAM = {"source": "${{ params.dir }}", "target": "/src"}


def test_a_mount_resolved_outside_the_roots_fails_its_job_before_any_container_starts(
    host: Host, tmp_path: Path
) -> None:
    run = host.run(two_jobs(FROM_PARAM), dir=f"{host.allowed}/../private")
    use = {record.name: record for record in host.store.list_jobs(run.id)}["use"]
    assert run.status is RunState.FAILED
    assert use.status is JobState.FAILED
    assert f"{host.allowed}/../private (really {tmp_path}/private) is outside" in use.reason
    assert host.launcher.launched("use") == []


class HoldingLauncher(FakeLauncher):
    """The fake engine, able to start containers held (as Docker is, with its gate)."""

    def __init__(self) -> None:
        super().__init__()
        self.held_for: list[str] = []

    def can_hold(self, env_names: Iterable[str]) -> bool:
        return True

    def start_held(self, spec: ContainerSpec) -> ContainerRef:
        self.held_for.append(spec.labels[LABEL_JOB])
        return self.leave_running(spec, Script()).ref

    def release(self, container: ContainerRef, env: dict[str, str]) -> Started:
        return Started(container, self.output(container))


@pytest.mark.parametrize(("directory", "held"), [("allowed/repo", ["use"]), ("private", [])])
def test_a_refused_mount_is_not_started_early_as_a_held_container_either(
    host: Host, tmp_path: Path, directory: str, held: list[str]
) -> None:
    host.launcher = HoldingLauncher()
    run = host.run(two_jobs(FROM_PARAM), warm_start=True, dir=str(tmp_path / directory))
    assert host.launcher.held_for == held
    assert run.status is (RunState.SUCCEEDED if held else RunState.FAILED)


def test_an_allowed_mount_reaches_the_engine_as_its_real_path(host: Host) -> None:
    (host.allowed / "link").symlink_to(host.allowed / "repo")
    run = host.run(two_jobs(FROM_PARAM), dir=f"{host.allowed}/link")
    assert run.status is RunState.SUCCEEDED
    [container] = host.launcher.launched("use")
    assert [(m.source, m.target) for m in container.spec.mounts[1:]] == [
        (str(host.allowed / "repo"), "/src")]


def test_a_run_whose_definition_writes_out_a_refused_mount_is_not_created(host: Host) -> None:
    flow = two_jobs({"source": "/etc", "target": "/host-etc"})
    host.store.save_workflow(flow)
    with pytest.raises(InvalidDefinition) as raised:
        host.driver().create_run(flow.metadata.namespace, flow.metadata.name, {"dir": "x"})
    [problem] = raised.value.problems
    assert problem.path == "spec.stages[1].actions[0].jobs[0].mounts[0].source"
    assert "/etc is outside" in problem.message
    assert host.store.list_runs().runs == []


def test_on_ones_own_machine_the_engine_socket_is_refused_at_launch(host: Host) -> None:
    flow = two_jobs(FROM_PARAM)
    host.store.save_workflow(flow)
    driver = LocalDriver(host.store, host.launcher, InMemoryCatalog(), host.data_dir,
                         logs=host.store, warm_start=False, container_user="1000:1000")
    run = driver.execute(driver.create_run(flow.metadata.namespace, flow.metadata.name,
                                           {"dir": "/var/run/docker.sock"}).id)
    use = {record.name: record for record in host.store.list_jobs(run.id)}["use"]
    assert "Docker engine's socket" in use.reason
    assert host.launcher.launched("use") == []


def test_a_container_started_before_a_restart_with_a_mount_refused_now_is_stopped(
    host: Host, tmp_path: Path
) -> None:
    flow = workflow(stage("only", action("a", job("use", mounts=[FROM_PARAM]))),
                    params=[{"name": "dir", "required": True}])
    host.store.save_workflow(flow)
    before = host.driver(mounts=MountPolicy.allowing([tmp_path]))  # wider roots, then
    run = before.create_run(flow.metadata.namespace, flow.metadata.name,
                            {"dir": str(tmp_path / "private")})
    host.store.save_run(replace(run, status=RunState.RUNNING, started_at=run.created_at))
    [record] = host.store.list_jobs(run.id)
    host.store.save_job(replace(record, status=JobState.RUNNING, attempts=1))
    host.store.create_attempt(AttemptRecord(run.id, "use", 1, AttemptState.RUNNING,
                                            container_id="fake-0"))
    use = flow.job_named("use")
    assert use is not None
    planned = plan_job(flow, use, None, RunContext(run.id, params=run.params))
    assert isinstance(planned, JobPlan)
    left = host.launcher.leave_running(
        container_spec(planned, AttemptRecord(run.id, "use", 1), "/ws", AttemptSettings("1000:1000")),
        hangs())

    ended = host.driver().execute(run.id)  # restarted with the narrower roots

    assert ended.status is RunState.FAILED
    assert "is outside the folders" in host.store.list_jobs(run.id)[0].reason
    assert left.removed and left.stopped.is_set()
