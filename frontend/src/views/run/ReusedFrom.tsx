import type { ReuseOrigin } from "../../api/types";
import { LogView } from "../../logs/LogView";
import { href } from "../../routing";

/**
 * What a reused job shows instead of attempts of its own: the run and attempt that did its
 * work (a link that opens that run on this job and attempt), and that attempt's log, here,
 * with its lines linking to that run.
 */
export function ReusedFrom({ namespace, job, origin }: { namespace: string; job: string; origin: ReuseOrigin | null }) {
  if (origin === null) {
    return (
      <p className="muted" data-testid="reused-from">
        This job did not run again: its outputs come from the run this one re-runs, whose record of the job is gone.
      </p>
    );
  }
  const there = (line?: number) => href({ view: "run", namespace, runId: origin.run, job, attempt: origin.attempt, line });
  return (
    <>
      <h3>Reused</h3>
      <p className="reused-from" data-testid="reused-from">
        This job did not run again: its outputs come from attempt {origin.attempt} in run{" "}
        <a href={there()} data-testid="reused-from-link">
          {origin.run}
        </a>
        , whose log is below.
      </p>
      <LogView
        namespace={namespace}
        runId={origin.run}
        job={job}
        attempt={origin.attempt}
        lineHref={(seq) => there(seq)}
        className="run-log"
      />
    </>
  );
}
