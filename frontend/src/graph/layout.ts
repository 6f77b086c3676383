// Layout decision: dagre places the columns, our code stacks what is inside them.
//
// dagre (rankdir LR) lays out the chain trigger -> stage 0 -> ... -> end, each stage sized
// by its content, and so decides every column's x, the gaps between columns of unequal
// width, and how columns of unequal height line up. Inside a stage we stack actions and
// jobs ourselves, because their order means something: jobs of an action run top to bottom
// in that order, and dagre's crossing minimisation would reorder them to suit the links.
// A compound dagre graph of every job (stage and action clusters) also took about 2 s for
// 500 jobs in Node; this way the whole conversion takes a few tens of milliseconds.

import dagre from "@dagrejs/dagre";
import { END_ID, TRIGGER_ID, stageId, type Point } from "./model";

export interface Size {
  width: number;
  height: number;
}

export interface Box extends Point, Size {}

export interface ActionLayout {
  box: Box; // relative to its stage
  jobs: Point[]; // relative to the action
}

export interface StageLayout {
  box: Box;
  actions: ActionLayout[];
}

export interface WorkflowLayout {
  trigger: Box;
  end: Box;
  stages: StageLayout[];
}

export const JOB_WIDTH = 240;
const JOB_BASE_HEIGHT = 64; // name, component line, room for a run's status line
const PORT_ROW = 20;
const JOB_GAP = 12;
const ACTION_PADDING = 12;
const ACTION_HEADER = 28;
const EMPTY_ACTION = 48; // somewhere to drop a component
const ACTION_GAP = 16;
const STAGE_PADDING = 16;
const STAGE_HEADER = 44;
const STAGE_FOOTER = 40; // the "+ action" button
const EMPTY_STAGE = 80;
const TERMINAL: Size = { width: 96, height: 44 };
const COLUMN_GAP = 80; // leaves room for the links drawn between columns

/** A job is as tall as its longer list of ports. */
export function jobHeight(inputs: number, outputs: number): number {
  return JOB_BASE_HEIGHT + PORT_ROW * Math.max(inputs, outputs);
}

function stackAction(jobHeights: number[]): { size: Size; jobs: Point[] } {
  let y = ACTION_HEADER;
  const jobs = jobHeights.map((height) => {
    const corner = { x: ACTION_PADDING, y };
    y += height + JOB_GAP;
    return corner;
  });
  const height = jobs.length > 0 ? y - JOB_GAP + ACTION_PADDING : ACTION_HEADER + EMPTY_ACTION;
  return { size: { width: JOB_WIDTH + 2 * ACTION_PADDING, height }, jobs };
}

function stackStage(actions: number[][]): { size: Size; actions: ActionLayout[] } {
  let y = STAGE_HEADER;
  let width = JOB_WIDTH + 2 * ACTION_PADDING;
  const placed = actions.map((jobHeights) => {
    const { size, jobs } = stackAction(jobHeights);
    const box = { x: STAGE_PADDING, y, ...size };
    y += size.height + ACTION_GAP;
    width = Math.max(width, size.width);
    return { box, jobs };
  });
  const content = placed.length > 0 ? y - ACTION_GAP : STAGE_HEADER + EMPTY_STAGE;
  return { size: { width: width + 2 * STAGE_PADDING, height: content + STAGE_FOOTER }, actions: placed };
}

/** Places every box; `stages[s][a][j]` is the height of job j of action a of stage s. */
export function layoutWorkflow(stages: number[][][]): WorkflowLayout {
  const stacked = stages.map(stackStage);
  const graph = new dagre.graphlib.Graph<object, Size & Partial<Point>>();
  graph.setGraph({ rankdir: "LR", ranksep: COLUMN_GAP, nodesep: 40, marginx: 24, marginy: 24 });
  graph.setDefaultEdgeLabel(() => ({}));
  const chain = [TRIGGER_ID, ...stacked.map((_, s) => stageId(s)), END_ID];
  graph.setNode(TRIGGER_ID, { ...TERMINAL });
  stacked.forEach((stage, s) => graph.setNode(stageId(s), { ...stage.size }));
  graph.setNode(END_ID, { ...TERMINAL });
  chain.slice(1).forEach((id, index) => graph.setEdge(chain[index] ?? TRIGGER_ID, id));
  dagre.layout(graph);

  const corner = (id: string, size: Size): Box => {
    const center = graph.node(id);
    return { x: (center.x ?? 0) - size.width / 2, y: (center.y ?? 0) - size.height / 2, ...size };
  };
  return {
    trigger: corner(TRIGGER_ID, TERMINAL),
    end: corner(END_ID, TERMINAL),
    stages: stacked.map((stage, s) => ({ box: corner(stageId(s), stage.size), actions: stage.actions })),
  };
}
