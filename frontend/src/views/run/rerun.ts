// Re-running a finished run from its page: which re-runs a run offers, what a re-run says it
// ran again, and the hook that asks the server and opens the new run.
//
// Every finished run can be re-run whole ("all") or from one job ("jobs": that job and every
// job fed by its outputs run again, and, for an older success whose workspace is gone, what
// ran before it too; the other succeeded jobs are reused: the server's rule, engine/rerun.py); a failed or
// cancelled one also from its failures ("failed", the server's default). A re-run recorded
// before re-runs had a scope (`rerun_scope` absent or null with a `rerun_of`) was one from
// failure, the only kind there was.

import { useState } from "react";
import { api } from "../../api/client";
import type { RerunScope, RunStatus, RunSummary } from "../../api/types";
import { href } from "../../routing";

/** Whether a run in this state can be re-run at all (every job, or some). */
export function canRerun(status: RunStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

/** Whether a run in this state can be re-run from its failures. */
export function canRerunFailed(status: RunStatus): boolean {
  return status === "failed" || status === "cancelled";
}

/** What a re-run ran again, in words: "failed jobs", "all jobs", "jobs build, test". */
export function rerunScopeLabel(scope: RerunScope | null | undefined): string {
  switch (scope?.scope) {
    case "all":
      return "all jobs";
    case "jobs":
      return `jobs ${scope.jobs.join(", ")}`;
    default:
      return "failed jobs";
  }
}

export interface Rerun {
  /** Asks for the re-run; once the server has made it, its page opens. */
  start: (scope: RerunScope) => void;
  /** A request is under way: the buttons wait. */
  busy: boolean;
  error: Error | undefined;
}

export function useRerun(namespace: string, run: RunSummary): Rerun {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const start = (scope: RerunScope) => {
    setBusy(true);
    setError(undefined);
    api.rerun(namespace, run.id, scope).then(
      (next) => {
        setBusy(false);
        window.location.hash = href({ view: "run", namespace, runId: next.id });
      },
      (failure: Error) => {
        setBusy(false);
        setError(failure);
      },
    );
  };
  return { start, busy, error };
}
