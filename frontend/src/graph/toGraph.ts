import type { Action, ComponentDefinition, Job, Problem, Stage, Trigger, WorkflowDefinition } from "../api/types";
import { JOB_WIDTH, jobHeight, layoutWorkflow, type Box, type WorkflowLayout } from "./layout";
import { instanceCount, isFanOut } from "./fanout";
import { conflictKey, conflictsAmong, jobLinks, type Link } from "./links";
import {
  END_ID,
  TRIGGER_ID,
  actionId,
  inputHandle,
  outputHandle,
  stageId,
  type ComponentLookup,
  type Graph,
  type GraphEdge,
  type GraphNode,
  type OutputPort,
  type Port,
} from "./model";
import { actionsOf, jobName, jobPlaces, stagesOf, type JobPlace } from "./places";
import { jobPlatform, type PlatformShown } from "./platform";
import { problemsByNode } from "./problems";
import { describeValue, type PortValue } from "./values";

const DEFAULT_TRIGGERS: Trigger[] = [{ type: "api" }]; // the server's default
const FAN_OUT_ROW = 24; // a fan-out job's box has a row for its instances (their counts and progress in a run)

interface JobEntry {
  place: JobPlace;
  written: Link[]; // every job-output reference in its data and env
  drawn: Link[]; // those whose source job exists, so an edge can show them
}

/** What every job's ports and edges depend on: its links, the conflicts, the outputs others take. */
function analyse(workflow: WorkflowDefinition) {
  const places = jobPlaces(workflow);
  const nodeOfName = new Map<string, string>();
  for (const place of places) if (!nodeOfName.has(jobName(place.job))) nodeOfName.set(jobName(place.job), place.nodeId);
  const entries = places.map((place): JobEntry => {
    const written = jobLinks(place.job);
    return { place, written, drawn: written.filter((link) => nodeOfName.has(link.source)) };
  });
  const outputsTaken = new Map<string, Set<string>>();
  const byAction = new Map<string, JobEntry[]>();
  for (const entry of entries) {
    for (const link of entry.drawn) {
      const source = nodeOfName.get(link.source) ?? "";
      outputsTaken.set(source, (outputsTaken.get(source) ?? new Set()).add(link.output));
    }
    const key = `${entry.place.stage}.${entry.place.action}`;
    const inAction = byAction.get(key);
    if (inAction) inAction.push(entry);
    else byAction.set(key, [entry]);
  }
  const conflicted = conflictsAmong(entries.flatMap((entry) => entry.written));
  return { entries, nodeOfName, outputsTaken, byAction, conflicted };
}

function inputPorts(entry: JobEntry, component: ComponentDefinition | undefined, conflicted: Set<string>): Port[] {
  const job = entry.place.job;
  const linked = new Set(entry.drawn.map((link) => link.field));
  const ports = new Map<string, Port>();
  const data: Record<string, unknown> = typeof job.data === "object" && job.data !== null ? job.data : {};
  const env: Record<string, unknown> = typeof job.env === "object" && job.env !== null ? job.env : {};
  const add = (name: string, field: string, required: boolean, value: PortValue | undefined) => {
    if (ports.has(field)) return;
    const conflict = conflicted.has(conflictKey(jobName(job), field));
    ports.set(field, { name, field, linked: linked.has(field), conflict, required, ...(value ? { value } : {}) });
  };
  for (const input of component?.spec.inputs ?? []) {
    const required = input.required === true && (input.default === undefined || input.default === null);
    add(input.name, `data.${input.name}`, required, describeValue(data[input.name], input.default));
  }
  for (const key of Object.keys(data)) add(key, `data.${key}`, false, describeValue(data[key]));
  for (const link of entry.written) {
    const key = link.field.slice(4);
    if (link.field.startsWith("env.")) add(key, link.field, false, describeValue(env[key]));
  }
  return [...ports.values()];
}

/** Declared outputs, and any other output a drawn link takes, so every link has a handle. */
function outputPorts(job: Job, component: ComponentDefinition | undefined, taken: Set<string>): OutputPort[] {
  const names = [
    ...(component?.spec.outputs ?? []).map((output) => output.name),
    ...(Array.isArray(job.outputs) ? job.outputs : []),
    ...taken,
  ];
  return [...new Set(names)].map((name) => ({ name, linked: taken.has(name) }));
}

interface JobView {
  place: JobPlace;
  inputs: Port[];
  outputs: OutputPort[];
  platform: PlatformShown | undefined;
  height: number;
}

interface StageView {
  index: number;
  stage: Stage;
  actions: { index: number; action: Action; jobs: JobView[] }[];
}

const placed = (box: Box) => ({ position: { x: box.x, y: box.y }, width: box.width, height: box.height });

