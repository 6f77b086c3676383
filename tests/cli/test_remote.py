"""`run`, `rerun`, `runs`, `logs`, `cancel` and `resume` with `--server URL`, against a real
`containerops serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from tests.local.conftest import EXAMPLES, busybox_workflow, shell_job, wait_until
from tests.test_server import free_port, serve_environment

CLI = [sys.executable, "-m", "chalicelib.cli.main"]


@dataclass
class RemoteCli:
    """The CLI pointed at one running server (its own data dir stays empty)."""

    url: str
    client_dir: Path
    server_dir: Path | None = None  # the server's data directory, when the test started it

    def args(self, *args: str) -> list[str]:
        return [*CLI, "--data-dir", str(self.client_dir), *args, "--server", self.url]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.args(*args), capture_output=True, text=True, timeout=300,
                              env=client_environment())

    def start(self, *args: str) -> subprocess.Popen[str]:
        # SIGINT as a terminal sends it, even when the tests run with it ignored (a CI job):
        return subprocess.Popen(self.args(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=client_environment(),
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def history(self, *args: str) -> list[dict[str, Any]]:
        result = self("runs", "--output", "json", *args)
        assert result.returncode == 0, result.stderr
        runs: list[dict[str, Any]] = json.loads(result.stdout)
        return runs


def stop(process: subprocess.Popen[str]) -> None:
    """Kill it if it still runs, and close its pipes."""
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def client_environment() -> dict[str, str]:
    return {**serve_environment(), "COLUMNS": "200"}


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory, docker_engine: docker.DockerClient,
           ) -> Iterator[RemoteCli]:
    top = tmp_path_factory.mktemp("remote")
    port = free_port()
    log = top / "serve.log"  # a file: a full pipe would block the server
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*CLI, "--data-dir", str(top / "server"), "serve", "--port", str(port),
             "--static-dir", str(top / "none")],
            stdout=sink, stderr=subprocess.STDOUT, text=True, env=serve_environment(),
        )
    try:
        wait_until(lambda: f"serving http://127.0.0.1:{port}" in log.read_text()
                   or server.poll() is not None, deadline_seconds=30)
        assert server.poll() is None, log.read_text()
        yield RemoteCli(f"http://127.0.0.1:{port}", top / "client", top / "server")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


def long_workflow(tmp_path: Path, name: str) -> Path:
    return write(tmp_path / f"{name}.yaml", busybox_workflow(
        name, shell_job("sleeper", "echo sleeping; sleep 600", timeout="15m")))


def test_a_run_on_the_server_prints_its_record_as_json_and_exits_0(remote: RemoteCli) -> None:
    result = remote("run", str(EXAMPLES / "workflows/hello.yaml"), "--param", "who=Server",
                    "--output", "json")

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["workflow"], record["status"]) == ("examples/hello", "succeeded")
    [job] = record["jobs"]
    assert (job["name"], job["status"], job["exit_code"]) == ("hello", "succeeded", 0)
    assert job["outputs"] == {"GREETING": "Hello, Server!"}
    assert not remote.client_dir.exists()  # the local data directory is not even opened


def test_running_the_same_file_again_reuses_the_saved_version(remote: RemoteCli) -> None:
    first = remote("run", str(EXAMPLES / "workflows/hello.yaml"), "--output", "json")
    second = remote("run", str(EXAMPLES / "workflows/hello.yaml"), "--output", "json")

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout)["workflow_version"] == json.loads(second.stdout)[
        "workflow_version"]


def test_a_text_run_shows_progress_and_the_outputs(remote: RemoteCli) -> None:
    result = remote("run", str(EXAMPLES / "workflows/hello.yaml"), "--param", "who=Text")

    assert result.returncode == 0, result.stderr
    assert "hello succeeded" in result.stdout
    assert "hello.GREETING = Hello, Text!" in result.stdout
    assert "of examples/hello" in result.stderr and remote.url in result.stderr


def test_a_failing_run_exits_1_and_shows_in_history_and_logs(remote: RemoteCli) -> None:
    result = remote("run", str(EXAMPLES / "workflows/failing.yaml"), "--output", "json")

    assert result.returncode == 1, result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "failed"
    assert {job["name"]: job["status"] for job in record["jobs"]} == {
        "check": "failed", "deploy": "skipped"}

    history = remote.history("--namespace", "examples", "--workflow", "failing")
    assert history[0]["id"] == record["id"] and history[0]["status"] == "failed"

    logs = remote("logs", record["id"], "check", "--namespace", "examples")
    assert logs.returncode == 0, logs.stderr
    assert "[COUT] CO_RESULT = false" in logs.stdout
    assert "error: CHANGELOG has no entry for this version" in logs.stdout

    every_job = remote("logs", record["id"], "--namespace", "examples")
    assert "== check (attempt 1, failed)" in every_job.stdout
    assert "deploying" not in every_job.stdout


def test_runs_lists_the_namespace_newest_first(remote: RemoteCli) -> None:
    ok = json.loads(remote("run", str(EXAMPLES / "workflows/hello.yaml"), "--output", "json").stdout)
    bad = json.loads(remote("run", str(EXAMPLES / "workflows/failing.yaml"),
                            "--output", "json").stdout)

    listed = [(run["id"], run["status"]) for run in remote.history("--namespace", "examples")]
    assert listed.index((bad["id"], "failed")) < listed.index((ok["id"], "succeeded"))
    only_failed = remote.history("--workflow", "examples/hello", "--status", "failed")
    assert only_failed == []
    assert len(remote.history("--namespace", "examples", "--limit", "1")) == 1

    table = remote("runs", "--namespace", "examples")
    assert table.returncode == 0 and bad["id"] in table.stdout and "examples/failing" in table.stdout


def test_logs_follow_prints_a_finished_jobs_lines_and_returns(remote: RemoteCli) -> None:
    record = json.loads(remote("run", str(EXAMPLES / "workflows/hello.yaml"), "--param",
                               "who=Follow", "--output", "json").stdout)

    result = remote("logs", record["id"], "hello", "--namespace", "examples", "--follow")

    assert result.returncode == 0, result.stderr
    assert "Hello, Follow!" in result.stdout


def test_cancel_stops_a_long_run_on_the_server(remote: RemoteCli, tmp_path: Path,
                                               docker_engine: docker.DockerClient) -> None:
    running = remote.start("run", str(long_workflow(tmp_path, "long-cancel")), "--output", "json")
    started: list[subprocess.Popen[str]] = [running]
    try:
        [run] = wait_until(lambda: [r for r in remote.history("--workflow", "tests/long-cancel")
                                    if r["status"] == "running"])
        follow = remote.start("logs", run["id"], "sleeper", "--namespace", "tests", "--follow")
        started.append(follow)

        result = remote("cancel", run["id"], "--namespace", "tests")

        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"run {run['id']}: cancelling…",
                                              f"run {run['id']} cancelled"]
        label = {"label": f"containerops.run={run['id']}"}
        assert docker_engine.containers.list(all=True, filters=label) == []
        stdout, stderr = running.communicate(timeout=120)
        assert running.returncode == 1, stderr
        assert json.loads(stdout)["status"] == "cancelled"
        followed, _ = follow.communicate(timeout=120)
        assert follow.returncode == 0 and "sleeping" in followed
    finally:
        for process in started:
            stop(process)


def test_ctrl_c_cancels_the_run_on_the_server(remote: RemoteCli, tmp_path: Path) -> None:
    running = remote.start("run", str(long_workflow(tmp_path, "long-interrupt")))
    assert running.stdout is not None
    shown: list[str] = []
    reader = threading.Thread(target=lambda: shown.extend(running.stdout or []), daemon=True)
    reader.start()
    try:
        # Following: it printed the job running (so it polls the server now).
        wait_until(lambda: any("sleeper running" in line for line in shown))

        running.send_signal(signal.SIGINT)
        running.wait(timeout=120)
        reader.join(timeout=10)
        stderr = running.stderr.read() if running.stderr else ""

        assert running.returncode == 1, stderr
        assert "cancelling the run on the server" in stderr
        assert "sleeper cancelled" in "".join(shown)
        [run] = remote.history("--workflow", "tests/long-interrupt")
        assert run["status"] == "cancelled"
    finally:
        reader.join(timeout=10)
        stop(running)


# --- rerun and resume ------------------------------------------------------------------

def flaky_workflow(tmp_path: Path, name: str) -> Path:
    """`build` succeeds; `flaky`, in the stage after it, fails the first time only (it leaves
    a mark in the run's workspace, which a re-run starts from a copy of)."""
    workflow = busybox_workflow(name, shell_job("build", 'echo "[COUT] BUILT = yes"',
                                                outputs=["BUILT"]))
    workflow["spec"]["stages"].append({"name": "check", "actions": [{"name": "a", "jobs": [
        shell_job("flaky", "if [ -f /workspace/tried ]; then echo second try; else "
                           "touch /workspace/tried; echo first try; exit 1; fi"),
    ]}]})
    return write(tmp_path / f"{name}.yaml", workflow)


def test_rerun_on_the_server_reuses_what_succeeded_and_runs_the_rest(
    remote: RemoteCli, tmp_path: Path
) -> None:
    failed = remote("run", str(flaky_workflow(tmp_path, "flaky")), "--output", "json")
    assert failed.returncode == 1, failed.stderr
    first = json.loads(failed.stdout)

    result = remote("rerun", first["id"], "--namespace", "tests", "--output", "json")

    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)
    assert (again["rerun_of"], again["status"]) == (first["id"], "succeeded")
    assert {job["name"]: job["status"] for job in again["jobs"]} == {
        "build": "reused", "flaky": "succeeded"}
    assert again["jobs"][0]["outputs"] == {"BUILT": "yes"}


