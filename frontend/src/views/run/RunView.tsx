import { ReactFlowProvider } from "@xyflow/react";
import { useMemo, useRef, useState } from "react";
import { api } from "../../api/client";
import type { JobDocument, RunDocument } from "../../api/types";
import { workflowToGraph } from "../../graph";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { elapsed, formatTime, isFinal } from "../../ui/format";
import { StatusBadge } from "../../ui/StatusBadge";
import { useLoad } from "../../ui/useLoad";
import { Canvas } from "../designer/Canvas";
import { CanvasContext } from "../designer/canvasContext";
import { useCatalog } from "../designer/useCatalog";
import "../designer/designer.css";
import { JobDetails } from "./JobDetails";
import { PanelResizer, usePanelWidth } from "./PanelResizer";
import "./run.css";

const POLL_MS = 1000;

export interface RunViewProps {
  namespace: string;
  runId: string;
  /** The job whose details are open, its attempt and the line of its log the address names. */
  job?: string;
  attempt?: number;
  line?: number;
}

/**
 * A run as it happens: its graph with live job states, a job's logs, outputs and attempts.
 * The address names the job, its attempt and a line of its log, so any of them can be
 * linked to; the side panel's width is the user's (dragged by its edge, remembered).
 */
export function RunView({ namespace, runId, job, attempt, line }: RunViewProps) {
  const run = useLoad((signal) => api.run(namespace, runId, { signal }), [namespace, runId], {
    everyMs: POLL_MS,
    keepPolling: (document) => !document || !isFinal(document.status),
  });
  const [workflowName = ""] = (run.data?.workflow ?? "").split("/").slice(1);
  const version = run.data?.workflow_version;
  const definition = useLoad(
    (_signal) => (workflowName && version ? api.workflow(namespace, workflowName, version) : Promise.resolve(undefined)),
    [namespace, workflowName, version],
  );
  const catalog = useCatalog();
  const graph = useMemo(
    () => (definition.data ? workflowToGraph(definition.data.definition, catalog.lookup) : { nodes: [], edges: [] }),
    [definition.data, catalog.lookup],
  );
  const states = useMemo(() => new Map((run.data?.jobs ?? []).map((item) => [item.name, item])), [run.data]);
  const now = Date.now() / 1000;
  const body = useRef<HTMLDivElement>(null);
  const panel = usePanelWidth(body);

  if (run.error && !run.data) return <ErrorNote error={run.error} />;
  if (!run.data) return <p className="muted page">Loading…</p>;
  const document = run.data;
  const selected = job ? states.get(job) : undefined;

  return (
    <div className="run-view" data-testid="run-view">
      <RunHeader run={document} namespace={namespace} now={now} onChanged={run.reload} />
      <div className="designer-body" ref={body}>
        <div className="designer-main">
          <ReactFlowProvider>
            <CanvasContext.Provider value={{ editable: false, stageCount: 0, jobStates: states, now }}>
              <Canvas
                nodes={graph.nodes}
                edges={graph.edges}
                editable={false}
                selection={job ? { kind: "job", name: job } : null}
                onSelect={(selection) => {
                  const chosen = selection?.kind === "job" ? selection.name : undefined;
                  window.location.hash = href({ view: "run", namespace, runId, job: chosen });
                }}
              />
            </CanvasContext.Provider>
          </ReactFlowProvider>
          <ErrorNote error={definition.error} />
        </div>
        <PanelResizer width={panel.width} change={panel.change} container={body} />
        <aside className="side-panel run-panel" style={{ width: panel.width }} data-testid="run-panel">
          {selected ? (
            <JobDetails
              key={selected.name}
              job={selected}
              namespace={namespace}
              runId={runId}
              now={now}
              attempt={attempt}
              line={line}
            />
          ) : (
            <JobList jobs={document.jobs} namespace={namespace} runId={runId} now={now} />
          )}
        </aside>
      </div>
    </div>
  );
}

function RunHeader({ run, namespace, now, onChanged }: { run: RunDocument; namespace: string; now: number; onChanged: () => void }) {
  const [error, setError] = useState<Error>();
  // Asked here, or anywhere (the CLI, another browser): "cancelling…" until the run has ended,
  // which it does once its containers are gone.
  const [cancelAsked, setCancelAsked] = useState(false);
  const cancelling = cancelAsked || Boolean(run.cancel_requested);
  const [workflowName = ""] = run.workflow.split("/").slice(1);
  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      onChanged();
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <div className="toolbar">
      <h1>
        <a href={href({ view: "designer", namespace, name: workflowName })}>{run.workflow}</a> v{run.workflow_version}
      </h1>
      <span data-testid="run-status">
        <StatusBadge status={run.status} />
      </span>
      {run.reason && <span className="muted" data-testid="run-reason">{run.reason}</span>}
      <span className="muted">
        {run.id} · started {formatTime(run.started_at ?? run.created_at)} · {elapsed(run.started_at, run.finished_at, now)}
      </span>
      {run.rerun_of && (
        <a href={href({ view: "run", namespace, runId: run.rerun_of })} className="muted">
          re-run of {run.rerun_of}
        </a>
      )}
      {!isFinal(run.status) && (
        <button
          className="danger"
          disabled={cancelling}
          onClick={() => {
            setCancelAsked(true);
            void act(() =>
              api.cancelRun(namespace, run.id).catch((failure: unknown) => {
                setCancelAsked(false); // refused: the run goes on, and may be cancelled again
                throw failure;
              }),
            );
          }}
          data-testid="cancel"
        >
          {cancelling ? "Cancelling…" : "Cancel"}
        </button>
      )}
      {(run.status === "failed" || run.status === "cancelled") && (
        <button
          className="primary"
          data-testid="rerun"
          onClick={() =>
            void act(async () => {
              const next = await api.rerun(namespace, run.id);
              window.location.hash = href({ view: "run", namespace, runId: next.id });
            })
          }
        >
          Re-run from failure
        </button>
      )}
      <a href={href({ view: "runs", namespace, workflow: workflowName })}>History</a>
      <ErrorNote error={error} />
    </div>
  );
}

function JobList({ jobs, namespace, runId, now }: { jobs: JobDocument[]; namespace: string; runId: string; now: number }) {
  return (
    <div>
      <h2>Jobs</h2>
      <table className="list">
        <tbody>
          {jobs.map((item) => (
            <tr key={item.name} data-testid="job-row">
              <td>
                <a href={href({ view: "run", namespace, runId, job: item.name })}>{item.name}</a>
              </td>
              <td>
                <StatusBadge status={item.status} />
              </td>
              <td className="muted">
                {item.reused_from ? (
                  <a
                    href={href({
                      view: "run",
                      namespace,
                      runId: item.reused_from.run,
                      job: item.name,
                      attempt: item.reused_from.attempt,
                    })}
                    data-testid="job-row-reused-from"
                    title="The run whose work this job reuses"
                  >
                    from {item.reused_from.run}
                  </a>
                ) : (
                  elapsed(item.started_at, item.finished_at, now)
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Click a job for its logs, outputs and attempts.</p>
    </div>
  );
}