function nodesOf(stages: StageView[], layout: WorkflowLayout, triggers: Trigger[], problemsOf: (id: string) => Problem[]) {
  const nodes: GraphNode[] = [{ id: TRIGGER_ID, kind: "trigger", ...placed(layout.trigger), data: { triggers } }];
  stages.forEach(({ index: s, stage, actions }, column) => {
    const stageLayout = layout.stages[column];
    if (!stageLayout) return;
    const stageNode = stageId(s);
    const { name, sequencing } = stage;
    const stageData = { index: s, name, sequencing, problems: problemsOf(stageNode) };
    nodes.push({ id: stageNode, kind: "stage", ...placed(stageLayout.box), data: stageData });
    actions.forEach(({ index: a, action, jobs }, row) => {
      const actionLayout = stageLayout.actions[row];
      if (!actionLayout) return;
      const actionNode = actionId(s, a);
      const actionData = { stage: s, index: a, name: action.name, problems: problemsOf(actionNode) };
      nodes.push({ id: actionNode, kind: "action", parentId: stageNode, ...placed(actionLayout.box), data: actionData });
      jobs.forEach(({ place, inputs, outputs, platform, height }, order) => {
        const { job, nodeId } = place;
        nodes.push({
          id: nodeId,
          kind: "job",
          parentId: actionNode,
          position: actionLayout.jobs[order] ?? { x: 0, y: 0 },
          width: JOB_WIDTH,
          height,
          data: {
            stage: s,
            action: a,
            index: place.index,
            job,
            label: jobName(job),
            ...(typeof job.component === "string" ? { component: job.component } : {}),
            ...(platform ? { platform } : {}),
            ...(isFanOut(job) ? { instances: instanceCount(job) } : {}),
            inputs,
            outputs,
            problems: problemsOf(nodeId),
          },
        });
      });
    });
  });
  nodes.push({ id: END_ID, kind: "end", ...placed(layout.end), data: {} });
  return nodes;
}

function flowEdges(stageIds: string[]): GraphEdge[] {
  const chain = [TRIGGER_ID, ...stageIds, END_ID];
  return chain.slice(1).map((target, index) => {
    const source = chain[index] ?? TRIGGER_ID;
    return { id: `flow:${source}->${target}`, kind: "flow", source, target };
  });
}

function linkEdges(entries: JobEntry[], nodeOfName: Map<string, string>, conflicted: Set<string>): GraphEdge[] {
  return entries.flatMap(({ place, drawn }) =>
    drawn.map((link): GraphEdge => {
      const source = nodeOfName.get(link.source) ?? "";
      const sourceHandle = outputHandle(link.output);
      const targetHandle = inputHandle(link.field);
      return {
        id: `link:${source}|${sourceHandle}->${place.nodeId}|${targetHandle}`,
        kind: "link",
        source,
        target: place.nodeId,
        sourceHandle,
        targetHandle,
        data: { output: link.output, field: link.field, conflict: conflicted.has(conflictKey(link.target, link.field)) },
      };
    }),
  );
}

/** The graph of a workflow: columns of stages between the trigger and the end, links between jobs. */
export function workflowToGraph(workflow: WorkflowDefinition, lookup: ComponentLookup, problems: Problem[] = []): Graph {
  const { entries, nodeOfName, outputsTaken, byAction, conflicted } = analyse(workflow);
  const stages: StageView[] = stagesOf(workflow).map(([s, stage]) => ({
    index: s,
    stage,
    actions: actionsOf(stage).map(([a, action]) => ({
      index: a,
      action,
      jobs: (byAction.get(`${s}.${a}`) ?? []).map((entry): JobView => {
        const { job, nodeId } = entry.place;
        const component = typeof job.component === "string" ? lookup(job.component) : undefined;
        const inputs = inputPorts(entry, component, conflicted);
        const outputs = outputPorts(job, component, outputsTaken.get(nodeId) ?? new Set());
        const platform = jobPlatform(job, workflow);
        const height = jobHeight(inputs.length, outputs.length) + (isFanOut(job) ? FAN_OUT_ROW : 0);
        return { place: entry.place, inputs, outputs, platform, height };
      }),
    })),
  }));
  const layout = layoutWorkflow(stages.map((stage) => stage.actions.map((action) => action.jobs.map((job) => job.height))));
  const triggers = Array.isArray(workflow.spec?.triggers) ? workflow.spec.triggers : DEFAULT_TRIGGERS;
  const byNode = problemsByNode(workflow, problems);
  return {
    nodes: nodesOf(stages, layout, triggers, (id) => byNode.get(id) ?? []),
    edges: [...flowEdges(stages.map((stage) => stageId(stage.index))), ...linkEdges(entries, nodeOfName, conflicted)],
  };
}