def test_a_text_rerun_on_the_server_shows_progress_and_its_result(
    remote: RemoteCli, tmp_path: Path
) -> None:
    first = json.loads(remote("run", str(flaky_workflow(tmp_path, "flaky-text")),
                              "--output", "json").stdout)

    result = remote("rerun", first["id"], "--namespace", "tests")

    assert result.returncode == 0, result.stderr
    assert "build reused" in result.stdout and "flaky succeeded" in result.stdout
    assert "build.BUILT = yes" in result.stdout
    assert remote.url in result.stderr


def test_rerun_of_one_job_or_of_all_on_the_server_re_runs_a_succeeded_run(
    remote: RemoteCli, tmp_path: Path
) -> None:
    failed = json.loads(remote("run", str(flaky_workflow(tmp_path, "scoped")), "--output", "json").stdout)
    fixed = json.loads(remote("rerun", failed["id"], "--namespace", "tests", "--output", "json").stdout)
    assert fixed["status"] == "succeeded"

    one = remote("rerun", fixed["id"], "--namespace", "tests", "--job", "build", "--output", "json")
    every = remote("rerun", fixed["id"], "--namespace", "tests", "--all", "--output", "json")

    assert one.returncode == 0, one.stderr
    again = json.loads(one.stdout)
    assert again["rerun_scope"] == {"scope": "jobs", "jobs": ["build"]}
    assert {job["name"]: job["status"] for job in again["jobs"]} == {
        "build": "succeeded", "flaky": "reused"}  # flaky uses none of build's outputs
    assert every.returncode == 1, every.stderr  # a fresh workspace: flaky's first try again
    everything = json.loads(every.stdout)
    assert everything["rerun_scope"] == {"scope": "all"}
    assert {job["name"]: job["status"] for job in everything["jobs"]} == {
        "build": "succeeded", "flaky": "failed"}
    unknown = remote("rerun", fixed["id"], "--namespace", "tests", "--job", "deploy")
    assert unknown.returncode == 2 and "has no job 'deploy' to re-run" in unknown.stderr


