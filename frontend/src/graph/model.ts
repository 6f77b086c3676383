import type { ComponentDefinition, Job, Problem, Stage, Trigger } from "../api/types";
import type { PlatformShown } from "./platform";
import type { PortValue } from "./values";

// The designer's graph as plain objects. They have the shape React Flow expects (children
// placed relative to their parent, parents listed before children) without depending on it.

export type NodeKind = "trigger" | "stage" | "action" | "job" | "end";

export interface Point {
  x: number;
  y: number;
}

/** An input of a job: a data key or an env variable a link may feed. */
export interface Port {
  name: string;
  field: string; // "data.repo" or "env.TOKEN"
  linked: boolean;
  conflict: boolean; // fed by more than one job output
  required: boolean;
  value?: PortValue; // what the job writes there, or the component's default
}

export interface OutputPort {
  name: string;
  linked: boolean;
}

export interface TriggerNodeData {
  triggers: Trigger[];
}

export type EndNodeData = Record<string, never>;

export interface StageNodeData {
  index: number;
  name: string;
  sequencing: Stage["sequencing"]; // as written: absent means parallel
  problems: Problem[];
}

export interface ActionNodeData {
  stage: number;
  index: number;
  name: string;
  problems: Problem[];
}

export interface JobNodeData {
  stage: number;
  action: number;
  index: number;
  job: Job;
  label: string;
  component?: string;
  platform?: PlatformShown; // absent: the deployment's default
  instances?: number; // a fan-out job's instance count (fanout.ts); absent for a plain job
  inputs: Port[];
  outputs: OutputPort[];
  problems: Problem[];
}

export interface NodeDataByKind {
  trigger: TriggerNodeData;
  stage: StageNodeData;
  action: ActionNodeData;
  job: JobNodeData;
  end: EndNodeData;
}

export type GraphNode<K extends NodeKind = NodeKind> = K extends NodeKind
  ? {
      id: string;
      kind: K;
      position: Point; // relative to the parent when there is one
      width: number;
      height: number;
      parentId?: string;
      data: NodeDataByKind[K];
    }
  : never;

export interface LinkEdgeData {
  output: string;
  field: string;
  conflict: boolean;
}

export interface GraphEdge {
  id: string;
  kind: "flow" | "link";
  source: string;
  target: string;
  sourceHandle?: string;
  targetHandle?: string;
  data?: LinkEdgeData;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export type ComponentLookup = (ref: string) => ComponentDefinition | undefined;

export const TRIGGER_ID = "trigger";
export const END_ID = "end";
export const WORKFLOW_ID = "workflow";
export const stageId = (stage: number) => `stage:${stage}`;
export const actionId = (stage: number, action: number) => `action:${stage}.${action}`;
export const outputHandle = (output: string) => `out:${output}`;
export const inputHandle = (field: string) => `in:${field}`;
export const jobId = (name: string) => `job:${name}`;
