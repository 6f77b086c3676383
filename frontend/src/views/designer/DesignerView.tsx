// The designer of one workflow: the draft (useDraft: what the server has, the edits and their
// undo history), the canvas, the side panels and the toolbar, and the commands that tie them
// together: keyboard shortcuts, the question before leaving with unsaved changes, and the
// notices that offer to undo a deletion.
import { ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
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
  findJob,
  locateProblem,
  moveStage,
  parseLinks,
  problemsByNode,
  renameAction,
  renameJob,
  renameRefusal,
  renameStage,
  setSequencing,
  updateJob,
  workflowToGraph,
  type Link,
} from "../../graph";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { Canvas, type LinkRequest } from "./Canvas";
import { CanvasContext, type CanvasActions } from "./canvasContext";
import { DraftRevision } from "./fields";
import { JobPanel } from "./JobPanel";
import { LeaveDialog } from "./LeaveDialog";
import { LinkPanel, linkOf } from "./LinkPanel";
import { Palette } from "./Palette";
import { jobNames, placeComponent, relocate } from "./placement";
import { RunDialog } from "./RunDialog";
import { followSelection, type Selection } from "./selection";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { SidePanel } from "./SidePanel";
import { Toolbar, type Tab } from "./Toolbar";
import { useCatalog, type Catalog } from "./useCatalog";
import { useDraft, type Draft } from "./useDraft";
import { typingSession } from "./typing";
import { useLeaveGuard } from "./useLeaveGuard";
import { useShortcuts } from "./useShortcuts";
import { WorkflowPanel } from "./WorkflowPanel";
import { YamlTab } from "./YamlTab";
import { StoredYaml } from "../versions/StoredYaml";
import { useStoredVersion } from "../versions/useStoredVersion";
import "./designer.css";

// A notice about a deletion carries the drawing the deletion made: its Undo button shows
// while that drawing is still the present one (another edit since, and Ctrl+Z is the way).
type Notice = { tone: "info" | "error"; text: string; undoable?: WorkflowDefinition } | null;

/** `version`: a stored version, shown read-only (none: the latest, to edit). */
export function DesignerView({ namespace, name, version }: { namespace: string; name: string; version?: number }) {
  return (
    <ReactFlowProvider>
      {version ? (
        <StoredDesigner namespace={namespace} name={name} version={version} />
      ) : (
        <Designer namespace={namespace} name={name} />
      )}
    </ReactFlowProvider>
  );
}

function StoredDesigner({ namespace, name, version }: { namespace: string; name: string; version: number }) {
  const { draft } = useStoredVersion(namespace, name, version);
  const catalog = useCatalog();
  if (draft.loadError) return <ErrorNote error={draft.loadError} />;
  if (!draft.workflow) return <p className="muted page">Loading…</p>;
  return <Editor namespace={namespace} name={name} draft={draft} workflow={draft.workflow} catalog={catalog} readOnly />;
}

function Designer({ namespace, name }: { namespace: string; name: string }) {
  const draft = useDraft(namespace, name);
  const catalog = useCatalog();
  if (draft.loadError) return <ErrorNote error={draft.loadError} />;
  if (!draft.workflow) return <p className="muted page">Loading…</p>;
  return <Editor namespace={namespace} name={name} draft={draft} workflow={draft.workflow} catalog={catalog} />;
}

interface EditorProps {
  namespace: string;
  name: string;
  draft: Draft;
  workflow: WorkflowDefinition;
  catalog: Catalog;
  /** A stored version: shown, checked, never changed (no field, palette, drag, link, save or undo). */
  readOnly?: boolean;
}

