import type { Action, Job, Stage, WorkflowDefinition } from "../api/types";
import { accessor, conditionReferences, templateBlocks, type Reference } from "./expressions";
import { actionList, findJob, jobList, jobName, jobPlaces, mapJobs, stageList, withStages } from "./places";

// Every edit returns a new document and leaves the old one untouched. An index that no
// longer exists (a stale click) changes nothing, rather than throwing inside a state update.
// Drafts may break the schema's "at least one" rules for a while: the server's check says so.

export interface ComponentChoice {
  ref: string; // namespace/name@version
  name: string;
}

const MAX_NAME = 63;

/** `base`, or `base-2`, `base-3`... whichever is free, kept within the name length limit. */
function unique(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = base.slice(0, MAX_NAME - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}

function slug(text: string, fallback: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX_NAME)
    .replace(/-+$/, "");
  return cleaned || fallback;
}

function jobNameFrom(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, MAX_NAME);
  return cleaned || "job";
}

const allJobNames = (workflow: WorkflowDefinition) => new Set(jobPlaces(workflow).map((place) => jobName(place.job)));

/** The name `addJob` gives a job of that component: its name, numbered when taken. */
export function jobNameFor(workflow: WorkflowDefinition, componentName: string): string {
  return unique(jobNameFrom(componentName), allJobNames(workflow));
}

export function emptyWorkflow(namespace: string, name: string): WorkflowDefinition {
  return {
    apiVersion: "containerops/v1",
    kind: "Workflow",
    metadata: { namespace, name },
    spec: { stages: [{ name: "build", actions: [] }] },
  };
}

// --- stages --------------------------------------------------------------------------

