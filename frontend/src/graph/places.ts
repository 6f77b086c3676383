import type { Action, Job, Stage, WorkflowDefinition } from "../api/types";
import { jobId } from "./model";

// A draft may come from hand-written YAML that the server has not checked yet, so the
// walk tolerates missing lists and skips entries that are not mappings, while keeping
// the indexes of the document (problem paths are written with them).

export interface JobPlace {
  stage: number;
  action: number;
  index: number;
  sequenced: boolean;
  job: Job;
  nodeId: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function entries<T>(list: unknown): [number, T][] {
  if (!Array.isArray(list)) return [];
  const kept: [number, T][] = [];
  list.forEach((item, index) => {
    if (isRecord(item)) kept.push([index, item as T]);
  });
  return kept;
}

export const stagesOf = (workflow: WorkflowDefinition): [number, Stage][] => entries<Stage>(workflow.spec?.stages);
export const actionsOf = (stage: Stage): [number, Action][] => entries<Action>(stage.actions);
export const jobsOf = (action: Action): [number, Job][] => entries<Job>(action.jobs);

export const jobName = (job: Job): string => (typeof job.name === "string" ? job.name : "");

/**
 * Every job with its place. The node id is `job:<name>`; a second job with the same name
 * (a draft the server will refuse) gets its place appended, since node ids must be unique.
 */
export function jobPlaces(workflow: WorkflowDefinition): JobPlace[] {
  const places: JobPlace[] = [];
  const used = new Set<string>();
  for (const [s, stage] of stagesOf(workflow)) {
    const sequenced = stage.sequencing === "sequence";
    for (const [a, action] of actionsOf(stage)) {
      for (const [j, job] of jobsOf(action)) {
        let nodeId = jobId(jobName(job));
        if (used.has(nodeId)) nodeId = `${nodeId}@${s}.${a}.${j}`;
        used.add(nodeId);
        places.push({ stage: s, action: a, index: j, sequenced, job, nodeId });
      }
    }
  }
  return places;
}

/** The first job of that name, as the server resolves a reference. */
export function findJob(workflow: WorkflowDefinition, name: string): JobPlace | undefined {
  return jobPlaces(workflow).find((place) => jobName(place.job) === name);
}

export function withStages(workflow: WorkflowDefinition, stages: Stage[]): WorkflowDefinition {
  return { ...workflow, spec: { ...workflow.spec, stages } };
}

const listOf = <T>(list: T[] | undefined): T[] => (Array.isArray(list) ? list : []);

export const stageList = (workflow: WorkflowDefinition): Stage[] => listOf(workflow.spec?.stages);
export const actionList = (stage: Stage | undefined): Action[] => listOf(stage?.actions);
export const jobList = (action: Action | undefined): Job[] => listOf(action?.jobs);

/** A new workflow in which only the job at that place is replaced. */
export function replaceJobAt(workflow: WorkflowDefinition, place: JobPlace, job: Job): WorkflowDefinition {
  return withStages(
    workflow,
    stageList(workflow).map((stage, s) =>
      s !== place.stage
        ? stage
        : {
            ...stage,
            actions: actionList(stage).map((action, a) =>
              a !== place.action
                ? action
                : { ...action, jobs: jobList(action).map((old, j) => (j === place.index ? job : old)) },
            ),
          },
    ),
  );
}

/** A new workflow with `change` applied to every job; unchanged jobs keep their identity. */
export function mapJobs(workflow: WorkflowDefinition, change: (job: Job) => Job): WorkflowDefinition {
  let changed = false;
  const stages = stageList(workflow).map((stage) => {
    if (!isRecord(stage)) return stage;
    const actions = actionList(stage).map((action) => {
      if (!isRecord(action)) return action;
      const jobs = jobList(action).map((job) => {
        if (!isRecord(job)) return job;
        const next = change(job);
        if (next !== job) changed = true;
        return next;
      });
      return jobs.some((job, j) => job !== action.jobs[j]) ? { ...action, jobs } : action;
    });
    return actions.some((action, a) => action !== stage.actions[a]) ? { ...stage, actions } : stage;
  });
  return changed ? withStages(workflow, stages) : workflow;
}
