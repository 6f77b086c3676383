// Where a dropped component or a dragged job lands, and the edit that puts it there.
// Pure: the canvas gives a point in flow coordinates, the graph gives the boxes.
import type { WorkflowDefinition } from "../../api/types";
import {
  absolutePositions,
  addJob,
  addJobToNewAction,
  addStage,
  moveJob,
  moveJobToNewAction,
  type GraphNode,
} from "../../graph";

/** Where something dropped on the canvas lands: an action, a stage, or past the last stage. */
export type DropTarget =
  | { kind: "action"; stage: number; action: number }
  | { kind: "stage"; stage: number }
  | { kind: "new-stage" };

export function dropTargetAt(nodes: GraphNode[], point: { x: number; y: number }): DropTarget | null {
  const absolute = absolutePositions(nodes);
  const inside = (node: GraphNode) => {
    const corner = absolute.get(node.id);
    return (
      corner !== undefined &&
      point.x >= corner.x &&
      point.x <= corner.x + node.width &&
      point.y >= corner.y &&
      point.y <= corner.y + node.height
    );
  };
  for (const node of nodes) {
    if (node.kind === "action" && inside(node)) {
      const data = node.data as { stage: number; index: number };
      return { kind: "action", stage: data.stage, action: data.index };
    }
  }
  for (const node of nodes) {
    if (node.kind === "stage" && inside(node)) return { kind: "stage", stage: (node.data as { index: number }).index };
  }
  const stages = nodes.filter((node) => node.kind === "stage");
  const rightmost = Math.max(...stages.map((node) => (absolute.get(node.id)?.x ?? 0) + node.width), 0);
  return point.x > rightmost || stages.length === 0 ? { kind: "new-stage" } : null;
}

export const jobNames = (workflow: WorkflowDefinition) =>
  workflow.spec.stages.flatMap((stage) => stage.actions.flatMap((action) => action.jobs.map((job) => job.name)));

function componentName(ref: string): string {
  return ref.split("/")[1]?.split("@")[0] ?? "job";
}

/** Put a new job where it was dropped: into an action, a new action of a stage, or a new stage. */
export function placeComponent(workflow: WorkflowDefinition, ref: string, target: DropTarget): WorkflowDefinition {
  const component = { ref, name: componentName(ref) };
  switch (target.kind) {
    case "action":
      return addJob(workflow, target.stage, target.action, component);
    case "stage":
      return addJobToNewAction(workflow, target.stage, component);
    case "new-stage": {
      const grown = addStage(workflow);
      return addJobToNewAction(grown, grown.spec.stages.length - 1, component);
    }
  }
}

export function relocate(workflow: WorkflowDefinition, name: string, target: DropTarget): WorkflowDefinition {
  switch (target.kind) {
    case "action": {
      const jobs = workflow.spec.stages[target.stage]?.actions[target.action]?.jobs ?? [];
      return moveJob(workflow, name, target.stage, target.action, jobs.filter((job) => job.name !== name).length);
    }
    case "stage":
      return moveJobToNewAction(workflow, name, target.stage);
    case "new-stage": {
      const grown = addStage(workflow);
      return moveJobToNewAction(grown, name, grown.spec.stages.length - 1);
    }
  }
}