function numbered(prefix: string, start: number, taken: Set<string>): string {
  for (let n = start; ; n++) if (!taken.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

export function addStage(workflow: WorkflowDefinition, atIndex?: number, name?: string): WorkflowDefinition {
  const stages = stageList(workflow);
  const taken = new Set(stages.map((stage) => stage.name));
  const chosen = name !== undefined ? unique(slug(name, "stage"), taken) : numbered("stage", stages.length + 1, taken);
  const at = Math.max(0, Math.min(atIndex ?? stages.length, stages.length));
  return withStages(workflow, [...stages.slice(0, at), { name: chosen, actions: [] }, ...stages.slice(at)]);
}

function changeStage(workflow: WorkflowDefinition, index: number, change: (stage: Stage) => Stage): WorkflowDefinition {
  const stages = stageList(workflow);
  const stage = stages[index];
  if (!stage) return workflow;
  return withStages(workflow, stages.map((old, s) => (s === index ? change(stage) : old)));
}

export function renameStage(workflow: WorkflowDefinition, index: number, name: string): WorkflowDefinition {
  return changeStage(workflow, index, (stage) => ({ ...stage, name }));
}

export function setSequencing(
  workflow: WorkflowDefinition,
  index: number,
  sequencing: "parallel" | "sequence",
): WorkflowDefinition {
  return changeStage(workflow, index, ({ actions, ...stage }) => ({ ...stage, sequencing, actions }));
}

export function moveStage(workflow: WorkflowDefinition, from: number, to: number): WorkflowDefinition {
  const stages = [...stageList(workflow)];
  const [moved] = from >= 0 && from < stages.length ? stages.splice(from, 1) : [];
  if (!moved) return workflow;
  stages.splice(Math.max(0, Math.min(to, stages.length)), 0, moved);
  return withStages(workflow, stages);
}

/** Removes the stage and its jobs; references to those jobs stay, for validation to report. */
export function deleteStage(workflow: WorkflowDefinition, index: number): WorkflowDefinition {
  const stages = stageList(workflow);
  if (!stages[index]) return workflow;
  return withStages(workflow, stages.filter((_, s) => s !== index));
}

// --- actions -------------------------------------------------------------------------

function freeActionName(stage: Stage, base?: string): string {
  const taken = new Set(actionList(stage).map((action) => action.name));
  return base !== undefined ? unique(base, taken) : numbered("action", actionList(stage).length + 1, taken);
}

export function addAction(workflow: WorkflowDefinition, stage: number, name?: string): WorkflowDefinition {
  return changeStage(workflow, stage, (old) => {
    const chosen = freeActionName(old, name === undefined ? undefined : slug(name, "action"));
    return { ...old, actions: [...actionList(old), { name: chosen, jobs: [] }] };
  });
}

function changeAction(
  workflow: WorkflowDefinition,
  stage: number,
  index: number,
  change: (action: Action) => Action,
): WorkflowDefinition {
  if (!actionList(stageList(workflow)[stage])[index]) return workflow;
  return changeStage(workflow, stage, (old) => ({
    ...old,
    actions: actionList(old).map((action, a) => (a === index ? change(action) : action)),
  }));
}

export function renameAction(workflow: WorkflowDefinition, stage: number, action: number, name: string): WorkflowDefinition {
  return changeAction(workflow, stage, action, (old) => ({ ...old, name }));
}

// --- jobs ----------------------------------------------------------------------------

export function addJob(
  workflow: WorkflowDefinition,
  stage: number,
  action: number,
  component: ComponentChoice,
): WorkflowDefinition {
  const job: Job = { name: jobNameFor(workflow, component.name), component: component.ref };
  return changeAction(workflow, stage, action, (old) => ({ ...old, jobs: [...jobList(old), job] }));
}

/** A job of that component in a new action of the stage, the action named after the job. */
export function addJobToNewAction(workflow: WorkflowDefinition, stage: number, component: ComponentChoice): WorkflowDefinition {
  const target = stageList(workflow)[stage];
  if (!target) return workflow;
  const job: Job = { name: jobNameFor(workflow, component.name), component: component.ref };
  const action: Action = { name: freeActionName(target, slug(job.name, "action")), jobs: [job] };
  return changeStage(workflow, stage, (old) => ({ ...old, actions: [...actionList(old), action] }));
}

export function updateJob(workflow: WorkflowDefinition, name: string, job: Job): WorkflowDefinition {
  const place = findJob(workflow, name);
  if (!place) return workflow;
  return changeAction(workflow, place.stage, place.action, (action) => ({
    ...action,
    jobs: jobList(action).map((old, j) => (j === place.index ? job : old)),
  }));
}

function renamedIn(text: string, references: Reference[] | undefined, from: string, to: string): string {
  const spans = (references ?? [])
    .filter((reference) => reference.parts[0]?.value === "jobs" && reference.parts[1]?.value === from)
    .map((reference) => reference.parts[1])
    .filter((part) => part !== undefined)
    .sort((a, b) => b.start - a.start);
  return spans.reduce((result, part) => result.slice(0, part.start) + accessor(to) + result.slice(part.end), text);
}

function renameInTemplate<T>(value: T, from: string, to: string): T {
  if (typeof value !== "string") return value;
  const references = templateBlocks(value)?.flatMap((block) => block.references);
  return renamedIn(value, references, from, to) as T;
}

function renameInRecord<T extends Record<string, unknown> | undefined>(values: T, from: string, to: string): T {
  if (typeof values !== "object" || values === null) return values;
  const entries = Object.entries(values).map(([key, value]) => [key, renameInTemplate(value, from, to)] as const);
  return entries.some(([key, value]) => value !== values[key]) ? (Object.fromEntries(entries) as T) : values;
}

function renameReferences(job: Job, from: string, to: string): Job {
  const next: Job = { ...job };
  const data = renameInRecord(job.data, from, to);
  const env = renameInRecord(job.env, from, to);
  if (data !== job.data) next.data = data;
  if (env !== job.env) next.env = env;
  if (typeof job.if === "string") next.if = renamedIn(job.if, conditionReferences(job.if), from, to);
  if (Array.isArray(job.mounts)) {
    const mounts = job.mounts.map((mount) => {
      const source = renameInTemplate(mount.source, from, to);
      return source === mount.source ? mount : { ...mount, source };
    });
    if (mounts.some((mount, index) => mount !== job.mounts?.[index])) next.mounts = mounts;
  }
  const changed = next.data !== job.data || next.env !== job.env || next.if !== job.if || next.mounts !== job.mounts;
  return changed ? next : job;
}

/**
 * Why the job cannot take that name now, or undefined when it can. A name being typed goes
 * through many names; an empty one, or one another job has, is not applied: two jobs of one
 * name could no longer be told apart, and the references to them would merge.
 */
export function renameRefusal(workflow: WorkflowDefinition, from: string, to: string): string | undefined {
  if (to.trim() === "") return "A job needs a name.";
  if (to !== from && findJob(workflow, to)) return `Another job is already called '${to}'.`;
  return undefined;
}

/** Renames the job and rewrites every reference to it: data, env, `if` and mount sources. */
export function renameJob(workflow: WorkflowDefinition, from: string, to: string): WorkflowDefinition {
  const place = findJob(workflow, from);
  if (!place || from === to) return workflow;
  const renamed = updateJob(workflow, from, { ...place.job, name: to });
  return mapJobs(renamed, (job) => renameReferences(job, from, to));
}

function withoutJobAt(workflow: WorkflowDefinition, stage: number, action: number, index: number): WorkflowDefinition {
  return changeStage(workflow, stage, (old) => ({
    ...old,
    actions: actionList(old).flatMap((item, a) => {
      if (a !== action) return [item];
      const jobs = jobList(item).filter((_, j) => j !== index);
      return jobs.length > 0 ? [{ ...item, jobs }] : [];
    }),
  }));
}

/** Removes the job, and its action when left empty. References to it stay, for validation to report. */
export function deleteJob(workflow: WorkflowDefinition, name: string): WorkflowDefinition {
  const place = findJob(workflow, name);
  return place ? withoutJobAt(workflow, place.stage, place.action, place.index) : workflow;
}

/**
 * Moves the job so that it ends at `toIndex` in that action (counted without the job itself).
 * The action it leaves is removed when left empty; the target action is found again by
 * identity, since that removal may shift its index.
 */
export function moveJob(
  workflow: WorkflowDefinition,
  name: string,
  toStage: number,
  toAction: number,
  toIndex: number,
): WorkflowDefinition {
  const place = findJob(workflow, name);
  const target = actionList(stageList(workflow)[toStage])[toAction];
  if (!place || !target) return workflow;
  const insert = (action: Action, jobs: Job[]): Action => {
    const at = Math.max(0, Math.min(toIndex, jobs.length));
    return { ...action, jobs: [...jobs.slice(0, at), place.job, ...jobs.slice(at)] };
  };
  if (place.stage === toStage && place.action === toAction) {
    return changeAction(workflow, toStage, toAction, (action) =>
      insert(action, jobList(action).filter((_, j) => j !== place.index)),
    );
  }
  const without = withoutJobAt(workflow, place.stage, place.action, place.index);
  const found = actionList(stageList(without)[toStage]).indexOf(target);
  return changeAction(without, toStage, found, (action) => insert(action, jobList(action)));
}

/** Moves the job into a new action at the end of that stage. */
export function moveJobToNewAction(workflow: WorkflowDefinition, name: string, toStage: number): WorkflowDefinition {
  const grown = findJob(workflow, name) ? addAction(workflow, toStage) : workflow;
  if (grown === workflow) return workflow;
  const actions = actionList(stageList(grown)[toStage]);
  return moveJob(grown, name, toStage, actions.length - 1, 0);
}
