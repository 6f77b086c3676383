import { api } from "../../api/client";
import type { RunSummary } from "../../api/types";
import { href, RUN_STATES, type Route } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { elapsed, formatAgo, formatDateTime } from "../../ui/format";
import { StatusBadge } from "../../ui/StatusBadge";
import { useLoad } from "../../ui/useLoad";
import "./runs.css";

const PAGE = 50;

export interface RunHistoryProps {
  namespace: string;
  workflow?: string;
  status?: string;
  /** The cursors of the pages before this one (none: the newest page). */
  pages?: string[];
}

type RunsRoute = Extract<Route, { view: "runs" }>;

/**
 * A namespace's runs, newest first, filtered by workflow and state; the namespace, the
 * filters and the page are all in the address (a link or a reload shows the same page, Back
 * goes to the page before). The newest page refreshes itself; an older one stays as it was.
 */
export function RunHistoryView({ namespace, workflow, status, pages = [] }: RunHistoryProps) {
  const cursor = pages[pages.length - 1] ?? null;
  const namespaces = useLoad((_signal) => api.namespaces(), []);
  const workflows = useLoad((_signal) => api.workflows(namespace), [namespace]);
  const page = useLoad(
    (_signal) => api.runs(namespace, { workflow, status, cursor, limit: PAGE }),
    [namespace, workflow, status, cursor],
    { everyMs: 3000, keepPolling: () => pages.length === 0 },
  );
  const now = Date.now() / 1000;
  const here: RunsRoute = { view: "runs", namespace, workflow, status, pages };
  const go = (change: Partial<RunsRoute>) => {
    window.location.hash = href({ ...here, pages: undefined, ...change });
  };
  const known = namespaces.data?.namespaces ?? [];

  return (
    <section className="page">
      <h1>Runs in {namespace}</h1>
      <div className="filters">
        <label>
          Namespace{" "}
          <select
            value={namespace}
            data-testid="runs-namespace"
            onChange={(event) => go({ namespace: event.target.value, workflow: undefined })}
          >
            {(known.includes(namespace) ? known : [namespace, ...known]).map((item) => (
              <option key={item} value={item}>
                {item}
              </option>
            ))}
          </select>
        </label>
        <label>
          Workflow{" "}
          <select
            value={workflow ?? ""}
            data-testid="runs-workflow"
            onChange={(event) => go({ workflow: event.target.value || undefined })}
          >
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
          <select
            value={status ?? ""}
            data-testid="runs-status"
            onChange={(event) => go({ status: event.target.value || undefined })}
          >
            <option value="">any</option>
            {RUN_STATES.map((item) => (
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
        {pages.length > 0 && (
          <a href={href({ ...here, pages: pages.slice(0, -1) })} data-testid="runs-newer">
            ← Newer
          </a>
        )}
        {pages.length > 0 && <span className="muted" data-testid="runs-page">page {pages.length + 1}</span>}
        {page.data?.next_cursor && (
          <a href={href({ ...here, pages: [...pages, page.data.next_cursor] })} data-testid="runs-older">
            Older →
          </a>
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
        {runs.map((run) => {
          const when = run.started_at ?? run.created_at;
          return (
            <tr key={run.id} data-testid="run-row" data-run={run.id}>
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
              <td className="run-started">
                <time dateTime={when ? new Date(when * 1000).toISOString() : undefined} data-testid="run-started">
                  {formatDateTime(when)}
                </time>
                <span className="muted"> {formatAgo(when, now)}</span>
              </td>
              <td>{elapsed(run.started_at, run.finished_at, now)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
