"""What the routes work with: the store, the log source, the component catalog and the run
dispatcher.

Configured once by the process that hosts the app (`containerops serve`, a Lambda's
bootstrap, a test) through `configure`; the routes read it through `current()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.domain.catalog import ComponentCatalog
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
    sleep: Callable[[float], None] = time.sleep  # a long poll's pause between looks

    @property
    def catalog(self) -> ComponentCatalog:
        return StoreCatalog(self.store)


_current: ApiContext | None = None


def configure(context: ApiContext) -> None:
    global _current
    _current = context


def current() -> ApiContext:
    if _current is None:
        raise RuntimeError("the API is not configured: call chalicelib.api.context.configure first")
    return _current
