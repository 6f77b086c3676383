// The run page: its header (the version it ran, what started it, what it re-ran, cancel and
// re-run), the graph or the timeline of its jobs, and the side panel (what the run ran with
// and its jobs, or the chosen job's details), polled while the run goes on.
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
import { InstanceDetails } from "./InstanceDetails";
import { parseInstanceName } from "./instanceLookup";
import { JobDetails } from "./JobDetails";
import { PanelResizer, usePanelWidth } from "./PanelResizer";
import { canRerun, canRerunFailed, rerunScopeLabel, useRerun } from "./rerun";
import { RunContext, versionHref } from "./RunContext";
import { Timeline } from "./Timeline";
import { describeTrigger } from "./trigger";
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

type MainView = "graph" | "timeline";
const MAIN_VIEW_KEY = "containerops.runMainView";

function rememberedMainView(): MainView {
  try {
    return localStorage.getItem(MAIN_VIEW_KEY) === "timeline" ? "timeline" : "graph";
  } catch {
    return "graph";
  }
}

/**
 * A run as it happens: its graph with live job states, or its timeline (the user's choice,
 * remembered), a job's logs, outputs and attempts; with no job chosen, what the run ran with
 * (version, trigger, params) and its jobs. The address names the job, its attempt and a line
 * of its log, so any of them can be linked to; the side panel's width is the user's (dragged
 * by its edge, remembered). Another run's address (a re-run just made, say) is a new page:
 * nothing of the run before stays.
 */
export function RunView(props: RunViewProps) {
  return <RunPage key={`${props.namespace}/${props.runId}`} {...props} />;
}

function RunPage({ namespace, runId, job, attempt, line }: RunViewProps) {
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
  const stageNames = useMemo(() => (definition.data?.definition.spec.stages ?? []).map((stage) => stage.name), [definition.data]);
  const now = Date.now() / 1000;
  const body = useRef<HTMLDivElement>(null);
  const panel = usePanelWidth(body);
  const [mainView, setMainView] = useState<MainView>(rememberedMainView);
  const chooseView = (view: MainView) => {
    setMainView(view);
    try {
      localStorage.setItem(MAIN_VIEW_KEY, view);
    } catch {
      // not kept: the choice lasts for this page
    }
  };
  const select = (chosen: string | undefined, chosenAttempt?: number) => {
    window.location.hash = href({ view: "run", namespace, runId, job: chosen, attempt: chosenAttempt });
  };

  if (run.error && !run.data) return <ErrorNote error={run.error} />;
  if (!run.data) return <p className="muted page">Loading…</p>;
  const document = run.data;
  const selected = job ? states.get(job) : undefined;
  // `test.3` names an instance of the fan-out job `test`: the graph and the timeline select its group.
  const named = selected ? undefined : parseInstanceName(job);
  const group = named ? states.get(named.group) : undefined;
  const instance = group?.fan_out && named ? { group, index: named.index } : undefined;
  const selectedName = instance ? instance.group.name : job;

  return (
    <div className="run-view" data-testid="run-view">
      <RunHeader run={document} namespace={namespace} now={now} onChanged={run.reload} />
      <div className="designer-body" ref={body}>
        <div className="designer-main">
          <div className="tabs run-main-tabs" role="tablist">
            {(["graph", "timeline"] as const).map((view) => (
              <button
                key={view}
                role="tab"
                aria-selected={mainView === view}
                data-testid={`run-tab-${view}`}
                onClick={() => chooseView(view)}
              >
                {view === "graph" ? "Graph" : "Timeline"}
              </button>
            ))}
          </div>
          {mainView === "graph" ? (
            <ReactFlowProvider>
              <CanvasContext.Provider value={{ editable: false, stageCount: 0, jobStates: states, now }}>
                <Canvas
                  nodes={graph.nodes}
                  edges={graph.edges}
                  editable={false}
                  selection={selectedName ? { kind: "job", name: selectedName } : null}
                  onSelect={(selection) => select(selection?.kind === "job" ? selection.name : undefined)}
                />
              </CanvasContext.Provider>
            </ReactFlowProvider>
          ) : (
            <Timeline
              jobs={document.jobs}
              created={document.created_at ?? null}
              started={document.started_at ?? null}
              finished={isFinal(document.status) ? (document.finished_at ?? now) : null}
              now={now}
              stageNames={stageNames}
              selected={selectedName}
              onSelect={select}
            />
          )}
          <ErrorNote error={definition.error} />
        </div>
        <PanelResizer width={panel.width} change={panel.change} container={body} />
        <aside className="side-panel run-panel" style={{ width: panel.width }} data-testid="run-panel">
          {selected ? (
            <JobDetails
              key={selected.name}
              job={selected}
              namespace={namespace}
              run={document}
              now={now}
              attempt={attempt}
              line={line}
            />
          ) : instance ? (
            <InstanceDetails
              key={job}
              namespace={namespace}
              run={document}
              group={instance.group}
              index={instance.index}
              now={now}
              attempt={attempt}
              line={line}
            />
          ) : (
            <>
              <RunContext run={document} namespace={namespace} />
              <JobList jobs={document.jobs} namespace={namespace} runId={runId} now={now} />
            </>
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
  const rerun = useRerun(namespace, run);
  const [workflowName = ""] = run.workflow.split("/").slice(1);
  const trigger = describeTrigger(run.trigger);
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
        <a
          href={versionHref(namespace, workflowName, run.workflow_version)}
          data-testid="run-version"
          title={`The version this run ran (${run.workflow_version}), read-only`}
        >
          {run.workflow} v{run.workflow_version}
        </a>
      </h1>
      <span data-testid="run-status">
        <StatusBadge status={run.status} />
      </span>
      {run.reason && <span className="muted" data-testid="run-reason">{run.reason}</span>}
      <span className="muted">
        {run.id} · started {formatTime(run.started_at ?? run.created_at)} · {elapsed(run.started_at, run.finished_at, now)}
        {" · by "}
        <span data-testid="run-trigger-headline">{trigger.headline}</span>
      </span>
      {run.rerun_of && (
        <span className="muted" data-testid="run-rerun-of">
          re-run of <a href={href({ view: "run", namespace, runId: run.rerun_of })}>{run.rerun_of}</a> (
          {rerunScopeLabel(run.rerun_scope)})
        </span>
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
      {canRerunFailed(run.status) && (
        <button
          className="primary"
          data-testid="rerun"
          disabled={rerun.busy}
          title="The failed and cancelled jobs, and what follows them, run again; the succeeded ones are reused"
          onClick={() => rerun.start({ scope: "failed" })}
        >
          Re-run failed jobs
        </button>
      )}
      {canRerun(run.status) && (
        <button
          className={canRerunFailed(run.status) ? undefined : "primary"}
          data-testid="rerun-all"
          disabled={rerun.busy}
          title="Every job runs again"
          onClick={() => rerun.start({ scope: "all" })}
        >
          Re-run all jobs
        </button>
      )}
      <a href={href({ view: "runs", namespace, workflow: workflowName })}>History</a>
      <ErrorNote error={error ?? rerun.error} />
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
