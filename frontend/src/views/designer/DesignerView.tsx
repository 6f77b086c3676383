import { ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../../api/client";
import type { WorkflowDefinition } from "../../api/types";
import {
  addAction,
  addStage,
  canLink,
  connect,
  deleteJob,
  deleteStage,
  disconnect,
  locateProblem,
  moveStage,
  parseLinks,
  problemsByNode,
  renameAction,
  renameJob,
  renameStage,
  setSequencing,
  updateJob,
  workflowToGraph,
} from "../../graph";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { Canvas, type LinkRequest, type Selection } from "./Canvas";
import { CanvasContext, type CanvasActions } from "./canvasContext";
import { JobPanel } from "./JobPanel";
import { LinkPanel, linkOf } from "./LinkPanel";
import { Palette } from "./Palette";
import { jobNames, placeComponent, relocate } from "./placement";
import { RunDialog } from "./RunDialog";
import { useCatalog } from "./useCatalog";
import { useDraft } from "./useDraft";
import { WorkflowPanel } from "./WorkflowPanel";
import { YamlTab } from "./YamlTab";
import "./designer.css";

type Notice = { tone: "info" | "error"; text: string } | null;

export function DesignerView({ namespace, name }: { namespace: string; name: string }) {
  return (
    <ReactFlowProvider>
      <Designer namespace={namespace} name={name} />
    </ReactFlowProvider>
  );
}

function Designer({ namespace, name }: { namespace: string; name: string }) {
  const draft = useDraft(namespace, name);
  const catalog = useCatalog();
  const [selection, setSelection] = useState<Selection>(null);
  const [tab, setTab] = useState<"canvas" | "yaml">("canvas");
  const [notice, setNotice] = useState<Notice>(null);
  const [conflict, setConflict] = useState<number | null>(null);
  const [running, setRunning] = useState<{ busy: boolean; error?: string; previous?: Record<string, string> } | null>(
    null,
  );
  const { workflow, edit } = draft;

  useEffect(() => {
    if (!draft.dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault(); // the browser asks "leave?"
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [draft.dirty]);

  const graph = useMemo(
    () => (workflow ? workflowToGraph(workflow, catalog.lookup, draft.problems) : { nodes: [], edges: [] }),
    [workflow, catalog.lookup, draft.problems],
  );
  const links = useMemo(() => (workflow ? parseLinks(workflow) : []), [workflow]);

  const editAndSelectNew = useCallback(
    (change: (current: WorkflowDefinition) => WorkflowDefinition) => {
      if (!workflow) return;
      const before = new Set(jobNames(workflow));
      const next = change(workflow);
      const added = jobNames(next).find((job) => !before.has(job));
      edit(() => next);
      if (added) setSelection({ kind: "job", name: added });
    },
    [workflow, edit],
  );

  const link = useCallback(
    (request: LinkRequest) => {
      if (!workflow) return;
      const allowed = canLink(workflow, request.source, request.target);
      if (!allowed.ok) {
        setNotice({ tone: "error", text: `Link refused: ${allowed.reason}` });
        return;
      }
      const result = connect(workflow, request);
      if ("error" in result) {
        setNotice({ tone: "error", text: `Link refused: ${result.error}` });
        return;
      }
      edit(() => result.workflow);
      setNotice({ tone: "info", text: `${request.source}.${request.output} now feeds ${request.target} ${request.field}` });
    },
    [workflow, edit],
  );

  const actions: CanvasActions = useMemo(
    () => ({
      editable: true,
      stageCount: workflow?.spec.stages.length ?? 0,
      renameStage: (index, next) => edit((current) => renameStage(current, index, next)),
      moveStage: (index, to) => edit((current) => moveStage(current, index, to)),
      deleteStage: (index) => edit((current) => deleteStage(current, index)),
      toggleSequencing: (index) =>
        edit((current) =>
          setSequencing(current, index, current.spec.stages[index]?.sequencing === "sequence" ? "parallel" : "sequence"),
        ),
      addAction: (index) => edit((current) => addAction(current, index)),
      renameAction: (stage, action, next) => edit((current) => renameAction(current, stage, action, next)),
    }),
    [workflow?.spec.stages.length, edit],
  );

  if (draft.loadError) return <ErrorNote error={draft.loadError} />;
  if (!workflow) return <p className="muted page">Loading…</p>;

  const nodeProblems = problemsByNode(workflow, draft.problems);
  const selectedJob =
    selection?.kind === "job"
      ? workflow.spec.stages.flatMap((s) => s.actions.flatMap((a) => a.jobs)).find((job) => job.name === selection.name)
      : undefined;
  const selectedEdge = selection?.kind === "link" ? graph.edges.find((edge) => edge.id === selection.id) : undefined;
  const selectedLink = selectedEdge && linkOf(selectedEdge);
  const workflowProblems = nodeProblems.get("workflow") ?? [];

  const save = async (overwrite = false) => {
    const outcome = await draft.save(overwrite);
    if (outcome.kind === "saved") {
      setConflict(null);
      setNotice({
        tone: "info",
        text:
          `Saved version ${outcome.version}.` +
          (outcome.webhookSecret ? ` Webhook secret (shown once): ${outcome.webhookSecret}` : ""),
      });
    } else if (outcome.kind === "conflict") {
      setConflict(outcome.theirs);
      setNotice(null);
    } else if (outcome.kind === "invalid") {
      setNotice({ tone: "error", text: `Not saved: ${outcome.problems.length} problem(s) to fix first.` });
    } else {
      setNotice({ tone: "error", text: `Not saved: ${outcome.error.message}` });
    }
    return outcome.kind === "saved";
  };

  const startRun = async (params: Record<string, string>) => {
    setRunning((current) => current && { ...current, busy: true });
    try {
      const run = await api.startRun(namespace, name, params);
      window.location.hash = href({ view: "run", namespace, runId: run.id });
    } catch (error) {
      setRunning((current) => current && { ...current, busy: false, error: (error as Error).message });
    }
  };

  return (
    <div className="designer" data-testid="designer">
      <div className="toolbar">
        <h1>
          {namespace}/{name}
        </h1>
        <span className="muted" data-testid="saved-version">
          {draft.savedVersion ? `v${draft.savedVersion}` : "not saved yet"}
          {draft.dirty ? " · changed" : ""}
        </span>
        <div className="tabs" role="tablist">
          <button role="tab" aria-selected={tab === "canvas"} onClick={() => setTab("canvas")}>
            Canvas
          </button>
          <button role="tab" aria-selected={tab === "yaml"} onClick={() => setTab("yaml")}>
            YAML
          </button>
        </div>
        <button
          onClick={async () => {
            try {
              const problems = await draft.check();
              setNotice(
                problems.length
                  ? { tone: "error", text: `${problems.length} problem(s): see the marked jobs and stages.` }
                  : { tone: "info", text: "No problems: the workflow is valid." },
              );
            } catch (error) {
              setNotice({ tone: "error", text: (error as Error).message });
            }
          }}
          data-testid="check"
        >
          Check
        </button>
        <button className="primary" onClick={() => void save()} disabled={!draft.dirty && draft.savedVersion > 0} data-testid="save">
          Save
        </button>
        <button
          onClick={async () => {
            if (draft.dirty && !(await save())) return;
            const last = await api.runs(namespace, { workflow: name, limit: 1 }).catch(() => undefined);
            setRunning({ busy: false, previous: last?.runs[0]?.params });
          }}
          disabled={draft.savedVersion === 0 && !draft.dirty}
          data-testid="run"
        >
          Run…
        </button>
        <button onClick={() => edit((current) => addStage(current))} data-testid="add-stage">
          + Stage
        </button>
        <a href={href({ view: "runs", namespace, workflow: name })}>Runs</a>
      </div>
      {notice && (
        <div className={`notice notice-${notice.tone}`} role="status" data-testid="notice">
          {notice.text}
          <button aria-label="Dismiss" onClick={() => setNotice(null)}>
            ×
          </button>
        </div>
      )}
      {conflict !== null && (
        <div className="notice notice-error" role="alert" data-testid="conflict">
          Someone saved version {conflict} while you were drawing. Your drawing is still here.
          <button onClick={() => void save(true)}>Save mine as the next version</button>
          <button
            onClick={() => {
              setConflict(null);
              void draft.loadTheirs();
            }}
          >
            Discard mine and load theirs
          </button>
        </div>
      )}
      <div className="designer-body">
        <Palette components={catalog.latest} onAdd={(ref) => editAndSelectNew((current) => placeComponent(current, ref, { kind: "new-stage" }))} />
        <div className="designer-main">
          {tab === "canvas" ? (
            <CanvasContext.Provider value={actions}>
              <Canvas
                nodes={graph.nodes}
                edges={graph.edges}
                editable
                selection={selection}
                onSelect={setSelection}
                onLink={link}
                onDropComponent={(ref, target) => editAndSelectNew((current) => placeComponent(current, ref, target))}
                onMoveJob={(job, target) => edit((current) => relocate(current, job, target))}
              />
            </CanvasContext.Provider>
          ) : (
            <YamlTab workflow={workflow} onChange={draft.replace} />
          )}
        </div>
        <aside className="side-panel">
          {selectedJob ? (
            <JobPanel
              key={selectedJob.name}
              job={selectedJob}
              links={links.filter((item) => item.target === selectedJob.name)}
              problems={draft.problems
                .map((problem) => ({ ...locateProblem(workflow, problem), message: problem.message }))
                .filter((located) => located.nodeId === `job:${selectedJob.name}`)}
              catalog={catalog}
              workflowPlatform={workflow.spec.platform}
              onChange={(job) => edit((current) => updateJob(current, selectedJob.name, job))}
              onRename={(next) => {
                edit((current) => renameJob(current, selectedJob.name, next));
                setSelection({ kind: "job", name: next });
              }}
              onUnlink={(item) => edit((current) => disconnect(current, item))}
              onDelete={() => {
                edit((current) => deleteJob(current, selectedJob.name));
                setSelection(null);
              }}
            />
          ) : selectedLink ? (
            <LinkPanel
              link={selectedLink}
              conflict={selectedEdge?.data?.conflict ?? false}
              onRemove={() => {
                edit((current) => disconnect(current, selectedLink));
                setSelection(null);
              }}
            />
          ) : (
            <WorkflowPanel
              workflow={workflow}
              problems={workflowProblems}
              checkedClean={draft.checked && draft.problems.length === 0}
              onChange={draft.replace}
            />
          )}
        </aside>
      </div>
      {running && (
        <RunDialog
          params={workflow.spec.params ?? []}
          previous={running.previous}
          busy={running.busy}
          error={running.error}
          onStart={(values) => void startRun(values)}
          onClose={() => setRunning(null)}
        />
      )}
    </div>
  );
}
