import { useState } from "react";
import { api } from "../../api/client";
import type { RunSummary } from "../../api/types";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { elapsed, formatTime } from "../../ui/format";
import { StatusBadge } from "../../ui/StatusBadge";
import { useLoad } from "../../ui/useLoad";

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
const PAGE = 50;

/** A namespace's runs, newest first, filtered by workflow and state; refreshes itself. */
export function RunHistoryView({ namespace, workflow }: { namespace: string; workflow?: string }) {
  const [status, setStatus] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const workflows = useLoad((_signal) => api.workflows(namespace), [namespace]);
  const page = useLoad(
    (_signal) => api.runs(namespace, { workflow, status: status || undefined, cursor, limit: PAGE }),
    [namespace, workflow, status, cursor],
    { everyMs: 3000, keepPolling: () => cursors.length === 1 },
  );
  const now = Date.now() / 1000;
  const choose = (next: { workflow?: string; status?: string }) => {
    setCursors([null]);
    if (next.status !== undefined) setStatus(next.status);
    if (next.workflow !== undefined) {
      window.location.hash = href({ view: "runs", namespace, workflow: next.workflow || undefined });
    }
  };

  return (
    <section className="page">
      <h1>Runs in {namespace}</h1>
      <div className="filters">
        <label>
          Workflow{" "}
          <select value={workflow ?? ""} onChange={(event) => choose({ workflow: event.target.value })}>
            <option value="">all</option>
            {(workflows.data?.workflows ?? []).map((item) => (
              <option key={item.name} value={item.name}>
                {item.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          State{" "}
          <select value={status} onChange={(event) => choose({ status: event.target.value })}>
            <option value="">any</option>
            {STATUSES.map((item) => (
              <option key={item} value={item}>
                {item}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={page.error} />
      <RunTable runs={page.data?.runs} namespace={namespace} now={now} />
      <div className="pager">
        {cursors.length > 1 && <button onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>}
        {page.data?.next_cursor && (
          <button onClick={() => setCursors([...cursors, page.data?.next_cursor ?? null])}>Older</button>
        )}
      </div>
    </section>
  );
}

function RunTable({ runs, namespace, now }: { runs?: RunSummary[]; namespace: string; now: number }) {
  if (!runs) return <p className="muted">Loading…</p>;
  if (runs.length === 0) return <p className="muted">No runs match.</p>;
  return (
    <table className="list" data-testid="run-history">
      <thead>
        <tr>
          <th>Run</th>
          <th>Workflow</th>
          <th>State</th>
          <th>Started</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-testid="run-row">
            <td>
              <a href={href({ view: "run", namespace, runId: run.id })}>{run.id}</a>
              {run.rerun_of && <span className="tag">re-run</span>}
            </td>
            <td>
              {run.workflow.split("/")[1]} <span className="muted">v{run.workflow_version}</span>
            </td>
            <td>
              <StatusBadge status={run.status} />
              {run.reason && <span className="muted reason">{run.reason}</span>}
            </td>
            <td>{formatTime(run.started_at ?? run.created_at)}</td>
            <td>{elapsed(run.started_at, run.finished_at, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
