// What is selected on the canvas, and how a selection follows the drawing when undo or redo
// replaces it: a job is selected by name, and an undone rename would otherwise leave the
// selection on a name that is gone, the job's panel closing under the user's hands.
import type { WorkflowDefinition } from "../../api/types";
import { findJob } from "../../graph";

export type Selection = { kind: "job"; name: string } | { kind: "link"; id: string } | null;

function jobAt(workflow: WorkflowDefinition, stage: number, action: number, index: number): string | undefined {
  const job: unknown = workflow.spec?.stages?.[stage]?.actions?.[action]?.jobs?.[index];
  const name = typeof job === "object" && job !== null ? (job as { name?: unknown }).name : undefined;
  return typeof name === "string" ? name : undefined;
}

/** The selection in `after`: the same job by name, else the job now at its place, else none. */
export function followSelection(before: WorkflowDefinition, after: WorkflowDefinition, selection: Selection): Selection {
  if (selection?.kind !== "job" || findJob(after, selection.name)) return selection;
  const place = findJob(before, selection.name);
  const there = place && jobAt(after, place.stage, place.action, place.index);
  return there === undefined ? null : { kind: "job", name: there };
}