def test_resume_on_the_server_follows_its_unfinished_runs_to_their_end(
    remote: RemoteCli, tmp_path: Path
) -> None:
    waiting = write(tmp_path / "waits.yaml", busybox_workflow("waits", shell_job(
        "waiter", "echo waiting; while [ ! -f /workspace/go ]; do sleep 0.2; done; echo went")))
    starter = remote.start("run", str(waiting), "--output", "json")
    follower: subprocess.Popen[str] | None = None
    try:
        [run] = wait_until(lambda: [r for r in remote.history("--workflow", "tests/waits")
                                    if r["status"] == "running"])
        follower = remote.start("resume", "--namespace", "tests")
        assert follower.stdout is not None
        shown: list[str] = []
        reader = threading.Thread(target=lambda: shown.extend(follower.stdout or []), daemon=True)
        reader.start()
        wait_until(lambda: any(f"{run['id']} waiter running" in line for line in shown))
        assert remote.server_dir is not None

        (remote.server_dir / "workspaces" / run["id"] / "go").touch()

        assert follower.wait(timeout=120) == 0
        reader.join(timeout=10)
        assert f"run {run['id']} succeeded" in shown[-1]
        assert any(f"{run['id']} waiter succeeded" in line for line in shown)
        assert starter.wait(timeout=120) == 0
    finally:
        for process in (starter, follower):
            if process is not None:
                stop(process)


