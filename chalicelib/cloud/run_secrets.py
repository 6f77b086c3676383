"""The secret values to mask in a run's logs on AWS, fetched once per run and process.

In aws mode nothing of ours holds a run's secret values (ECS hands them to the container
itself), so whatever reads the container's output (the log handler on the way in, the logs
API on the way out) fetches the values of the secrets the run's pinned workflow version
uses (`engine.secrets.secret_names`) from the `SecretValues` port, only to mask them. A
Lambda container handles many batches of the same runs: the values are kept for the most
recently used runs, so a batch costs no Secrets Manager call once its run is known.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from chalicelib.cloud.ports import SecretValues
from chalicelib.engine.engine import SecretMasker
from chalicelib.engine.secrets import secret_names
from chalicelib.store.base import Store

CACHED_RUNS = 128


class RunSecrets:
    def __init__(self, store: Store, secrets: SecretValues, *, cached_runs: int = CACHED_RUNS) -> None:
        self._store = store
        self._secrets = secrets
        self._size = cached_runs
        self._values: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def values(self, run_id: str) -> tuple[str, ...]:
        """The values of the secrets the run's workflow uses, sorted. NotFound for an
        unknown run; the port's errors (StoreUnavailable...) as they come."""
        with self._lock:
            known = self._values.get(run_id)
            if known is not None:
                self._values.move_to_end(run_id)
                return known
        run = self._store.get_run(run_id)
        workflow = self._store.get_workflow(run.namespace, run.workflow, run.workflow_version).workflow
        names = secret_names(workflow)
        found = tuple(sorted(self._secrets.values(names).values())) if names else ()
        with self._lock:
            self._values[run_id] = found
            self._values.move_to_end(run_id)
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return found

    def masker(self, run_id: str) -> SecretMasker:
        """A masker for the run's logs (the `masker_for` of `logs.cloudwatch.CloudWatchLogs`)."""
        return SecretMasker(self.values(run_id))
