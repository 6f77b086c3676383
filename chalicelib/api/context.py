"""What the routes work with: the store, the log source, the component catalog and the run
dispatcher.

Configured once by the process that hosts the app (`containerops serve`, a Lambda's
bootstrap, a test) through `configure`; the routes read it through `current()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.catalog import ComponentCatalog
from chalicelib.domain.cloud_rules import ALL_PLATFORMS
from chalicelib.domain.host_mounts import NO_HOST_MOUNTS, MountPolicy
from chalicelib.domain.platforms import Platform
from chalicelib.logs.base import LogSource
from chalicelib.services.dispatch import RunDispatcher
from chalicelib.store.base import Store
from chalicelib.store.catalog import StoreCatalog


@dataclass(frozen=True)
class ApiContext:
    store: Store
    logs: LogSource
    dispatcher: RunDispatcher
    public_url: str = ""  # where webhooks are reached, e.g. http://127.0.0.1:8080
    cloud: bool = False  # the workflows run on AWS (what only the local driver can do is refused)
    on_workflow_saved: Callable[[str, str, int], object] | None = None  # namespace, name, version
    sleep: Callable[[float], None] = time.sleep  # a long poll's pause between looks
    platforms: frozenset[Platform] = ALL_PLATFORMS  # what the deployment runs jobs on
    # What a definition may mount from the host (`serve --allow-mount`); none unless told.
    mounts: MountPolicy = NO_HOST_MOUNTS

    @property
    def catalog(self) -> ComponentCatalog:
        return StoreCatalog(self.store)


_current: ApiContext | None = None
_make: Callable[[], ApiContext] | None = None
_making = threading.Lock()


def configure(context: ApiContext) -> None:
    global _current
    _current = context


def configure_lazily(make: Callable[[], ApiContext]) -> None:
    """Make the context at the first request that needs it (a Lambda's adapters)."""
    global _make, _current
    _make, _current = make, None


def current() -> ApiContext:
    global _current
    if _current is None and _make is not None:
        with _making:
            if _current is None:
                _current = _make()
    if _current is None:
        raise RuntimeError("the API is not configured: call chalicelib.api.context.configure first")
    return _current