def test_resume_on_the_server_with_nothing_unfinished_says_so(remote: RemoteCli) -> None:
    result = remote("resume", "--namespace", "nobody-here")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no unfinished runs"


def test_a_wrong_server_url_exits_2_with_one_sentence(tmp_path: Path) -> None:
    nobody = RemoteCli(f"http://127.0.0.1:{free_port()}", tmp_path)

    for args in (["run", str(EXAMPLES / "workflows/hello.yaml")], ["runs", "--namespace", "x"],
                 ["logs", "20000101-000000-deadbeef", "--namespace", "x"],
                 ["cancel", "20000101-000000-deadbeef", "--namespace", "x"],
                 ["rerun", "20000101-000000-deadbeef", "--namespace", "x"], ["resume"]):
        result = nobody(*args)
        assert result.returncode == 2, args
        assert result.stderr.startswith(f"cannot reach the ContainerOps server at {nobody.url}")
        assert result.stderr.strip().count("\n") == 0, result.stderr

    not_a_url = RemoteCli("localhost:8080", tmp_path)("runs", "--namespace", "x")
    assert not_a_url.returncode == 2 and "is not a server URL" in not_a_url.stderr


def test_a_bad_reference_is_listed_with_its_path_and_exits_2(
    remote: RemoteCli, tmp_path: Path
) -> None:
    workflow = busybox_workflow("broken", shell_job(
        "a", "true", data={"x": "${{ jobs.nope.outputs.X }}"}))
    source = write(tmp_path / "broken.yaml", workflow)

    result = remote("run", str(source))

    assert result.returncode == 2
    assert f"{source} (checked by {remote.url}): 1 problem(s)" in result.stderr
    assert "spec.stages[0].actions[0].jobs[0].data.x: 'jobs.nope.outputs.X' names no job" in (
        result.stderr)
    assert "Traceback" not in result.stderr
    assert remote.history("--namespace", "tests", "--workflow", "broken") == []


def test_unknown_runs_and_a_missing_namespace_are_explained(remote: RemoteCli) -> None:
    for command in ("logs", "rerun"):
        unknown = remote(command, "20000101-000000-deadbeef", "--namespace", "examples")
        assert unknown.returncode == 2 and "not found" in unknown.stderr, command

    for args in (["logs", "20000101-000000-deadbeef"], ["cancel", "20000101-000000-deadbeef"],
                 ["rerun", "20000101-000000-deadbeef"], ["runs"]):
        result = remote(*args)
        assert result.returncode == 2, args
        assert "--namespace" in result.stderr and "Traceback" not in result.stderr


def test_the_token_is_read_from_the_environment(tmp_path: Path,
                                                docker_engine: docker.DockerClient) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*CLI, "--data-dir", str(tmp_path / "server"), "serve", "--port", str(port),
             "--static-dir", str(tmp_path / "none")],
            stdout=sink, stderr=subprocess.STDOUT, text=True,
            env={**serve_environment(), "CONTAINEROPS_API_TOKEN": "t0ken-for-remote-tests"},
        )
    try:
        wait_until(lambda: "serving http://" in log.read_text() or server.poll() is not None,
                   deadline_seconds=30)
        command = [*CLI, "--data-dir", str(tmp_path / "client"), "runs", "--namespace",
                   "examples", "--server", f"http://127.0.0.1:{port}", "--output", "json"]
        refused = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                 env=client_environment())
        allowed = subprocess.run(command, capture_output=True, text=True, timeout=60, env={
            **client_environment(), "CONTAINEROPS_API_TOKEN": "t0ken-for-remote-tests"})

        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert allowed.returncode == 0, allowed.stderr
        assert json.loads(allowed.stdout) == []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_follow_needs_a_server(tmp_path: Path) -> None:
    result = subprocess.run([*CLI, "--data-dir", str(tmp_path), "logs",
                             "20000101-000000-deadbeef", "--follow"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "200"})

    assert result.returncode == 2 and "--follow needs --server" in result.stderr
