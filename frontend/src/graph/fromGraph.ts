import type { Action, Job, Stage, WorkflowDefinition } from "../api/types";
import { jobLinks, withLink, withoutLink, type Link } from "./links";
import type { GraphEdge, GraphNode } from "./model";
import { jobName } from "./places";

const byIndex = <T extends { data: { index: number } }>(a: T, b: T) => a.data.index - b.data.index;

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/**
 * The job with exactly the links the edges draw into it. A reference to a job that is not
 * in the graph cannot be drawn, so it is left as written (validation reports it); a
 * reference already written keeps its text, so templates around it survive.
 */
function reconcile(job: Job, drawn: Link[], jobsInGraph: Set<string>): Job {
  const isDrawn = (link: Link) =>
    drawn.some((item) => item.source === link.source && item.output === link.output && item.field === link.field);
  let next = job;
  for (const link of jobLinks(job)) {
    if (jobsInGraph.has(link.source) && !isDrawn(link)) next = withoutLink(next, link);
  }
  for (const link of drawn) next = withLink(next, link);
  return next;
}

/** The definition the graph shows: its stages, actions and jobs in order, its links as references. */
export function graphToWorkflow(nodes: GraphNode[], edges: GraphEdge[], base: WorkflowDefinition): WorkflowDefinition {
  const stageNodes: GraphNode<"stage">[] = [];
  const actionNodes: GraphNode<"action">[] = [];
  const jobNodes: GraphNode<"job">[] = [];
  for (const node of nodes) {
    if (node.kind === "stage") stageNodes.push(node);
    else if (node.kind === "action") actionNodes.push(node);
    else if (node.kind === "job") jobNodes.push(node);
  }
  const nameOf = new Map(jobNodes.map((node) => [node.id, jobName(node.data.job)]));
  const jobsInGraph = new Set(nameOf.values());
  const drawnInto = groupBy(
    edges.filter((edge) => edge.kind === "link" && nameOf.has(edge.source) && nameOf.has(edge.target)),
    (edge) => edge.target,
  );
  const linksInto = (node: GraphNode<"job">): Link[] =>
    (drawnInto.get(node.id) ?? []).map((edge) => ({
      source: nameOf.get(edge.source) ?? "",
      output: edge.data?.output ?? edge.sourceHandle?.replace(/^out:/, "") ?? "",
      target: jobName(node.data.job),
      field: edge.data?.field ?? edge.targetHandle?.replace(/^in:/, "") ?? "",
    }));

  const actionsOf = groupBy(actionNodes, (node) => String(node.data.stage));
  const jobsOf = groupBy(jobNodes, (node) => `${node.data.stage}.${node.data.action}`);
  const stages = [...stageNodes].sort(byIndex).map((stageNode): Stage => {
    const { index: s, name, sequencing } = stageNode.data;
    const actions = [...(actionsOf.get(String(s)) ?? [])].sort(byIndex).map(
      (actionNode): Action => ({
        name: actionNode.data.name,
        jobs: [...(jobsOf.get(`${s}.${actionNode.data.index}`) ?? [])]
          .sort(byIndex)
          .map((jobNode) => reconcile(jobNode.data.job, linksInto(jobNode), jobsInGraph)),
      }),
    );
    return sequencing === undefined ? { name, actions } : { name, sequencing, actions };
  });
  return { ...base, spec: { ...base.spec, stages } };
}