function Editor({ namespace, name, draft, workflow, catalog, readOnly = false }: EditorProps) {
  const [selection, setSelection] = useState<Selection>(null);
  const [tab, setTab] = useState<Tab>("canvas");
  const [notice, setNotice] = useState<Notice>(null);
  const [conflict, setConflict] = useState<number | null>(null);
  const [running, setRunning] = useState<{ busy: boolean; error?: string; previous?: Record<string, string> } | null>(
    null,
  );
  const [saving, setSaving] = useState(false);
  const [helping, setHelping] = useState(false);
  const [leaving, setLeaving] = useState<string>(); // where a held-back link was going
  const [yamlHold, setYamlHold] = useState<string>(); // why the YAML tab's text cannot go to the canvas
  const { edit: draftEdit, seal } = draft;
  const edit = useCallback(
    (change: (current: WorkflowDefinition) => WorkflowDefinition) => draftEdit(change, typingSession(document.activeElement)),
    [draftEdit],
  );
  const replace = useCallback((next: WorkflowDefinition) => edit(() => next), [edit]);

  useEffect(() => {
    document.addEventListener("focusout", seal); // leaving a text field ends its undo step
    return () => document.removeEventListener("focusout", seal);
  }, [seal]);

  const unsaved = draft.dirty || yamlHold !== undefined; // YAML text the drawing does not hold yet counts
  /** While the YAML tab holds text the drawing cannot take, a command that would drop it says so instead. */
  const heldByYaml = (refusal: string) => {
    if (yamlHold) setNotice({ tone: "error", text: `${refusal}: the YAML cannot be read as a workflow (${yamlHold}). Your text is kept.` });
    return yamlHold !== undefined;
  };
  useLeaveGuard(unsaved, namespace, name, setLeaving);

  useEffect(() => {
    if (!unsaved) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault(); // the browser asks "leave?"
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [unsaved]);

  const graph = useMemo(() => workflowToGraph(workflow, catalog.lookup, draft.problems), [workflow, catalog.lookup, draft.problems]);
  const links = useMemo(() => parseLinks(workflow), [workflow]);

  const editAndSelectNew = (change: (current: WorkflowDefinition) => WorkflowDefinition) => {
    const before = new Set(jobNames(workflow));
    const next = change(workflow);
    const added = jobNames(next).find((job) => !before.has(job));
    edit(() => next);
    if (added) setSelection({ kind: "job", name: added });
  };

  const link = (request: LinkRequest) => {
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
  };

  const removeStage = (index: number) => {
    const stage = workflow.spec.stages[index];
    const next = deleteStage(workflow, index);
    if (!stage || next === workflow) return;
    edit(() => next);
    // A hand-written draft may lack its lists: count what is there.
    const actions: unknown[] = Array.isArray(stage.actions) ? stage.actions : [];
    const jobs = actions.reduce<number>((count, action) => {
      const list = typeof action === "object" && action !== null ? (action as { jobs?: unknown }).jobs : undefined;
      return count + (Array.isArray(list) ? list.length : 0);
    }, 0);
    const content = jobs === 0 ? "" : ` and its ${jobs === 1 ? "job" : `${jobs} jobs`}`;
    setNotice({ tone: "info", text: `Deleted stage ${stage.name}${content}.`, undoable: next });
  };
  const removeStageLatest = useRef(removeStage);
  useEffect(() => {
    removeStageLatest.current = removeStage;
  });

  const stageCount = workflow.spec.stages.length;
  const actions: CanvasActions = useMemo(
    () => ({
      editable: !readOnly,
      stageCount,
      renameStage: (index, next) => edit((current) => renameStage(current, index, next)),
      moveStage: (index, to) => edit((current) => moveStage(current, index, to)),
      deleteStage: (index) => removeStageLatest.current(index), // the canvas keeps its actions across edits
      toggleSequencing: (index) =>
        edit((current) =>
          setSequencing(current, index, current.spec.stages[index]?.sequencing === "sequence" ? "parallel" : "sequence"),
        ),
      addAction: (index) => edit((current) => addAction(current, index)),
      renameAction: (stage, action, next) => edit((current) => renameAction(current, stage, action, next)),
    }),
    [stageCount, edit, readOnly],
  );

  const nodeProblems = problemsByNode(workflow, draft.problems);
  const selectedAt = selection?.kind === "job" ? findJob(workflow, selection.name) : undefined;
  const selectedJob = selectedAt?.job;
  const selectedPlace = selectedAt ? `${selectedAt.stage}.${selectedAt.action}.${selectedAt.index}` : "";
  const selectedEdge = selection?.kind === "link" ? graph.edges.find((edge) => edge.id === selection.id) : undefined;
  const selectedLink = selectedEdge && linkOf(selectedEdge);
  const workflowProblems = nodeProblems.get("workflow") ?? [];
  const canSave = !saving && (unsaved || draft.savedVersion === 0);

  const save = async (overwrite = false) => {
    if (heldByYaml("Not saved")) return false;
    setSaving(true);
    const outcome = await draft.save(overwrite).finally(() => setSaving(false));
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

  const check = async () => {
    if (heldByYaml("Not checked")) return;
    try {
      const problems = await draft.check();
      setNotice(
        problems.length
          ? { tone: "error", text: `${problems.length} problem(s): see the marked ${tab === "yaml" ? "lines" : "jobs and stages"}.` }
          : { tone: "info", text: "No problems: the workflow is valid." },
      );
    } catch (error) {
      setNotice({ tone: "error", text: (error as Error).message });
    }
  };

  const openRun = async () => {
    if (unsaved && !(await save())) return;
    const last = await api.runs(namespace, { workflow: name, limit: 1 }).catch(() => undefined);
    setRunning({ busy: false, previous: last?.runs[0]?.params });
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

  const removeJob = (job: string) => {
    const next = deleteJob(workflow, job);
    edit(() => next);
    setSelection(null);
    setNotice({ tone: "info", text: `Deleted job ${job}.`, undoable: next });
  };

  const removeLink = (item: Link) => {
    const next = disconnect(workflow, item);
    edit(() => next);
    setSelection(null);
    setNotice({
      tone: "info",
      text: `Removed the link from ${item.source}.${item.output} to ${item.target} ${item.field}.`,
      undoable: next,
    });
  };

  const stepBack = () => {
    if (heldByYaml("Not undone (Ctrl+Z in the text undoes its typing)")) return;
    const target = draft.undo();
    if (target) setSelection((current) => followSelection(workflow, target, current));
  };
  const stepForward = () => {
    if (heldByYaml("Not redone")) return;
    const target = draft.redo();
    if (target) setSelection((current) => followSelection(workflow, target, current));
  };

  const leave = (href: string) => {
    setLeaving(undefined);
    window.location.hash = href; // the guard only holds back clicks
  };

  useShortcuts(
    (command) => {
      if (readOnly && command !== "help") return;
      if (command === "save") {
        if (canSave) void save();
        else if (!saving) setNotice({ tone: "info", text: `Nothing to save: no change since version ${draft.savedVersion}.` });
      } else if (command === "undo") {
        stepBack();
      } else if (command === "redo") {
        stepForward();
      } else if (command === "delete") {
        if (selectedJob) removeJob(selectedJob.name);
        else if (selectedLink) removeLink(selectedLink);
      } else if (command === "help") {
        setHelping(true);
      }
    },
    !running && !helping && leaving === undefined,
  );

  return (
    <div className="designer" data-testid="designer">
      <Toolbar
        namespace={namespace}
        name={name}
        savedVersion={draft.savedVersion}
        dirty={unsaved}
        saving={saving}
        tab={tab}
        onTab={(next) => {
          if (next === tab || !heldByYaml("Still on the YAML tab")) setTab(next);
        }}
        onCheck={() => void check()}
        onSave={() => void save()}
        onRun={() => void openRun()}
        onAddStage={() => edit((current) => addStage(current))}
        canUndo={draft.canUndo}
        canRedo={draft.canRedo}
        onUndo={stepBack}
        onRedo={stepForward}
        onHelp={() => setHelping(true)}
        readOnly={readOnly}
      />
      {notice && (
        <div className={`notice notice-${notice.tone}`} role="status" data-testid="notice">
          {notice.text}
          {notice.undoable === workflow && (
            <button
              className="notice-undo"
              data-testid="notice-undo"
              onClick={() => {
                stepBack();
                setNotice(null);
              }}
            >
              Undo
            </button>
          )}
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
        {!readOnly && (
          <Palette components={catalog.latest} onAdd={(ref) => editAndSelectNew((current) => placeComponent(current, ref, { kind: "new-stage" }))} />
        )}
        <div className="designer-main">
          {tab === "canvas" ? (
            <CanvasContext.Provider value={actions}>
              <Canvas
                nodes={graph.nodes}
                edges={graph.edges}
                editable={!readOnly}
                selection={selection}
                onSelect={setSelection}
                onLink={link}
                onDropComponent={(ref, target) => editAndSelectNew((current) => placeComponent(current, ref, target))}
                onMoveJob={(job, target) => edit((current) => relocate(current, job, target))}
                readable
              />
            </CanvasContext.Provider>
          ) : readOnly ? (
            <StoredYaml namespace={namespace} name={name} version={draft.savedVersion} />
          ) : (
            <YamlTab key={draft.revision} workflow={workflow} problems={draft.problems} onChange={replace} onHold={setYamlHold} />
          )}
        </div>
        <DraftRevision.Provider value={draft.revision}>
          <SidePanel title={selectedJob ? `job ${selectedJob.name}` : selectedLink ? "link" : "workflow"}>
            <fieldset className="panel-fields" disabled={readOnly || yamlHold !== undefined}>
            {selectedJob ? (
              <JobPanel
                key={selectedPlace} // a rename keeps the panel, and the focus in the name field
                job={selectedJob}
                links={links.filter((item) => item.target === selectedJob.name)}
                problems={draft.problems
                  .map((problem) => ({ ...locateProblem(workflow, problem), message: problem.message }))
                  .filter((located) => located.nodeId === `job:${selectedJob.name}`)}
                catalog={catalog}
                workflowPlatform={workflow.spec.platform}
                onChange={(job) => edit((current) => updateJob(current, selectedJob.name, job))}
                onRename={(next) => {
                  const refusal = renameRefusal(workflow, selectedJob.name, next);
                  if (refusal) return refusal;
                  edit((current) => renameJob(current, selectedJob.name, next));
                  setSelection({ kind: "job", name: next });
                  return undefined;
                }}
                onUnlink={(item) => edit((current) => disconnect(current, item))}
                onDelete={() => removeJob(selectedJob.name)}
              />
            ) : selectedLink ? (
              <LinkPanel link={selectedLink} conflict={selectedEdge?.data?.conflict ?? false} onRemove={() => removeLink(selectedLink)} />
            ) : (
              <WorkflowPanel
                workflow={workflow}
                problems={workflowProblems}
                checkedClean={draft.checked && draft.problems.length === 0}
                onChange={replace}
              />
            )}
            </fieldset>
          </SidePanel>
        </DraftRevision.Provider>
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
      {helping && <ShortcutsDialog onClose={() => setHelping(false)} />}
      {leaving !== undefined && (
        <LeaveDialog
          saving={saving}
          onStay={() => setLeaving(undefined)}
          onLeave={() => leave(leaving)}
          onSaveAndLeave={async () => {
            if (await save()) leave(leaving);
            else setLeaving(undefined); // the notice says why it was not saved
          }}
        />
      )}
    </div>
  );
}
