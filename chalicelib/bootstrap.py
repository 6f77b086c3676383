"""Where everything is wired: configuration is read here, adapters are built here.

Entry points (the CLI, later the server) call `Services.open(...)` and nothing else
builds a store, a launcher or a driver. The launcher is built lazily so commands that
never touch containers (validate, runs, logs) work without a Docker engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.domain.catalog import ComponentCatalog, InMemoryCatalog, LayeredCatalog
from chalicelib.launch.base import Launcher
from chalicelib.local.driver import LocalDriver
from chalicelib.store.base import Store
from chalicelib.store.catalog import StoreCatalog
from chalicelib.store.sqlite import open_store

DATA_DIR_VARIABLE = "CONTAINEROPS_DATA_DIR"
SECRET_PREFIX = "CONTAINEROPS_SECRET_"
WARM_START_VARIABLE = "CONTAINEROPS_WARM_START"


def warm_start_enabled() -> bool:
    """Warm start is on unless CONTAINEROPS_WARM_START is 0, false, no or off."""
    return os.environ.get(WARM_START_VARIABLE, "1").strip().lower() not in ("0", "false", "no", "off")


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_VARIABLE) or Path.home() / ".containerops")


def secrets_from_environment() -> dict[str, str]:
    """`CONTAINEROPS_SECRET_NPM_TOKEN=...` becomes `${{ secrets.NPM_TOKEN }}`."""
    return {
        name.removeprefix(SECRET_PREFIX): value
        for name, value in os.environ.items()
        if name.startswith(SECRET_PREFIX) and value
    }


@dataclass
class Services:
    data_dir: Path
    store: Store
    extra_components: InMemoryCatalog = field(default_factory=InMemoryCatalog)
    _launcher: Launcher | None = None
    _driver: LocalDriver | None = None

    @classmethod
    def open(cls, data_dir: Path | None = None) -> Services:
        directory = (data_dir or default_data_dir()).expanduser().resolve()
        return cls(directory, open_store(directory))

    @property
    def catalog(self) -> ComponentCatalog:
        return LayeredCatalog(self.extra_components, StoreCatalog(self.store))

    @property
    def launcher(self) -> Launcher:
        if self._launcher is None:
            from chalicelib.launch.docker_launcher import DockerLauncher

            self._launcher = DockerLauncher.from_environment()
        return self._launcher

    @property
    def driver(self) -> LocalDriver:
        if self._driver is None:
            self._driver = LocalDriver(
                self.store, self.launcher, self.catalog, self.data_dir,
                secrets=secrets_from_environment(), warm_start=warm_start_enabled(),
            )
        return self._driver

    def close(self) -> None:
        self.store.close()
