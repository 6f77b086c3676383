import { describe, expect, it } from "vitest";
import type { WorkflowDefinition } from "../../api/types";
import { absolutePositions, workflowToGraph, type GraphNode } from "../../graph";
import { dropTargetAt, jobNames, placeComponent, relocate } from "./placement";

const workflow: WorkflowDefinition = {
  metadata: { namespace: "demo", name: "ci" },
  spec: {
    stages: [
      { name: "build", actions: [{ name: "compile", jobs: [{ name: "compile", image: "busybox" }] }] },
      { name: "test", actions: [{ name: "unit", jobs: [{ name: "unit", image: "busybox" }] }] },
    ],
  },
};

function centreOf(nodes: GraphNode[], id: string): { x: number; y: number } {
  const node = nodes.find((candidate) => candidate.id === id)!;
  const corner = absolutePositions(nodes).get(id)!;
  return { x: corner.x + node.width / 2, y: corner.y + node.height / 2 };
}

describe("dropping on the canvas", () => {
  const { nodes } = workflowToGraph(workflow, () => undefined);

  it("lands in the action under the pointer", () => {
    expect(dropTargetAt(nodes, centreOf(nodes, "job:unit"))).toEqual({ kind: "action", stage: 1, action: 0 });
  });

  it("lands in a stage, outside its actions, as a new action of that stage", () => {
    const stage = nodes.find((node) => node.id === "stage:0")!;
    const belowActions = { x: stage.position.x + 10, y: stage.position.y + stage.height - 4 };
    expect(dropTargetAt(nodes, belowActions)).toEqual({ kind: "stage", stage: 0 });
  });

  it("right of the last stage makes a new stage; elsewhere it lands nowhere", () => {
    const last = nodes.find((node) => node.id === "stage:1")!;
    expect(dropTargetAt(nodes, { x: last.position.x + last.width + 50, y: last.position.y })).toEqual({ kind: "new-stage" });
    expect(dropTargetAt(nodes, { x: -500, y: -500 })).toBeNull();
  });
});

describe("placing a component", () => {
  const component = "demo/pytest@1.0.0";

  it("adds a job named after the component to the action", () => {
    const next = placeComponent(workflow, component, { kind: "action", stage: 1, action: 0 });
    expect(next.spec.stages[1]!.actions[0]!.jobs.map((job) => job.name)).toEqual(["unit", "pytest"]);
    expect(next.spec.stages[1]!.actions[0]!.jobs[1]!.component).toBe(component);
  });

  it("on a stage adds a new action holding the job", () => {
    const next = placeComponent(workflow, component, { kind: "stage", stage: 0 });
    expect(next.spec.stages[0]!.actions).toHaveLength(2);
    expect(jobNames(next)).toContain("pytest");
  });

  it("past the last stage adds a stage", () => {
    const next = placeComponent(workflow, component, { kind: "new-stage" });
    expect(next.spec.stages).toHaveLength(3);
    expect(next.spec.stages[2]!.actions[0]!.jobs[0]!.name).toBe("pytest");
  });
});

describe("dragging a job elsewhere", () => {
  it("moves it to the end of another action", () => {
    const next = relocate(workflow, "compile", { kind: "action", stage: 1, action: 0 });
    expect(next.spec.stages[1]!.actions[0]!.jobs.map((job) => job.name)).toEqual(["unit", "compile"]);
  });

  it("onto a stage gives it an action of its own, and past the last stage a stage of its own", () => {
    expect(relocate(workflow, "unit", { kind: "stage", stage: 0 }).spec.stages[0]!.actions).toHaveLength(2);
    const grown = relocate(workflow, "unit", { kind: "new-stage" });
    expect(grown.spec.stages.at(-1)!.actions[0]!.jobs[0]!.name).toBe("unit");
  });
});
