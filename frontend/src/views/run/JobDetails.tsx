// A job of a run in the side panel: its state and reason, outputs, attempts and the log of
// the attempt the address names. A reused job did not run here: the panel says which run
// and attempt did its work, links there, and shows that attempt's log. Once the run has
// ended, the job can be re-run: it and every job fed by its outputs run again in a new run,
// the other succeeded jobs are reused.

import type { JobDocument, RunDocument } from "../../api/types";
import { ErrorNote } from "../../ui/ErrorNote";
import { LogView } from "../../logs/LogView";
import { href } from "../../routing";
import { elapsed } from "../../ui/format";
import { StatusBadge } from "../../ui/StatusBadge";
import { FanOutBar } from "./FanOutBar";
import { countsWords } from "./fanoutBar";
import { InstanceGrid } from "./InstanceGrid";
import { canRerun, useRerun } from "./rerun";
import { ReusedFrom } from "./ReusedFrom";
import { OutputsTable } from "./OutputsTable";

interface JobDetailsProps {
  job: JobDocument;
  namespace: string;
  run: RunDocument;
  now: number;
  /** The attempt the address names (the latest when it names none or one that does not exist). */
  attempt?: number;
  line?: number;
}

export function JobDetails({ job, namespace, run, now, attempt, line }: JobDetailsProps) {
  const runId = run.id;
  const rerun = useRerun(namespace, run);
  const outputs = Object.entries(job.outputs ?? {});
  return (
    <div className="job-details" data-testid="job-details">
      <div className="job-details-head">
        <h2>
          {job.name} <StatusBadge status={job.status} />
        </h2>
        {canRerun(run.status) && (
          <button
            data-testid="rerun-job"
            disabled={rerun.busy}
            title="A new run where this job and every job fed by its outputs run again; the other succeeded jobs are reused (of an older success, whose workspace is gone, what ran before this job runs again too)"
            onClick={() => rerun.start({ scope: "jobs", jobs: [job.name] })}
          >
            Re-run this job
          </button>
        )}
      </div>
      <ErrorNote error={rerun.error} />
      <dl>
        {job.reason && (
          <>
            <dt>Reason</dt>
            <dd data-testid="job-reason">{job.reason}</dd>
          </>
        )}
        <dt>Exit code</dt>
        <dd data-testid="job-exit-code">{job.exit_code ?? "—"}</dd>
        <dt>Duration</dt>
        <dd>{elapsed(job.started_at, job.finished_at, now) || "—"}</dd>
      </dl>
      <h3>Outputs</h3>
      <OutputsTable outputs={outputs} />
      {job.fan_out ? (
        <>
          <h3>Instances</h3>
          <FanOutBar summary={job.fan_out} className="wide" />
          <p className="muted" data-testid="fan-out-counts">
            {countsWords(job.fan_out)}
            {job.fan_out.max_parallel ? ` · at most ${job.fan_out.max_parallel} at once` : ""}
          </p>
          <InstanceGrid namespace={namespace} runId={runId} job={job.name} summary={job.fan_out} />
        </>
      ) : (
        <AttemptsAndLog job={job} namespace={namespace} runId={runId} attempt={attempt} line={line} />
      )}
    </div>
  );
}

function AttemptsAndLog({ job, namespace, runId, attempt, line }: { job: JobDocument; namespace: string; runId: string; attempt?: number; line?: number }) {
  const attempts = job.attempt_history;
  const named = attempts.some((item) => item.number === attempt) ? attempt : undefined;
  const shown = named ?? attempts[attempts.length - 1]?.number;
  const linkTo = (number: number | undefined, seq?: number) =>
    href({ view: "run", namespace, runId, job: job.name, attempt: number, line: seq });
  const current = attempts.find((item) => item.number === shown);
  return (
    <>
      {attempts.length > 0 && (
        <>
          <h3>Attempts</h3>
          <div className="attempts" role="tablist">
            {attempts.map((item) => (
              <button
                key={item.number}
                role="tab"
                aria-selected={item.number === shown}
                className={`status-${item.status}`}
                data-testid="attempt-tab"
                data-attempt={item.number}
                onClick={() => {
                  window.location.hash = linkTo(item.number);
                }}
                title={item.reason}
              >
                #{item.number} {item.status}
                {item.exit_code !== null ? ` (exit ${item.exit_code})` : ""}
              </button>
            ))}
          </div>
          {current?.reason && <p className="muted">{current.reason}</p>}
        </>
      )}
      {job.status === "reused" ? (
        <ReusedFrom namespace={namespace} job={job.name} origin={job.reused_from ?? null} />
      ) : shown !== undefined ? (
        <LogView
          key={shown}
          namespace={namespace}
          runId={runId}
          job={job.name}
          attempt={shown}
          targetLine={named === shown || attempt === undefined ? line : undefined}
          lineHref={(seq) => linkTo(shown, seq)}
          className="run-log"
        />
      ) : (
        <p className="muted">No attempt yet: the job has not started.</p>
      )}
    </>
  );
}
