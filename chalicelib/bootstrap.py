"""Where everything is wired: configuration is read here, adapters are built here.

Entry points (the CLI, later the server) call `Services.open(...)` and nothing else
builds a store, a launcher or a driver. The launcher is built lazily so commands that
never touch containers (validate, runs, logs) work without a Docker engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.config import (
    BACKEND_VARIABLE,
    Backend,
    ConfigurationError,
    backend,
    default_data_dir,
    own_account_mounts,
    secrets_from_environment,
    warm_start_enabled,
)
from chalicelib.domain.catalog import ComponentCatalog, InMemoryCatalog, LayeredCatalog
from chalicelib.domain.host_mounts import MountPolicy
from chalicelib.launch.base import Launcher
from chalicelib.local.driver import LocalDriver
from chalicelib.logs.base import LogStore
from chalicelib.store.base import Store
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import open_store


@dataclass
class Services:
    data_dir: Path
    store: Store
    logs: LogStore
    extra_components: InMemoryCatalog = field(default_factory=InMemoryCatalog)
    # What jobs may mount from this host: what this account can open (`containerops run`),
    # unless `containerops serve` narrows it to its --allow-mount roots (`allow_mounts`).
    mounts: MountPolicy = field(default_factory=own_account_mounts)
    _launcher: Launcher | None = None
    _driver: LocalDriver | None = None

    @classmethod
    def open(cls, data_dir: Path | None = None) -> Services:
        """The local backend's services; ConfigurationError when the aws backend is chosen
        (that one is wired by the deployed Lambda functions, not on this machine)."""
        if backend() is not Backend.LOCAL:
            raise ConfigurationError(
                f"{BACKEND_VARIABLE}={backend().value} selects the AWS backend, which runs as the"
                " deployed Lambda functions (make package); unset it to use this machine"
            )
        directory = (data_dir or default_data_dir()).expanduser().resolve()
        store = open_store(directory)
        return cls(directory, store, logs=store)  # one SQLite file keeps both

    @property
    def catalog(self) -> ComponentCatalog:
        return LayeredCatalog(self.extra_components, StoreCatalog(self.store))

    @property
    def launcher(self) -> Launcher:
        if self._launcher is None:
            from chalicelib.launch.docker_launcher import DockerLauncher

            self._launcher = DockerLauncher.from_environment()
        return self._launcher

    def allow_mounts(self, policy: MountPolicy) -> None:
        """Use `policy` for host mounts; before the driver is made, which keeps its policy."""
        if self._driver is not None:
            raise RuntimeError("the driver exists already: set the mount policy before using it")
        self.mounts = policy

    @property
    def driver(self) -> LocalDriver:
        if self._driver is None:
            self._driver = LocalDriver(
                self.store, self.launcher, self.catalog, self.data_dir, logs=self.logs,
                secrets=secrets_from_environment(), warm_start=warm_start_enabled(),
                mounts=self.mounts,
            )
        return self._driver

    def close(self) -> None:
        self.store.close()
