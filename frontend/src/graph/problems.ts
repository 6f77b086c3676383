import type { Problem, WorkflowDefinition } from "../api/types";
import { WORKFLOW_ID, actionId, stageId } from "./model";
import { actionList, jobPlaces, stageList } from "./places";

export interface ProblemLocation {
  nodeId: string;
  field?: string; // the rest of the path, relative to the node: "data.repo", "name"
}

type Locate = (problem: Problem) => ProblemLocation;

const STAGE = /^spec\.stages\[(\d+)\]/;
const ACTION = /^\.actions\[(\d+)\]/;
const JOB = /^\.jobs\[(\d+)\]/;

/** The index a path starts with, and what follows it. */
function step(path: string, pattern: RegExp): { index: number; rest: string } | undefined {
  const match = pattern.exec(path);
  return match ? { index: Number(match[1]), rest: path.slice(match[0].length) } : undefined;
}

function at(nodeId: string, rest: string): ProblemLocation {
  const field = rest.replace(/^\./, "");
  return field ? { nodeId, field } : { nodeId };
}

function locator(workflow: WorkflowDefinition): Locate {
  const jobNodes = new Map(jobPlaces(workflow).map((place) => [`${place.stage}.${place.action}.${place.index}`, place.nodeId]));
  return (problem) => {
    const stage = step(problem.path, STAGE);
    if (!stage || !stageList(workflow)[stage.index]) return { nodeId: WORKFLOW_ID };
    const action = step(stage.rest, ACTION);
    if (!action || !actionList(stageList(workflow)[stage.index])[action.index]) {
      return at(stageId(stage.index), stage.rest);
    }
    const job = step(action.rest, JOB);
    const jobNode = job && jobNodes.get(`${stage.index}.${action.index}.${job.index}`);
    if (!job || !jobNode) return at(actionId(stage.index, action.index), action.rest);
    return at(jobNode, job.rest);
  };
}

/**
 * The node a problem belongs to, and the field within it. Paths outside the stages
 * (metadata, params, triggers) and indexes the workflow no longer has go to the workflow.
 */
export function locateProblem(workflow: WorkflowDefinition, problem: Problem): ProblemLocation {
  return locator(workflow)(problem);
}

export function problemsByNode(workflow: WorkflowDefinition, problems: Problem[]): Map<string, Problem[]> {
  const byNode = new Map<string, Problem[]>();
  if (problems.length === 0) return byNode;
  const locate = locator(workflow);
  for (const problem of problems) {
    const { nodeId } = locate(problem);
    const list = byNode.get(nodeId);
    if (list) list.push(problem);
    else byNode.set(nodeId, [problem]);
  }
  return byNode;
}
